"""Tensor's methods and operators, attached in one place under PyTorch's names.

Every method is a function defined elsewhere, with the tensor as its first argument: the
function of the same name in :mod:`autograd_lite.functional`, an in-place op from
:mod:`autograd_lite.inplace`, the engine's ``backward``, or, for the arithmetic operators
and the elementwise methods, the primitive's closure from the fast path (one Python call
per op). Keeping the table here means a method can never drift from its function, and the
modules that define those functions can all import :mod:`autograd_lite.tensor`.

``_tensor_api.pyi`` declares the same methods for type checkers; ``scripts/gen_tensor_api.py``
writes it from this table, and a test checks that it is current.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import functional as F
from . import inplace
from ._dtype import as_dtype, bool_
from .autograd import engine
from .ops._fastpath import binary_op, reflected_op, unary_op
from .ops.elementwise import Abs, Add, Cos, Div, Exp, Log, Mul, Neg, Pow, Relu, Sigmoid, Sign, Sin, Sqrt, Sub, Tanh
from .ops.linalg import Matmul
from .tensor import Tensor, as_tensor

#: methods that are the functional function of the same name
SAME_NAME = [
    "add", "sub", "mul", "div", "true_divide", "pow", "square", "log1p", "rsqrt", "softplus", "clamp",
    "clip", "maximum", "minimum", "matmul", "mm", "outer", "dot", "sum", "mean", "var", "std",
    "prod", "amax", "amin", "max", "min", "argmax", "argmin", "logsumexp", "log_softmax",
    "softmax", "any", "all", "eq", "ne", "lt", "le", "gt", "ge", "equal", "allclose", "isnan",
    "isfinite", "isinf", "reshape", "view", "view_as", "reshape_as", "flatten", "unflatten",
    "squeeze", "unsqueeze", "permute", "transpose", "swapaxes", "t", "broadcast_to", "expand",
    "expand_as", "split", "chunk", "unbind", "gather", "masked_fill", "tril", "triu", "clone",
]

#: elementwise methods that run their primitive's closure directly (no argument checks needed)
ELEMENTWISE = [Exp, Log, Sqrt, Abs, Sign, Sin, Cos, Tanh, Sigmoid, Relu, Neg]


def backward(
    self: Tensor, gradient: Any = None, retain_graph: bool | None = None, create_graph: bool = False,
    inputs: Sequence[Tensor] | None = None,
) -> None:
    """Compute the gradient of this tensor w.r.t. the graph leaves and add it to their ``.grad``."""
    engine.backward([self], [gradient], retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)


_OTHER_DEVICES = ("cuda", "mps", "xpu", "meta", "hip")


def to(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """This tensor in another dtype (or itself if it already has it); the device must be the CPU."""
    dtype = kwargs.get("dtype")
    for arg in list(args) + [kwargs.get("device")]:
        if isinstance(arg, Tensor):
            dtype = arg.dtype
        elif isinstance(arg, str) and arg.split(":")[0] in _OTHER_DEVICES:
            raise RuntimeError(f"to: autograd_lite runs on the CPU (NumPy) only; device {arg!r} is not available")
        elif isinstance(arg, str) and arg.split(":")[0] == "cpu":
            continue
        elif arg is not None and not isinstance(arg, bool):
            dtype = arg
    if dtype is None or as_dtype(dtype) == self._data.dtype:
        return self
    return F.to_dtype(self, as_dtype(dtype))


def __matmul__(self: Tensor, other: Any) -> Tensor:
    if isinstance(other, Tensor):
        try:
            return _matmul(self, other)
        except RuntimeError:
            pass  # let matmul explain the shape problem
    return F.matmul(self, other)


def __rmatmul__(self: Tensor, other: Any) -> Tensor:
    return F.matmul(as_tensor(other), self)


def __floordiv__(self: Tensor, other: Any) -> Tensor:
    return F._no_grad_binary(np.floor_divide, self, other)


def __mod__(self: Tensor, other: Any) -> Tensor:
    return F._no_grad_binary(np.remainder, self, other)


def __and__(self: Tensor, other: Any) -> Tensor:
    return F._no_grad_binary(np.logical_and if self.dtype == bool_ else np.bitwise_and, self, other)


def __or__(self: Tensor, other: Any) -> Tensor:
    return F._no_grad_binary(np.logical_or if self.dtype == bool_ else np.bitwise_or, self, other)


def __xor__(self: Tensor, other: Any) -> Tensor:
    return F._no_grad_binary(np.logical_xor if self.dtype == bool_ else np.bitwise_xor, self, other)


def where(self: Tensor, condition: Any, other: Any) -> Tensor:
    return F.where(condition, self, other)


_matmul = binary_op(Matmul)

#: every attached method: name -> function (the first parameter is the tensor)
METHODS: dict[str, Callable[..., Any]] = {name: getattr(F, name) for name in SAME_NAME}
METHODS.update({prim.name: unary_op(prim) for prim in ELEMENTWISE})
METHODS.update({
    "backward": backward, "to": to, "where": where, "__getitem__": F.getitem, "__setitem__": inplace.setitem,
    "absolute": F.abs, "multiply": F.mul, "subtract": F.sub, "divide": F.div,
    "__add__": binary_op(Add), "__sub__": binary_op(Sub), "__mul__": binary_op(Mul), "__truediv__": binary_op(Div),
    "__pow__": binary_op(Pow), "__neg__": unary_op(Neg), "__abs__": unary_op(Abs),
    "__radd__": reflected_op(Add), "__rsub__": reflected_op(Sub), "__rmul__": reflected_op(Mul),
    "__rtruediv__": reflected_op(Div), "__rpow__": reflected_op(Pow),
    "__matmul__": __matmul__, "__rmatmul__": __rmatmul__, "__floordiv__": __floordiv__, "__mod__": __mod__,
    "__eq__": F.eq, "__ne__": F.ne, "__lt__": F.lt, "__le__": F.le, "__gt__": F.gt, "__ge__": F.ge,
    "__and__": __and__, "__or__": __or__, "__xor__": __xor__,
})
for _name in (
    "add_", "sub_", "mul_", "div_", "pow_", "neg_", "clamp_", "fill_", "zero_", "copy_", "masked_fill_",
):
    METHODS[_name] = getattr(inplace, _name)
METHODS.update({
    "__iadd__": inplace.add_, "__isub__": inplace.sub_, "__imul__": inplace.mul_, "__itruediv__": inplace.div_,
    "__ipow__": inplace.pow_,
})

for _name, _method in METHODS.items():
    setattr(Tensor, _name, _method)
