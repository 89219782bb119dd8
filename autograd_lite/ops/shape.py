"""Shape and indexing primitives. Most forwards return views of their input."""

from __future__ import annotations

from typing import Any

import numpy as np

from .primitive import Primitive


class Reshape(Primitive):
    """out = x with a new shape (same elements, same order)

    grad_x = grad_out reshaped to x's shape
    """

    reads_inputs = False
    forward = staticmethod(lambda x, shape: x.reshape(shape))  # the method: no np.reshape wrapper
    is_view = True
    vjps = (lambda g, out, x, shape: Reshape.call(g, shape=x.shape),)


class Permute(Primitive):
    """out = x with its axes reordered by ``axes``

    grad_x = grad_out with the inverse permutation
    """

    reads_inputs = False
    forward = staticmethod(lambda x, axes: np.transpose(x, axes))
    is_view = True
    vjps = (lambda g, out, x, axes: Permute.call(g, axes=tuple(np.argsort(axes))),)


def _expand(x, shape):  # type: ignore[no-untyped-def]
    if x.size == 1:
        return np.full(shape, x)  # one value: filling is several times cheaper than broadcast_to
    return np.broadcast_to(x, shape)


class Expand(Primitive):
    """out = x broadcast to ``shape`` (a read-only view)

    grad_x = grad_out summed over the broadcast axes (done by the engine's unbroadcast)
    """

    reads_inputs = False
    forward = staticmethod(_expand)
    is_view = True
    vjps = (lambda g, out, x, shape: g,)


def _is_basic(index: Any) -> bool:
    if not isinstance(index, tuple):
        index = (index,)
    return all(isinstance(i, (int, slice, type(None), type(Ellipsis), np.integer)) for i in index)


class GetItem(Primitive):
    """out = x[index]  (basic indexing gives a view, advanced indexing a copy)

    grad_x = zeros shaped like x with grad_out added at ``index`` (repeats accumulate)
    """

    reads_inputs = False
    forward = staticmethod(lambda x, index: x[index])
    vjps = (lambda g, out, x, index: IndexAdd.call(g, shape=x.shape, index=index),)


def _index_add(g, shape, index):  # type: ignore[no-untyped-def]
    g = np.asarray(g)
    z = np.zeros(shape, dtype=g.dtype)
    if _is_basic(index):
        z[index] = g  # basic indices never repeat an element
    else:
        np.add.at(z, index, g)
    return z


class IndexAdd(Primitive):
    """out = zeros(shape) with g added at ``index`` (GetItem's VJP)

    grad_g = grad_out[index]
    """

    reads_inputs = False
    forward = staticmethod(_index_add)
    vjps = (lambda g2, out, g, shape, index: GetItem.call(g2, index=index),)


def _index_put(x, value, index):  # type: ignore[no-untyped-def]
    out = np.array(x, copy=True)
    out[index] = value
    return out


class IndexPut(Primitive):
    """out = x with ``value`` written at ``index`` (what ``x[index] = value`` computes)

    grad_x = grad_out with zeros at ``index``;  grad_value = grad_out[index]
    """

    reads_inputs = False
    forward = staticmethod(_index_put)
    vjps = (
        lambda g, out, x, value, index: IndexPut.call(g, 0.0, index=index),
        lambda g, out, x, value, index: GetItem.call(g, index=index),
    )


def _scatter_add(g, index, axis, shape):  # type: ignore[no-untyped-def]
    g = np.asarray(g)
    z = np.zeros(shape, dtype=g.dtype)
    coords = list(np.indices(index.shape, sparse=True))
    coords[axis] = index
    np.add.at(z, tuple(coords), g)
    return z


class Gather(Primitive):
    """out = x gathered along ``axis`` at ``index`` (``torch.gather`` / take_along_axis)

    grad_x = zeros shaped like x with grad_out added back at ``index`` (repeats accumulate)
    """

    reads_inputs = False
    forward = staticmethod(lambda x, index, axis: np.take_along_axis(x, index, axis))
    vjps = (
        lambda g, out, x, index, axis: ScatterAdd.call(g, index=index, axis=axis, shape=x.shape),
    )


class ScatterAdd(Primitive):
    """out = zeros(shape) with g added along ``axis`` at ``index`` (Gather's VJP)

    grad_g = grad_out gathered at ``index``
    """

    reads_inputs = False
    forward = staticmethod(_scatter_add)
    vjps = (lambda g2, out, g, index, axis, shape: Gather.call(g2, index=index, axis=axis),)


class _PerInput:
    """A VJP table for primitives that take any number of inputs (cat)."""

    def __init__(self, make: Any) -> None:
        self._make = make

    def __getitem__(self, position: int) -> Any:
        return self._make(position)

    def __len__(self) -> int:
        return 0


def _cat_vjp(position: int) -> Any:
    def vjp(g, out, *xs, axis):  # type: ignore[no-untyped-def]
        start = sum(x.shape[axis] for x in xs[:position])
        index = [slice(None)] * len(xs[position].shape)  # out is not saved (saves_out is False)
        index[axis] = slice(start, start + xs[position].shape[axis])
        return GetItem.call(g, index=tuple(index))

    return vjp


class Cat(Primitive):
    """out = x_1, ..., x_n joined along ``axis``

    grad_x_i = the slice of grad_out that x_i filled
    """

    reads_inputs = False
    forward = staticmethod(lambda *xs, axis: np.concatenate(xs, axis=axis))
    vjps = _PerInput(_cat_vjp)  # type: ignore[assignment]
