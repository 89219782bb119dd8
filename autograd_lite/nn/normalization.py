"""Normalisation layers: BatchNorm1d, BatchNorm2d and LayerNorm (PyTorch's names and defaults)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._dtype import as_dtype, get_default_dtype
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from ._functional_layers import batch_norm, layer_norm
from .module import Module, Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm"]


class _BatchNorm(Module):
    """Batch normalisation over the channel dim (dim 1) with running statistics.

    Training: normalise with the batch mean and biased variance, then update
    ``running_mean`` / ``running_var`` (buffers) towards the batch mean and *unbiased*
    variance by ``momentum`` (``momentum=None``: a cumulative average over the
    ``num_batches_tracked`` batches seen). Eval: normalise with the running statistics.
    ``affine`` adds the learnable ``weight`` (ones) and, unless ``bias=False``, ``bias`` (zeros);
    ``track_running_stats=False`` keeps no statistics and always uses the batch's.
    """

    _input_dims: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: Any = None, *,
                 bias: bool = True) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        dt = get_default_dtype() if dtype is None else as_dtype(dtype)
        if affine:
            self.weight = Parameter(Tensor._wrap(np.ones(num_features, dtype=dt)))
            if bias:
                self.bias = Parameter(Tensor._wrap(np.zeros(num_features, dtype=dt)))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor._wrap(np.zeros(num_features, dtype=dt)))
            self.register_buffer("running_var", Tensor._wrap(np.ones(num_features, dtype=dt)))
            self.register_buffer("num_batches_tracked", Tensor._wrap(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        with no_grad():
            if self.weight is not None:
                self.weight.fill_(1)
            if self.bias is not None:
                self.bias.zero_()

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim not in self._input_dims:
            expected = " or ".join(f"{d}D" for d in self._input_dims)
            raise ValueError(f"{type(self).__name__}: expected {expected} input (got {input.ndim}D input)")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        buffers = self._buffers
        if self.training and self.track_running_stats:
            tracked = buffers["num_batches_tracked"]
            if tracked is not None:
                with no_grad():
                    tracked.add_(1)
                factor = 1.0 / float(tracked.item()) if self.momentum is None else self.momentum
        running_mean, running_var = buffers["running_mean"], buffers["running_var"]
        use_batch = self.training or (running_mean is None and running_var is None)
        keep = not self.training or self.track_running_stats
        return batch_norm(input, running_mean if keep else None, running_var if keep else None,
                          self._parameters["weight"], self._parameters["bias"], use_batch, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of ``(N, C)`` or ``(N, C, L)`` inputs, per channel C.

    >>> import autograd_lite as ag
    >>> bn = ag.nn.BatchNorm1d(3)
    >>> [name for name, _ in bn.state_dict().items()]
    ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
    """

    _input_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of ``(N, C, H, W)`` inputs, per channel C."""

    _input_dims = (4,)


class LayerNorm(Module):
    """Normalise over the trailing ``normalized_shape`` dims of each sample (biased variance),
    then, with ``elementwise_affine``, scale by ``weight`` (ones) and shift by ``bias`` (zeros).
    """

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (int(normalized_shape),)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        dt = get_default_dtype() if dtype is None else as_dtype(dtype)
        if elementwise_affine:
            self.weight = Parameter(Tensor._wrap(np.ones(self.normalized_shape, dtype=dt)))
            if bias:
                self.bias = Parameter(Tensor._wrap(np.zeros(self.normalized_shape, dtype=dt)))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        with no_grad():
            if self.weight is not None:
                self.weight.fill_(1)
            if self.bias is not None:
                self.bias.zero_()

    def forward(self, input: Tensor) -> Tensor:
        params = self._parameters
        return layer_norm(input, self.normalized_shape, params["weight"], params["bias"], self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")
