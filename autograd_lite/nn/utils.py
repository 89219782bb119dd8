"""Gradient clipping and flattening parameters to one vector (PyTorch's ``torch.nn.utils``)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import functional as _F
from ..tensor import Tensor

__all__ = [
    "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm",
    "parameters_to_vector", "vector_to_parameters",
]


def _as_list(tensors: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _scale_in_place(t: Tensor, factor: Any) -> None:
    data = t._data
    if isinstance(data, np.ndarray) and data.flags.writeable:
        np.multiply(data, factor, out=data, casting="unsafe")
    else:
        t._data = np.asarray(data * factor, dtype=np.asarray(data).dtype)
    t._bump_version()


def get_total_norm(tensors: Tensor | Iterable[Tensor], norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """The p-norm of all ``tensors`` together, as if concatenated into one vector (inf: max |x|)."""
    items = [t for t in _as_list(tensors) if t is not None]
    norm_type = float(norm_type)
    if not items:
        return Tensor._wrap(np.asarray(0.0, dtype=np.float32))
    arrays = [np.asarray(t._data) for t in items]
    dtype = np.result_type(*arrays)
    if norm_type == math.inf:
        total = max(float(np.max(np.abs(a))) if a.size else 0.0 for a in arrays)
    elif norm_type == -math.inf:
        total = min(float(np.min(np.abs(a))) if a.size else math.inf for a in arrays)
    elif norm_type == 2.0:
        total = math.sqrt(sum(float(np.vdot(a, a)) for a in arrays))
    elif norm_type == 0.0:
        total = float(sum(np.count_nonzero(a) for a in arrays))
    else:
        total = sum(float(np.sum(np.abs(a) ** norm_type)) for a in arrays) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it "
            "cannot be clipped. To disable this error and scale the gradients by the non-finite norm "
            "anyway, set `error_if_nonfinite=False`"
        )
    return Tensor._wrap(np.asarray(total, dtype=dtype))


def clip_grads_with_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, total_norm: Any,
                          foreach: bool | None = None) -> None:
    """Scale every ``.grad`` by min(1, max_norm / (total_norm + 1e-6)), in place."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    total = float(total_norm._data if isinstance(total_norm, Tensor) else total_norm)
    coefficient = min(float(max_norm) / (total + 1e-6), 1.0)
    for grad in grads:
        _scale_in_place(grad, coefficient)


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Rescale the gradients so that their joint ``norm_type``-norm is at most ``max_norm``.

    total = ||(g_1, ..., g_k)||_p;  every g_i *= min(1, max_norm / (total + 1e-6)).
    Returns ``total`` (measured before clipping) as a 0-d tensor.
    """
    params = _as_list(parameters)
    total = get_total_norm([p.grad for p in params if p.grad is not None], norm_type, error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clamp every ``.grad`` element into [-clip_value, clip_value], in place."""
    value = float(clip_value)
    for p in _as_list(parameters):
        grad = p.grad
        if grad is None:
            continue
        data = grad._data
        if isinstance(data, np.ndarray) and data.flags.writeable:
            np.clip(data, -value, value, out=data)
        else:
            grad._data = np.asarray(np.clip(data, -value, value), dtype=np.asarray(data).dtype)
        grad._bump_version()


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated into one vector (differentiable)."""
    params = _as_list(parameters)
    if not params:
        raise RuntimeError("parameters_to_vector: got no parameters")
    return _F.cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into the parameters (the inverse of parameters_to_vector)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected vec to be an ag.Tensor, but got: {type(vec).__name__}")
    params = _as_list(parameters)
    needed = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.shape[0] != needed:
        raise RuntimeError(
            f"vector_to_parameters: vec of shape {tuple(vec.shape)} doesn't match the {needed} parameter "
            "elements; expected a 1-d vector of exactly that length"
        )
    source = np.asarray(vec._data)
    start = 0
    for p in params:
        n = p.numel()
        data = p._data
        chunk = source[start:start + n].reshape(np.shape(data))
        if isinstance(data, np.ndarray) and data.flags.writeable:
            np.copyto(data, chunk, casting="unsafe")
        else:
            p._data = np.array(chunk, dtype=np.asarray(data).dtype)
        p._bump_version()
        start += n
