"""Shape and indexing primitives. Most forwards return views of their input."""

from __future__ import annotations

from typing import Any

import numpy as np

from .primitive import Primitive


class Reshape(Primitive):
    formula = "out = x with a new shape (same elements, same order)"
    grad_formulas = ("grad_x = grad_out reshaped to x's shape",)

    reads_inputs = False
    forward = staticmethod(lambda x, shape: x.reshape(shape))  # the method: no np.reshape wrapper
    is_view = True
    vjps = (lambda grad_out, out, x, shape: Reshape.call(grad_out, shape=x.shape),)


class Permute(Primitive):
    formula = "out = x with its axes reordered by axes"
    grad_formulas = ("grad_x = grad_out with the inverse permutation",)

    reads_inputs = False
    forward = staticmethod(lambda x, axes: np.transpose(x, axes))
    is_view = True
    vjps = (lambda grad_out, out, x, axes: Permute.call(grad_out, axes=tuple(np.argsort(axes))),)


def _expand(x, shape):
    if x.size == 1:
        return np.full(shape, x)  # one value: filling is several times cheaper than broadcast_to
    return np.broadcast_to(x, shape)


class Expand(Primitive):
    """A read-only view. The VJP returns grad_out as it is: the engine's unbroadcast does the sum."""

    formula = "out = x broadcast to shape"
    grad_formulas = ("grad_x = grad_out summed over the broadcast axes",)

    reads_inputs = False
    forward = staticmethod(_expand)
    is_view = True
    vjps = (lambda grad_out, out, x, shape: grad_out,)


def _is_basic(index: Any) -> bool:
    if not isinstance(index, tuple):
        index = (index,)
    return all(isinstance(i, (int, slice, type(None), type(Ellipsis), np.integer)) for i in index)


class GetItem(Primitive):
    """Basic indexing gives a view, advanced indexing a copy."""

    formula = "out = x[index]"
    grad_formulas = ("grad_x = zeros shaped like x with grad_out added at index (repeats accumulate)",)

    reads_inputs = False
    forward = staticmethod(lambda x, index: x[index])
    vjps = (lambda grad_out, out, x, index: IndexAdd.call(grad_out, shape=x.shape, index=index),)


class _BasicGetItem(GetItem):
    """Basic indexing (ints, slices, None, Ellipsis): the forward is a view."""

    name = "getitem_view"
    is_view = True
    formula = GetItem.formula
    grad_formulas = GetItem.grad_formulas


def _index_add(g, shape, index):
    g = np.asarray(g)
    z = np.zeros(shape, dtype=g.dtype)
    if _is_basic(index):
        z[index] = g  # basic indices never repeat an element
    else:
        np.add.at(z, index, g)
    return z


class IndexAdd(Primitive):
    """GetItem's VJP (a primitive, so that it can be differentiated in turn)."""

    formula = "out = zeros(shape) with g added at index"
    grad_formulas = ("grad_g = grad_out[index]",)

    reads_inputs = False
    forward = staticmethod(_index_add)
    vjps = (lambda grad_out, out, g, shape, index: GetItem.call(grad_out, index=index),)


def _index_put(x, value, index):
    out = np.array(x, copy=True)
    out[index] = value
    return out


class IndexPut(Primitive):
    """What ``x[index] = value`` computes."""

    formula = "out = x with value written at index"
    grad_formulas = ("grad_x = grad_out with zeros at index", "grad_value = grad_out[index]")

    reads_inputs = False
    forward = staticmethod(_index_put)
    vjps = (
        lambda grad_out, out, x, value, index: IndexPut.call(grad_out, 0.0, index=index),
        lambda grad_out, out, x, value, index: GetItem.call(grad_out, index=index),
    )


def _scatter_add(g, index, axis, shape):
    g = np.asarray(g)
    z = np.zeros(shape, dtype=g.dtype)
    coords = list(np.indices(index.shape, sparse=True))
    coords[axis] = index
    np.add.at(z, tuple(coords), g)
    return z


class Gather(Primitive):
    """``torch.gather`` (NumPy's ``take_along_axis``)."""

    formula = "out = x gathered along axis at index"
    grad_formulas = ("grad_x = zeros shaped like x with grad_out added back at index (repeats accumulate)",)

    reads_inputs = False
    forward = staticmethod(lambda x, index, axis: np.take_along_axis(x, index, axis))
    vjps = (
        lambda grad_out, out, x, index, axis: ScatterAdd.call(grad_out, index=index, axis=axis, shape=x.shape),
    )


class ScatterAdd(Primitive):
    """Gather's VJP (a primitive, so that it can be differentiated in turn)."""

    formula = "out = zeros(shape) with g added along axis at index"
    grad_formulas = ("grad_g = grad_out gathered along axis at index",)

    reads_inputs = False
    forward = staticmethod(_scatter_add)
    vjps = (lambda grad_out, out, g, index, axis, shape: Gather.call(grad_out, index=index, axis=axis),)


class _PerInput:
    """A VJP table for primitives that take any number of inputs (cat)."""

    def __init__(self, make: Any) -> None:
        self._make = make

    def __getitem__(self, position: int) -> Any:
        return self._make(position)

    def __len__(self) -> int:
        return 0


def _cat_vjp(position: int) -> Any:
    def vjp(grad_out, out, *x, axis):
        start = sum(x_i.shape[axis] for x_i in x[:position])
        index = [slice(None)] * len(x[position].shape)  # out is not saved (saves_out is False)
        index[axis] = slice(start, start + x[position].shape[axis])
        return GetItem.call(grad_out, index=tuple(index))

    return vjp


class Cat(Primitive):
    formula = "out = x_1, ..., x_n joined along axis"
    grad_formulas = ("grad_x_i = the slice of grad_out that x_i filled",)

    reads_inputs = False
    forward = staticmethod(lambda *xs, axis: np.concatenate(xs, axis=axis))
    vjps = _PerInput(_cat_vjp)
