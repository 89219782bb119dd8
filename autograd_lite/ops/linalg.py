"""Matrix multiplication, with NumPy's rules for 1-D operands and broadcast batch dims."""

from __future__ import annotations

import numpy as np

from .primitive import Primitive
from .shape import _PerInput


def _matmul_grad_x(g, out, x, y):  # type: ignore[no-untyped-def]
    if y.ndim == 1:
        if x.ndim == 1:  # dot product: out is a scalar
            return g * y
        return g[..., None] * y  # out[..., n] = sum_m x[..., n, m] y[m]
    if x.ndim == 1:  # out[..., m] = sum_n x[n] y[..., n, m]
        return (y @ g[..., None])[..., 0]
    return g @ y.mT


def _matmul_grad_y(g, out, x, y):  # type: ignore[no-untyped-def]
    if x.ndim == 1:
        if y.ndim == 1:
            return g * x
        return x[:, None] * g[..., None, :]
    if y.ndim == 1:
        return (x.mT @ g[..., None])[..., 0]
    return x.mT @ g


class Matmul(Primitive):
    """out = x @ y  (batch dims broadcast; 1-D operands act as vectors)

    grad_x = grad_out @ y^T;  grad_y = x^T @ grad_out   (batch dims summed by the engine)
    """

    promotes_types = True
    forward = staticmethod(np.matmul)
    vjps = (_matmul_grad_x, _matmul_grad_y)


def _einsum_vjp(position: int):  # type: ignore[no-untyped-def]
    def vjp(g, out, *operands, equation):  # type: ignore[no-untyped-def]
        inputs, output = equation.split("->")
        subscripts = inputs.split(",")
        target = subscripts[position]
        terms = [output] + [s for i, s in enumerate(subscripts) if i != position]
        args = [g] + [x for i, x in enumerate(operands) if i != position]
        # Indices that only this operand carries were summed away: they come back as ones.
        for axis, letter in enumerate(target):
            if not any(letter in term for term in terms):
                terms.append(letter)
                args.append(np.ones(operands[position].shape[axis]))
        return Einsum.call(*args, equation=",".join(terms) + "->" + target)

    return vjp


class Einsum(Primitive):
    """out = einsum(equation, *operands)   (explicit form "ij,jk->ik", no repeated index in an operand)

    grad_operand_k = einsum of grad_out with the other operands, producing operand k's indices
    (indices summed only inside operand k are restored by an einsum with a ones vector)
    """

    forward = staticmethod(lambda *operands, equation: np.einsum(equation, *operands))
    vjps = _PerInput(_einsum_vjp)  # type: ignore[assignment]



def _linear(x, w, b):  # type: ignore[no-untyped-def]
    out = np.matmul(x, w.T)  # BLAS reads the transposed view without a copy
    if b is not None:
        out += b  # ``out`` is a fresh array, so adding in place is safe
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


def _bias_grad(g, out, x, w, b):  # type: ignore[no-untyped-def]
    rows = _rows(g, w.shape[0])
    if type(rows) is np.ndarray and rows.dtype.char in "fd":
        # ones @ rows: BLAS sums the columns about twice as fast as .sum(axis=0), and with
        # several partial sums instead of one running sum down each column
        return _ones(rows.shape[0], rows.dtype) @ rows
    return rows.sum(axis=0)


class Linear(Primitive):
    """out = x @ w^T + b   (x: (..., in), w: (out, in), b: (out,) or None)

    grad_x = grad_out @ w;  grad_w = grad_out^T @ x (over all rows);  grad_b = sum of grad_out rows

    One fused node instead of transpose + matmul + add: fewer nodes to record and walk, and
    no broadcast to undo for the bias.
    """

    forward = staticmethod(_linear)
    vjps = (
        lambda g, out, x, w, b: g @ w,
        lambda g, out, x, w, b: _rows(g, w.shape[0]).mT @ _rows(x, w.shape[1]),
        _bias_grad,
    )


from .shape import Reshape  # noqa: E402
