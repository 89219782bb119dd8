"""Convolution layers: Conv1d and Conv2d (PyTorch's parameter names, shapes and initialisation)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._dtype import as_dtype, get_default_dtype
from ..tensor import Tensor
from . import init
from ._functional_layers import conv1d, conv2d
from .module import Module, Parameter

__all__ = ["Conv1d", "Conv2d"]


def _tuple(value: Any, n: int, name: str) -> tuple[int, ...]:
    if isinstance(value, (int, np.integer)):
        return (int(value),) * n
    items = tuple(int(v) for v in value)
    if len(items) != n:
        raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")
    return items


class _ConvNd(Module):
    """What Conv1d and Conv2d share: arguments, parameters, initialisation and repr."""

    _dims = 2

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
        dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
        device: Any = None, dtype: Any = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups ({groups})")
        if padding_mode != "zeros":
            if padding_mode in ("reflect", "replicate", "circular"):
                raise NotImplementedError(f"{name}: padding_mode={padding_mode!r} is not supported; use 'zeros'")
            raise ValueError(
                f"{name}: padding_mode must be one of 'zeros', 'reflect', 'replicate', 'circular', "
                f"got {padding_mode!r}"
            )
        n = self._dims
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _tuple(kernel_size, n, f"{name}: kernel_size")
        self.stride = _tuple(stride, n, f"{name}: stride")
        self.dilation = _tuple(dilation, n, f"{name}: dilation")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: invalid padding string {padding!r}; expected 'same' or 'valid'")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
            self.padding: Any = padding
        else:
            self.padding = _tuple(padding, n, f"{name}: padding")
        self.groups = groups
        self.padding_mode = padding_mode
        dt = get_default_dtype() if dtype is None else as_dtype(dtype)
        shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(Tensor._wrap(np.empty(shape, dtype=dt)))
        if bias:
            self.bias = Parameter(Tensor._wrap(np.empty((out_channels,), dtype=dt)))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: weight ~ kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
        bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in_channels / groups * prod(kernel_size)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = (self.in_channels // self.groups) * int(np.prod(self.kernel_size))
            if fan_in:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        n = self._dims
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if isinstance(self.padding, str):
            text += f", padding={self.padding}"
        elif self.padding != (0,) * n:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation) over ``(N, C_in, H, W)``: out = conv2d(x, weight) + bias.

    weight: ``(out_channels, in_channels / groups, kh, kw)``; bias: ``(out_channels,)``.
    ``padding`` is an int, a pair, ``'valid'`` or ``'same'`` (stride 1 only).

    >>> import autograd_lite as ag
    >>> conv = ag.nn.Conv2d(1, 8, 3, padding=1)
    >>> conv(ag.zeros(2, 1, 28, 28)).shape
    (2, 8, 28, 28)
    """

    _dims = 2

    def forward(self, input: Tensor) -> Tensor:
        params = self._parameters
        return conv2d(input, params["weight"], params["bias"], self.stride, self.padding,  # type: ignore[arg-type]
                      self.dilation, self.groups)


class Conv1d(_ConvNd):
    """1-D convolution over ``(N, C_in, L)``; weight ``(out_channels, in_channels / groups, k)``."""

    _dims = 1

    def forward(self, input: Tensor) -> Tensor:
        params = self._parameters
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        return conv1d(input, params["weight"], params["bias"], self.stride[0], padding,  # type: ignore[arg-type]
                      self.dilation[0], self.groups)
