"""Functional forms of the heavier layers: convolution, pooling, normalisation, embedding.

Convolution and pooling run on the primitives of :mod:`autograd_lite.ops.conv`;
normalisation layers are composites of mean, multiply and add, so they differentiate to
any order with no VJP of their own. Arguments, defaults and errors follow PyTorch's
``torch.nn.functional``.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from .._common import _t
from ..autograd.grad_mode import no_grad
from ..ops._fastpath import unary
from ..ops.conv import (
    Fold,
    Im2col,
    MaxPool2d,
    RowGather,
    Unfold,
    WindowSum,
    conv_row_width,
    max_index,
    output_size,
)
from ..ops.linalg import Matmul
from ..ops.primitive import apply
from ..ops.reduction import Sum
from ..ops.shape import Cat, Reshape, _BasicGetItem
from ..tensor import Tensor

__all__ = [
    "conv1d", "conv2d", "unfold", "fold", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "batch_norm", "layer_norm", "embedding",
]

Pair = tuple[int, int]


def _reshape(x: Tensor, shape: tuple) -> Tensor:
    return x if x.shape == shape else unary(Reshape, x, {"shape": shape})


def _pair(value: Any, name: str, op: str, minimum: int = 1) -> Pair:
    """An int or a 1-/2-sequence as (height, width), each at least ``minimum``."""
    if isinstance(value, (int, np.integer)):
        pair = (int(value), int(value))
    else:
        try:
            items = tuple(int(v) for v in value)
        except TypeError:
            raise TypeError(f"{op}: {name} must be an int or a tuple of 2 ints, got {value!r}") from None
        if len(items) == 1:
            items = items * 2
        if len(items) != 2:
            raise ValueError(f"{op}: {name} must be an int or a tuple of 2 ints, got {value!r}")
        pair = (items[0], items[1])
    if pair[0] < minimum or pair[1] < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return pair


def _batched(input: Tensor, op: str, spatial: int = 2) -> tuple[Tensor, bool]:
    """Accept an unbatched input (one dim fewer) by adding a batch dim of 1, as PyTorch does."""
    if input.ndim == spatial + 1:
        return _reshape(input, (1,) + input.shape), True
    if input.ndim != spatial + 2:
        layout = "(N, C, H, W) or (C, H, W)" if spatial == 2 else "(N, C, L) or (C, L)"
        raise RuntimeError(
            f"{op}: expected a {spatial + 1}-D or {spatial + 2}-D input {layout}, got shape {tuple(input.shape)}"
        )
    return input, False


def _unbatch(out: Tensor, unbatched: bool) -> Tensor:
    return _reshape(out, out.shape[1:]) if unbatched else out


# ---------------------------------------------------------------- convolution
def _conv_padding(padding: Any, kernel: Pair, dilation: Pair, stride: Pair, op: str) -> tuple[Pair, Pair]:
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0), (0, 0))
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions (stride {stride})")
            pads = []
            for k, d in zip(kernel, dilation, strict=True):
                total = d * (k - 1)  # PyTorch puts the odd pixel at the end
                pads.append((total // 2, total - total // 2))
            return (pads[0], pads[1])
        raise ValueError(f"{op}: invalid padding string {padding!r}; expected 'valid' or 'same'")
    ph, pw = _pair(padding, "padding", op, minimum=0)
    return ((ph, ph), (pw, pw))


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-D cross-correlation over an ``(N, C, H, W)`` (or ``(C, H, W)``) input, as ``torch.nn.functional.conv2d``.

    ``weight`` is ``(out_channels, in_channels / groups, kh, kw)``; ``padding`` is an int, a
    pair, ``'valid'`` or ``'same'``. A composite: :class:`~autograd_lite.ops.conv.Im2col`
    (with a row of ones when there is a bias), one batched matmul with the weight (and the
    bias as its last column), a reshape, and a crop of the junk columns (stride 1; a view:
    a copy measured slower, as its fresh memory costs more than the strided reads it saves).
    """
    op = "conv2d"
    input, weight = _t(input), _t(weight)
    input, unbatched = _batched(input, op)
    if weight.ndim != 4:
        raise RuntimeError(
            f"{op}: weight must be 4-D (out_channels, in_channels/groups, kh, kw), got shape {tuple(weight.shape)}"
        )
    n, c, h, w = input.shape
    o, cg, kh, kw = weight.shape
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive integer, got {groups!r}")
    if o % groups:
        raise RuntimeError(
            f"{op}: out_channels {o} (weight shape {tuple(weight.shape)}) must be divisible by groups={groups}"
        )
    if c != cg * groups:
        raise RuntimeError(
            f"{op}: input of shape {tuple(input.shape)} has {c} channels, but weight of shape "
            f"{tuple(weight.shape)} with groups={groups} expects {cg * groups}"
        )
    if input.dtype != weight.dtype:
        raise RuntimeError(
            f"{op}: input dtype {input.dtype} and weight dtype {weight.dtype} differ; convert one with .to()"
        )
    stride_ = _pair(stride, "stride", op)
    dilation_ = _pair(dilation, "dilation", op)
    pad = _conv_padding(padding, (kh, kw), dilation_, stride_, op)
    oh = output_size(h, kh, stride_[0], dilation_[0], pad[0])
    ow = output_size(w, kw, stride_[1], dilation_[1], pad[1])
    if oh < 1 or ow < 1:
        raise RuntimeError(
            f"{op}: the padded input of size ({h + sum(pad[0])}, {w + sum(pad[1])}) is smaller than the "
            f"dilated kernel ({dilation_[0] * (kh - 1) + 1}, {dilation_[1] * (kw - 1) + 1})"
        )
    if bias is not None:
        bias = _t(bias)
        if bias.shape != (o,):
            raise RuntimeError(f"{op}: bias must have shape ({o},), got {tuple(bias.shape)}")
        if bias.dtype != weight.dtype:
            raise RuntimeError(f"{op}: bias dtype {bias.dtype} and weight dtype {weight.dtype} differ")
    attrs = {"kernel_size": (kh, kw), "stride": stride_, "dilation": dilation_, "padding": pad,
             "groups": int(groups), "bias_row": None if bias is None else 1.0}
    cols = unary(Im2col, input, attrs)  # (N, G, C/G * kh * kw (+ 1), OH * R)
    matrix = _reshape(weight, (groups, o // groups, cg * kh * kw))
    if bias is not None:  # the bias rides in the matmul: a weight column against a row of ones
        matrix = apply(Cat, (matrix, _reshape(bias, (groups, o // groups, 1))), {"axis": 2})
    out = _reshape(apply(Matmul, (matrix, cols)), (n, o, oh, conv_row_width(w, kw, stride_, dilation_[1], pad[1])))
    if out.shape[3] != ow:  # drop the junk columns of the flat-shift layout (a view)
        out = unary(_BasicGetItem, out, {"index": (Ellipsis, slice(0, ow))})
    return _unbatch(out, unbatched)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """1-D cross-correlation over ``(N, C, L)`` (or ``(C, L)``): conv2d on a height-1 image."""
    op = "conv1d"
    input, weight = _t(input), _t(weight)
    input, unbatched = _batched(input, op, spatial=1)
    if weight.ndim != 3:
        raise RuntimeError(
            f"{op}: weight must be 3-D (out_channels, in_channels/groups, k), got shape {tuple(weight.shape)}"
        )
    n, c, length = input.shape
    pad = padding if isinstance(padding, str) else (0, _single(padding, "padding", op, minimum=0))
    out = conv2d(_reshape(input, (n, c, 1, length)), _reshape(weight, weight.shape[:2] + (1,) + weight.shape[2:]),
                 bias, (1, _single(stride, "stride", op)), pad, (1, _single(dilation, "dilation", op)), groups)
    out = _reshape(out, (n, out.shape[1], out.shape[3]))
    return _unbatch(out, unbatched)


def _single(value: Any, name: str, op: str, minimum: int = 1) -> int:
    if not isinstance(value, (int, np.integer)):
        items = tuple(value)
        if len(items) != 1:
            raise ValueError(f"{op}: {name} must be an int or a 1-tuple, got {value!r}")
        value = items[0]
    if int(value) < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return int(value)


def unfold(input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> Tensor:
    """Sliding windows of ``(N, C, H, W)`` as ``(N, C * kh * kw, L)`` (im2col, ``torch.nn.functional.unfold``)."""
    op = "unfold"
    input = _t(input)
    input, unbatched = _batched(input, op)
    kernel = _pair(kernel_size, "kernel_size", op)
    dilation_ = _pair(dilation, "dilation", op)
    stride_ = _pair(stride, "stride", op)
    ph, pw = _pair(padding, "padding", op, minimum=0)
    n, c, h, w = input.shape
    attrs = {"kernel_size": kernel, "stride": stride_, "dilation": dilation_, "padding": ((ph, ph), (pw, pw))}
    cols = apply(Unfold, (input,), attrs)
    if cols.shape[4] < 1 or cols.shape[5] < 1:
        raise RuntimeError(f"{op}: the padded input ({h + 2 * ph}, {w + 2 * pw}) is smaller than the dilated kernel")
    out = _reshape(cols, (n, c * kernel[0] * kernel[1], cols.shape[4] * cols.shape[5]))
    return _unbatch(out, unbatched)


def fold(input: Tensor, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
         stride: Any = 1) -> Tensor:
    """Sum sliding windows ``(N, C * kh * kw, L)`` back into ``(N, C, H, W)`` (col2im, ``torch.nn.functional.fold``)."""
    from ..ops.conv import output_size as positions

    op = "fold"
    input = _t(input)
    unbatched = input.ndim == 2
    if unbatched:
        input = _reshape(input, (1,) + input.shape)
    if input.ndim != 3:
        raise RuntimeError(f"{op}: expected a 2-D or 3-D input (N, C*kh*kw, L), got shape {tuple(input.shape)}")
    size = _pair(output_size, "output_size", op)
    kernel = _pair(kernel_size, "kernel_size", op)
    dilation_ = _pair(dilation, "dilation", op)
    stride_ = _pair(stride, "stride", op)
    ph, pw = _pair(padding, "padding", op, minimum=0)
    pad = ((ph, ph), (pw, pw))
    n, k, length = input.shape
    oh = positions(size[0], kernel[0], stride_[0], dilation_[0], pad[0])
    ow = positions(size[1], kernel[1], stride_[1], dilation_[1], pad[1])
    if k % (kernel[0] * kernel[1]) or oh * ow != length or oh < 1 or ow < 1:
        raise RuntimeError(
            f"{op}: input of shape {tuple(input.shape)} does not match output_size {size} with kernel "
            f"{kernel}: expected dim 1 divisible by {kernel[0] * kernel[1]} and L == {oh} * {ow}"
        )
    cols = _reshape(input, (n, k // (kernel[0] * kernel[1])) + kernel + (oh, ow))
    out = apply(Fold, (cols,), {"output_size": size, "kernel_size": kernel, "stride": stride_,
                                "dilation": dilation_, "padding": pad})
    return _unbatch(out, unbatched)


# ---------------------------------------------------------------- pooling
def _pool_geometry(size: int, kernel: int, stride: int, pad: int, dilation: int, ceil_mode: bool,
                   op: str) -> tuple[int, Pair]:
    """Output length and (before, after) padding; ceil_mode adds padding at the end, as PyTorch."""
    if 2 * pad > dilation * (kernel - 1) + 1:
        raise ValueError(
            f"{op}: pad should be at most half of effective kernel size, but got pad={pad}, "
            f"kernel_size={kernel} and dilation={dilation}"
        )
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    count = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (count - 1) * stride >= size + pad:
        count -= 1  # the last window may not start inside the right padding
    if span < 0 or count < 1:
        raise RuntimeError(
            f"{op}: input size {size} (padding {pad}) is too small for kernel {kernel} with dilation "
            f"{dilation}; output size would be {builtins.max(count, 0)}"
        )
    extra = builtins.max(0, (count - 1) * stride + dilation * (kernel - 1) + 1 - (size + 2 * pad))
    return count, (pad, pad + extra)


def _pool_args(op: str, kernel_size: Any, stride: Any, padding: Any, dilation: Any) -> tuple[Pair, Pair, Pair, Pair]:
    kernel = _pair(kernel_size, "kernel_size", op)
    stride_ = kernel if stride is None or (isinstance(stride, (list, tuple)) and not stride) else _pair(
        stride, "stride", op)
    return kernel, stride_, _pair(padding, "padding", op, minimum=0), _pair(dilation, "dilation", op)


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """Max over sliding windows (padding counts as -inf), as ``torch.nn.functional.max_pool2d``.

    The gradient goes to one maximum per window (the first; a NaN wins). With
    ``return_indices`` also returns each maximum's flat index into its ``H * W`` plane.
    """
    op = "max_pool2d"
    input = _t(input)
    input, unbatched = _batched(input, op)
    kernel, stride_, pad, dilation_ = _pool_args(op, kernel_size, stride, padding, dilation)
    h, w = input.shape[2:]
    _, pad_h = _pool_geometry(h, kernel[0], stride_[0], pad[0], dilation_[0], ceil_mode, op)
    _, pad_w = _pool_geometry(w, kernel[1], stride_[1], pad[1], dilation_[1], ceil_mode, op)
    attrs: dict[str, Any] = {"kernel_size": kernel, "stride": stride_, "dilation": dilation_, "padding": (pad_h, pad_w)}
    out = unary(MaxPool2d, input, attrs)
    if not return_indices:
        return _unbatch(out, unbatched)
    index = max_index(input._data, out._data, **attrs)[0] % (h * w)
    indices = Tensor._wrap(index[0] if unbatched else index)
    return _unbatch(out, unbatched), indices


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """Max pooling over ``(N, C, L)`` (or ``(C, L)``): max_pool2d on a height-1 image."""
    op = "max_pool1d"
    input = _t(input)
    input, unbatched = _batched(input, op, spatial=1)
    n, c, length = input.shape
    stride = kernel_size if stride is None else stride
    result = max_pool2d(_reshape(input, (n, c, 1, length)), (1, _single(kernel_size, "kernel_size", op)),
                        (1, _single(stride, "stride", op)), (0, _single(padding, "padding", op, 0)),
                        (1, _single(dilation, "dilation", op)), ceil_mode, return_indices)
    out, indices = result if return_indices else (result, None)
    out = _unbatch(_reshape(out, (n, c, out.shape[3])), unbatched)
    if not return_indices:
        return out
    data = indices._data.reshape(n, c, -1)  # type: ignore[union-attr]
    return out, Tensor._wrap(data[0] if unbatched else data)


def _window_counts(size: int, kernel: int, stride: int, pad: Pair, count: int, include_pad: bool) -> np.ndarray:
    """How many positions of each window count for the average (PyTorch's divisor rule)."""
    start = np.arange(count) * stride - pad[0]
    end = np.minimum(start + kernel, size + pad[0])  # the ceil_mode extra never counts
    if include_pad:
        return end - start
    return np.minimum(end, size) - np.maximum(start, 0)


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over sliding windows, as ``torch.nn.functional.avg_pool2d``: a window sum times a constant."""
    op = "avg_pool2d"
    input = _t(input)
    input, unbatched = _batched(input, op)
    kernel, stride_, pad, _ = _pool_args(op, kernel_size, stride, padding, 1)
    h, w = input.shape[2:]
    oh, pad_h = _pool_geometry(h, kernel[0], stride_[0], pad[0], 1, ceil_mode, op)
    ow, pad_w = _pool_geometry(w, kernel[1], stride_[1], pad[1], 1, ceil_mode, op)
    total = unary(WindowSum, input, {"kernel_size": kernel, "stride": stride_, "padding": (pad_h, pad_w)})
    if divisor_override is not None:
        if int(divisor_override) == 0:
            raise ValueError(f"{op}: divisor_override must be non-zero")
        return _unbatch(total * (1.0 / int(divisor_override)), unbatched)
    rows = _window_counts(h, kernel[0], stride_[0], pad_h, oh, count_include_pad)
    columns = _window_counts(w, kernel[1], stride_[1], pad_w, ow, count_include_pad)
    if rows.min() == rows.max() and columns.min() == columns.max():
        out = total * (1.0 / float(rows[0] * columns[0]))
    else:
        out = total * (1.0 / np.outer(rows, columns)).astype(input.dtype)
    return _unbatch(out, unbatched)


def avg_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Average pooling over ``(N, C, L)`` (or ``(C, L)``): avg_pool2d on a height-1 image."""
    op = "avg_pool1d"
    input = _t(input)
    input, unbatched = _batched(input, op, spatial=1)
    n, c, length = input.shape
    stride = kernel_size if stride is None else stride
    out = avg_pool2d(_reshape(input, (n, c, 1, length)), (1, _single(kernel_size, "kernel_size", op)),
                     (1, _single(stride, "stride", op)), (0, _single(padding, "padding", op, 0)),
                     ceil_mode, count_include_pad)
    return _unbatch(_reshape(out, (n, c, out.shape[3])), unbatched)


def _adaptive_matrix(size: int, out: int, dtype: np.dtype) -> np.ndarray:
    """(out, size) averaging matrix: row i averages [floor(i*size/out), ceil((i+1)*size/out))."""
    i = np.arange(out)
    start = (i * size) // out
    end = -((-(i + 1) * size) // out)
    positions = np.arange(size)
    inside = (positions[None, :] >= start[:, None]) & (positions[None, :] < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling to a fixed ``output_size`` (int, pair; None keeps that dim), as PyTorch.

    Window i along an axis of length S spans [floor(i*S/out), ceil((i+1)*S/out)). When the
    windows tile the input exactly this is avg_pool2d; otherwise it is ``A_h @ x @ A_w^T``
    with per-axis averaging matrices (a rectangle's mean is separable).
    """
    op = "adaptive_avg_pool2d"
    input = _t(input)
    input, unbatched = _batched(input, op)
    n, c, h, w = input.shape
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size, output_size)
    sizes = tuple(output_size)
    if len(sizes) != 2:
        raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
    oh, ow = (h if sizes[0] is None else int(sizes[0])), (w if sizes[1] is None else int(sizes[1]))
    if oh < 1 or ow < 1:
        raise ValueError(f"{op}: output_size must be positive, got {output_size!r}")
    if h % oh == 0 and w % ow == 0:
        out = avg_pool2d(input, (h // oh, w // ow))
    else:
        out = input
        if oh != h:
            out = apply(Matmul, (Tensor._wrap(_adaptive_matrix(h, oh, input.dtype)), out))
        if ow != w:
            out = apply(Matmul, (out, Tensor._wrap(_adaptive_matrix(w, ow, input.dtype).T)))
    return _unbatch(out, unbatched)


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    """Adaptive average pooling over ``(N, C, L)`` (or ``(C, L)``)."""
    op = "adaptive_avg_pool1d"
    input = _t(input)
    input, unbatched = _batched(input, op, spatial=1)
    n, c, length = input.shape
    out = adaptive_avg_pool2d(_reshape(input, (n, c, 1, length)), (1, _single(output_size, "output_size", op)))
    return _unbatch(_reshape(out, (n, c, out.shape[3])), unbatched)


# ---------------------------------------------------------------- normalisation
def _normalize(input: Tensor, axes: tuple, eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """(x - mean) / sqrt(var + eps) over ``axes`` (biased variance), with the mean and variance."""
    count = int(np.prod([input.shape[a] for a in axes]))
    mean = unary(Sum, input, {"axis": axes, "keepdims": True}) * (1.0 / count)
    centered = input - mean
    var = unary(Sum, centered * centered, {"axis": axes, "keepdims": True}) * (1.0 / count)
    return centered * (var + eps) ** -0.5, mean, var


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation over dim 1 of ``(N, C)`` / ``(N, C, L)`` / ``(N, C, H, W)``, as PyTorch.

    training: y = (x - mean_B) / sqrt(var_B + eps) * weight + bias with the batch's mean and
    biased variance; the running statistics (if given) move by ``momentum`` towards the
    batch mean and the *unbiased* batch variance. Otherwise the running statistics are used.
    """
    op = "batch_norm"
    input = _t(input)
    if input.ndim < 2:
        raise ValueError(f"{op}: expected an input of at least 2 dims (N, C, ...), got shape {tuple(input.shape)}")
    c = input.shape[1]
    shape = (1, c) + (1,) * (input.ndim - 2)
    for name, value in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                        ("bias", bias)):
        if value is not None and tuple(value.shape) != (c,):
            raise RuntimeError(f"{op}: {name} should have shape ({c},) for input of shape {tuple(input.shape)}, "
                               f"got {tuple(value.shape)}")
    if training:
        axes = (0,) + tuple(range(2, input.ndim))
        count = int(np.prod([input.shape[a] for a in axes]))
        if count <= 1:
            raise ValueError(
                f"{op}: expected more than 1 value per channel when training, got input size {tuple(input.shape)}"
            )
        out, mean, var = _normalize(input, axes, eps)
        if running_mean is not None or running_var is not None:
            with no_grad():
                if running_mean is not None:
                    running_mean.mul_(1 - momentum).add_(mean.detach().reshape(c) * momentum)
                if running_var is not None:
                    unbiased = var.detach().reshape(c) * (count / (count - 1))
                    running_var.mul_(1 - momentum).add_(unbiased * momentum)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError(f"{op}: running_mean and running_var are required when training=False")
        scale = (_t(running_var).detach().reshape(shape) + eps) ** -0.5
        out = (input - _t(running_mean).detach().reshape(shape)) * scale
    if weight is not None:
        out = out * _reshape(_t(weight), shape)
    if bias is not None:
        out = out + _reshape(_t(bias), shape)
    return out


def layer_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims (biased variance), then scale and shift."""
    op = "layer_norm"
    input = _t(input)
    if isinstance(normalized_shape, (int, np.integer)):
        normalized_shape = (int(normalized_shape),)
    normalized = tuple(int(s) for s in normalized_shape)
    k = len(normalized)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != normalized:
        raise RuntimeError(
            f"{op}: input of shape {tuple(input.shape)} does not end with normalized_shape {list(normalized)}"
        )
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and tuple(value.shape) != normalized:
            raise RuntimeError(f"{op}: {name} should have shape {normalized}, got {tuple(value.shape)}")
    out, _, _ = _normalize(input, tuple(range(input.ndim - k, input.ndim)), eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


# ---------------------------------------------------------------- embedding
def embedding(input: Any, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input``: out[...] = weight[input[...]].

    Positions equal to ``padding_idx`` send no gradient to that row. ``max_norm`` rescales,
    in place, every picked row whose ``norm_type``-norm exceeds it (as PyTorch does).
    """
    op = "embedding"
    weight = _t(weight)
    index = input._data if isinstance(input, Tensor) else np.asarray(input)
    if index.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be an integer tensor (int64 / int32), got dtype {index.dtype}")
    if weight.ndim != 2:
        raise RuntimeError(f"{op}: weight must be 2-D (num_embeddings, embedding_dim), got shape {tuple(weight.shape)}")
    rows = weight.shape[0]
    if index.size and (index.min() < 0 or index.max() >= rows):
        bad = index.min() if index.min() < 0 else index.max()
        raise IndexError(f"{op}: index {int(bad)} is out of range for a weight with {rows} rows (0..{rows - 1})")
    if padding_idx is not None:
        if not -rows <= padding_idx < rows:
            raise ValueError(f"{op}: padding_idx {padding_idx} must be within num_embeddings ({rows})")
        padding_idx = int(padding_idx) % rows
    if scale_grad_by_freq or sparse:
        raise NotImplementedError(f"{op}: scale_grad_by_freq and sparse gradients are not supported")
    if max_norm is not None:
        with no_grad():
            picked = np.unique(index)
            data = weight._data
            norms = np.linalg.norm(data[picked], ord=norm_type, axis=1)
            scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(data.dtype)
            weight._data[picked] = data[picked] * scale[:, None]
            weight._bump_version()
    return apply(RowGather, (weight,), {"index": index, "padding_idx": padding_idx})

