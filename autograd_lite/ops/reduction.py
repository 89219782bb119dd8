"""Reductions. Each VJP spreads the gradient back over the reduced axes."""

from __future__ import annotations

import numpy as np

from .primitive import Primitive
from .shape import Expand, Reshape


def _kept_shape(shape: tuple, axis: tuple | None) -> tuple:
    """The shape a reduction over ``axis`` has with keepdims=True."""
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


def _restore(g, x, axis, keepdims):  # type: ignore[no-untyped-def]
    """Reshape a reduced gradient so it broadcasts against x (re-insert reduced axes)."""
    if keepdims:
        return g
    return Reshape.call(g, shape=_kept_shape(x.shape, axis))


class Sum(Primitive):
    formula = "out = sum of x over axis"
    grad_formulas = ("grad_x = grad_out broadcast back over the summed axes (every element gets it once)",)

    reads_inputs = False
    @staticmethod
    def forward(x, axis=None, keepdims=False):  # type: ignore[no-untyped-def]
        return x.sum(axis=axis, keepdims=keepdims)  # the method skips np.sum's Python wrapper

    vjps = (
        lambda grad_out, out, x, axis=None, keepdims=False: Expand.call(
            _restore(grad_out, x, axis, keepdims), shape=x.shape
        ),
    )


def _extremum_vjp(grad_out, out, x, axis=None, keepdims=False):  # type: ignore[no-untyped-def]
    # The gradient is shared evenly between all elements that attain the extremum.
    grad_out = _restore(grad_out, x, axis, keepdims)
    out = _restore(out, x, axis, keepdims)
    mask = x == out
    count = mask.sum(axis=axis, keepdims=True)
    return grad_out * mask / count


class Amax(Primitive):
    formula = "out = max of x over axis"
    grad_formulas = ("grad_x = grad_out / (number of maxima) at each maximum, 0 elsewhere",)

    @staticmethod
    def forward(x, axis=None, keepdims=False):  # type: ignore[no-untyped-def]
        return np.max(x, axis=axis, keepdims=keepdims)

    saves_out = True
    vjps = (_extremum_vjp,)


class Amin(Primitive):
    formula = "out = min of x over axis"
    grad_formulas = ("grad_x = grad_out / (number of minima) at each minimum, 0 elsewhere",)

    @staticmethod
    def forward(x, axis=None, keepdims=False):  # type: ignore[no-untyped-def]
        return np.min(x, axis=axis, keepdims=keepdims)

    saves_out = True
    vjps = (_extremum_vjp,)


def _prod_vjp(grad_out, out, x, axis=None, keepdims=False):  # type: ignore[no-untyped-def]
    grad_out = _restore(grad_out, x, axis, keepdims)
    return grad_out * ProdOthers.call(x, axis=axis)


class Prod(Primitive):
    formula = "out = product of x over axis"
    grad_formulas = ("grad_x = grad_out * (at each element, the product of all other elements of its slice)",)

    @staticmethod
    def forward(x, axis=None, keepdims=False):  # type: ignore[no-untyped-def]
        return np.prod(x, axis=axis, keepdims=keepdims)

    vjps = (_prod_vjp,)


def _exclusive_products(x, axis):  # type: ignore[no-untyped-def]
    """For each element, the product of the other elements along ``axis`` (exact with zeros)."""
    x = np.asarray(x)
    if axis is None:
        return _exclusive_products(x.reshape(-1), (0,)).reshape(x.shape)
    if len(axis) > 1:
        moved = np.moveaxis(x, axis, tuple(range(-len(axis), 0)))
        flat = moved.reshape(moved.shape[: moved.ndim - len(axis)] + (-1,))
        result = _exclusive_products(flat, (flat.ndim - 1,)).reshape(moved.shape)
        return np.moveaxis(result, tuple(range(-len(axis), 0)), axis)
    (a,) = axis
    ones = np.ones_like(np.take(x, [0], axis=a))
    before = np.cumprod(np.concatenate([ones, np.take(x, range(x.shape[a] - 1), axis=a)], axis=a), axis=a)
    reversed_x = np.flip(x, axis=a)
    after = np.cumprod(
        np.concatenate([ones, np.take(reversed_x, range(x.shape[a] - 1), axis=a)], axis=a), axis=a
    )
    return before * np.flip(after, axis=a)


def _prod_others_vjp(grad_out, out, x, axis=None):  # type: ignore[no-untyped-def]
    # d/dx_j of prod_{i != k} x_i is prod_{i != k, j} x_i; for x_j != 0 that is others_k / x_j,
    # so grad_x_j = (sum_k grad_out_k * others_k - grad_out_j * others_j) / x_j.
    total = (grad_out * out).sum(axis=axis, keepdims=True)
    return Div.call(total - grad_out * out, x)  # Div.call: a zero gives inf quietly


class ProdOthers(Primitive):
    """Prod's VJP helper, exact when x holds zeros. Its own gradient divides by x, so it holds
    where x != 0."""

    formula = "out = at each element of x, the product of the other elements of its slice along axis"
    grad_formulas = ("grad_x = (sum of grad_out * out over the slice - grad_out * out) / x",)

    forward = staticmethod(lambda x, axis=None: _exclusive_products(x, axis))
    saves_out = True
    vjps = (_prod_others_vjp,)


def _logsumexp(x, axis=None, keepdims=False):  # type: ignore[no-untyped-def]
    # Subtract the max first so exp never overflows; an all -inf slice keeps max 0.
    peak = np.max(x, axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x - peak), axis=axis, keepdims=True)) + peak
    if not keepdims:
        out = np.squeeze(out, axis=axis) if axis is not None else out.reshape(())
    return out


class LogSumExp(Primitive):
    """Computed as m + log(sum(exp(x - m))) with m = max, so nothing overflows; exp(x - out) in
    the gradient is softmax(x) along ``axis``."""

    formula = "out = log(sum(exp(x))) over axis"
    grad_formulas = ("grad_x = grad_out * exp(x - out)",)

    floating_only = True
    forward = staticmethod(_logsumexp)
    saves_out = True
    vjps = (
        lambda grad_out, out, x, axis=None, keepdims=False: _restore(grad_out, x, axis, keepdims)
        * Exp.call(x - _restore(out, x, axis, keepdims)),
    )


def _log_softmax(x, axis):  # type: ignore[no-untyped-def]
    shifted = x - np.max(x, axis=axis, keepdims=True)
    with np.errstate(divide="ignore"):
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


class LogSoftmax(Primitive):
    """Shifted by the max, so nothing overflows."""

    formula = "out = x - logsumexp(x) along axis"
    grad_formulas = ("grad_x = grad_out - exp(out) * sum(grad_out along axis)",)

    floating_only = True
    forward = staticmethod(_log_softmax)
    saves_out = True
    vjps = (lambda grad_out, out, x, axis: grad_out - Exp.call(out) * grad_out.sum(axis=axis, keepdims=True),)


def _pick(a, target, axis):  # type: ignore[no-untyped-def]
    """The entry of class ``target`` along ``axis`` for every position: a[i, target[i], ...]."""
    if a.ndim == 2:
        return a[np.arange(a.shape[0]), target]  # (N, C): one fancy index, no index arrays to build
    return np.take_along_axis(a, np.expand_dims(target, axis), axis).squeeze(axis)


def _class_sum(a, axis):  # type: ignore[no-untyped-def]
    """Sum over the class axis, keeping it. For (N, C) a GEMV with a ones vector: NumPy's row sums
    pay a loop call per row, which dominates when C is small (4x slower for (128, 10))."""
    if a.ndim == 2 and a.dtype.char in "fd":
        return (a @ _ones(a.shape[1], a.dtype))[:, None]
    return a.sum(axis=axis, keepdims=True)


def _divisor(target, weight):  # type: ignore[no-untyped-def]
    """What 'mean' divides by: the sum of the per-target weights, or the number of targets."""
    return target.size if weight is None else weight.sum()


def _class_max(x, axis):  # type: ignore[no-untyped-def]
    """Max over the class axis, keeping it. NumPy reduces each short row with a loop call of
    its own, so for many rows of few classes (128 x 10 logits) the max of a transposed copy,
    taken down its columns in one vectorised pass, is 2-7x faster."""
    if x.ndim == 2 and axis == 1 and x.shape[0] >= 16 and x.shape[1] <= 32:
        return np.ascontiguousarray(x.T).max(axis=0)[:, None]
    return x.max(axis=axis, keepdims=True)


class SoftmaxSlot:
    """Where the fused cross-entropy's forward leaves the softmax it computed on the way, for
    its VJP to take instead of computing it again. It holds one (input, softmax) pair; the
    VJP takes it only for that same input array and empties the slot, so it writes into it
    freely, and a second backward (``retain_graph``) finds the slot empty and recomputes."""

    __slots__ = ("source", "softmax")

    def __init__(self) -> None:
        self.source = None
        self.softmax = None

    def keep(self, x, softmax):  # type: ignore[no-untyped-def]
        self.source = x
        self.softmax = softmax

    def take(self, x):  # type: ignore[no-untyped-def]
        softmax = self.softmax if self.source is x else None
        self.source = self.softmax = None
        return softmax


def _cross_entropy(x, target, weight=None, reduction="mean", saved=None):  # type: ignore[no-untyped-def]
    axis = 1 if x.ndim > 1 else 0
    shifted = x - _class_max(x, axis)
    exp = np.exp(shifted)
    total_exp = _class_sum(exp, axis)
    losses = np.log(total_exp).squeeze(axis)
    losses -= _pick(shifted, target, axis)
    if saved is not None:
        exp /= total_exp
        saved.keep(x, exp)
    if weight is not None:
        losses = losses * weight
    if reduction == "none":
        return losses
    total = losses.sum()
    if reduction == "sum":
        return total
    divisor = _divisor(target, weight)
    return total / divisor if divisor else total * np.nan  # nothing to average: nan, as PyTorch


def _one_hot(target, classes, axis, dtype):  # type: ignore[no-untyped-def]
    """1.0 where the class axis equals ``target``, else 0.0 (a constant of the input's shape)."""
    shape = [1] * (target.ndim + 1)
    shape[axis] = classes
    return (np.expand_dims(target, axis) == np.arange(classes).reshape(shape)).astype(dtype)


def _cross_entropy_vjp(grad_out, out, x, target, weight=None, reduction="mean", saved=None):  # type: ignore[no-untyped-def]
    axis = 1 if x.ndim > 1 else 0
    if reduction == "mean":
        divisor = _divisor(target, weight)
        # every target ignored (or none at all): the loss is nan, the gradient zero (PyTorch's rule)
        grad_out = grad_out * (1.0 / divisor if divisor != 0 else 0.0)
    if weight is not None:
        grad_out = grad_out * weight
    if grad_out.ndim:  # one coefficient per target: broadcast it along the class axis
        grad_out = Reshape.call(grad_out, shape=np.expand_dims(target, axis).shape)
    if type(x) is np.ndarray:  # first order: softmax and the one-hot subtraction in place
        p = saved.take(x) if saved is not None else None
        if p is None:
            p = np.exp(x - _class_max(x, axis))
            p /= _class_sum(p, axis)
        if p.ndim == 2:
            p[np.arange(p.shape[0]), target] -= 1
        else:
            index = np.expand_dims(target, axis)
            np.put_along_axis(p, index, np.take_along_axis(p, index, axis) - 1, axis)
        p *= grad_out
        return p
    # create_graph: the same formula recorded, softmax as exp(log_softmax) (differentiable again)
    return (Exp.call(LogSoftmax.call(x, axis=axis)) - _one_hot(target, x.shape[axis], axis, x.dtype)) * grad_out


class CrossEntropy(Primitive):
    """The class axis is 1, or 0 for 1-D x. For 'mean' the gradient is also divided by
    sum(weight), or by the number of targets without weights; a zero divisor gives a zero gradient.

    log_softmax and the negative log-likelihood fused into one node: ``target`` holds class
    indices (shape of x without the class axis), ``weight`` is None or one weight per target
    (0 for an ignored target), ``reduction`` is 'mean', 'sum' or 'none', and ``saved`` is None
    or a :class:`SoftmaxSlot` in which the forward leaves softmax(x) for the VJP. Numerically it
    is log_softmax's max-shifted formula; the fusion saves the graph three nodes and the
    gradient the scatter of the picked entries (softmax minus one-hot is formed in place, in
    the saved softmax when there is one).
    """

    formula = "out = reduce(weight * (logsumexp(x) - x[target])) along the class axis"
    grad_formulas = ("grad_x = (softmax(x) - onehot(target)) * weight * grad_out",)

    floating_only = True
    exact = True
    forward = staticmethod(_cross_entropy)
    vjps = (_cross_entropy_vjp,)


from .elementwise import Div, Exp  # noqa: E402
from .linalg import _ones  # noqa: E402
