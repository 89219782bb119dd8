"""Primitives for convolution, pooling and table lookup.

Everything here works on 4-D ``(N, C, H, W)`` arrays (1-D convolution is the ``H == 1`` case).
The core pair is :class:`Unfold` (im2col) and :class:`Fold` (col2im): each is the other's
VJP, so any composite built on them (convolution, average pooling) can be differentiated
to any order. Unfold is a zero-copy strided view of the (padded) input; Fold adds the
windows back with one vectorised add per kernel offset (``kh * kw`` of them), never a loop
over pixels or over the batch.

Window layout used throughout: ``cols[n, c, i, j, oh, ow]`` is the input pixel that kernel
offset ``(i, j)`` sees at output position ``(oh, ow)``:

    cols[n, c, i, j, oh, ow] = x_pad[n, c, oh * sh + i * dh, ow * sw + j * dw]

where ``x_pad`` is ``x`` padded by ``((top, bottom), (left, right))`` with ``pad_value``.
That order makes ``cols.reshape(N, C * kh * kw, OH * OW)`` PyTorch's ``F.unfold`` layout,
so a convolution is one batched matmul ``W (O, C*kh*kw) @ cols`` whose result is already
``(N, O, OH*OW)``: no transposes on the way in or out.

Max pooling picks its argmax with NumPy (a non-differentiable index), then records a
:class:`PoolGather` of the input at those indices; its VJP scatters the gradient back to
exactly one position per window (PyTorch's rule), and the scatter's VJP is the gather.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..autograd.grad_mode import _state
from .primitive import Primitive, _new_tensor, _record

Pair = tuple[int, int]
Padding = tuple[Pair, Pair]


def output_size(size: int, kernel: int, stride: int, dilation: int, pad: Pair) -> int:
    """Number of window positions along one axis: floor((size + pads - d*(k-1) - 1) / s) + 1."""
    return (size + pad[0] + pad[1] - dilation * (kernel - 1) - 1) // stride + 1


def _padded(x: np.ndarray, padding: Padding, value: float) -> np.ndarray:
    """x with its last two axes padded by ``padding`` (one copy; x itself when no padding)."""
    (top, bottom), (left, right) = padding
    if not (top or bottom or left or right):
        return x
    n, c, h, w = x.shape
    out = np.empty((n, c, h + top + bottom, w + left + right), dtype=x.dtype)
    if top or bottom:
        out[:, :, :top] = value
        out[:, :, top + h:] = value
    if left or right:
        out[:, :, :, :left] = value
        out[:, :, :, left + w:] = value
    out[:, :, top:top + h, left:left + w] = x
    return out


def unfold_view(x: np.ndarray, kernel_size: Pair, stride: Pair, dilation: Pair, padding: Padding,
                pad_value: float = 0.0) -> np.ndarray:
    """The windows of x as a read-only strided view ``(N, C, kh, kw, OH, OW)`` (no copy of x)."""
    x = np.asarray(x)
    xp = _padded(x, padding, pad_value)
    (kh, kw), (sh, sw), (dh, dw) = kernel_size, stride, dilation
    oh = output_size(x.shape[2], kh, sh, dh, padding[0])
    ow = output_size(x.shape[3], kw, sw, dw, padding[1])
    s_n, s_c, s_h, s_w = xp.strides
    return as_strided(
        xp, shape=(xp.shape[0], xp.shape[1], kh, kw, oh, ow),
        strides=(s_n, s_c, s_h * dh, s_w * dw, s_h * sh, s_w * sw), writeable=False,
    )


def _fold(cols: Any, output_size: Pair, kernel_size: Pair, stride: Pair, dilation: Pair,
          padding: Padding) -> np.ndarray:
    cols = np.asarray(cols)
    n, c, kh, kw, oh, ow = cols.shape
    (h, w), (sh, sw), (dh, dw) = output_size, stride, dilation
    (top, bottom), (left, right) = padding
    hp, wp = h + top + bottom, w + left + right
    overlapping = sh < dh * (kh - 1) + 1 or sw < dw * (kw - 1) + 1
    out = np.zeros((n, c, hp, wp), dtype=cols.dtype)
    for i in range(kh):
        rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
        for j in range(kw):
            columns = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
            if overlapping:
                out[:, :, rows, columns] += cols[:, :, i, j]
            else:  # every padded pixel belongs to at most one window: plain writes suffice
                out[:, :, rows, columns] = cols[:, :, i, j]
    if top or bottom or left or right:
        return out[:, :, top:top + h, left:left + w]
    return out


class Unfold(Primitive):
    """out[n, c, i, j, oh, ow] = x_pad[n, c, oh*sh + i*dh, ow*sw + j*dw]  (im2col, a strided view)

    Padding positions hold ``pad_value`` (0 for convolution, -inf for max pooling); they are
    constants, so they receive no gradient.

    grad_x = Fold(grad_out): each input pixel sums the gradients of every window entry that
    saw it (the adjoint of copying a pixel into several windows is adding them back).
    """

    reads_inputs = False
    is_view = True

    @staticmethod
    def forward(x, kernel_size, stride, dilation, padding, pad_value=0.0):  # type: ignore[no-untyped-def]
        return unfold_view(x, kernel_size, stride, dilation, padding, pad_value)

    vjps = (
        lambda g, out, x, kernel_size, stride, dilation, padding, pad_value=0.0: Fold.call(
            g, output_size=tuple(x.shape[2:]), kernel_size=kernel_size, stride=stride,
            dilation=dilation, padding=padding,
        ),
    )


class Fold(Primitive):
    """out[n, c, y, x] = sum of cols[n, c, i, j, oh, ow] over all (i, j, oh, ow) whose window
    entry lands on pixel (y, x) of the padded image, padding then cropped (col2im)

    grad_cols = Unfold(grad_out) with zero padding: each window entry reads the gradient of
    the pixel it was added to.
    """

    reads_inputs = False
    forward = staticmethod(_fold)
    vjps = (
        lambda g, out, cols, output_size, kernel_size, stride, dilation, padding: Unfold.call(
            g, kernel_size=kernel_size, stride=stride, dilation=dilation, padding=padding,
        ),
    )


def record(prim: Any, inputs: tuple, attrs: dict, out: Any) -> Any:
    """What ``apply(prim, inputs, attrs)`` returns, for an ``out`` already computed elsewhere.

    Max pooling finds its maxima and their indices in one pass; running PoolGather's
    forward again would only repeat the work. ``out`` must equal ``prim.forward(...)``.
    """
    result = _new_tensor(out)
    if _state.enabled:
        for x in inputs:
            if getattr(x, "requires_grad", False):
                _record(prim, result, inputs, tuple(getattr(i, "_data", i) for i in inputs), attrs, out)
                break
    return result


# ---------------------------------------------------------------- gathers for max pooling
def _plane_gather(x: Any, index: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    n, c = x.shape[:2]
    flat = np.reshape(x, (n, c, -1))
    return np.take_along_axis(flat, index.reshape(n, c, -1), axis=2).reshape(index.shape)


def _plane_scatter(g: Any, index: np.ndarray, size: tuple, unique: bool) -> np.ndarray:
    g = np.asarray(g)
    n, c = index.shape[:2]
    plane = int(np.prod(size))
    if unique:  # no two windows chose the same pixel: a plain write is exact
        out = np.zeros((n, c, plane), dtype=g.dtype)
        np.put_along_axis(out, index.reshape(n, c, -1), g.reshape(n, c, -1), axis=2)
        return out.reshape((n, c) + tuple(size))
    offsets = (np.arange(n * c, dtype=np.int64) * plane).reshape(n, c, *([1] * (index.ndim - 2)))
    summed = np.bincount((index + offsets).reshape(-1), weights=g.reshape(-1), minlength=n * c * plane)
    return summed.astype(g.dtype, copy=False).reshape((n, c) + tuple(size))


class PoolGather(Primitive):
    """out[n, c, p] = x[n, c].flat[index[n, c, p]]  (the values max pooling picked)

    ``index`` holds, per output position, the flat ``H * W`` position of its window's maximum
    (PyTorch's ``return_indices`` format). ``unique`` says no two outputs share a position.

    grad_x = PoolScatter(grad_out): each output's gradient goes to the one pixel it came from.
    """

    reads_inputs = False

    @staticmethod
    def forward(x, index, unique=False):  # type: ignore[no-untyped-def]
        return _plane_gather(x, index)

    vjps = (
        lambda g, out, x, index, unique=False: PoolScatter.call(
            g, index=index, size=tuple(x.shape[2:]), unique=unique
        ),
    )


class PoolScatter(Primitive):
    """out[n, c] = zeros(size) with g[n, c, p] added at flat position index[n, c, p]

    grad_g = PoolGather(grad_out): each entry reads the gradient of the pixel it was added to.
    """

    reads_inputs = False

    @staticmethod
    def forward(g, index, size, unique=False):  # type: ignore[no-untyped-def]
        return _plane_scatter(g, index, size, unique)

    vjps = (lambda g2, out, g, index, size, unique=False: PoolGather.call(g2, index=index, unique=unique),)


def max_pool_indices(x: np.ndarray, kernel_size: Pair, stride: Pair, dilation: Pair,
                     padding: Padding) -> tuple[np.ndarray, np.ndarray]:
    """Max of every window and the flat ``H * W`` index of its first maximum (a NaN wins, as in PyTorch).

    One vectorised comparison per kernel offset (kh * kw of them) over all windows at once.
    """
    (kh, kw), (sh, sw), (dh, dw) = kernel_size, stride, dilation
    h, w = x.shape[2:]
    lowest = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    windows = unfold_view(x, kernel_size, stride, dilation, padding, lowest)
    best = np.array(windows[:, :, 0, 0])
    choice = np.zeros(best.shape, dtype=np.int64)
    for k in range(1, kh * kw):
        candidate = windows[:, :, k // kw, k % kw]
        better = candidate > best
        if x.dtype.kind == "f":
            better |= np.isnan(candidate)
        np.copyto(best, candidate, where=better)
        np.copyto(choice, k, where=better)
    oh, ow = best.shape[2:]
    rows = (np.arange(oh) * sh - padding[0][0])[:, None] + (choice // kw) * dh
    columns = (np.arange(ow) * sw - padding[1][0])[None, :] + (choice % kw) * dw
    # A window made only of padding (impossible when pad <= kernel / 2) would point outside.
    index = np.clip(rows, 0, h - 1) * w + np.clip(columns, 0, w - 1)
    return best, index


# ---------------------------------------------------------------- table lookup (Embedding)
def _row_scatter(g: Any, index: np.ndarray, num_rows: int) -> np.ndarray:
    g = np.asarray(g)
    out = np.zeros((num_rows,) + g.shape[index.ndim:], dtype=g.dtype)
    np.add.at(out, index, g)
    return out


class RowGather(Primitive):
    """out[..., :] = weight[index[...], :]  (an embedding lookup)

    grad_weight = RowScatter(grad_out * keep): rows add up the gradients of every position that
    read them; positions whose index equals ``padding_idx`` send nothing (PyTorch's rule).
    """

    reads_inputs = False

    @staticmethod
    def forward(weight, index, padding_idx=None):  # type: ignore[no-untyped-def]
        return np.take(weight, index, axis=0)

    vjps = (
        lambda g, out, weight, index, padding_idx=None: RowScatter.call(
            g if padding_idx is None else g * (index != padding_idx)[..., None],
            index=index, num_rows=weight.shape[0],
        ),
    )


class RowScatter(Primitive):
    """out = zeros(num_rows, ...) with g[...] added at row index[...]  (RowGather's VJP)

    grad_g = RowGather(grad_out): each position reads the gradient of the row it went to.
    """

    reads_inputs = False

    @staticmethod
    def forward(g, index, num_rows):  # type: ignore[no-untyped-def]
        return _row_scatter(g, index, num_rows)

    vjps = (lambda g2, out, g, index, num_rows: RowGather.call(g2, index=index),)
