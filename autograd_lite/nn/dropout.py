"""Dropout: randomly zero activations while training (Srivastava et al., 2014)."""

from __future__ import annotations

from ..tensor import Tensor
from ._functional_basic import dropout
from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """In training mode zero each element with probability ``p`` and scale the others by
    1 / (1 - p), so the expected activation is unchanged; in eval mode pass the input through.
    The masks come from the global generator (``ag.manual_seed``).
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
