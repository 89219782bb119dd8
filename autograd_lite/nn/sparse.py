"""Embedding: a learnable lookup table from integer ids to vectors."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._dtype import as_dtype, get_default_dtype
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor, as_tensor
from . import init
from ._functional_layers import embedding
from .module import Module, Parameter

__all__ = ["Embedding"]


class Embedding(Module):
    """out[...] = weight[input[...]], with weight ``(num_embeddings, embedding_dim)`` ~ N(0, 1).

    ``padding_idx``: that row starts at zero and never receives a gradient, so it stays as it
    is (PyTorch's rule). ``max_norm`` renormalises looked-up rows in place.

    >>> import autograd_lite as ag
    >>> emb = ag.nn.Embedding(10, 3, padding_idx=0)
    >>> emb(ag.tensor([[0, 2], [4, 0]])).shape
    (2, 2, 3)
    >>> emb.weight[0].tolist()
    [0.0, 0.0, 0.0]
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight: Any = None, _freeze: bool = False, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"Embedding: padding_idx {padding_idx} must be within num_embeddings ({num_embeddings})"
                )
            padding_idx = padding_idx % num_embeddings
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        if _weight is None:
            dt = get_default_dtype() if dtype is None else as_dtype(dtype)
            self.weight = Parameter(Tensor._wrap(np.empty((num_embeddings, embedding_dim), dtype=dt)),
                                    requires_grad=not _freeze)
            self.reset_parameters()
        else:
            weight = as_tensor(_weight)
            if tuple(weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(
                    f"Embedding: _weight has shape {tuple(weight.shape)}, expected ({num_embeddings}, {embedding_dim})"
                )
            self.weight = Parameter(weight, requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self) -> None:
        if self.padding_idx is not None:
            with no_grad():
                self.weight._data[self.padding_idx] = 0
                self.weight._bump_version()

    def forward(self, input: Any) -> Tensor:
        return embedding(input, self._parameters["weight"], self.padding_idx, self.max_norm,  # type: ignore[arg-type]
                         self.norm_type, self.scale_grad_by_freq, self.sparse)

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True, padding_idx: int | None = None,
                        max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> Embedding:
        """An Embedding whose weight is ``embeddings`` (shared memory); ``freeze`` stops its training."""
        weight = as_tensor(embeddings)
        if weight.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape {tuple(weight.shape)}")
        rows, dim = weight.shape
        return cls(rows, dim, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=weight, _freeze=freeze)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            text += ", scale_grad_by_freq=True"
        if self.sparse:
            text += ", sparse=True"
        return text
