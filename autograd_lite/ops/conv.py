"""Primitives for convolution, pooling and table lookup (Embedding).

Everything here works on 4-D ``(N, C, H, W)`` arrays (1-D convolution is the ``H == 1``
case). No Python loop runs over pixels or over the batch; the few loops run over the
``kh * kw`` kernel offsets, each step a vectorised operation on all windows at once.

**Windows.** ``cols[n, c, i, j, oh, ow]`` is the pixel kernel offset ``(i, j)`` sees at
output position ``(oh, ow)``:

    cols[n, c, i, j, oh, ow] = x_pad[n, c, oh * sh + i * dh, ow * sw + j * dw]

where ``x_pad`` is ``x`` padded by ``((top, bottom), (left, right))`` with ``pad_value``.
:class:`Unfold` (im2col) returns them as a zero-copy strided view; :class:`Fold` (col2im)
adds windows back into an image. Each is the other's VJP, so both differentiate to any
order. ``cols.reshape(N, C * kh * kw, OH * OW)`` is PyTorch's ``F.unfold`` layout.

**Convolution** is a composite (``nn.functional.conv2d``): :class:`Im2col`, one batched
BLAS matmul ``W (G, O/G, C/G*kh*kw) @ cols (N, G, C/G*kh*kw, L)`` whose result is already
``(N, O, L)``, a reshape and a crop; :class:`Col2im` is Im2col's VJP and vice versa, so it
differentiates to any order. The bias rides inside the matmul (a row of ones in the
columns, a bias column in the weight), which saves a pass over the output and the
bias-gradient reduction. For stride 1, Im2col uses a *flat-shift* layout: the padded
image is flattened and kernel offset ``(i, j)`` becomes a shift by ``i * dh * Wp + j * dw``
of one long contiguous run, so the im2col copy and the col2im adds stream through memory
(measured about 2.5x and 2x faster than window by window on the benchmark CNN's shapes).
Each output row then carries ``Wp - OW`` junk columns that the matmul computes and the
crop drops. Other strides use the Unfold view. A fused Conv2d primitive (with the
transposed convolution and the weight gradient as its VJPs) was tried first and profiled
slower on the benchmark CNN: it rebuilds the columns in backward, where the composite
keeps them.

**Pooling.** :class:`MaxPool2d` takes one ``np.maximum`` per kernel offset; its VJP finds
the position of each window's maximum (a constant index) and scatters the gradient there
with :class:`PoolScatter`, to one position per window as in PyTorch; the scatter's VJP is
the gather :class:`PoolGather`. Average pooling is :class:`WindowSum` (one add per offset)
times a constant; its VJP :class:`WindowSpread` copies each window's gradient back to
every pixel of the window.
"""

from __future__ import annotations

import functools
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
    """im2col, as a strided view. Padding positions hold ``pad_value`` (0 for convolution, -inf
    for max pooling); they are constants, so they receive no gradient. In the gradient each input
    pixel sums the gradients of every window entry that saw it (the adjoint of copying a pixel
    into several windows is adding them back).
    """

    formula = "out = the windows of x: out[n, c, i, j, oh, ow] = x_pad[n, c, oh*sh + i*dh, ow*sw + j*dw]"
    grad_formulas = ("grad_x = Fold(grad_out)",)

    reads_inputs = False
    is_view = True

    @staticmethod
    def forward(x, kernel_size, stride, dilation, padding, pad_value=0.0):  # type: ignore[no-untyped-def]
        return unfold_view(x, kernel_size, stride, dilation, padding, pad_value)

    vjps = (
        lambda grad_out, out, x, kernel_size, stride, dilation, padding, pad_value=0.0: Fold.call(
            grad_out, output_size=tuple(x.shape[2:]), kernel_size=kernel_size, stride=stride,
            dilation=dilation, padding=padding,
        ),
    )


class Fold(Primitive):
    """col2im. In the gradient each window entry reads the gradient of the pixel it was added to."""

    formula = (
        "out = the image whose pixels sum the window entries of cols that land on them "
        "(padding then cropped)"
    )
    grad_formulas = ("grad_cols = Unfold(grad_out) with zero padding",)

    reads_inputs = False
    forward = staticmethod(_fold)
    vjps = (
        lambda grad_out, out, cols, output_size, kernel_size, stride, dilation, padding: Unfold.call(
            grad_out, kernel_size=kernel_size, stride=stride, dilation=dilation, padding=padding,
        ),
    )


# ---------------------------------------------------------------- convolution
def _flat_shift(stride: Pair) -> bool:
    """Whether the flat-shift im2col applies (stride 1; any padding, dilation, groups)."""
    return stride == (1, 1)


def _flat_padded(x: np.ndarray, padding: Padding, slack: int) -> np.ndarray:
    """x zero-padded, each (n, c) image flattened, plus ``slack`` zeros at the end."""
    (top, bottom), (left, right) = padding
    n, c, h, w = x.shape
    hp, wp = h + top + bottom, w + left + right
    flat = np.zeros((n, c, hp * wp + slack), dtype=x.dtype)
    flat[:, :, :hp * wp].reshape(n, c, hp, wp)[:, :, top:top + h, left:left + w] = x
    return flat


def _im2col(x: Any, kernel_size: Pair, stride: Pair, dilation: Pair, padding: Padding, groups: int,
            bias_row: float | None = None) -> tuple[np.ndarray, int, int, int]:
    """im2col as ``(N, G, C/G * kh * kw (+ 1), OH * R)``, plus OH, OW and the row width R.

    R == OW for the general path. On the flat-shift path R is the padded width Wp, and
    columns OW..R-1 of each output row are junk that the caller crops. A ``bias_row`` value
    appends to each group a row filled with it: ones let a bias column in the weight add the
    bias inside the matmul (zeros are that row's adjoint, for second derivatives).
    """
    x = np.asarray(x)
    n, c, h, w = x.shape
    (kh, kw), (dh, dw) = kernel_size, dilation
    oh = output_size(h, kh, stride[0], dh, padding[0])
    ow = output_size(w, kw, stride[1], dw, padding[1])
    if _flat_shift(stride):
        wp = w + padding[1][0] + padding[1][1]
        flat = _flat_padded(x, padding, (kw - 1) * dw)
        s_n, s_c, s_p = flat.strides
        windows = as_strided(flat, shape=(n, c, kh, kw, oh * wp),
                             strides=(s_n, s_c, s_p * dh * wp, s_p * dw, s_p), writeable=False)
        row = wp
    else:
        windows = unfold_view(x, kernel_size, stride, dilation, padding)
        row = ow
    kg = (c // groups) * kh * kw
    if bias_row is None:
        return windows.reshape(n, groups, kg, oh * row), oh, ow, row
    cols = np.empty((n, groups, kg + 1, oh * row), dtype=x.dtype)
    cols[:, :, kg] = bias_row
    grouped = (n, groups, c // groups) + windows.shape[2:]
    np.reshape(cols[:, :, :kg], grouped, copy=False)[...] = windows.reshape(grouped)
    return cols, oh, ow, row


def _col2im(cols: Any, input_size: Pair, kernel_size: Pair, stride: Pair, dilation: Pair,
            padding: Padding, bias_row: bool = False) -> np.ndarray:
    """The adjoint of :func:`_im2col`: add every column entry back onto the pixel it copied
    (the constant bias row, if any, has no pixel and is dropped)."""
    cols = np.asarray(cols)
    if bias_row:
        cols = cols[:, :, :-1]
    n, groups, kg, length = cols.shape
    (kh, kw), (dh, dw) = kernel_size, dilation
    per_group = kg // (kh * kw)
    (h, w), ((top, bottom), (left, right)) = input_size, padding
    if not _flat_shift(stride):
        oh = output_size(h, kh, stride[0], dh, padding[0])
        windows = cols.reshape(n, groups * per_group, kh, kw, oh, length // oh)
        return _fold(windows, input_size, kernel_size, stride, dilation, padding)
    # flat shift: kernel offset (i, j) adds its whole run of OH * Wp entries at i*dh*Wp + j*dw
    hp, wp = h + top + bottom, w + left + right
    runs = cols.reshape(n, groups, per_group, kh, kw, length)
    flat = np.zeros((n, groups, per_group, hp * wp + (kw - 1) * dw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            start = i * dh * wp + j * dw
            flat[..., start:start + length] += runs[:, :, :, i, j]
    image = flat[..., :hp * wp].reshape(n, groups * per_group, hp, wp)
    return image[:, :, top:top + h, left:left + w]


class Im2col(Primitive):
    """The windows of x laid out for one batched matmul with a ``(G, Og, Cg*kh*kw)`` weight
    (see the module docstring). For stride 1, R is the padded width Wp and the entries with
    ow >= OW are junk (they copy real pixels of the next row or padding), which the
    convolution crops after the matmul; otherwise R = OW. With a ``bias_row`` value each
    group gets one more row filled with it: ones carry the bias through the matmul.

    In the gradient every entry's gradient is added back onto the pixel it copied (junk entries
    included, so this is the exact adjoint; the ones row is constant).
    """

    formula = "out = im2col(x): out[n, g, (c, i, j), oh * R + ow] = x_pad[n, g*Cg + c, oh*sh + i*dh, ow*sw + j*dw]"
    grad_formulas = ("grad_x = Col2im(grad_out)",)

    reads_inputs = False

    @staticmethod
    def forward(x, kernel_size, stride, dilation, padding, groups, bias_row=None):  # type: ignore[no-untyped-def]
        return _im2col(x, kernel_size, stride, dilation, padding, groups, bias_row)[0]

    vjps = (
        lambda grad_out, out, x, kernel_size, stride, dilation, padding, groups, bias_row=None: Col2im.call(
            grad_out, input_size=tuple(x.shape[2:]), kernel_size=kernel_size, stride=stride,
            dilation=dilation, padding=padding, bias_row=bias_row is not None,
        ),
    )


class Col2im(Primitive):
    """Im2col's adjoint. With ``bias_row`` the last row of each group, a constant, is ignored, and
    gets zeros in the gradient (``bias_row=0.0``); every other entry reads the gradient of its pixel.
    """

    formula = "out = the image whose pixels sum the Im2col entries of cols that copied them"
    grad_formulas = ("grad_cols = Im2col(grad_out)",)

    reads_inputs = False
    forward = staticmethod(_col2im)
    vjps = (
        lambda grad_out, out, cols, input_size, kernel_size, stride, dilation, padding, bias_row=False: Im2col.call(
            grad_out, kernel_size=kernel_size, stride=stride, dilation=dilation, padding=padding,
            groups=cols.shape[1], bias_row=0.0 if bias_row else None,
        ),
    )


def conv_row_width(width: int, kernel: int, stride: Pair, dilation: int, pad: Pair) -> int:
    """R, the length of one output row in Im2col's layout (>= the true output width)."""
    if _flat_shift(stride):
        return width + pad[0] + pad[1]
    return output_size(width, kernel, stride[1], dilation, pad)


# ---------------------------------------------------------------- sums over windows (avg pooling)
def _window_sum(x: Any, kernel_size: Pair, stride: Pair, padding: Padding) -> np.ndarray:
    windows = unfold_view(np.asarray(x), kernel_size, stride, (1, 1), padding)
    kw = kernel_size[1]
    total = np.array(windows[:, :, 0, 0])
    for k in range(1, kernel_size[0] * kw):
        total += windows[:, :, k // kw, k % kw]
    return total


def _window_spread(g: Any, input_size: Pair, kernel_size: Pair, stride: Pair, padding: Padding) -> np.ndarray:
    g = np.asarray(g)
    n, c, oh, ow = g.shape
    copies = np.broadcast_to(g[:, :, None, None], (n, c) + tuple(kernel_size) + (oh, ow))
    return _fold(copies, input_size, kernel_size, stride, (1, 1), padding)


class WindowSum(Primitive):
    """Zero padding. In the gradient every pixel of a window receives that window's gradient."""

    formula = "out = the sum of x_pad over each window: out[n, c, oh, ow] = sum of the window at (oh, ow)"
    grad_formulas = ("grad_x = WindowSpread(grad_out)",)

    reads_inputs = False
    forward = staticmethod(_window_sum)
    vjps = (
        lambda grad_out, out, x, kernel_size, stride, padding: WindowSpread.call(
            grad_out, input_size=tuple(x.shape[2:]), kernel_size=kernel_size, stride=stride, padding=padding,
        ),
    )


class WindowSpread(Primitive):
    """WindowSum's VJP. In the gradient each window collects the gradient of all its pixels."""

    formula = "out = at every pixel (y, x), the sum of g[n, c, oh, ow] over the windows (oh, ow) that contain it"
    grad_formulas = ("grad_g = WindowSum(grad_out)",)

    reads_inputs = False
    forward = staticmethod(_window_spread)
    vjps = (
        lambda grad_out, out, g, input_size, kernel_size, stride, padding: WindowSum.call(
            grad_out, kernel_size=kernel_size, stride=stride, padding=padding,
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


@functools.lru_cache(maxsize=8)
def _window_origins(shape: tuple, out_size: Pair, stride: Pair, padding: Padding) -> np.ndarray:
    """Flat index into ``x.reshape(-1)`` of each window's top-left corner (may lie in the padding)."""
    n, c, h, w = shape
    rows = np.arange(out_size[0], dtype=np.int64) * stride[0] - padding[0][0]
    columns = np.arange(out_size[1], dtype=np.int64) * stride[1] - padding[1][0]
    planes = np.arange(n * c, dtype=np.int64).reshape(n, c, 1, 1) * (h * w)
    origins = planes + (rows[:, None] * w + columns[None, :])
    origins.flags.writeable = False
    return origins


def max_index(x: Any, out: Any, kernel_size: Pair, stride: Pair, dilation: Pair,
              padding: Padding) -> tuple[np.ndarray, np.ndarray | None]:
    """For every window, the flat index into ``x.reshape(-1)`` of the maximum it picked, and a
    mask of the windows that hold only padding (None when there are none).

    PyTorch's rule: the first offset (row-major within the window) holding the max wins,
    except that a NaN beats every number and a later NaN beats an earlier one.
    No loop over windows: with K = kh * kw offsets, the first offset k whose value equals
    the max is K - max_k((K - k) * [x_k == max]); a table then turns it into a flat shift.
    A window of padding only (dilation can step over a small image) points at its image's
    first pixel; its output is a constant, so the caller must not send it a gradient.
    """
    x, out = np.asarray(x), np.asarray(out)
    (kh, kw), (dh, dw) = kernel_size, dilation
    h, w = x.shape[2:]
    windows = unfold_view(x, kernel_size, stride, dilation, padding, _lowest(x.dtype))
    probe = windows
    if x.dtype.kind == "f" and any(padding[0] + padding[1]):
        # NaN padding never equals the max, so (as in PyTorch) padding is never picked
        probe = unfold_view(x, kernel_size, stride, dilation, padding, np.nan)
    count = kh * kw
    small = np.uint8 if count < 256 else np.int64
    score = np.zeros(out.shape, dtype=small)
    for k in range(count):
        hit = probe[:, :, k // kw, k % kw] == out
        np.maximum(score, np.multiply(hit, count - k, dtype=small), out=score)
    dead = None
    if not score.all():  # no offset matched: a NaN window (NaN != NaN), or padding only
        if out.dtype.kind == "f":
            nan = np.isnan(out)
            last = np.zeros(out.shape, dtype=small)
            for k in range(count):  # a NaN window picks its last NaN offset
                is_nan = np.isnan(windows[:, :, k // kw, k % kw])
                np.copyto(last, np.asarray(count - k, dtype=small), where=is_nan & nan)
            score = np.where(nan, last, score)
        dead = score == 0
        score = np.where(dead, count, score)
    # shift[score] = flat offset of kernel offset k = count - score inside its window
    offsets = count - np.arange(count + 1)
    shift = (offsets // kw) * dh * w + (offsets % kw) * dw
    index = np.take(shift, score)
    index += _window_origins(x.shape, out.shape[2:], stride, padding)
    if dead is not None:
        if not dead.any():
            return index, None
        planes = np.arange(x.shape[0] * x.shape[1], dtype=np.int64).reshape(x.shape[:2] + (1, 1)) * (h * w)
        index = np.where(dead, planes, index)
    return index, dead


def windows_overlap(kernel_size: Pair, stride: Pair, dilation: Pair) -> bool:
    """Whether two windows can share a pixel (then scatters must add, not write)."""
    return any(s < d * (k - 1) + 1 for k, s, d in zip(kernel_size, stride, dilation, strict=True))


def _max_pool_vjp(grad_out, out, x, kernel_size, stride, dilation, padding):  # type: ignore[no-untyped-def]
    index, dead = max_index(x, out, kernel_size, stride, dilation, padding)
    if dead is not None:  # windows of padding only are constants: no gradient
        grad_out = grad_out * ~dead
    unique = not windows_overlap(kernel_size, stride, dilation) and dead is None
    return PoolScatter.call(grad_out, index=index, shape=tuple(x.shape), unique=unique)


class MaxPool2d(Primitive):
    """Padding counts as -inf. The gradient goes to one position per window, the maximum PyTorch
    picks (the first one; ties are not shared). Those positions are constants, so differentiating
    the VJP again gives PoolScatter's VJP: a gather of the incoming gradient at them.
    """

    formula = "out = max of x over each window: out[n, c, oh, ow] = max of the window at (oh, ow)"
    grad_formulas = ("grad_x = grad_out scattered to the position of each window's maximum",)

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
    """``index`` holds flat positions, such as the maxima max pooling picked. In the gradient each
    entry's gradient goes back to the position it came from."""

    formula = "out = x.reshape(-1)[index]"
    grad_formulas = ("grad_x = PoolScatter(grad_out)",)

    reads_inputs = False

    @staticmethod
    def forward(x, index, unique=False):  # type: ignore[no-untyped-def]
        return np.take(np.reshape(x, -1), index)

    vjps = (
        lambda grad_out, out, x, index, unique=False: PoolScatter.call(
            grad_out, index=index, shape=tuple(x.shape), unique=unique
        ),
    )


class PoolScatter(Primitive):
    """In the gradient each entry reads the gradient of the position it went to."""

    formula = "out = zeros(shape) with g added at the flat positions index (repeats accumulate)"
    grad_formulas = ("grad_g = PoolGather(grad_out)",)

    reads_inputs = False

    @staticmethod
    def forward(g, index, shape, unique=False):  # type: ignore[no-untyped-def]
        return _flat_scatter(g, index, shape, unique)

    vjps = (
        lambda grad_out, out, g, index, shape, unique=False: PoolGather.call(grad_out, index=index, unique=unique),
    )


# ---------------------------------------------------------------- table lookup (Embedding)
def _row_scatter(g: Any, index: np.ndarray, num_rows: int) -> np.ndarray:
    g = np.asarray(g)
    out = np.zeros((num_rows,) + g.shape[index.ndim:], dtype=g.dtype)
    np.add.at(out, index, g)
    return out


class RowGather(Primitive):
    """An embedding lookup. In the gradient rows add up the gradients of every position that read
    them; positions whose index equals ``padding_idx`` send nothing (PyTorch's rule)."""

    formula = "out = weight[index]: one row of weight for every entry of index"
    grad_formulas = ("grad_weight = RowScatter(grad_out * (index != padding_idx))",)

    reads_inputs = False

    @staticmethod
    def forward(weight, index, padding_idx=None):  # type: ignore[no-untyped-def]
        return np.take(weight, index, axis=0)

    vjps = (
        lambda grad_out, out, weight, index, padding_idx=None: RowScatter.call(
            grad_out if padding_idx is None else grad_out * (index != padding_idx)[..., None],
            index=index, num_rows=weight.shape[0],
        ),
    )


class RowScatter(Primitive):
    """RowGather's VJP. In the gradient each position reads the gradient of the row it went to."""

    formula = "out = zeros(num_rows, ...) with each row of g added at its row of index"
    grad_formulas = ("grad_g = RowGather(grad_out)",)

    reads_inputs = False

    @staticmethod
    def forward(g, index, num_rows):  # type: ignore[no-untyped-def]
        return _row_scatter(g, index, num_rows)

    vjps = (lambda grad_out, out, g, index, num_rows: RowGather.call(grad_out, index=index),)
