"""Data types: autograd_lite uses NumPy's dtype objects under PyTorch's names."""

from __future__ import annotations

from typing import Any

import numpy as np

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
float16 = np.dtype(np.float16)
int64 = np.dtype(np.int64)
int32 = np.dtype(np.int32)
int16 = np.dtype(np.int16)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
bool_ = np.dtype(np.bool_)

_NAMES: dict[str, np.dtype] = {
    "float32": float32, "float": float32, "float64": float64, "double": float64,
    "float16": float16, "half": float16, "int64": int64, "long": int64,
    "int32": int32, "int": int32, "int16": int16, "short": int16, "int8": int8,
    "uint8": uint8, "bool": bool_,
}


class _DefaultDtype:
    value: np.dtype = float32


_default = _DefaultDtype()


def get_default_dtype() -> np.dtype:
    """The dtype that Python floats (and float factories) produce: float32 unless changed."""
    return _default.value


def set_default_dtype(dtype: Any) -> None:
    """Set the dtype that Python floats and float factories produce (float32 or float64)."""
    resolved = as_dtype(dtype)
    if resolved.kind != "f":
        raise TypeError(
            f"set_default_dtype: only floating dtypes can be the default, got {resolved}; "
            "use ag.float32 or ag.float64"
        )
    _default.value = resolved


def as_dtype(dtype: Any) -> np.dtype:
    """Turn anything naming a dtype (ag.float32, np.float64, 'float32', float) into a np.dtype."""
    if isinstance(dtype, np.dtype):
        return dtype
    if isinstance(dtype, str) and dtype in _NAMES:
        return _NAMES[dtype]
    if dtype is float:
        return np.dtype(_default.value)
    if dtype is int:
        return int64
    if dtype is bool:
        return bool_
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"unknown dtype {dtype!r}; use one of ag.float32, ag.float64, ag.int64, ag.int32, ag.bool"
        ) from None
