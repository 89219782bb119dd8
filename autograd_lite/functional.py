"""The public functions: thin wrappers over primitives, and composites built from them.

Composites (mean, var, std, softmax, rsqrt, stack, split, ...) have no VJP of their own:
they are correct because their primitives are, and they differentiate to any order.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ._common import _SUM_ALL, _t
from ._dtype import as_dtype, int64
from .autograd.grad_mode import _state
from .ops._fastpath import binary, unary
from .ops.elementwise import (
    Abs,
    Add,
    Cast,
    Clamp,
    Clone,
    CopyFrom,
    Cos,
    Div,
    Exp,
    FillLike,
    Log,
    Maximum,
    Minimum,
    Mul,
    Neg,
    Pow,
    Relu,
    Sigmoid,
    Sign,
    Sin,
    Softplus,
    Sqrt,
    Sub,
    Tanh,
    Where,
)
from .ops.linalg import Einsum, Matmul
from .ops.primitive import apply, result_dtype
from .ops.reduction import Amax, Amin, LogSoftmax, LogSumExp, Prod, Sum
from .ops.shape import Cat, Expand, Gather, GetItem, IndexPut, Permute, Reshape, _BasicGetItem, _is_basic
from .tensor import Tensor, _normalize_dims


def _dims(dim: Any, axis: Any) -> Any:
    return axis if dim is None else dim


def _keep(keepdim: bool | None, keepdims: bool | None) -> bool:
    return bool(keepdims) if keepdims is not None else bool(keepdim)


def _reduce_axes(dim: Any, ndim: int, op: str) -> tuple[int, ...] | None:
    """A reduction's dims, normalized and distinct; None (all) for a 0-d tensor, as PyTorch allows dim 0/-1."""
    axes = _normalize_dims(dim, ndim, op)
    if axes is None or ndim == 0:
        return None
    if len(set(axes)) != len(axes):
        repeated = next(a for a in axes if axes.count(a) > 1)
        raise RuntimeError(f"{op}: dim {repeated} appears multiple times in the list of dims {dim}")
    return axes


# ---------------------------------------------------------------- arithmetic
def add(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """input + alpha * other, broadcasting as NumPy does."""
    if alpha != 1:
        other = _t(other) * alpha
    return binary(Add, _t(input), other)


def sub(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """input - alpha * other."""
    if alpha != 1:
        other = _t(other) * alpha
    return binary(Sub, _t(input), other)


def mul(input: Any, other: Any) -> Tensor:
    return binary(Mul, _t(input), other)


def div(input: Any, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    if rounding_mode is None:
        return binary(Div, _t(input), other)
    if rounding_mode == "floor":
        return _no_grad_binary(np.floor_divide, _t(input), other)
    if rounding_mode == "trunc":
        return Tensor._wrap(np.trunc(np.true_divide(_t(input)._data, _t(other)._data)))
    raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")


def true_divide(input: Any, other: Any) -> Tensor:
    return div(input, other)


def pow(input: Any, exponent: Any) -> Tensor:
    if not isinstance(input, Tensor):
        return _t(exponent).__rpow__(input)
    return binary(Pow, input, exponent)


def neg(input: Tensor) -> Tensor:
    return unary(Neg, _t(input))


def square(input: Tensor) -> Tensor:
    input = _t(input)
    return binary(Mul, input, input)


def exp(input: Tensor) -> Tensor:
    return unary(Exp, _t(input))


def log(input: Tensor) -> Tensor:
    return unary(Log, _t(input))


def log1p(input: Tensor) -> Tensor:
    return log(_t(input) + 1)


def sqrt(input: Tensor) -> Tensor:
    return unary(Sqrt, _t(input))


def rsqrt(input: Tensor) -> Tensor:
    """1 / sqrt(input), a composite."""
    return 1.0 / sqrt(input)


def abs(input: Tensor) -> Tensor:
    return unary(Abs, _t(input))


def sign(input: Tensor) -> Tensor:
    return unary(Sign, _t(input))


def sin(input: Tensor) -> Tensor:
    return unary(Sin, _t(input))


def cos(input: Tensor) -> Tensor:
    return unary(Cos, _t(input))


def tanh(input: Tensor) -> Tensor:
    return unary(Tanh, _t(input))


def sigmoid(input: Tensor) -> Tensor:
    return unary(Sigmoid, _t(input))


def relu(input: Tensor) -> Tensor:
    return unary(Relu, _t(input))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold (as PyTorch).

    The smooth part is computed without overflow for any x. This is also
    ``nn.functional.softplus`` (and ``nn.Softplus``).
    """
    x = _t(input)
    scaled = x if beta == 1.0 else x * beta
    smooth = unary(Softplus, scaled)
    if beta != 1.0:
        smooth = smooth / beta
    return apply(Where, (scaled._data > threshold, x, smooth))


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        result = _t(input)
        if min is not None:
            result = maximum(result, min)
        if max is not None:
            result = minimum(result, max)
        return result
    return unary(Clamp, _t(input), {"min": min, "max": max})


clip = clamp


def maximum(input: Any, other: Any) -> Tensor:
    return binary(Maximum, _t(input), other)


def minimum(input: Any, other: Any) -> Tensor:
    return binary(Minimum, _t(input), other)


def where(condition: Any, input: Any, other: Any) -> Tensor:
    """Elementwise ``input if condition else other``; the condition gets no gradient."""
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        cond = cond.astype(bool)
    return apply(Where, (cond, input, other))


def matmul(input: Any, other: Any) -> Tensor:
    """Matrix product with NumPy's rules: 1-D operands are vectors, batch dims broadcast."""
    if type(input) is Tensor and type(other) is Tensor:
        try:
            return binary(Matmul, input, other)
        except RuntimeError:
            pass  # fall through to the checks below, which explain the problem
    input, other = _t(input), _t(other)
    if input.ndim == 0 or other.ndim == 0:
        raise RuntimeError(
            f"matmul: both arguments need at least 1 dimension, got shapes {tuple(input.shape)} "
            f"and {tuple(other.shape)}; use * for scalars"
        )
    if input.shape[-1] != other.shape[-2 if other.ndim > 1 else 0]:
        raise RuntimeError(
            f"matmul: shapes {tuple(input.shape)} and {tuple(other.shape)} cannot be multiplied "
            f"({input.shape[-1]} != {other.shape[-2 if other.ndim > 1 else 0]})"
        )
    return apply(Matmul, (input, other))


mm = matmul


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two vectors, a composite of reshape and multiply."""
    return reshape(_t(input), (-1, 1)) * reshape(_t(vec2), (1, -1))


def _explicit_einsum(equation: str, operands: Sequence[Tensor]) -> str:
    """Rewrite ``equation`` with '...' expanded and an explicit '->' output."""
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(operands):
        raise ValueError(f"einsum: equation {equation!r} has {len(terms)} operands but {len(operands)} were given")
    used = set(equation) - {".", ",", "-", ">"}
    spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in used]
    ellipsis_rank = 0
    for term, x in zip(terms, operands):
        if "..." in term:
            ellipsis_rank = builtins.max(ellipsis_rank, x.ndim - (len(term) - 3))
    fill = "".join(spare[:ellipsis_rank])
    expanded = []
    for term, x in zip(terms, operands):
        if "..." in term:
            rank = x.ndim - (len(term) - 3)
            term = term.replace("...", fill[ellipsis_rank - rank:])
        if len(term) != x.ndim:
            raise ValueError(
                f"einsum: term {term!r} names {len(term)} dims but its operand has shape {tuple(x.shape)}"
            )
        if len(set(term)) != len(term):
            raise ValueError(f"einsum: repeated index within one operand ({term!r}) is not supported")
        expanded.append(term)
    if arrow:
        output = output.replace("...", fill)
    else:
        counts = {c: "".join(expanded).count(c) for c in set("".join(expanded))}
        output = fill + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in fill))
    return ",".join(expanded) + "->" + output


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation, e.g. ``einsum("bij,bjk->bik", a, b)``; differentiable to any order."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    tensors = [_t(x) for x in operands]
    return apply(Einsum, tuple(tensors), {"equation": _explicit_einsum(equation, tensors)})


def dot(input: Tensor, other: Tensor) -> Tensor:
    return matmul(input, other)


# ---------------------------------------------------------------- reductions
def sum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None,
        axis: Any = None, keepdims: bool | None = None) -> Tensor:
    if dim is None and axis is None and dtype is None and not keepdim and not keepdims:
        return unary(Sum, input if isinstance(input, Tensor) else _t(input), _SUM_ALL)
    input = _t(input)
    if dtype is not None:
        input = input.to(dtype)
    axes = _reduce_axes(_dims(dim, axis), input.ndim, "sum")
    return unary(Sum, input, {"axis": axes, "keepdims": _keep(keepdim, keepdims)})


def mean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None,
         axis: Any = None, keepdims: bool | None = None) -> Tensor:
    """sum / count, a composite."""
    input = _t(input)
    if dtype is not None:
        input = input.to(dtype)
    if input.dtype.kind != "f":
        raise RuntimeError(
            f"mean: could not infer output dtype; input dtype must be floating point, got {input.dtype}"
        )
    axes = _reduce_axes(_dims(dim, axis), input.ndim, "mean")
    count = input.numel() if axes is None else int(np.prod([input.shape[a] for a in axes]))
    return sum(input, axes, _keep(keepdim, keepdims)) * (1.0 / count if count else float("nan"))


def var(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: Any = None, axis: Any = None, keepdims: bool | None = None) -> Tensor:
    """Variance: sum((x - mean)^2) / (N - correction); correction defaults to 1 (Bessel)."""
    input = _t(input)
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    axes = _reduce_axes(_dims(dim, axis), input.ndim, "var")
    count = input.numel() if axes is None else int(np.prod([input.shape[a] for a in axes]))
    centered = input - mean(input, axes, keepdim=True)
    denominator = builtins.max(count - correction, 0)
    squares = sum(centered * centered, axes, _keep(keepdim, keepdims))
    # no correction-sized sample: x / 0 gives inf or nan (0 / 0) quietly, as in PyTorch
    return squares * (1.0 / denominator) if denominator else squares / 0.0


def std(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: Any = None, axis: Any = None, keepdims: bool | None = None) -> Tensor:
    """sqrt(var), a composite."""
    return sqrt(var(input, dim, unbiased, keepdim, correction=correction, axis=axis, keepdims=keepdims))


def prod(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
         keepdims: bool | None = None) -> Tensor:
    input = _t(input)
    axes = _reduce_axes(_dims(dim, axis), input.ndim, "prod")
    return unary(Prod, input, {"axis": axes, "keepdims": _keep(keepdim, keepdims)})


def amax(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
         keepdims: bool | None = None) -> Tensor:
    input = _t(input)
    axes = _reduce_axes(_dims(dim, axis), input.ndim, "amax")
    _check_nonempty(input, axes, "amax")
    return unary(Amax, input, {"axis": axes, "keepdims": _keep(keepdim, keepdims)})


def amin(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
         keepdims: bool | None = None) -> Tensor:
    input = _t(input)
    axes = _reduce_axes(_dims(dim, axis), input.ndim, "amin")
    _check_nonempty(input, axes, "amin")
    return unary(Amin, input, {"axis": axes, "keepdims": _keep(keepdim, keepdims)})


def _check_nonempty(input: Tensor, axes: Any, op: str) -> None:
    if input.numel() == 0:
        raise RuntimeError(f"{op}: cannot reduce an empty tensor of shape {tuple(input.shape)}")


class ValuesIndices(NamedTuple):
    """What ``max(dim)`` and ``min(dim)`` return, like PyTorch's ``return_types``."""

    values: Tensor
    indices: Tensor


def _extremum_along(input: Tensor, dim: int, keepdim: bool, pick: Any, op: str) -> ValuesIndices:
    (axis,) = _normalize_dims(dim, input.ndim, op)  # type: ignore[misc]
    _check_nonempty(input, axis, op)
    data = input._data if input.ndim else input._data.reshape(1)
    index = pick(data, axis=axis, keepdims=True)
    values = apply(Gather, (input if input.ndim else input.reshape(1),), {"index": index, "axis": axis})
    if not keepdim:
        values = squeeze(values, axis)
        index = np.squeeze(index, axis)
    if input.ndim == 0:
        values, index = values.reshape(()), index.reshape(())
    return ValuesIndices(values, Tensor._wrap(index.astype(int64)))


def max(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """max over everything, (values, indices) along ``dim``, or elementwise max with a tensor."""
    input = _t(input)
    if isinstance(dim, Tensor):
        return maximum(input, dim)
    if dim is None:
        return amax(input)
    return _extremum_along(input, dim, keepdim, np.argmax, "max")


def min(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """min over everything, (values, indices) along ``dim``, or elementwise min with a tensor."""
    input = _t(input)
    if isinstance(dim, Tensor):
        return minimum(input, dim)
    if dim is None:
        return amin(input)
    return _extremum_along(input, dim, keepdim, np.argmin, "min")


def argmax(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    input = _t(input)
    if dim is None:
        return Tensor._wrap(np.asarray(np.argmax(input._data)).astype(int64))
    (axis,) = _normalize_dims(dim, input.ndim, "argmax")  # type: ignore[misc]
    if input.ndim == 0:
        return Tensor._wrap(np.asarray(0, dtype=int64))
    return Tensor._wrap(np.argmax(input._data, axis=axis, keepdims=keepdim).astype(int64))


def argmin(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    input = _t(input)
    if dim is None:
        return Tensor._wrap(np.asarray(np.argmin(input._data)).astype(int64))
    (axis,) = _normalize_dims(dim, input.ndim, "argmin")  # type: ignore[misc]
    if input.ndim == 0:
        return Tensor._wrap(np.asarray(0, dtype=int64))
    return Tensor._wrap(np.argmin(input._data, axis=axis, keepdims=keepdim).astype(int64))


def logsumexp(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``dim``, stable for any magnitude (a fused primitive)."""
    input = _t(input)
    axes = _reduce_axes(dim, input.ndim, "logsumexp")
    return unary(LogSumExp, input, {"axis": axes, "keepdims": keepdim})


def log_softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    """x - logsumexp(x, dim), a fused primitive that never overflows."""
    input = _t(input) if dtype is None else _t(input).to(dtype)
    (axis,) = _normalize_dims(dim, input.ndim, "log_softmax")  # type: ignore[misc]
    return unary(LogSoftmax, input, {"axis": axis if input.ndim else None})


def softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    """exp(log_softmax(x)): a composite, exact and overflow-free."""
    return exp(log_softmax(input, dim, dtype))


def any(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    input = _t(input)
    axes = _reduce_axes(dim, input.ndim, "any")
    return Tensor._wrap(np.asarray(np.any(input._data, axis=axes, keepdims=keepdim)))


def all(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    input = _t(input)
    axes = _reduce_axes(dim, input.ndim, "all")
    return Tensor._wrap(np.asarray(np.all(input._data, axis=axes, keepdims=keepdim)))


# ---------------------------------------------------------------- comparisons (no grad)
def _no_grad_binary(fn: Any, input: Any, other: Any) -> Tensor:
    a = input._data if isinstance(input, Tensor) else np.asarray(input)
    b = other._data if isinstance(other, Tensor) else other
    return Tensor._wrap(np.asarray(fn(a, b)))


def eq(input: Any, other: Any) -> Tensor:
    return _no_grad_binary(np.equal, input, other)


def ne(input: Any, other: Any) -> Tensor:
    return _no_grad_binary(np.not_equal, input, other)


def lt(input: Any, other: Any) -> Tensor:
    return _no_grad_binary(np.less, input, other)


def le(input: Any, other: Any) -> Tensor:
    return _no_grad_binary(np.less_equal, input, other)


def gt(input: Any, other: Any) -> Tensor:
    return _no_grad_binary(np.greater, input, other)


def ge(input: Any, other: Any) -> Tensor:
    return _no_grad_binary(np.greater_equal, input, other)


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both tensors have the same shape and elements."""
    return bool(np.array_equal(_t(input)._data, _t(other)._data))


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
    return bool(np.allclose(_t(input)._data, _t(other)._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def isnan(input: Tensor) -> Tensor:
    return Tensor._wrap(np.isnan(_t(input)._data))


def isfinite(input: Tensor) -> Tensor:
    return Tensor._wrap(np.isfinite(_t(input)._data))


def isinf(input: Tensor) -> Tensor:
    return Tensor._wrap(np.isinf(_t(input)._data))


# ---------------------------------------------------------------- shapes
def _shape_args(shape: Sequence[Any]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def reshape(input: Tensor, *shape: Any) -> Tensor:
    input = _t(input)
    target = _shape_args(shape)
    known = int(np.prod([s for s in target if s != -1])) if target else 1
    if target.count(-1) > 1 or (
        -1 not in target and known != input.numel()
    ) or (-1 in target and (known == 0 or input.numel() % known)):
        raise RuntimeError(
            f"reshape: shape {list(target)} is invalid for input of size {input.numel()} "
            f"(shape {tuple(input.shape)})"
        )
    if target == input.shape:
        return input
    return unary(Reshape, input, {"shape": target})


view = reshape


def view_as(input: Tensor, other: Tensor) -> Tensor:
    return reshape(input, other.shape)


def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    return reshape(input, other.shape)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    input = _t(input)
    if input.ndim == 0:
        return reshape(input, (1,))
    start, end = _normalize_dims((start_dim, end_dim), input.ndim, "flatten")  # type: ignore[misc]
    shape = input.shape
    return reshape(input, shape[:start] + (-1,) + shape[end + 1:])


def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    input = _t(input)
    (axis,) = _normalize_dims(dim, input.ndim, "unflatten")  # type: ignore[misc]
    return reshape(input, input.shape[:axis] + tuple(sizes) + input.shape[axis + 1:])


def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    input = _t(input)
    if dim is None:
        shape = tuple(n for n in input.shape if n != 1)
    else:
        axes = _normalize_dims(dim, input.ndim, "squeeze") or ()
        shape = tuple(n for i, n in enumerate(input.shape) if not (i in axes and n == 1))
    return reshape(input, shape)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    input = _t(input)
    ndim = input.ndim + 1
    if not -ndim <= dim < ndim:
        raise IndexError(
            f"unsqueeze: dimension {dim} is out of range (expected a dim in [{-ndim}, {ndim - 1}])"
        )
    dim %= ndim
    return reshape(input, input.shape[:dim] + (1,) + input.shape[dim:])


def permute(input: Tensor, *dims: Any) -> Tensor:
    input = _t(input)
    axes = _normalize_dims(_shape_args(dims), input.ndim, "permute") or ()
    if sorted(axes) != list(range(input.ndim)):
        raise RuntimeError(
            f"permute: dims {list(_shape_args(dims))} are not a permutation of the "
            f"{input.ndim} dims of a tensor of shape {tuple(input.shape)}"
        )
    return unary(Permute, input, {"axes": axes})


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    input = _t(input)
    if input.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return input
    a, b = _normalize_dims((dim0, dim1), input.ndim, "transpose")  # type: ignore[misc]
    axes = list(range(input.ndim))
    axes[a], axes[b] = axes[b], axes[a]
    return unary(Permute, input, {"axes": tuple(axes)})


swapaxes = transpose


def t(input: Tensor) -> Tensor:
    input = _t(input)
    if input.ndim > 2:
        raise RuntimeError(f"t: expects a tensor with <= 2 dimensions, got {input.ndim}; use transpose")
    return transpose(input, 0, -1) if input.ndim == 2 else input


def broadcast_to(input: Tensor, size: Sequence[int]) -> Tensor:
    input = _t(input)
    shape = tuple(int(s) for s in size)
    if shape == input.shape:
        return input
    try:
        np.broadcast_shapes(input.shape, shape)
    except ValueError:
        raise RuntimeError(
            f"broadcast_to: the tensor of shape {tuple(input.shape)} cannot be expanded to {shape}"
        ) from None
    return unary(Expand, input, {"shape": shape})


def expand(input: Tensor, *sizes: Any) -> Tensor:
    """Broadcast to ``sizes``; -1 keeps that dimension (a view)."""
    input = _t(input)
    target = list(_shape_args(sizes))
    offset = len(target) - input.ndim
    for i, n in enumerate(target):
        if n == -1:
            if i < offset:
                raise RuntimeError(f"expand: -1 is not allowed for the new leading dim {i}")
            target[i] = input.shape[i - offset]
    return broadcast_to(input, target)


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return broadcast_to(input, other.shape)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dim."""
    tensors = [_t(x) for x in tensors]
    if not tensors:
        raise RuntimeError("cat: expected a non-empty list of tensors")
    (axis,) = _normalize_dims(dim, tensors[0].ndim, "cat")  # type: ignore[misc]
    reference = tensors[0].shape
    for position, x in enumerate(tensors):
        if x.ndim != len(reference) or builtins.any(
            a != b for i, (a, b) in enumerate(zip(x.shape, reference)) if i != axis
        ):
            raise RuntimeError(
                f"cat: sizes of tensors must match except in dimension {axis}: tensor 0 has shape "
                f"{tuple(reference)} but tensor {position} has shape {tuple(x.shape)}"
            )
    dtype = tensors[0].dtype
    for x in tensors[1:]:
        dtype = result_dtype(np.empty(1, dtype), x._data)
    tensors = [x if x.dtype == dtype else x.to(dtype) for x in tensors]
    return apply(Cat, tuple(tensors), {"axis": axis})


concat = cat
concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along a new dim: unsqueeze each, then cat (a composite)."""
    tensors = [_t(x) for x in tensors]
    if not tensors:
        raise RuntimeError("stack: expected a non-empty list of tensors")
    shapes = {tuple(x.shape) for x in tensors}
    if len(shapes) > 1:
        raise RuntimeError(f"stack: expects each tensor to be of equal size, got shapes {sorted(shapes)}")
    return cat([unsqueeze(x, dim) for x in tensors], dim)


def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Split into pieces of a given size (the last may be smaller) or of the given sizes."""
    tensor = _t(tensor)
    (axis,) = _normalize_dims(dim, tensor.ndim, "split")  # type: ignore[misc]
    length = tensor.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size <= 0:
            raise ValueError(f"split: split_size must be positive, got {size}")
        sizes = [size] * (length // size) + ([length % size] if length % size else [])
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != length:
            raise RuntimeError(
                f"split: split_sizes {sizes} do not add up to the size {length} of dim {axis}"
            )
    pieces = []
    start = 0
    for size in sizes:
        index = (slice(None),) * axis + (slice(start, start + size),)
        pieces.append(getitem(tensor, index))
        start += size
    return tuple(pieces)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    input = _t(input)
    (axis,) = _normalize_dims(dim, input.ndim, "chunk")  # type: ignore[misc]
    size = -(-input.shape[axis] // chunks) if input.shape[axis] else 1
    return split(input, builtins.max(size, 1), axis)


def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    input = _t(input)
    (axis,) = _normalize_dims(dim, input.ndim, "unbind")  # type: ignore[misc]
    return tuple(getitem(input, (slice(None),) * axis + (i,)) for i in range(input.shape[axis]))


def gather(input: Tensor, dim: int, index: Any) -> Tensor:
    """``out[i][j] = input[i][index[i][j]]`` along ``dim`` (torch.gather)."""
    input = _t(input)
    index_array = np.asarray(index._data if isinstance(index, Tensor) else index)
    if index_array.dtype.kind not in "iu":
        raise RuntimeError(f"gather: index must be an integer tensor, got dtype {index_array.dtype}")
    (axis,) = _normalize_dims(dim, input.ndim, "gather")  # type: ignore[misc]
    if index_array.ndim != input.ndim:
        raise RuntimeError(
            f"gather: index has {index_array.ndim} dims but input has {input.ndim}; they must match"
        )
    shape = input.shape
    if builtins.any(n > shape[d] for d, n in enumerate(index_array.shape) if d != axis):
        raise RuntimeError(
            f"gather: index of shape {tuple(index_array.shape)} is larger than the input of shape "
            f"{tuple(shape)} in a dimension other than {axis}"
        )
    if index_array.size and not (-shape[axis] <= index_array.min() and index_array.max() < shape[axis]):
        raise IndexError(
            f"gather: index values must be in [{-shape[axis]}, {shape[axis] - 1}] for dim {axis} of size "
            f"{shape[axis]}, got values from {index_array.min()} to {index_array.max()}"
        )
    if builtins.any(n < shape[d] for d, n in enumerate(index_array.shape) if d != axis):
        # PyTorch gathers from the leading part of the other dims when the index is smaller there
        input = getitem(input, tuple(slice(0, n) if d != axis else slice(None)
                                     for d, n in enumerate(index_array.shape)))
    return apply(Gather, (input,), {"index": index_array, "axis": axis})


def masked_fill(input: Tensor, mask: Any, value: Any) -> Tensor:
    """input with ``value`` where ``mask`` is True (a composite of where)."""
    input = _t(input)
    return where(mask, value, input).to(input.dtype) if not isinstance(value, Tensor) else where(mask, value, input)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    input = _t(input)
    return input * np.tril(np.ones(input.shape[-2:], dtype=bool), diagonal)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    input = _t(input)
    return input * np.triu(np.ones(input.shape[-2:], dtype=bool), diagonal)


# ---------------------------------------------------------------- indexing
def _index_part(part: Any) -> Any:
    if isinstance(part, Tensor):
        data = part._data
        if data.dtype.kind == "f":
            raise IndexError(
                "tensors used as indices must be long, int or bool tensors, got dtype " + str(data.dtype)
            )
        return data
    if isinstance(part, list):
        return np.asarray([p._data if isinstance(p, Tensor) else p for p in part])
    return part


def _index_key(key: Any) -> Any:
    if isinstance(key, tuple):
        return tuple(_index_part(k) for k in key)
    return _index_part(key)


def getitem(input: Tensor, key: Any) -> Tensor:
    """input[key]; basic indexing returns a view, advanced indexing a copy."""
    kind = type(key)
    if kind is not slice and kind is not int:  # (a lone slice or int needs no conversion)
        key = _index_key(key)
    try:
        if kind is slice or kind is int or _is_basic(key):
            view = unary(_BasicGetItem, input, {"index": key})
            if _state.enabled:
                # Remember the base, so that a tracked in-place op on the view can rewrite it.
                view._ensure_meta().view_of = (input, key)
            return view
        return unary(GetItem, input, {"index": key})
    except IndexError as error:
        raise IndexError(f"index {key!r} is invalid for a tensor of shape {tuple(input.shape)}: {error}") from None


def index_put(input: Tensor, index: Any, values: Any) -> Tensor:
    """A copy of ``input`` with ``values`` written at ``index`` (differentiable in both)."""
    return apply(IndexPut, (input, values), {"index": _index_key(index)})


# ---------------------------------------------------------------- dtype and copies
def to_dtype(input: Tensor, dtype: Any) -> Tensor:
    dtype = as_dtype(dtype)
    if dtype.kind != "f":
        return Tensor._wrap(np.asarray(input._data).astype(dtype))
    return unary(Cast, input, {"dtype": dtype})


def clone(input: Tensor) -> Tensor:
    return unary(Clone, _t(input))


def fill_like(input: Tensor, value: Any) -> Tensor:
    if isinstance(value, Tensor):
        value = value.item()
    return unary(FillLike, input, {"value": value})


def copy_from(input: Tensor, src: Any) -> Tensor:
    return apply(CopyFrom, (input, _t(src)))


def numel(input: Tensor) -> int:
    return _t(input).numel()


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> bool:
    return _t(input).dtype.kind == "f"


