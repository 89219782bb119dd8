"""Special functions: the error function ``erf`` (which exact GELU needs), and binary
cross-entropy on probabilities (a primitive for its behaviour at 0 and 1).

NumPy has no vectorised ``erf``, so it is evaluated here by Taylor expansion around a
grid of centres c = k/16 on [0, 6]. The coefficients come from the derivatives of erf,

    erf^(n)(c) = (2 / sqrt(pi)) * (-1)^(n-1) * H_{n-1}(c) * exp(-c^2)   (n >= 1),

with H the physicists' Hermite polynomials (H_0 = 1, H_1 = 2c,
H_{k+1} = 2c H_k - 2k H_{k-1}), computed once at import with ``math.erf`` for the value at
each centre. A point x is at most 1/32 from its centre, so 12 terms leave a remainder far
below float64's resolution; beyond |x| = 6, erf(x) rounds to +-1 exactly.
"""

from __future__ import annotations

import math

import numpy as np

from .elementwise import Clamp, Exp, Log
from .primitive import Primitive

_STEPS_PER_UNIT = 16
_LIMIT = 6.0
_TERMS = 12
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _taylor_table() -> np.ndarray:
    """Row k holds erf's Taylor coefficients erf^(n)(c)/n! at c = k/16, n = 0.._TERMS-1."""
    centres = int(_LIMIT * _STEPS_PER_UNIT) + 1
    table = np.empty((_TERMS, centres))
    for k in range(centres):
        c = k / _STEPS_PER_UNIT
        scale = _TWO_OVER_SQRT_PI * math.exp(-c * c)
        hermite_prev, hermite = 0.0, 1.0  # H_{-1} (unused), H_0
        table[0, k] = math.erf(c)
        factorial = 1.0
        for n in range(1, _TERMS):
            factorial *= n
            # erf^(n) uses H_{n-1}; then step the recursion to H_n
            table[n, k] = scale * (-1.0) ** (n - 1) * hermite / factorial
            hermite_prev, hermite = hermite, 2 * c * hermite - 2 * (n - 1) * hermite_prev
    return table


_TABLE = _taylor_table()


def _erf(x):
    x = np.asarray(x)
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    a = np.abs(x, dtype=np.float64)
    clipped = np.minimum(a, _LIMIT)  # NaN stays NaN, +inf becomes 6 (erf = 1 there)
    with np.errstate(invalid="ignore"):
        index = np.rint(np.nan_to_num(clipped) * _STEPS_PER_UNIT).astype(np.intp)
    h = clipped - index / _STEPS_PER_UNIT
    result = np.take(_TABLE[_TERMS - 1], index)
    for n in range(_TERMS - 2, -1, -1):
        result *= h
        result += np.take(_TABLE[n], index)
    result = np.copysign(np.where(a >= _LIMIT, 1.0, result), x).astype(dtype, copy=False)
    return result if result.ndim else result[()]


class Erf(Primitive):
    """To float64 accuracy, by Taylor series on a grid of centres (see the module docstring)."""

    formula = "out = erf(x) = (2 / sqrt(pi)) * integral_0^x exp(-t^2) dt"
    grad_formulas = ("grad_x = grad_out * (2 / sqrt(pi)) * exp(-x^2)",)

    exact = True
    forward = staticmethod(_erf)
    vjps = (lambda grad_out, out, x: grad_out * (_TWO_OVER_SQRT_PI * Exp.call(-(x * x))),)


def _bce(x, t):
    with np.errstate(divide="ignore"):
        log_x = np.maximum(np.log(x), -100.0)
        log_1mx = np.maximum(np.log1p(-x), -100.0)
    return -(t * log_x + (1 - t) * log_1mx)


def _bce_grad_target(grad_out, out, x, t):
    log_x = Clamp.call(Log.call(x), min=-100.0, max=None)
    log_1mx = Clamp.call(Log.call(1 - x), min=-100.0, max=None)
    return grad_out * (log_1mx - log_x)


# PyTorch's floor for x * (1 - x) is the float32 constant 1e-12 (9.99999996e-13 exactly)
_BCE_EPS = float(np.float32(1e-12))


class BinaryCrossEntropy(Primitive):
    """For x in [0, 1]. A primitive rather than a composite so that x = 0 or 1 exactly (a
    saturated float32 sigmoid) gives PyTorch's finite loss and gradient instead of 0 * inf = nan.
    """

    formula = "out = -(t * max(log x, -100) + (1 - t) * max(log(1 - x), -100))"
    grad_formulas = (
        "grad_x = grad_out * (x - t) / max(x * (1 - x), 1e-12)",
        "grad_t = grad_out * (max(log(1 - x), -100) - max(log x, -100))",
    )

    forward = staticmethod(_bce)
    vjps = (
        lambda grad_out, out, x, t: grad_out * (x - t) / Clamp.call(x * (1 - x), min=_BCE_EPS, max=None),
        _bce_grad_target,
    )
