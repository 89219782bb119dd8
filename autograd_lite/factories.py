"""Functions that create tensors: tensor, zeros, ones, arange, randn, ..."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._dtype import as_dtype, get_default_dtype, int64
from .random import get_rng
from .tensor import Tensor, _to_array


def _size(size: Sequence[Any]) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    shape = tuple(int(s) for s in size)
    if any(s < 0 for s in shape):
        raise RuntimeError(f"trying to create a tensor with negative dimension: {shape}")
    return shape


def _float_dtype(dtype: Any) -> np.dtype:
    return get_default_dtype() if dtype is None else as_dtype(dtype)


def _finish(array: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """A new tensor holding a copy of ``data``: floats -> default dtype, ints -> int64, arrays keep theirs."""
    return _finish(_to_array(data, dtype), requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    from .tensor import as_tensor as _as_tensor

    return _as_tensor(data, dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (changes to one show in the other)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(array).__name__}")
    return Tensor._wrap(array)


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    return _finish(np.zeros(_size(size), dtype=_float_dtype(dtype)), requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    return _finish(np.ones(_size(size), dtype=_float_dtype(dtype)), requires_grad)


def empty(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    return _finish(np.empty(_size(size), dtype=_float_dtype(dtype)), requires_grad)


def full(size: Sequence[int], fill_value: Any, dtype: Any = None, requires_grad: bool = False,
         device: Any = None) -> Tensor:
    if dtype is None:
        dtype = _to_array(fill_value).dtype
    return _finish(np.full(_size((size,)), fill_value, dtype=as_dtype(dtype)), requires_grad)


def _like(input: Tensor, dtype: Any) -> tuple[tuple[int, ...], np.dtype]:
    return tuple(input.shape), input.dtype if dtype is None else as_dtype(dtype)


def zeros_like(input: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like(input, dtype)
    return _finish(np.zeros(shape, dtype=dt), requires_grad)


def ones_like(input: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like(input, dtype)
    return _finish(np.ones(shape, dtype=dt), requires_grad)


def empty_like(input: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like(input, dtype)
    return _finish(np.empty(shape, dtype=dt), requires_grad)


def full_like(input: Tensor, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like(input, dtype)
    return _finish(np.full(shape, fill_value, dtype=dt), requires_grad)


def rand_like(input: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like(input, dtype)
    return rand(shape, dtype=dt, requires_grad=requires_grad)


def randn_like(input: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like(input, dtype)
    return randn(shape, dtype=dt, requires_grad=requires_grad)


def arange(start: Any, end: Any = None, step: Any = 1, dtype: Any = None, requires_grad: bool = False,
           device: Any = None) -> Tensor:
    """Numbers from start (inclusive) to end (exclusive); ints give int64, floats the default dtype."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if dtype is None:
        integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = int64 if integral else get_default_dtype()
    return _finish(np.arange(start, end, step).astype(as_dtype(dtype)), requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None, requires_grad: bool = False,
             device: Any = None) -> Tensor:
    return _finish(np.linspace(start, end, int(steps)).astype(_float_dtype(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False,
        device: Any = None) -> Tensor:
    return _finish(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def rand(*size: Any, generator: Any = None, dtype: Any = None, requires_grad: bool = False,
         device: Any = None) -> Tensor:
    """Uniform samples from [0, 1)."""
    dt = _float_dtype(dtype)
    array = get_rng(generator).random(_size(size)).astype(dt)
    return _finish(np.asarray(array), requires_grad)


def randn(*size: Any, generator: Any = None, dtype: Any = None, requires_grad: bool = False,
          device: Any = None) -> Tensor:
    """Standard normal samples."""
    dt = _float_dtype(dtype)
    array = get_rng(generator).standard_normal(_size(size)).astype(dt)
    return _finish(np.asarray(array), requires_grad)


def randint(low: int, high: int | None = None, size: Sequence[int] = (), generator: Any = None,
            dtype: Any = None, device: Any = None) -> Tensor:
    """Integers uniform in [low, high)."""
    if high is None:
        low, high = 0, low
    dt = int64 if dtype is None else as_dtype(dtype)
    return Tensor._wrap(np.asarray(get_rng(generator).integers(low, high, size=tuple(size))).astype(dt))


def randperm(n: int, generator: Any = None, dtype: Any = None) -> Tensor:
    dt = int64 if dtype is None else as_dtype(dtype)
    return Tensor._wrap(get_rng(generator).permutation(n).astype(dt))


def normal(mean: float, std: float, size: Sequence[int], generator: Any = None, dtype: Any = None) -> Tensor:
    dt = _float_dtype(dtype)
    return Tensor._wrap(np.asarray(get_rng(generator).normal(mean, std, size=tuple(size))).astype(dt))
