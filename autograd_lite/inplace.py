"""In-place operations (``add_``, ``x[i] = v``, ``+=``...) and how autograd keeps them safe.

An in-place op is computed out of place and its result written into the tensor's memory,
so that views see the change. Every write bumps the tensor's version counter (shared with
its views), so a node that saved the old values refuses to run backward. When gradients are
involved, the op ran on a recorded copy of the old values and its node becomes the tensor's
new ``grad_fn``; a write through a basic-indexing view rewrites the base, as PyTorch does.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from . import functional as F
from .autograd.grad_mode import _state, set_mode
from .ops.primitive import apply
from .ops.shape import IndexPut
from .tensor import Tensor, _invalidate_saved_output


def inplace(self: Tensor, op: str, compute: Callable[..., Tensor], *args: Any) -> Tensor:
    """Run ``compute(self, *args)`` out of place and make the result this tensor's value.

    The result is written into this tensor's memory, so views of it see the change.
    Tracked (grad involved): the op ran on a copy of the old values, and its node becomes
    this tensor's ``grad_fn``. Either way the version counter goes up, so any node that
    saved this tensor refuses to run backward.
    """
    self._check_inplace(op)
    tracked = _state.enabled and (
        self.requires_grad or any(isinstance(a, Tensor) and a.requires_grad for a in args)
    )
    if tracked and self._meta is not None and self._meta.view_of is not None:
        return _through_view(self, op, compute, args)
    if tracked and self.grad_fn is not None and self.grad_fn.prim.is_view:
        raise RuntimeError(
            f"{op}: in-place changes through a {self.grad_fn.prim.name} view of a tensor that requires "
            "grad are not supported (only basic-indexing views such as t[1:] are); apply the op "
            "out of place, or to the base tensor"
        )
    if tracked:
        # The op runs on a recorded copy of the old values (which are about to be
        # overwritten and which its backward may read); the copy's node, not the old
        # producer, is what the op's node depends on.
        result = compute(F.clone(self), *args)
    else:
        previous = set_mode(False)
        try:
            result = compute(self, *args)
        finally:
            set_mode(previous)
    out = result._data
    if out.shape != self._data.shape:
        raise RuntimeError(
            f"{op}: the result of shape {tuple(out.shape)} doesn't match the tensor's shape "
            f"{tuple(self._data.shape)} it is written into; an in-place op cannot broadcast its target"
        )
    if out.dtype != self._data.dtype and not np.can_cast(out.dtype, self._data.dtype, "same_kind"):
        raise RuntimeError(
            f"{op}: result type {out.dtype} can't be cast to the tensor's dtype {self._data.dtype}"
        )
    _invalidate_saved_output(self)
    if isinstance(self._data, np.ndarray) and self._data.flags.writeable:
        np.copyto(self._data, out, casting="same_kind")  # in memory: views see the change
    else:
        self._data = np.array(out, dtype=self._data.dtype)
    self._bump_version()  # before the new grad_fn: it is the old producer that was written
    if tracked:
        self.grad_fn = result.grad_fn
        self.requires_grad = True
    return self


def _through_view(self: Tensor, op: str, compute: Callable[..., Tensor], args: tuple) -> Tensor:
    """A tracked in-place op on ``base[index]``: rewrite the base, as PyTorch does.

    The new view values are computed from a snapshot of the old ones; the base becomes
    ``index_put(old base, index, new values)`` (a recorded op), its memory is updated so
    every view sees the change, and this view is re-derived from the new base.
    """
    base, index = self._meta.view_of  # type: ignore[union-attr,misc]
    base._check_inplace(op)
    old_base = F.clone(base)  # a recorded copy: the base's memory is about to change
    snapshot = F.getitem(old_base, index)  # the view's old values
    result = compute(snapshot, *args)
    if result._data.shape != self._data.shape:
        raise RuntimeError(
            f"{op}: the result of shape {tuple(result._data.shape)} doesn't match the view's shape "
            f"{tuple(self._data.shape)}; an in-place op cannot broadcast its target"
        )
    new_base = F.index_put(old_base, index, result.to(base.dtype))
    _invalidate_saved_output(base)
    np.copyto(base._data, new_base._data)
    self._bump_version()  # the old view node and, through it, the base's old producer
    base.grad_fn = new_base.grad_fn
    base.requires_grad = True
    view = F.getitem(base, index)
    self.grad_fn = view.grad_fn
    self.requires_grad = True
    return self


def add_(self: Tensor, other: Any, alpha: Any = 1) -> Tensor:
    if alpha != 1:
        return inplace(self, "add_", lambda s, o: s + o * alpha, other)
    return inplace(self, "add_", operator.add, other)


def sub_(self: Tensor, other: Any, alpha: Any = 1) -> Tensor:
    if alpha != 1:
        return inplace(self, "sub_", lambda s, o: s - o * alpha, other)
    return inplace(self, "sub_", operator.sub, other)


def mul_(self: Tensor, other: Any) -> Tensor:
    return inplace(self, "mul_", operator.mul, other)


def div_(self: Tensor, other: Any) -> Tensor:
    return inplace(self, "div_", operator.truediv, other)


def pow_(self: Tensor, other: Any) -> Tensor:
    return inplace(self, "pow_", operator.pow, other)


def neg_(self: Tensor) -> Tensor:
    return inplace(self, "neg_", operator.neg)


def clamp_(self: Tensor, min: Any = None, max: Any = None) -> Tensor:
    return inplace(self, "clamp_", lambda s: F.clamp(s, min, max))


def fill_(self: Tensor, value: Any) -> Tensor:
    return inplace(self, "fill_", lambda s, v: F.fill_like(s, v), value)


def zero_(self: Tensor) -> Tensor:
    return inplace(self, "zero_", lambda s: F.fill_like(s, 0))


def copy_(self: Tensor, src: Any) -> Tensor:
    return inplace(self, "copy_", F.copy_from, src)


def masked_fill_(self: Tensor, mask: Any, value: Any) -> Tensor:
    return inplace(self, "masked_fill_", lambda s: F.masked_fill(s, mask, value))


def setitem(input: Tensor, key: Any, value: Any) -> None:
    """input[key] = value, recorded for autograd when gradients are involved."""
    key = F._index_key(key)
    value_data = value._data if isinstance(value, Tensor) else value
    tracked = _state.enabled and (input.requires_grad or (isinstance(value, Tensor) and value.requires_grad))
    if not tracked:
        input._check_inplace("__setitem__")
        try:
            input._data[key] = value_data
        except (IndexError, ValueError) as error:
            raise IndexError(
                f"__setitem__: cannot assign a value of shape {np.shape(value_data)} at index {key!r} "
                f"of a tensor of shape {tuple(input.shape)}: {error}"
            ) from None
        _invalidate_saved_output(input)
        input._bump_version()
        return
    inplace(input, "__setitem__", lambda s, v: apply(IndexPut, (s, v), {"index": key}), value)
