"""Elementwise primitives. Broadcasting is undone by the engine, not here."""

from __future__ import annotations

import operator

import numpy as np

from .._dtype import get_default_dtype
from .._zeros import zeros_view
from .primitive import Primitive


def _silent(fn):  # type: ignore[no-untyped-def]
    """Wrap a NumPy function so that log(0), x/0 and sqrt(-1) give inf/nan quietly, as in PyTorch."""

    def forward(*args, **kwargs):  # type: ignore[no-untyped-def]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return fn(*args, **kwargs)

    forward.__doc__ = fn.__doc__
    return staticmethod(forward)


class Add(Primitive):
    """out = x + y

    grad_x = grad_out;  grad_y = grad_out
    """

    promotes_types = True
    reads_inputs = False
    scalar_as_array = True
    # The operator (not np.add) so that NumPy scalars (0-d results) take the fast scalar path.
    forward = staticmethod(operator.add)
    vjps = (lambda g, out, x, y: g, lambda g, out, x, y: g)


class Sub(Primitive):
    """out = x - y

    grad_x = grad_out;  grad_y = -grad_out
    """

    promotes_types = True
    reads_inputs = False
    scalar_as_array = True
    forward = staticmethod(operator.sub)
    vjps = (lambda g, out, x, y: g, lambda g, out, x, y: -g)


class Mul(Primitive):
    """out = x * y

    grad_x = grad_out * y;  grad_y = grad_out * x
    """

    promotes_types = True
    scalar_as_array = True
    forward = staticmethod(operator.mul)
    vjps = (lambda g, out, x, y: g * y, lambda g, out, x, y: g * x)


class Div(Primitive):
    """out = x / y

    grad_x = grad_out / y;  grad_y = -grad_out * x / y**2
    """

    promotes_types = True
    @staticmethod
    def forward(x, y):  # type: ignore[no-untyped-def]
        if (type(y) is float or type(y) is int) and y != 0:
            out = x / y  # cannot divide by zero: skip the cost of np.errstate
        else:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                out = np.true_divide(x, y)
        if out.dtype == np.float64 and _integral(x) and _integral(y):
            # PyTorch: true division of integers gives the default float dtype, not float64
            out = out.astype(get_default_dtype())
        return out

    # Div.call: dividing by a zero gives inf quietly, as in the forward.
    vjps = (lambda g, out, x, y: Div.call(g, y), lambda g, out, x, y: Div.call(-g * x, y * y))


def _integral(v):  # type: ignore[no-untyped-def]
    return v.dtype.kind in "iub" if hasattr(v, "dtype") else not isinstance(v, float)


def _pow_grad_base(g, out, x, y):  # type: ignore[no-untyped-def]
    if type(y) is int and y == 2:
        # the square: g * 2x, with 2x as x + x (exact), so it rounds as g * 2 * x does, with two
        # array operations instead of x ** 1 and a multiplication by a Python number
        return g * (x + x)
    return g * y * Pow.call(x, y - 1)


def _pow_grad_exponent(g, out, x, y):  # type: ignore[no-untyped-def]
    # d(x**y)/dy = x**y * log(x). At x == 0 PyTorch uses 0 (the limit for y > 0).
    safe_x = Where.call(x == 0, 1.0, x)
    return g * out * Log.call(safe_x)


class Pow(Primitive):
    """out = x ** y

    grad_x = grad_out * y * x**(y - 1);  grad_y = grad_out * out * log(x)  (0 where x == 0)
    """

    promotes_types = True
    @staticmethod
    def forward(x, y):  # type: ignore[no-untyped-def]
        if (type(y) is float or type(y) is int) and y >= 0:
            return x**y  # a non-negative constant exponent cannot divide by zero
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.power(x, y)

    saves_out = True
    vjps = (
        _pow_grad_base,
        _pow_grad_exponent,
    )


class Neg(Primitive):
    """out = -x

    grad_x = -grad_out
    """

    exact = True
    reads_inputs = False
    forward = staticmethod(operator.neg)
    vjps = (lambda g, out, x: -g,)


class Exp(Primitive):
    """out = exp(x)

    grad_x = grad_out * out
    """

    floating_only = True
    exact = True
    forward = _silent(np.exp)
    saves_out = True
    vjps = (lambda g, out, x: g * out,)


class Log(Primitive):
    """out = log(x)  (log(0) = -inf, log of a negative number = nan, as in PyTorch)

    grad_x = grad_out / x
    """

    floating_only = True
    exact = True
    forward = _silent(np.log)
    vjps = (lambda g, out, x: Div.call(g, x),)


class Sqrt(Primitive):
    """out = sqrt(x)

    grad_x = grad_out / (2 * out)
    """

    floating_only = True
    exact = True
    forward = _silent(np.sqrt)
    saves_out = True
    vjps = (lambda g, out, x: Div.call(g, 2 * out),)


class Abs(Primitive):
    """out = |x|

    grad_x = grad_out * sign(x)  (0 at x == 0, as in PyTorch)
    """

    exact = True
    forward = staticmethod(np.abs)
    vjps = (lambda g, out, x: g * Sign.call(x),)


class Sign(Primitive):
    """out = sign(x), piecewise constant.

    grad_x = 0
    """

    exact = True
    reads_inputs = False
    forward = staticmethod(np.sign)
    vjps = (lambda g, out, x: g * 0,)


class Sin(Primitive):
    """out = sin(x)

    grad_x = grad_out * cos(x)
    """

    floating_only = True
    exact = True
    forward = staticmethod(np.sin)
    vjps = (lambda g, out, x: g * Cos.call(x),)


class Cos(Primitive):
    """out = cos(x)

    grad_x = -grad_out * sin(x)
    """

    floating_only = True
    exact = True
    forward = staticmethod(np.cos)
    vjps = (lambda g, out, x: -g * Sin.call(x),)


_ONES: dict = {}


def _one_minus(value):  # type: ignore[no-untyped-def]
    """1 - value. For an array the 1 is a cached 0-d array of its dtype: the same number, but
    NumPy subtracts it about twice as fast as the Python 1 on small arrays."""
    if type(value) is np.ndarray:
        one = _ONES.get(value.dtype)
        if one is None:
            one = np.ones((), value.dtype)
            one.flags.writeable = False
            one = _ONES.setdefault(value.dtype, one)
        return one - value
    return 1 - value


class Tanh(Primitive):
    """out = tanh(x)  (NumPy's tanh saturates to ±1 without overflow)

    grad_x = grad_out * (1 - out**2)
    """

    floating_only = True
    exact = True
    forward = staticmethod(np.tanh)
    saves_out = True
    vjps = (lambda g, out, x: g * _one_minus(out * out),)


def _sigmoid(x):  # type: ignore[no-untyped-def]
    # Both forms are exact to rounding for every x (even |x| = 1e4) and never overflow.
    # exp(-logaddexp(0, -x)) makes the fewest NumPy calls (best for small arrays);
    # exp(-|x|) with a select is several times faster per element (best for large ones).
    if x.size < 256:
        return np.exp(-np.logaddexp(0, -x))
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1, e) / (1 + e)


class Sigmoid(Primitive):
    """out = 1 / (1 + exp(-x)), computed as exp(-logaddexp(0, -x)) so nothing can overflow.

    grad_x = grad_out * out * (1 - out)
    """

    floating_only = True
    exact = True
    forward = staticmethod(_sigmoid)
    saves_out = True
    vjps = (lambda g, out, x: g * out * _one_minus(out),)


def _relu(x):  # type: ignore[no-untyped-def]
    if x.size >= 1024 and x.dtype.kind in "fiu":
        zeros = zeros_view(x)  # an array operand: NumPy's vectorised loop (see _zeros)
        if zeros is not None:
            return np.maximum(x, zeros)
    return np.maximum(x, 0)


def _softplus(x):  # type: ignore[no-untyped-def]
    # log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): exact and overflow-free.
    return _relu(x) + np.log1p(np.exp(-np.abs(x)))


class Softplus(Primitive):
    """out = log(1 + exp(x)), evaluated as max(x, 0) + log1p(exp(-|x|)).

    grad_x = grad_out * sigmoid(x)
    """

    floating_only = True
    exact = True
    forward = staticmethod(_softplus)
    vjps = (lambda g, out, x: g * Sigmoid.call(x),)


class Relu(Primitive):
    """out = max(x, 0)

    grad_x = grad_out * (x > 0)   (the kink at 0 gets gradient 0, as in PyTorch)
    """

    exact = True
    forward = staticmethod(_relu)
    vjps = (lambda g, out, x: g * (x > 0),)


class Clamp(Primitive):
    """out = min(max(x, min), max)

    grad_x = grad_out where min <= x <= max, else 0
    """

    exact = True
    @staticmethod
    def forward(x, min=None, max=None):  # type: ignore[no-untyped-def]
        return np.clip(x, min, max)

    vjps = (lambda g, out, x, min=None, max=None: g * _inside(x, min, max),)


def _inside(x, low, high):  # type: ignore[no-untyped-def]
    mask = None
    if low is not None:
        mask = x >= low
    if high is not None:
        upper = x <= high
        mask = upper if mask is None else mask & upper
    return mask


class Maximum(Primitive):
    """out = max(x, y) elementwise

    grad_x = grad_out where x > y, half of it where x == y;  grad_y likewise.
    """

    promotes_types = True
    forward = staticmethod(np.maximum)
    vjps = (
        lambda g, out, x, y: g * ((x > y) + (x == y) * 0.5),
        lambda g, out, x, y: g * ((y > x) + (x == y) * 0.5),
    )


class Minimum(Primitive):
    """out = min(x, y) elementwise

    grad_x = grad_out where x < y, half of it where x == y;  grad_y likewise.
    """

    promotes_types = True
    forward = staticmethod(np.minimum)
    vjps = (
        lambda g, out, x, y: g * ((x < y) + (x == y) * 0.5),
        lambda g, out, x, y: g * ((y < x) + (x == y) * 0.5),
    )


class Where(Primitive):
    """out = x where cond else y  (cond is a constant mask)

    grad_cond = none;  grad_x = grad_out where cond, else 0;  grad_y = grad_out where not cond
    """

    forward = staticmethod(np.where)
    vjps = (
        None,
        lambda g, out, cond, x, y: Where.call(cond, g, 0.0),
        lambda g, out, cond, x, y: Where.call(cond, 0.0, g),
    )


class Cast(Primitive):
    """out = x converted to ``dtype``

    grad_x = grad_out converted back to x's dtype
    """

    reads_inputs = False
    @staticmethod
    def forward(x, dtype):  # type: ignore[no-untyped-def]
        return np.asarray(x).astype(dtype)

    vjps = (lambda g, out, x, dtype: Cast.call(g, dtype=x.dtype),)


class Clone(Primitive):
    """out = a copy of x

    grad_x = grad_out
    """

    exact = True
    reads_inputs = False
    forward = staticmethod(lambda x: np.array(x, copy=True))
    vjps = (lambda g, out, x: g,)


class FillLike(Primitive):
    """out = a tensor shaped like x, every element ``value`` (what ``fill_``/``zero_`` write)

    grad_x = 0
    """

    exact = True
    reads_inputs = False
    forward = staticmethod(lambda x, value: np.full_like(x, value))
    vjps = (lambda g, out, x, value: g * 0,)


class CopyFrom(Primitive):
    """out = src broadcast to x's shape and dtype (what ``copy_`` writes)

    grad_x = 0;  grad_src = grad_out (summed over broadcast dims by the engine)
    """

    reads_inputs = False
    @staticmethod
    def forward(x, src):  # type: ignore[no-untyped-def]
        return np.array(np.broadcast_to(src, np.shape(x)), dtype=x.dtype)

    vjps = (lambda g, out, x, src: g * 0, lambda g, out, x, src: g)
