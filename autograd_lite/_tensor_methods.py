"""Attach the functional ops to Tensor as methods, under PyTorch's method names.

Every method here is the function of the same name in :mod:`autograd_lite.functional`
with the tensor as its first argument; keeping the list in one place means a method can
never drift from its function.
"""

from __future__ import annotations

from . import functional as F
from .ops.elementwise import Abs, Cos, Exp, Log, Neg, Relu, Sigmoid, Sign, Sin, Sqrt, Tanh
from .tensor import Tensor

_SAME_NAME = [
    "add", "sub", "mul", "div", "true_divide", "pow", "neg", "square", "exp", "log", "log1p",
    "sqrt", "rsqrt", "abs", "sign", "sin", "cos", "tanh", "sigmoid", "relu", "softplus", "clamp",
    "clip", "maximum", "minimum", "matmul", "mm", "outer", "dot", "sum", "mean", "var", "std",
    "prod", "amax", "amin", "max", "min", "argmax", "argmin", "logsumexp", "log_softmax",
    "softmax", "any", "all", "eq", "ne", "lt", "le", "gt", "ge", "equal", "allclose", "isnan",
    "isfinite", "isinf", "reshape", "view", "view_as", "reshape_as", "flatten", "unflatten",
    "squeeze", "unsqueeze", "permute", "transpose", "swapaxes", "t", "broadcast_to", "expand",
    "expand_as", "split", "chunk", "unbind", "gather", "masked_fill", "tril", "triu",
]

for _name in _SAME_NAME:
    setattr(Tensor, _name, getattr(F, _name))


# Elementwise methods run their primitive's specialised closure directly (no checks needed).
for _prim in (Exp, Log, Sqrt, Abs, Sign, Sin, Cos, Tanh, Sigmoid, Relu, Neg):
    setattr(Tensor, _prim.name, _prim.unary_op)


def _masked_fill_(self: Tensor, mask: object, value: object) -> Tensor:
    return self._inplace("masked_fill_", lambda s: F.masked_fill(s, mask, value))


def _where(self: Tensor, condition: object, other: object) -> Tensor:
    return F.where(condition, self, other)


Tensor.masked_fill_ = _masked_fill_  # type: ignore[attr-defined]
Tensor.where = _where  # type: ignore[attr-defined]
Tensor.absolute = F.abs  # type: ignore[attr-defined]
Tensor.multiply = F.mul  # type: ignore[attr-defined]
Tensor.subtract = F.sub  # type: ignore[attr-defined]
Tensor.divide = F.div  # type: ignore[attr-defined]
