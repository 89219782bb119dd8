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

:class:`MaxPool2d` takes one ``np.maximum`` per kernel offset; its VJP finds the position
of each window's maximum (a constant index) and scatters the gradient there with
:class:`PoolScatter`, one position per window as in PyTorch; the scatter's VJP is the
gather :class:`PoolGather`, so max pooling too differentiates to any order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .primitive import Primitive

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
    overlapping = windows_overlap((kh, kw), stride, dilation)
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


# ---------------------------------------------------------------- max pooling
def _lowest(dtype: np.dtype) -> Any:
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def window_max(x: Any, kernel_size: Pair, stride: Pair, dilation: Pair, padding: Padding) -> np.ndarray:
    """The max of every window, shape ``(N, C, OH, OW)``; a NaN in a window makes it NaN.

    One vectorised ``np.maximum`` per kernel offset over all windows at once.
    """
    x = np.asarray(x)
    windows = unfold_view(x, kernel_size, stride, dilation, padding, _lowest(x.dtype))
    kw = kernel_size[1]
    best = np.array(windows[:, :, 0, 0])
    for k in range(1, kernel_size[0] * kw):
        np.maximum(best, windows[:, :, k // kw, k % kw], out=best)
    return best


def max_index(x: Any, out: Any, kernel_size: Pair, stride: Pair, dilation: Pair,
              padding: Padding) -> np.ndarray:
    """For every window, the flat index into ``x.reshape(-1)`` of the maximum it picked.

    PyTorch's rule: the first offset (row-major within the window) holding the max wins,
    except that a NaN beats every number and a later NaN beats an earlier one.
    No loop over windows: with K = kh * kw offsets, the first offset k whose value equals
    the max is K - max_k((K - k) * [x_k == max]).
    """
    x, out = np.asarray(x), np.asarray(out)
    (kh, kw), (sh, sw), (dh, dw) = kernel_size, stride, dilation
    n, c, h, w = x.shape
    windows = unfold_view(x, kernel_size, stride, dilation, padding, _lowest(x.dtype))
    count = kh * kw
    small = np.uint8 if count < 256 else np.int64
    score = np.zeros(out.shape, dtype=small)
    for k in range(count):
        hit = windows[:, :, k // kw, k % kw] == out
        np.maximum(score, np.multiply(hit, count - k, dtype=small), out=score)
    choice = count - score.astype(np.int64)
    if out.dtype.kind == "f":
        nan = np.isnan(out)
        if nan.any():  # a NaN window picks its last NaN offset
            last = np.zeros(out.shape, dtype=np.int64)
            for k in range(count):
                np.maximum(last, np.isnan(windows[:, :, k // kw, k % kw]) * k, out=last)
            choice = np.where(nan, last, choice)
    oh, ow = out.shape[2:]
    rows = (np.arange(oh) * sh - padding[0][0])[:, None] + (choice // kw) * dh
    columns = (np.arange(ow) * sw - padding[1][0])[None, :] + (choice % kw) * dw
    if padding[0][0] or padding[1][0] or padding[0][1] or padding[1][1]:
        # only a window of -inf values can pick padding; keep its index inside the image
        rows, columns = np.clip(rows, 0, h - 1), np.clip(columns, 0, w - 1)
    planes = (np.arange(n * c, dtype=np.int64) * (h * w)).reshape(n, c, 1, 1)
    return planes + rows * w + columns


def windows_overlap(kernel_size: Pair, stride: Pair, dilation: Pair) -> bool:
    """Whether two windows can share a pixel (then scatters must add, not write)."""
    return any(s < d * (k - 1) + 1 for k, s, d in zip(kernel_size, stride, dilation, strict=True))


def _max_pool_vjp(g, out, x, kernel_size, stride, dilation, padding):  # type: ignore[no-untyped-def]
    index = max_index(x, out, kernel_size, stride, dilation, padding)
    unique = not windows_overlap(kernel_size, stride, dilation)
    return PoolScatter.call(g, index=index, shape=tuple(x.shape), unique=unique)


class MaxPool2d(Primitive):
    """out[n, c, oh, ow] = max of x over the window at (oh, ow)  (padding counts as -inf)

    grad_x = grad_out scattered to one position per window, the maximum PyTorch picks (the
    first one; ties are not shared). Those positions are constants, so differentiating the
    VJP again gives PoolScatter's VJP: a gather of the incoming gradient at them.
    """

    saves_out = True
    forward = staticmethod(window_max)
    vjps = (_max_pool_vjp,)


def _flat_scatter(g: Any, index: np.ndarray, shape: tuple, unique: bool) -> np.ndarray:
    g = np.asarray(g)
    size = int(np.prod(shape))
    if unique:  # no two entries share a position: one plain write is exact
        out = np.zeros(size, dtype=g.dtype)
        out[index.reshape(-1)] = g.reshape(-1)
        return out.reshape(shape)
    summed = np.bincount(index.reshape(-1), weights=g.reshape(-1), minlength=size)
    return summed.astype(g.dtype, copy=False).reshape(shape)


class PoolGather(Primitive):
    """out = x.reshape(-1)[index]  (``index``: flat positions, such as the maxima max pooling picked)

    grad_x = PoolScatter(grad_out): each entry's gradient goes back to the position it came from.
    """

    reads_inputs = False

    @staticmethod
    def forward(x, index, unique=False):  # type: ignore[no-untyped-def]
        return np.take(np.reshape(x, -1), index)

    vjps = (
        lambda g, out, x, index, unique=False: PoolScatter.call(
            g, index=index, shape=tuple(x.shape), unique=unique
        ),
    )


class PoolScatter(Primitive):
    """out = zeros(shape) with g added at the flat positions ``index`` (repeats accumulate)

    grad_g = PoolGather(grad_out): each entry reads the gradient of the position it went to.
    """

    reads_inputs = False

    @staticmethod
    def forward(g, index, shape, unique=False):  # type: ignore[no-untyped-def]
        return _flat_scatter(g, index, shape, unique)

    vjps = (lambda g2, out, g, index, shape, unique=False: PoolGather.call(g2, index=index, unique=unique),)


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
