"""Matrix multiplication, with NumPy's rules for 1-D operands and broadcast batch dims."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from .primitive import Primitive
from .shape import _PerInput


def _matmul_grad_x(grad_out, out, x, y):  # type: ignore[no-untyped-def]
    if y.ndim == 1:
        if x.ndim == 1:  # dot product: out is a scalar
            return grad_out * y
        return grad_out[..., None] * y  # out[..., n] = sum_m x[..., n, m] y[m]
    if x.ndim == 1:  # out[..., m] = sum_n x[n] y[..., n, m]
        return (y @ grad_out[..., None])[..., 0]
    return grad_out @ y.mT


def _matmul_grad_y(grad_out, out, x, y):  # type: ignore[no-untyped-def]
    if x.ndim == 1:
        if y.ndim == 1:
            return grad_out * x
        return x[:, None] * grad_out[..., None, :]
    if y.ndim == 1:
        return (x.mT @ grad_out[..., None])[..., 0]
    return x.mT @ grad_out


class Matmul(Primitive):
    """Batch dims broadcast (the engine sums their gradients back); 1-D operands act as vectors."""

    formula = "out = x @ y"
    grad_formulas = ("grad_x = grad_out @ y^T", "grad_y = x^T @ grad_out")

    promotes_types = True
    forward = staticmethod(np.matmul)
    vjps = (_matmul_grad_x, _matmul_grad_y)


def _einsum_vjp(position: int):  # type: ignore[no-untyped-def]
    def vjp(grad_out, out, *x, equation):  # type: ignore[no-untyped-def]
        inputs, output = equation.split("->")
        subscripts = inputs.split(",")
        target = subscripts[position]
        terms = [output] + [s for i, s in enumerate(subscripts) if i != position]
        args = [grad_out] + [x_i for i, x_i in enumerate(x) if i != position]
        # Indices that only this operand carries were summed away: they come back as ones.
        for axis, letter in enumerate(target):
            if not any(letter in term for term in terms):
                terms.append(letter)
                args.append(np.ones(x[position].shape[axis]))
        return Einsum.call(*args, equation=",".join(terms) + "->" + target)

    return vjp


class Einsum(Primitive):
    """The explicit form only (``"ij,jk->ik"``), with no index repeated within an operand. Indices
    that only x_i carries (summed away in out) come back through an einsum with a ones vector."""

    formula = "out = einsum(equation, x_1, ..., x_n)"
    grad_formulas = ("grad_x_i = einsum of grad_out with the other operands, producing x_i's indices",)

    forward = staticmethod(lambda *operands, equation: np.einsum(equation, *operands))
    vjps = _PerInput(_einsum_vjp)  # type: ignore[assignment]



def _linear(x, weight, bias):  # type: ignore[no-untyped-def]
    out = np.matmul(x, weight.T)  # BLAS reads the transposed view without a copy
    if bias is not None:
        out += bias  # ``out`` is a fresh array, so adding in place is safe
    return out


def _rows(t, width):  # type: ignore[no-untyped-def]
    """View a (..., width) array or tensor as a matrix of rows."""
    return t if t.ndim == 2 else Reshape.call(t, shape=(-1, width))


#: a vector of ones per dtype, grown on demand, for column sums done as GEMVs
_ONES: dict = {}


def _ones(n, dtype):  # type: ignore[no-untyped-def]
    ones = _ONES.get(dtype)
    if ones is None or ones.shape[0] < n:
        ones = _ONES[dtype] = np.ones(max(n, 2 * ones.shape[0] if ones is not None else n), dtype)
    return ones[:n]


def _bias_grad(grad_out, out, x, weight, bias):  # type: ignore[no-untyped-def]
    rows = _rows(grad_out, weight.shape[0])
    if type(rows) is np.ndarray and rows.dtype.char in "fd":
        # ones @ rows: BLAS sums the columns about twice as fast as .sum(axis=0), and with
        # several partial sums instead of one running sum down each column
        return _ones(rows.shape[0], rows.dtype) @ rows
    return rows.sum(axis=0)


class Linear(Primitive):
    """x: (..., in), weight: (out, in), bias: (out,) or None.

    One fused node instead of transpose + matmul + add: fewer nodes to record and walk, and
    no broadcast to undo for the bias.
    """

    formula = "out = x @ weight^T + bias"
    grad_formulas = (
        "grad_x = grad_out @ weight",
        "grad_weight = grad_out^T @ x (over all rows)",
        "grad_bias = sum of grad_out rows",
    )
    #: the forward formula when an optional input is left out (None), by the input's name
    formula_without: ClassVar[dict[str, str]] = {"bias": "out = x @ weight^T"}

    forward = staticmethod(_linear)
    vjps = (
        lambda grad_out, out, x, weight, bias: grad_out @ weight,
        lambda grad_out, out, x, weight, bias: _rows(grad_out, weight.shape[0]).mT @ _rows(x, weight.shape[1]),
        _bias_grad,
    )


from .shape import Reshape  # noqa: E402
