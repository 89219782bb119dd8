"""The Primitive base class, the registry of primitives, and ``apply``, which runs one.

A primitive is declared once: ``forward`` computes the result on NumPy arrays, and
``vjps`` holds one vector-Jacobian product per input, each a function
``vjp(grad_out, out, *inputs, **attrs)``. VJPs are written with operators and the
primitives' own ``call``, so the same formula runs on plain arrays (fast first-order
backward) and on Tensors (``create_graph=True``, where the VJP is itself recorded and can
be differentiated again).
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar

import numpy as np

from ..autograd.grad_mode import _anomaly, _state
from ..autograd.node import Node, VersionCounter

REGISTRY: dict[str, type[Primitive]] = {}
EMPTY: dict = {}



class Primitive:
    """A differentiable operation with its forward and its vector-Jacobian products."""

    name: ClassVar[str] = "primitive"
    backward_name: ClassVar[str] = "Backward"
    #: the VJPs read ``out`` (the forward result), so the node keeps it.
    saves_out: ClassVar[bool] = False
    #: the VJPs read the input values (not just shapes), so in-place changes to them are errors.
    reads_inputs: ClassVar[bool] = True
    #: the forward returns a view of its first input's memory (reshape, transpose, ...).
    is_view: ClassVar[bool] = False
    #: one VJP per input; ``None`` marks an input that has no gradient (an index, a mask).
    vjps: ClassVar[tuple[Callable[..., Any] | None, ...]] = ()
    forward: ClassVar[Callable[..., Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = cls.__name__.lower()
        cls.backward_name = cls.__name__ + "Backward"
        if cls.__dict__.get("forward") is not None:
            REGISTRY[cls.name] = cls

    @classmethod
    def call(cls, *inputs: Any, **attrs: Any) -> Any:
        """Run on arrays (plain forward) or on Tensors (recorded); VJPs use this."""
        for item in inputs:
            if isinstance(item, Tensor):
                return apply(cls, inputs, attrs)
        return cls.forward(*inputs, **attrs)


def _new_tensor(array: Any) -> Tensor:
    t = _tensor_new(Tensor)
    t._data = array
    t.grad = None
    t.requires_grad = False
    t.grad_fn = None
    t._vc = None
    t._extra = None
    return t


#: callables ``observer(node, result)`` told about every recorded node (graph drawing uses it)
observers: list = []


def _record(prim: Any, result: Tensor, inputs: tuple, arrays: tuple, attrs: dict, out: Any) -> None:
    result.requires_grad = True
    node = Node(prim, inputs, arrays, attrs, out if prim.saves_out else None)
    if _anomaly[0]:
        import traceback

        node.trace = traceback.extract_stack()[:-3]
    if observers:
        for observer in observers:
            observer(node, result)
    result.grad_fn = node


def _share_version(result: Tensor, source: Any) -> None:
    counter = source._vc
    if counter is None:
        counter = source._vc = VersionCounter()
    result._vc = counter


def apply(prim: Any, inputs: tuple, attrs: dict = EMPTY) -> Tensor:
    """Run ``prim`` on ``inputs`` (Tensors, arrays or Python numbers) and record it."""
    arrays = tuple(x._data if isinstance(x, Tensor) else x for x in inputs)
    out = prim.forward(*arrays, **attrs)
    result = _new_tensor(out)
    if prim.is_view and isinstance(inputs[0], Tensor):
        _share_version(result, inputs[0])
    if _state.enabled:
        for x in inputs:
            if isinstance(x, Tensor) and x.requires_grad:
                _record(prim, result, inputs, arrays, attrs, out)
                break
    return result


def unary(prim: Any, x: Tensor, attrs: dict = EMPTY) -> Tensor:
    """``apply`` for one Tensor input: the hot path of elementwise and reduction ops."""
    data = x._data
    out = prim.forward(data, **attrs)
    result = _new_tensor(out)
    if prim.is_view:
        _share_version(result, x)
    if x.requires_grad and _state.enabled:
        _record(prim, result, (x,), (data,), attrs, out)
    return result


def binary(prim: Any, x: Tensor, y: Any) -> Tensor:
    """``apply`` for ``x op y`` where x is a Tensor and y a Tensor, array or Python number."""
    xd = x._data
    if isinstance(y, Tensor):
        yd = y._data
    elif type(y) is float or type(y) is int:
        yd = y
    elif isinstance(y, (bool, int, float, np.number, np.bool_)):
        yd = y
    else:
        y = as_tensor(y)
        yd = y._data
    out = prim.forward(xd, yd)
    if type(yd) is float and xd.dtype.kind != "f":
        # PyTorch: an integer tensor combined with a Python float gives the default dtype.
        out = out.astype(get_default_dtype())
    result = _new_tensor(out)
    if _state.enabled and (x.requires_grad or (isinstance(y, Tensor) and y.requires_grad)):
        _record(prim, result, (x, y), (xd, yd), EMPTY, out)
    return result


def reflected(prim: Any, x: Tensor, y: Any) -> Tensor:
    """``y op x`` where only x is known to be a Tensor (``2 - t``, ``array @ t``)."""
    if not isinstance(y, Tensor):
        if type(y) is float or type(y) is int or isinstance(y, (np.number, np.bool_)):
            out = prim.forward(y, x._data)
            if type(y) is float and x._data.dtype.kind != "f":
                out = out.astype(get_default_dtype())
            result = _new_tensor(out)
            if x.requires_grad and _state.enabled:
                _record(prim, result, (y, x), (y, x._data), EMPTY, out)
            return result
        y = as_tensor(y)
    return binary(prim, y, x)


from .._dtype import get_default_dtype  # noqa: E402
from ..tensor import Tensor, as_tensor  # noqa: E402

_tensor_new = object.__new__
