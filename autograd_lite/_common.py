"""Small helpers shared by the functional modules (``functional``, ``nn.functional``)."""

from __future__ import annotations

from typing import Any

from .tensor import Tensor, as_tensor

__all__ = ["_SUM_ALL", "_t"]

#: The attributes of a ``Sum`` over every element (no ``dim``, no ``keepdim``).
_SUM_ALL: dict[str, Any] = {"axis": None, "keepdims": False}


def _t(x: Any) -> Tensor:
    """``x`` itself if it is a Tensor, else ``as_tensor(x)``."""
    return x if isinstance(x, Tensor) else as_tensor(x)
