"""Elementwise primitives. Broadcasting is undone by the engine, not here."""

from __future__ import annotations

import operator

import numpy as np

from .._dtype import get_default_dtype
from .._zeros import zeros_view
from .primitive import Primitive


def _silent(fn):
    """Wrap a NumPy function so that log(0), x/0 and sqrt(-1) give inf/nan quietly, as in PyTorch."""

    def forward(*args, **kwargs):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return fn(*args, **kwargs)

    forward.__doc__ = fn.__doc__
    return staticmethod(forward)


class Add(Primitive):
    formula = "out = x + y"
    grad_formulas = ("grad_x = grad_out", "grad_y = grad_out")

    promotes_types = True
    reads_inputs = False
    scalar_as_array = True
    # The operator (not np.add) so that NumPy scalars (0-d results) take the fast scalar path.
    forward = staticmethod(operator.add)
    vjps = (lambda grad_out, out, x, y: grad_out, lambda grad_out, out, x, y: grad_out)


class Sub(Primitive):
    formula = "out = x - y"
    grad_formulas = ("grad_x = grad_out", "grad_y = -grad_out")

    promotes_types = True
    reads_inputs = False
    scalar_as_array = True
    forward = staticmethod(operator.sub)
    vjps = (lambda grad_out, out, x, y: grad_out, lambda grad_out, out, x, y: -grad_out)


class Mul(Primitive):
    formula = "out = x * y"
    grad_formulas = ("grad_x = grad_out * y", "grad_y = grad_out * x")

    promotes_types = True
    scalar_as_array = True
    forward = staticmethod(operator.mul)
    vjps = (lambda grad_out, out, x, y: grad_out * y, lambda grad_out, out, x, y: grad_out * x)


class Div(Primitive):
    """Division by zero gives inf or nan quietly, as in PyTorch; integers divide to the default
    float dtype."""

    formula = "out = x / y"
    grad_formulas = ("grad_x = grad_out / y", "grad_y = -grad_out * x / y**2")

    promotes_types = True
    @staticmethod
    def forward(x, y):
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
    vjps = (
        lambda grad_out, out, x, y: Div.call(grad_out, y),
        lambda grad_out, out, x, y: Div.call(-grad_out * x, y * y),
    )


def _integral(v):
    return v.dtype.kind in "iub" if hasattr(v, "dtype") else not isinstance(v, float)


def _pow_grad_base(grad_out, out, x, y):
    if type(y) is int and y == 2:
        # the square: grad_out * 2x, with 2x as x + x (exact), so it rounds as grad_out * 2 * x
        # does, with two array operations instead of x ** 1 and a multiplication by a Python number
        return grad_out * (x + x)
    return grad_out * y * Pow.call(x, y - 1)


def _pow_grad_exponent(grad_out, out, x, y):
    # d(x**y)/dy = x**y * log(x). At x == 0 PyTorch uses 0 (the limit for y > 0).
    safe_x = Where.call(x == 0, 1.0, x)
    return grad_out * out * Log.call(safe_x)


class Pow(Primitive):
    """grad_y is 0 where x == 0 (the limit for y > 0), as in PyTorch."""

    formula = "out = x ** y"
    grad_formulas = ("grad_x = grad_out * y * x**(y - 1)", "grad_y = grad_out * out * log(x)")

    promotes_types = True
    @staticmethod
    def forward(x, y):
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
    formula = "out = -x"
    grad_formulas = ("grad_x = -grad_out",)

    exact = True
    reads_inputs = False
    forward = staticmethod(operator.neg)
    vjps = (lambda grad_out, out, x: -grad_out,)


class Exp(Primitive):
    formula = "out = exp(x)"
    grad_formulas = ("grad_x = grad_out * out",)

    floating_only = True
    exact = True
    forward = _silent(np.exp)
    saves_out = True
    vjps = (lambda grad_out, out, x: grad_out * out,)


class Log(Primitive):
    """log(0) = -inf and the log of a negative number is nan, as in PyTorch."""

    formula = "out = log(x)"
    grad_formulas = ("grad_x = grad_out / x",)

    floating_only = True
    exact = True
    forward = _silent(np.log)
    vjps = (lambda grad_out, out, x: Div.call(grad_out, x),)


class Sqrt(Primitive):
    formula = "out = sqrt(x)"
    grad_formulas = ("grad_x = grad_out / (2 * out)",)

    floating_only = True
    exact = True
    forward = _silent(np.sqrt)
    saves_out = True
    vjps = (lambda grad_out, out, x: Div.call(grad_out, 2 * out),)


class Abs(Primitive):
    """The gradient at x == 0 is 0, as in PyTorch."""

    formula = "out = |x|"
    grad_formulas = ("grad_x = grad_out * sign(x)",)

    exact = True
    forward = staticmethod(np.abs)
    vjps = (lambda grad_out, out, x: grad_out * Sign.call(x),)


class Sign(Primitive):
    formula = "out = sign(x)"
    grad_formulas = ("grad_x = 0",)

    exact = True
    reads_inputs = False
    forward = staticmethod(np.sign)
    vjps = (lambda grad_out, out, x: grad_out * 0,)


class Sin(Primitive):
    formula = "out = sin(x)"
    grad_formulas = ("grad_x = grad_out * cos(x)",)

    floating_only = True
    exact = True
    forward = staticmethod(np.sin)
    vjps = (lambda grad_out, out, x: grad_out * Cos.call(x),)


class Cos(Primitive):
    formula = "out = cos(x)"
    grad_formulas = ("grad_x = -grad_out * sin(x)",)

    floating_only = True
    exact = True
    forward = staticmethod(np.cos)
    vjps = (lambda grad_out, out, x: -grad_out * Sin.call(x),)


_ONES: dict = {}


def _one_minus(value):
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
    """NumPy's tanh saturates to ±1 without overflow."""

    formula = "out = tanh(x)"
    grad_formulas = ("grad_x = grad_out * (1 - out**2)",)

    floating_only = True
    exact = True
    forward = staticmethod(np.tanh)
    saves_out = True
    vjps = (lambda grad_out, out, x: grad_out * _one_minus(out * out),)


def _sigmoid(x):
    # Both forms are exact to rounding for every x (even |x| = 1e4) and never overflow.
    # exp(-logaddexp(0, -x)) makes the fewest NumPy calls (best for small arrays);
    # exp(-|x|) with a select is several times faster per element (best for large ones).
    if x.size < 256:
        return np.exp(-np.logaddexp(0, -x))
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1, e) / (1 + e)


class Sigmoid(Primitive):
    """Computed as exp(-logaddexp(0, -x)) (from exp(-|x|) for large arrays), so nothing can overflow."""

    formula = "out = 1 / (1 + exp(-x))"
    grad_formulas = ("grad_x = grad_out * out * (1 - out)",)

    floating_only = True
    exact = True
    forward = staticmethod(_sigmoid)
    saves_out = True
    vjps = (lambda grad_out, out, x: grad_out * out * _one_minus(out),)


def _relu(x):
    if x.size >= 1024 and x.dtype.kind in "fiu":
        zeros = zeros_view(x)  # an array operand: NumPy's vectorised loop (see _zeros)
        if zeros is not None:
            return np.maximum(x, zeros)
    return np.maximum(x, 0)


def _softplus(x):
    # log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): exact and overflow-free.
    return _relu(x) + np.log1p(np.exp(-np.abs(x)))


class Softplus(Primitive):
    """Evaluated as max(x, 0) + log1p(exp(-|x|)): exact, and nothing overflows."""

    formula = "out = log(1 + exp(x))"
    grad_formulas = ("grad_x = grad_out * sigmoid(x)",)

    floating_only = True
    exact = True
    forward = staticmethod(_softplus)
    vjps = (lambda grad_out, out, x: grad_out * Sigmoid.call(x),)


class Relu(Primitive):
    """The kink at 0 gets gradient 0, as in PyTorch."""

    formula = "out = max(x, 0)"
    grad_formulas = ("grad_x = grad_out * (x > 0)",)

    exact = True
    forward = staticmethod(_relu)
    vjps = (lambda grad_out, out, x: grad_out * (x > 0),)


class Clamp(Primitive):
    formula = "out = min(max(x, min), max)"
    grad_formulas = ("grad_x = grad_out where min <= x <= max, else 0",)

    exact = True
    @staticmethod
    def forward(x, min=None, max=None):
        return np.clip(x, min, max)

    vjps = (lambda grad_out, out, x, min=None, max=None: grad_out * _inside(x, min, max),)


def _inside(x, low, high):
    mask = None
    if low is not None:
        mask = x >= low
    if high is not None:
        upper = x <= high
        mask = upper if mask is None else mask & upper
    return mask


class Maximum(Primitive):
    formula = "out = max(x, y) elementwise"
    grad_formulas = (
        "grad_x = grad_out where x > y, half of it where x == y",
        "grad_y = grad_out where y > x, half of it where x == y",
    )

    promotes_types = True
    forward = staticmethod(np.maximum)
    vjps = (
        lambda grad_out, out, x, y: grad_out * ((x > y) + (x == y) * 0.5),
        lambda grad_out, out, x, y: grad_out * ((y > x) + (x == y) * 0.5),
    )


class Minimum(Primitive):
    formula = "out = min(x, y) elementwise"
    grad_formulas = (
        "grad_x = grad_out where x < y, half of it where x == y",
        "grad_y = grad_out where y < x, half of it where x == y",
    )

    promotes_types = True
    forward = staticmethod(np.minimum)
    vjps = (
        lambda grad_out, out, x, y: grad_out * ((x < y) + (x == y) * 0.5),
        lambda grad_out, out, x, y: grad_out * ((y < x) + (x == y) * 0.5),
    )


class Where(Primitive):
    formula = "out = x where cond else y"
    grad_formulas = (None, "grad_x = grad_out where cond, else 0", "grad_y = grad_out where not cond")

    forward = staticmethod(np.where)
    vjps = (
        None,
        lambda grad_out, out, cond, x, y: Where.call(cond, grad_out, 0.0),
        lambda grad_out, out, cond, x, y: Where.call(cond, 0.0, grad_out),
    )


class Cast(Primitive):
    formula = "out = x converted to dtype"
    grad_formulas = ("grad_x = grad_out converted back to x's dtype",)

    reads_inputs = False
    @staticmethod
    def forward(x, dtype):
        return np.asarray(x).astype(dtype)

    vjps = (lambda grad_out, out, x, dtype: Cast.call(grad_out, dtype=x.dtype),)


class Clone(Primitive):
    formula = "out = a copy of x"
    grad_formulas = ("grad_x = grad_out",)

    exact = True
    reads_inputs = False
    forward = staticmethod(lambda x: np.array(x, copy=True))
    vjps = (lambda grad_out, out, x: grad_out,)


class FillLike(Primitive):
    """What ``fill_`` and ``zero_`` write."""

    formula = "out = a tensor shaped like x, every element value"
    grad_formulas = ("grad_x = 0",)

    exact = True
    reads_inputs = False
    forward = staticmethod(lambda x, value: np.full_like(x, value))
    vjps = (lambda grad_out, out, x, value: grad_out * 0,)


class CopyFrom(Primitive):
    """What ``copy_`` writes."""

    formula = "out = src broadcast to x's shape and dtype"
    grad_formulas = ("grad_x = 0", "grad_src = grad_out (summed over broadcast dims by the engine)")

    reads_inputs = False
    @staticmethod
    def forward(x, src):
        return np.array(np.broadcast_to(src, np.shape(x)), dtype=x.dtype)

    vjps = (lambda grad_out, out, x, src: grad_out * 0, lambda grad_out, out, x, src: grad_out)
