"""Functional forms of the basic layers, activations, dropout and losses (``ag.nn.functional``).

Everything here is a composite of primitives (``log_softmax``, ``gather``, ``where``,
``softplus``, ``erf``, ...): none has a VJP of its own, so each is differentiable to any
order. Semantics, argument names and defaults follow ``torch.nn.functional``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import functional as _F
from .._common import _SUM_ALL, _t
from ..inplace import inplace as inplace_op
from ..ops._fastpath import binary, unary, unary_op
from ..ops.elementwise import Clamp, Mul, Relu, Sigmoid, Softplus, Tanh, Where
from ..ops.linalg import Linear as LinearPrimitive
from ..ops.primitive import apply
from ..ops.reduction import CrossEntropy, LogSoftmax, SoftmaxSlot, Sum
from ..ops.shape import GetItem, IndexPut
from ..ops.special import BinaryCrossEntropy, Erf
from ..random import get_rng
from ..tensor import Tensor

__all__ = [
    "linear", "identity",
    "relu", "relu6", "sigmoid", "tanh", "leaky_relu", "gelu", "elu", "selu", "celu", "softplus",
    "silu", "mish", "hardtanh", "logsigmoid", "softsign", "softmax", "log_softmax", "softmin",
    "erf", "dropout", "one_hot", "pad", "normalize",
    "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "nll_loss", "cross_entropy",
    "binary_cross_entropy", "binary_cross_entropy_with_logits",
]

def _shape(t: Any) -> tuple:
    return tuple(np.shape(t._data if isinstance(t, Tensor) else t))


_relu = unary_op(Relu)


def _maybe_inplace(input: Tensor, inplace: bool, name: str, fn: Any) -> Tensor:
    """Run ``fn(input)``, writing the result into ``input`` when ``inplace`` (PyTorch's ``op_``)."""
    if inplace:
        return inplace_op(input, name, fn)
    return fn(input)


# ---------------------------------------------------------------- linear
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = input @ weight.T + bias, with weight of shape (out_features, in_features).

    One fused primitive (``ops.linalg.Linear``): a single graph node per layer.
    """
    if type(input) is not Tensor:
        input = _t(input)
    if not isinstance(weight, Tensor):
        weight = _t(weight)
    x_shape = input._data.shape
    w_shape = weight._data.shape
    if len(w_shape) != 2 or not x_shape or x_shape[-1] != w_shape[1]:
        raise RuntimeError(
            f"linear: input of shape {tuple(x_shape)} and weight of shape {tuple(w_shape)} are "
            f"incompatible; expected weight (out_features, in_features) with in_features == "
            f"input.shape[-1]"
        )
    if bias is not None:
        b_shape = bias._data.shape if isinstance(bias, Tensor) else np.shape(bias)
        if b_shape != (w_shape[0],) and b_shape != ():
            raise RuntimeError(
                f"linear: bias of shape {tuple(b_shape)} doesn't match out_features={w_shape[0]}; "
                f"expected shape ({w_shape[0]},)"
            )
    return apply(LinearPrimitive, (input, weight, bias))


def identity(input: Tensor) -> Tensor:
    return input


# ---------------------------------------------------------------- activations
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0)."""
    if not inplace and type(input) is Tensor:
        return _relu(input)  # the common call: straight to the primitive's closure
    return _maybe_inplace(_t(input), inplace, "relu_", _relu)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """clamp(x, min_val, max_val)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")

    def clip(x: Tensor) -> Tensor:
        # x where min_val < x < max_val, else the constant bound: PyTorch's gradient is 0 at
        # the bounds themselves (a clamp would pass it through there)
        data = x._data
        return apply(Where, ((data > min_val) & (data < max_val), x, np.clip(data, min_val, max_val)))

    return _maybe_inplace(_t(input), inplace, "hardtanh_", clip)


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-x))."""
    return unary(Sigmoid, _t(input))


def tanh(input: Tensor) -> Tensor:
    return unary(Tanh, _t(input))


def _positive_or(x: Tensor, negative: Tensor) -> Tensor:
    return apply(Where, (x._data > 0, x, negative))


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x where x > 0, else negative_slope * x (a where of two branches)."""
    return _maybe_inplace(
        _t(input), inplace, "leaky_relu_", lambda x: _positive_or(x, binary(Mul, x, negative_slope))
    )


def _expm1_nonpositive(x: Tensor, scale: float = 1.0) -> Tensor:
    # exp of min(x, 0): the branch that where() discards can then never overflow, and its
    # gradient is a finite zero rather than 0 * inf
    return _F.exp(unary(Clamp, x * scale if scale != 1.0 else x, {"min": None, "max": 0.0})) - 1.0


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0, else alpha * (exp(x) - 1)."""
    return _maybe_inplace(
        _t(input), inplace, "elu_", lambda x: _positive_or(x, _expm1_nonpositive(x) * alpha)
    )


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0, else alpha * (exp(x / alpha) - 1)."""
    return _maybe_inplace(
        _t(input), inplace, "celu_", lambda x: _positive_or(x, _expm1_nonpositive(x, 1.0 / alpha) * alpha)
    )


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with the self-normalising constants of Klambauer et al. (2017)."""
    return _maybe_inplace(
        _t(input), inplace, "selu_",
        lambda x: _positive_or(x, _expm1_nonpositive(x) * _SELU_ALPHA) * _SELU_SCALE,
    )


def erf(input: Tensor) -> Tensor:
    """The error function (2 / sqrt(pi)) * integral_0^x exp(-t^2) dt."""
    return unary(Erf, _t(input))


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x): exact with erf (``'none'``) or with PyTorch's tanh approximation (``'tanh'``).

    'none':  0.5 * x * (1 + erf(x / sqrt(2)))
    'tanh':  0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))
    """
    x = _t(input)
    if approximate == "none":
        inner = unary(Erf, x * (1.0 / math.sqrt(2.0)))
    elif approximate == "tanh":
        inner = unary(Tanh, (x + x * x * x * 0.044715) * math.sqrt(2.0 / math.pi))
    else:
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return x * 0.5 * (inner + 1.0)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold (as PyTorch).

    The same function as ``ag.softplus`` (one implementation, in ``autograd_lite.functional``).
    """
    return _F.softplus(input, beta, threshold)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x), finite for any x."""
    return -unary(Softplus, -_t(input))


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    return _maybe_inplace(_t(input), inplace, "silu_", lambda x: x * unary(Sigmoid, x))


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x))."""
    return _maybe_inplace(_t(input), inplace, "mish_", lambda x: x * unary(Tanh, unary(Softplus, x)))


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    x = _t(input)
    return x / (_F.abs(x) + 1.0)


def _softmax_dim(ndim: int, dim: int | None, name: str) -> int:
    if dim is not None:
        return dim
    # PyTorch's implicit choice (deprecated there): 0 for 0-, 1- and 3-d inputs, else 1
    return 0 if ndim in (0, 1, 3) else 1


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """x - logsumexp(x) along ``dim`` (the fused, overflow-free primitive)."""
    x = _t(input)
    return _F.log_softmax(x, _softmax_dim(x.ndim, dim, "log_softmax"), dtype)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``, computed as exp(log_softmax(x))."""
    x = _t(input)
    return _F.softmax(x, _softmax_dim(x.ndim, dim, "softmax"), dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """softmax(-x) along ``dim``."""
    x = _t(input)
    return _F.softmax(-x, _softmax_dim(x.ndim, dim, "softmin"), dtype)


# ---------------------------------------------------------------- dropout
def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p) (training only).

    The mask comes from the global generator (``ag.manual_seed``); it is a constant, so the
    gradient is the same mask times the incoming gradient.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    x = _t(input)
    if not training or p == 0.0:
        return x
    data = x._data
    dtype = data.dtype if data.dtype.kind == "f" else np.dtype(np.float32)
    if p == 1.0:
        mask = np.zeros(np.shape(data), dtype=dtype)
    else:
        keep = get_rng().random(np.shape(data)) >= p
        mask = keep * dtype.type(1.0 / (1.0 - p))
    return _maybe_inplace(x, inplace, "dropout_", lambda t: binary(Mul, t, mask))


# ---------------------------------------------------------------- utilities
def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Integer class labels of any shape -> int64 one-hot of shape (*shape, num_classes)."""
    labels = np.asarray(tensor._data if isinstance(tensor, Tensor) else tensor)
    if labels.dtype.kind not in "iu":
        raise RuntimeError(
            f"one_hot is only applicable to index tensor of integer dtype, got dtype {labels.dtype}"
        )
    if labels.size and labels.min() < 0:
        raise RuntimeError(f"one_hot: class values must be non-negative, got {labels.min()}")
    if num_classes == -1:
        if labels.size == 0:
            raise RuntimeError("one_hot: can not infer total number of classes from empty tensor")
        num_classes = int(labels.max()) + 1
    elif labels.size and labels.max() >= num_classes:
        raise RuntimeError(
            f"one_hot: class values must be smaller than num_classes={num_classes}, got {labels.max()}"
        )
    return Tensor._wrap((labels[..., None] == np.arange(num_classes)).astype(np.int64))


_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dimensions: ``pad = (left_last, right_last, left_prev, ...)``.

    ``mode='constant'`` fills with ``value`` (negative amounts crop); ``'reflect'``,
    ``'replicate'`` and ``'circular'`` index into the input, so repeated elements sum their
    gradients.
    """
    x = _t(input)
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(
            f"pad: padding length must be even and at most 2 * ndim = {2 * x.ndim}, got {len(pad)} "
            f"for input of shape {tuple(x.shape)}"
        )
    pairs = [(0, 0)] * (x.ndim - len(pad) // 2) + [
        (pad[2 * i], pad[2 * i + 1]) for i in reversed(range(len(pad) // 2))
    ]
    if mode == "constant":
        crop = tuple(slice(max(-lo, 0), x.shape[d] - max(-hi, 0)) for d, (lo, hi) in enumerate(pairs))
        if any(lo < 0 or hi < 0 for lo, hi in pairs):
            x = x[crop]
        pairs = [(max(lo, 0), max(hi, 0)) for lo, hi in pairs]
        out_shape = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, pairs, strict=True))
        if any(n < 0 for n in out_shape):
            raise RuntimeError(f"pad: the padded shape {out_shape} would have negative sizes")
        base = np.full(out_shape, 0 if value is None else value, dtype=x.dtype)
        index = tuple(slice(lo, lo + n) for n, (lo, _) in zip(x.shape, pairs, strict=True))
        return apply(IndexPut, (base, x), {"index": index})
    if mode not in _PAD_MODES:
        raise NotImplementedError(
            f"pad: mode {mode!r} is not supported; use 'constant', 'reflect', 'replicate' or 'circular'"
        )
    if value:
        raise ValueError(f"pad: padding mode {mode!r} doesn't take in value argument")
    out = x
    for d, (lo, hi) in enumerate(pairs):
        if lo == 0 and hi == 0:
            continue
        if lo < 0 or hi < 0:
            raise ValueError(f"pad: negative padding is only supported in 'constant' mode, got {pad}")
        n = x.shape[d]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise ValueError(
                f"pad: padding ({lo}, {hi}) should be smaller than the dimension size {n} in 'reflect' mode"
            )
        if mode == "circular" and (lo > n or hi > n):
            raise ValueError(f"pad: padding ({lo}, {hi}) can't exceed the dimension size {n} in 'circular'")
        idx = np.pad(np.arange(n), (lo, hi), mode=_PAD_MODES[mode])  # type: ignore[call-overload]
        out = out[(slice(None),) * d + (idx,)]
    return out


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x / max(||x||_p, eps) along ``dim``."""
    x = _t(input)
    powered = x * x if p == 2.0 else _F.abs(x) ** p
    total = _F.sum(powered, dim=dim, keepdim=True)
    positive = total._data > 0
    # where() keeps the root's gradient finite at an all-zero slice (d sqrt(s)/ds is inf at 0)
    safe = apply(Where, (positive, total, 1.0))
    norm = apply(Where, (positive, safe ** (1.0 / p), 0.0))
    return x / unary(Clamp, norm, {"min": eps, "max": None})


# ---------------------------------------------------------------- losses
_REDUCTIONS = ("mean", "sum", "none")


def _legacy_reduction(size_average: bool | None, reduce: bool | None, reduction: str) -> str:
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def _reduce(loss: Tensor, reduction: str, op: str) -> Tensor:
    if reduction == "mean":
        return _F.mean(loss)
    if reduction == "sum":
        return unary(Sum, loss, {"axis": None, "keepdims": False})
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: {reduction!r} is not a valid value for reduction; use 'mean', 'sum' or 'none'")


def _check_reduction(reduction: str, op: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"{op}: {reduction!r} is not a valid value for reduction; use 'mean', 'sum' or 'none'"
        )


def _pair(input: Any, target: Any, op: str) -> tuple[Tensor, Tensor]:
    input, target = _t(input), _t(target)
    try:
        np.broadcast_shapes(input.shape, target.shape)
    except ValueError:
        raise RuntimeError(
            f"{op}: input of shape {tuple(input.shape)} and target of shape {tuple(target.shape)} "
            "can't be broadcast together; give them the same shape"
        ) from None
    return input, target


def _weighted(loss: Tensor, weight: Any, reduction: str, op: str, by_weight_sum: bool) -> Tensor:
    """Elementwise-weighted loss; PyTorch's 'mean' divides by sum(weight) for MSE and L1 but
    by the element count for Huber, and this follows it."""
    weight = _t(weight)
    if weight.shape != loss.shape:
        raise ValueError(
            f"{op}: weights of shape {tuple(weight.shape)} and input of shape {tuple(loss.shape)} must "
            "have the same size"
        )
    loss = loss * weight
    if reduction == "mean" and by_weight_sum:
        return _F.sum(loss) / _F.sum(weight)
    return _reduce(loss, reduction, op)


def mse_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """(input - target)^2, reduced."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, "mse_loss")
    input, target = _pair(input, target, "mse_loss")
    diff = input - target
    loss = diff * diff
    if weight is not None:
        return _weighted(loss, weight, reduction, "mse_loss", by_weight_sum=True)
    return _reduce(loss, reduction, "mse_loss")


def l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """|input - target|, reduced."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, "l1_loss")
    input, target = _pair(input, target, "l1_loss")
    loss = _F.abs(input - target)
    if weight is not None:
        return _weighted(loss, weight, reduction, "l1_loss", by_weight_sum=True)
    return _reduce(loss, reduction, "l1_loss")


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta * (|d| - 0.5 delta), with d = input - target."""
    _check_reduction(reduction, "huber_loss")
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    input, target = _pair(input, target, "huber_loss")
    diff = input - target
    abs_diff = _F.abs(diff)
    loss = apply(Where, (abs_diff._data < delta, diff * diff * 0.5, (abs_diff - 0.5 * delta) * delta))
    if weight is not None:
        return _weighted(loss, weight, reduction, "huber_loss", by_weight_sum=False)
    return _reduce(loss, reduction, "huber_loss")


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
                   reduce: bool | None = None, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (plain L1 when beta == 0)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, "smooth_l1_loss")
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    input, target = _pair(input, target, "smooth_l1_loss")
    diff = input - target
    abs_diff = _F.abs(diff)
    if beta == 0.0:
        return _reduce(abs_diff, reduction, "smooth_l1_loss")
    loss = apply(Where, (abs_diff._data < beta, diff * diff * (0.5 / beta), abs_diff - 0.5 * beta))
    return _reduce(loss, reduction, "smooth_l1_loss")


def _divide(total: Tensor, denominator: Any) -> Tensor:
    """total / denominator for a 'mean'; a zero denominator (every target ignored, an empty
    batch) gives PyTorch's nan loss with zero gradients, instead of a division by zero."""
    if denominator == 0:
        return total + float("nan")
    return total / denominator


def _class_targets(input: Tensor, target: Any, ignore_index: int, op: str) -> np.ndarray:
    """Validate integer class targets against input (N, C, d1, ...) or (C,)."""
    return _checked_targets(input, target, ignore_index, op)[0]


def _checked_targets(input: Tensor, target: Any, ignore_index: int, op: str) -> tuple[np.ndarray, bool]:
    """``_class_targets``, and whether every target is a class in [0, C) (then an ignore_index
    outside that range cannot occur, and nothing needs to be looked up)."""
    labels = np.asarray(target._data if isinstance(target, Tensor) else target)
    if labels.dtype.kind not in "iu":
        raise RuntimeError(
            f"{op}: expected integer class indices as target, got dtype {labels.dtype}"
            + (" (class probabilities must have the same shape as the input)" if labels.dtype.kind == "f"
               else "")
        )
    if input.ndim == 0:
        raise RuntimeError(f"{op}: input must have a class dimension, got a 0-d input")
    expected = input.shape[:1] + input.shape[2:] if input.ndim >= 2 else ()
    if labels.shape != expected:
        raise RuntimeError(
            f"{op}: target of shape {labels.shape} doesn't match input of shape {tuple(input.shape)}; "
            f"expected target shape {expected} (the input without its class dimension 1)"
        )
    n_classes = input.shape[1] if input.ndim >= 2 else input.shape[0]
    # Seen as unsigned, a negative label is huge: one max() checks both ends of [0, C).
    unsigned = labels.view(labels.dtype.str.replace("i", "u")) if labels.dtype.kind == "i" else labels
    if labels.size and unsigned.max() < n_classes:
        return labels, True  # the common case: every target is a valid class
    bad = (labels != ignore_index) & ((labels < 0) | (labels >= n_classes))
    if bad.any():
        raise IndexError(
            f"{op}: target {labels[bad].flat[0]} is out of bounds for {n_classes} classes "
            f"(targets must be in [0, {n_classes - 1}] or equal ignore_index={ignore_index})"
        )
    return labels, False


def _class_weights(weight: Any, n_classes: int, dtype: np.dtype, op: str) -> np.ndarray | None:
    if weight is None:
        return None
    w = np.asarray(weight._data if isinstance(weight, Tensor) else weight)
    if w.shape != (n_classes,):
        raise RuntimeError(
            f"{op}: weight of shape {w.shape} doesn't match the {n_classes} classes; expected ({n_classes},)"
        )
    return w.astype(dtype, copy=False)


def _nll(logp: Tensor, labels: np.ndarray, w: np.ndarray | None, ignore_index: int,
         reduction: str) -> tuple[Tensor, np.ndarray | None]:
    """Weighted negative log-likelihood of ``labels`` under ``logp`` (N, C, ...) or (C,).

    Returns the reduced loss and, for 'mean', the per-target weights it divided by
    (label smoothing reuses that denominator).
    """
    if logp.ndim == 1:  # one sample: (C,) with a 0-d target
        loss, wt = _nll(logp.reshape(1, -1), labels.reshape(1), w, ignore_index, reduction)
        return (loss.reshape(()) if reduction == "none" else loss), wt
    ignored = labels == ignore_index
    any_ignored = bool(ignored.any())
    safe = np.where(ignored, 0, labels) if any_ignored else labels
    if logp.ndim == 2:  # (N, C): one advanced-indexing node picks logp[i, t_i]
        picked = unary(GetItem, logp, {"index": (np.arange(labels.shape[0]), safe)})
    else:
        picked = _F.gather(logp, 1, np.expand_dims(safe, 1))
        picked = picked.reshape(picked.shape[:1] + picked.shape[2:])
    if w is None and not any_ignored:
        if reduction == "none":
            return -picked, None
        total = unary(Sum, picked, _SUM_ALL)
        if reduction == "sum":
            return -total, None
        return (total * (-1.0 / labels.size) if labels.size else _divide(-total, 0)), None
    wt = w[safe] if w is not None else np.ones(labels.shape, dtype=logp.dtype)
    if any_ignored:
        wt = np.where(ignored, wt.dtype.type(0), wt)
    loss = -(picked * wt)
    if reduction == "mean":
        return _divide(unary(Sum, loss, {"axis": None, "keepdims": False}), wt.sum()), wt
    return _reduce(loss, reduction, "nll_loss"), wt


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: bool | None = None,
             ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """-weight[t] * input[t] for each target t (input holds log-probabilities), reduced.

    'mean' divides by the sum of the weights of the non-ignored targets (their count when
    there is no weight), as PyTorch does.
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, "nll_loss")
    input = _t(input)
    labels = _class_targets(input, target, ignore_index, "nll_loss")
    n_classes = input.shape[1] if input.ndim >= 2 else input.shape[0]
    w = _class_weights(weight, n_classes, input.dtype, "nll_loss")
    return _nll(input, labels, w, ignore_index, reduction)[0]


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average: bool | None = None, ignore_index: int = -100, reduce: bool | None = None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between logits ``input`` (N, C, d1, ...) or (C,) and ``target``.

    ``target`` is either class indices (shape (N, d1, ...)) or class probabilities (the
    input's shape). For class indices without label smoothing it is one fused primitive
    (``ops.reduction.CrossEntropy``: log_softmax's max-shifted formula and the NLL in one
    node, gradient softmax - onehot); otherwise log_softmax then a gather (NLL). Both are
    stable for any logits. With ``label_smoothing`` = e the target becomes
    (1 - e) * target + e / C; for class indices that is
    (1 - e) * NLL + e / C * sum_c(-w_c * log p_c), with 'mean' dividing both parts by the
    same sum of target weights, as PyTorch does.
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    input = _t(input)
    if input.ndim == 0:
        raise RuntimeError("cross_entropy: input must have a class dimension, got a 0-d input")
    class_dim = 0 if input.ndim == 1 else 1
    n_classes = input.shape[class_dim]
    w = _class_weights(weight, n_classes, input.dtype, "cross_entropy")
    target_shape = _shape(target)
    if target_shape == tuple(input.shape) and np.asarray(_t(target)._data).dtype.kind == "f":
        logp = unary(LogSoftmax, input, {"axis": class_dim})
        return _soft_cross_entropy(logp, _t(target), w, class_dim, ignore_index, reduction, label_smoothing)
    labels, all_classes = _checked_targets(input, target, ignore_index, "cross_entropy")
    if label_smoothing == 0.0:
        # one fused node (log_softmax + NLL): its gradient is softmax - onehot, formed in place
        ignored = None
        if not all_classes or 0 <= ignore_index < n_classes:
            ignored = labels == ignore_index
        if ignored is not None and ignored.any():
            labels = np.where(ignored, 0, labels)
            wt = w[labels] if w is not None else np.ones(labels.shape, dtype=input.dtype)
            wt = np.where(ignored, wt.dtype.type(0), wt)
        else:
            wt = w[labels] if w is not None else None
        attrs = {"target": labels, "weight": wt, "reduction": reduction}
        if input.requires_grad:
            attrs["saved"] = SoftmaxSlot()  # the forward's softmax, kept for the backward
        return unary(CrossEntropy, input, attrs)
    logp = unary(LogSoftmax, input, {"axis": class_dim})
    nll, wt = _nll(logp, labels, w, ignore_index, reduction)
    weighted = logp if w is None else logp * w.reshape((-1,) + (1,) * (input.ndim - class_dim - 1))
    smooth = -_F.sum(weighted, dim=class_dim)
    ignored = labels == ignore_index
    if ignored.any():
        smooth = apply(Where, (ignored, 0.0, smooth))
    if reduction == "mean":
        if wt is None:
            denominator = float(np.size(labels) - ignored.sum())
        else:
            denominator = wt.sum()
        smooth = _divide(_F.sum(smooth), denominator)
    elif reduction == "sum":
        smooth = _F.sum(smooth)
    return nll * (1.0 - label_smoothing) + smooth * (label_smoothing / n_classes)


def _soft_cross_entropy(logp: Tensor, target: Tensor, w: np.ndarray | None, class_dim: int,
                        ignore_index: int, reduction: str, label_smoothing: float) -> Tensor:
    """Cross-entropy against class probabilities: -sum_c w_c * target_c * log p_c per sample."""
    if ignore_index >= 0:
        raise RuntimeError(
            f"cross_entropy: ignore_index={ignore_index} is not supported for class-probability "
            "targets (floating-point target of the input's shape); leave it at -100"
        )
    n_classes = logp.shape[class_dim]
    if label_smoothing > 0.0:
        target = target * (1.0 - label_smoothing) + label_smoothing / n_classes
    terms = logp * target
    if w is not None:
        terms = terms * w.reshape((-1,) + (1,) * (logp.ndim - class_dim - 1))
    if reduction == "none":
        return -_F.sum(terms, dim=class_dim)
    total = -_F.sum(terms)
    if reduction == "sum":
        return total
    return _divide(total, logp._data.size // n_classes)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Tensor:
    """-w * (t * log(x) + (1 - t) * log(1 - x)) for probabilities x, each log clamped at -100.

    The clamp (PyTorch's) keeps the loss finite when x is exactly 0 or 1, as a saturated
    float32 sigmoid produces; the gradient then uses max(x * (1 - x), 1e-12) in its
    denominator (see :class:`~autograd_lite.ops.special.BinaryCrossEntropy`).
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, "binary_cross_entropy")
    input, target = _t(input), _t(target)
    if input.shape != target.shape:
        raise ValueError(
            f"binary_cross_entropy: using a target size ({tuple(target.shape)}) that is different to the "
            f"input size ({tuple(input.shape)}) is not supported; please ensure they have the same size"
        )
    data = np.asarray(input._data)
    if data.size and ((data < 0).any() or (data > 1).any()):
        raise RuntimeError(
            "binary_cross_entropy: all elements of input should be between 0 and 1 "
            "(apply a sigmoid first, or use binary_cross_entropy_with_logits on raw scores)"
        )
    loss = apply(BinaryCrossEntropy, (input, target))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average: bool | None = None, reduce: bool | None = None,
                                     reduction: str = "mean", pos_weight: Tensor | None = None) -> Tensor:
    """BCE of sigmoid(x) against t, computed from logits without ever forming sigmoid(x):

        loss = (1 - t) * x + (1 + (pos_weight - 1) * t) * softplus(-x)

    softplus(-x) = -log(sigmoid(x)) is evaluated overflow-free, so huge logits give exact
    losses and gradients (sigmoid(x) - t, scaled by the weights).
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    input, target = _t(input), _t(target)
    if input.shape != target.shape:
        raise ValueError(
            f"binary_cross_entropy_with_logits: target size ({tuple(target.shape)}) must be the same as "
            f"input size ({tuple(input.shape)})"
        )
    softplus_neg = unary(Softplus, -input)
    if pos_weight is None:
        loss = (1.0 - target) * input + softplus_neg
    else:
        log_weight = (_t(pos_weight) - 1.0) * target + 1.0
        loss = (1.0 - target) * input + log_weight * softplus_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")
