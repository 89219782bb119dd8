"""Grad mode: whether new operations are recorded for backward. Thread-local, like PyTorch."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _GradState(threading.local):
    enabled: bool = True


_state = _GradState()

#: how many threads have grad mode off right now. While it is 0 every thread records, and the
#: hot paths skip reading the thread-local flag (a thread-local attribute costs ~35 ns, a
#: list item ~5). Changed only by ``set_mode``, under ``_mode_lock``.
_threads_disabled = [0]
_mode_lock = threading.Lock()


def set_mode(enabled: bool) -> bool:
    """Set this thread's grad mode; return the previous one. Every change of the mode goes
    through here, so that ``_threads_disabled`` stays exact."""
    previous = _state.enabled
    if previous != enabled:
        with _mode_lock:
            _threads_disabled[0] += -1 if enabled else 1
            _state.enabled = enabled
    return previous


#: anomaly detection on/off (a list so the hot path reads it without a function call)
_anomaly = [False]


def is_grad_enabled() -> bool:
    """True when operations on tensors that require grad are being recorded."""
    return _state.enabled


class _GradModeContext:
    """Base for no_grad / enable_grad / set_grad_enabled: a context manager and a decorator."""

    _target: bool = True

    def __init__(self) -> None:
        self._previous: list[bool] = []

    def __enter__(self) -> None:
        self._previous.append(set_mode(self._target))

    def __exit__(self, *exc: object) -> None:
        set_mode(self._previous.pop())

    def __call__(self, func: F) -> F:
        target = self._target

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            previous = set_mode(target)
            try:
                return func(*args, **kwargs)
            finally:
                set_mode(previous)

        return wrapper  # type: ignore[return-value]


class no_grad(_GradModeContext):
    """Disable recording: inside it, results of ops never require grad."""

    _target = False


class enable_grad(_GradModeContext):
    """Re-enable recording inside a no_grad block."""

    _target = True


class set_grad_enabled(_GradModeContext):
    """Set grad mode on or off. Acts at once when called, and as a context manager restores it."""

    def __init__(self, mode: bool) -> None:
        super().__init__()
        self._target = bool(mode)
        # Like PyTorch, calling set_grad_enabled(False) as a plain function takes effect now.
        self._previous.append(set_mode(self._target))

    def __enter__(self) -> None:
        # The switch already happened in __init__.
        pass

    def __call__(self, func: F) -> F:
        # Used as a decorator: undo the immediate switch, then wrap.
        set_mode(self._previous.pop())
        return super().__call__(func)
