"""Undo NumPy broadcasting in the backward pass: the one place that does it."""

from __future__ import annotations

from typing import Any


def unbroadcast(grad: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``grad`` down to ``shape``, the shape of the input it belongs to.

    Broadcasting prepends axes and stretches axes of size 1; the gradient of a broadcast
    is the sum over the copies. So: sum away the extra leading axes, then sum (keeping the
    axis) wherever the input had size 1. Works on arrays and on Tensors alike.
    """
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    if tuple(grad.shape) != tuple(shape):
        raise RuntimeError(
            f"unbroadcast: a gradient of shape {tuple(grad.shape)} cannot be reduced to the "
            f"input's shape {tuple(shape)}"
        )
    return grad
