"""The fast path: ``apply`` specialised for one- and two-input primitives.

Nothing here is needed to understand autograd: every function below computes exactly what
:func:`~autograd_lite.ops.primitive.apply` computes, and ``tests/test_fastpath.py`` builds
every registry primitive both ways and checks that the nodes, values, gradients and
version bookkeeping are identical. What this module adds is speed on small tensors, where
Python overhead dominates (a tanh of 16 numbers costs ~1 µs of NumPy and would cost as much
again in generic recording):

* one closure per primitive (``unary_op(prim)``, ``binary_op(prim)``), with the
  primitive's forward and flags bound once, so a Tensor method such as ``tanh`` or an
  operator such as ``*`` is a single Python call;
* the Tensor and its Node are filled in slot by slot instead of through constructors;
* a Python number next to a float32/float64 array is passed to NumPy as a cached, read-only
  0-d array of the array's dtype (the same number; a ufunc takes it about twice as fast);
* the node's ``fit`` flag records whether the engine can skip unbroadcasting and dtype
  checks for the gradients it sends to the inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._dtype import get_default_dtype
from ..autograd.grad_mode import _anomaly, _state, _threads_disabled
from ..autograd.node import Node, inplace_epoch
from ..tensor import Tensor, as_tensor
from .primitive import EMPTY, broadcast_error, notify, observers, result_dtype, share_version

_tensor_new = object.__new__
_node_new = object.__new__
_ndarray = np.ndarray
_asarray = np.asarray
_FLOAT64 = np.dtype(np.float64)
_FLOAT32 = np.dtype(np.float32)

UnaryOp = Callable[..., Tensor]
BinaryOp = Callable[[Tensor, Any], Tensor]

_UNARY: dict[Any, UnaryOp] = {}
_BINARY: dict[Any, BinaryOp] = {}
_REFLECTED: dict[Any, BinaryOp] = {}


def unary(prim: Any, x: Tensor, attrs: dict = EMPTY) -> Tensor:
    """``apply(prim, (x,), attrs)`` for a Tensor ``x``, through the primitive's closure."""
    op = _UNARY.get(prim)
    if op is None:
        op = unary_op(prim)
    return op(x, attrs)


def binary(prim: Any, x: Tensor, y: Any) -> Tensor:
    """``apply(prim, (x, y))`` for a Tensor ``x`` and a Tensor, array or Python number ``y``."""
    op = _BINARY.get(prim)
    if op is None:
        op = binary_op(prim)
    return op(x, y)


def _new_tensor(out: Any) -> Tensor:
    result = _tensor_new(Tensor)  # Tensor._wrap, inlined
    result._data = out
    result.grad = None
    result.requires_grad = False
    result.grad_fn = None
    result._vc = None
    result._meta = None
    return result


def _new_node(prim: Any, inputs: Any, arrays: tuple, attrs: dict, out: Any, parents: tuple,
              versions: Any, fit: bool) -> Node:
    node = _node_new(Node)  # Node(...), inlined slot by slot
    node.prim = prim
    node.inputs = inputs
    node.arrays = arrays
    node.attrs = attrs
    node.out = out
    node.parents = parents
    node.versions = versions
    node.epoch = inplace_epoch[0]
    node.fit = fit
    node.out_version = 0
    node.pending = 0
    node.acc = None
    node.hooks = None
    node.retained = None
    return node


def unary_op(prim: Any) -> UnaryOp:
    """The closure ``op(x, attrs=EMPTY)`` that applies one-input ``prim`` to Tensor ``x``."""
    forward = prim.forward
    floating_only, saves_out, is_view, fit = prim.floating_only, prim.saves_out, prim.is_view, not prim.exact

    def op(x: Tensor, attrs: dict = EMPTY) -> Tensor:
        data = x._data
        if floating_only and data.dtype.kind != "f":
            data = data.astype(get_default_dtype())
        out = forward(data, **attrs) if attrs else forward(data)
        result = _new_tensor(out)
        if is_view:
            share_version(result, x)
        if x.requires_grad and (not _threads_disabled[0] or _state.enabled):
            parent = x.grad_fn or x
            version = parent.out_version if type(parent) is Node else (x._vc.value if x._vc is not None else 0)
            result.requires_grad = True
            result.grad_fn = node = _new_node(
                prim, None, (data,), attrs, out if saves_out else None, (parent,), [version] if version else None, fit,
            )
            if _anomaly[0] or observers:
                notify(node, result)
        return result

    op.__name__ = prim.name
    op.__doc__ = prim.__doc__
    _UNARY[prim] = op
    return op


def _operand(y: Any, xd: Any, scalar_as_array: bool, recent: list) -> tuple[Any, Any, bool]:
    """``(y as given or as a Tensor, its array, whether it is a Tensor)``."""
    if type(y) is float or type(y) is int:
        xdt = xd.dtype
        if scalar_as_array and type(xd) is _ndarray and (xdt is _FLOAT64 or xdt is _FLOAT32):
            last = recent[0]  # code like ``h * 1.01`` in a loop passes the same float every time
            if last[0] is y and last[1] is xdt:
                return y, last[2], False
            yd = _asarray(y, xdt)
            yd.flags.writeable = False  # shared by every op that gets the same number
            recent[0] = (y, xdt, yd)
            return y, yd, False
        return y, y, False
    if isinstance(y, Tensor):
        return y, y._data, True
    if isinstance(y, (bool, int, float, np.number, np.bool_)):
        return y, y, False
    y = as_tensor(y)
    return y, y._data, True


def binary_op(prim: Any) -> BinaryOp:
    """The closure ``op(x, y)`` that applies two-input ``prim`` to Tensor ``x`` and ``y``."""
    forward = prim.forward
    saves_out, scalar_as_array, promotes = prim.saves_out, prim.scalar_as_array, prim.promotes_types
    recent: list = [(None, None, None)]  # the last (number, dtype, 0-d array) made for scalar_as_array

    def op(x: Tensor, y: Any) -> Tensor:
        xd = x._data
        y, yd, y_is_tensor = _operand(y, xd, scalar_as_array, recent)
        try:
            out = forward(xd, yd)
        except ValueError:
            raise broadcast_error(prim, xd, yd) from None
        if promotes:
            if type(y) is float and xd.dtype.kind != "f":
                out = out.astype(get_default_dtype())
            elif y_is_tensor and xd.dtype != yd.dtype:
                target = result_dtype(xd, yd)
                if out.dtype != target:
                    out = out.astype(target)
        result = _new_tensor(out)
        if not _threads_disabled[0] or _state.enabled:
            x_grad = x.requires_grad
            y_grad = y_is_tensor and y.requires_grad
            if x_grad or y_grad:
                _record_binary(prim, result, x, y, xd, yd, out if saves_out else None, x_grad, y_grad, y_is_tensor)
        return result

    op.__name__ = f"__{prim.name}__"
    op.__doc__ = prim.__doc__
    _BINARY[prim] = op
    return op


def _record_binary(prim: Any, result: Tensor, x: Tensor, y: Any, xd: Any, yd: Any, saved: Any,
                   x_grad: bool, y_grad: bool, y_is_tensor: bool) -> None:
    px = (x.grad_fn or x) if x_grad else None
    py = (y.grad_fn or y) if y_grad else None
    xv = px.out_version if type(px) is Node else (0 if x._vc is None else x._vc.value)
    yv = (py.out_version if type(py) is Node else (0 if y._vc is None else y._vc.value)) if y_is_tensor else 0
    # Keep the inputs only when one is a tensor outside the graph (its version must be checkable
    # later); inputs that require grad are reachable through the parents.
    inputs = (x, y) if not x_grad or (y_is_tensor and not y_grad) else None
    out = result._data
    # (dtype identity is enough: a false "differs" only costs the engine a check)
    fit = xd.dtype is not out.dtype or (y_is_tensor and (xd.shape != yd.shape or yd.dtype is not xd.dtype))
    result.requires_grad = True
    result.grad_fn = node = _new_node(
        prim, inputs, (xd, yd), EMPTY, saved, (px, py), [xv, yv] if xv or yv else None, fit,
    )
    if _anomaly[0] or observers:
        notify(node, result)


def reflected_op(prim: Any) -> BinaryOp:
    """The closure ``op(x, y)`` computing ``y <prim> x`` when only ``x`` is a Tensor (``2 - t``)."""
    forward = prim.forward
    saves_out, scalar_as_array, promotes = prim.saves_out, prim.scalar_as_array, prim.promotes_types
    direct = binary_op(prim)

    def op(x: Tensor, y: Any) -> Tensor:
        if isinstance(y, Tensor) or not (type(y) is float or type(y) is int or isinstance(y, (np.number, np.bool_))):
            return direct(as_tensor(y), x)
        data = x._data
        dtype = data.dtype
        if scalar_as_array and (type(y) is float or type(y) is int) and type(data) is _ndarray and (
            dtype is _FLOAT64 or dtype is _FLOAT32
        ):
            y = _asarray(y, dtype)
        out = forward(y, data)
        if promotes and type(y) is float and dtype.kind != "f":
            out = out.astype(get_default_dtype())
        result = _new_tensor(out)
        if x.requires_grad and _state.enabled:
            parent = x.grad_fn or x
            version = parent.out_version if type(parent) is Node else (0 if x._vc is None else x._vc.value)
            result.requires_grad = True
            result.grad_fn = node = _new_node(
                prim, None, (y, data), EMPTY, out if saves_out else None, (None, parent),
                [0, version] if version else None, dtype != out.dtype,
            )
            if _anomaly[0] or observers:
                notify(node, result)
        return result

    op.__name__ = f"__r{prim.name}__"
    op.__doc__ = prim.__doc__
    _REFLECTED[prim] = op
    return op
