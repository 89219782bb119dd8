"""Anomaly detection: make a NaN or inf produced by backward raise, naming its forward op."""

from __future__ import annotations

from typing import Any

from .grad_mode import _anomaly


def is_anomaly_enabled() -> bool:
    return _anomaly[0]


class detect_anomaly:
    """Within this context, nodes remember where they were created and backward checks for NaN/inf.

    When a VJP returns a non-finite gradient, the RuntimeError names the op and shows the
    lines of the forward pass that created it.
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        self._previous = False

    def __enter__(self) -> None:
        self._previous = _anomaly[0]
        _anomaly[0] = self.check_nan

    def __exit__(self, *exc: Any) -> None:
        _anomaly[0] = self._previous

    def __call__(self, func: Any) -> Any:
        import functools

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with detect_anomaly(self.check_nan):
                return func(*args, **kwargs)

        return wrapper


class set_detect_anomaly(detect_anomaly):
    """Turn anomaly detection on or off now (and restore it when used as a context manager)."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        super().__init__(check_nan)
        self._previous = _anomaly[0]
        _anomaly[0] = bool(mode)

    def __enter__(self) -> None:
        pass
