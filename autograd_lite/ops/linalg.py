"""Matrix multiplication, with NumPy's rules for 1-D operands and broadcast batch dims."""

from __future__ import annotations

import numpy as np

from .primitive import Primitive


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

    forward = staticmethod(np.matmul)
    vjps = (_matmul_grad_x, _matmul_grad_y)
