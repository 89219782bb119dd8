"""The Tensor: an n-dimensional array that records the operations applied to it.

A Tensor wraps a NumPy array (``_data``). When it requires grad and grad mode is on,
every operation on it creates a :class:`~autograd_lite.autograd.node.Node` (its
``grad_fn``), and ``backward()`` walks those nodes to fill ``.grad`` on the leaves.

This module holds what a tensor *is*: its array, its autograd state (``requires_grad``,
``grad``, ``grad_fn``, the version counter of in-place writes) and the conversions that need
no op. What you can *do* with a tensor (``+``, ``exp``, ``sum``, ``backward``, indexing,
``add_``...) is the function of the same name in :mod:`autograd_lite.functional`, the
primitives' fast path or the engine, attached as methods by :mod:`autograd_lite._tensor_methods`
(so this module imports none of them, and they can all import it). Type checkers read
those methods' signatures from ``_tensor_api.pyi``, which a test keeps in step.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from ._dtype import as_dtype, bool_, float32, float64, get_default_dtype, int64
from .autograd.grad_mode import _state
from .autograd.node import OUTPUT_MODIFIED, Node, VersionCounter, inplace_epoch

if TYPE_CHECKING:
    from ._tensor_api import TensorMethods
else:
    TensorMethods = object


def _python_scalar_array(data: Any, dtype: Any) -> np.ndarray:
    """Convert Python data with PyTorch's dtype rule: floats -> default dtype, ints -> int64."""
    array = np.asarray(data)
    if dtype is not None:
        return array.astype(as_dtype(dtype), copy=False)
    if array.dtype.kind == "f":
        return array.astype(get_default_dtype(), copy=False)
    if array.dtype.kind in "iu":
        return array.astype(int64, copy=False)
    if array.dtype.kind == "b":
        return array
    if array.dtype.kind == "c":
        raise TypeError("tensor: complex numbers are not supported")
    raise TypeError(
        f"tensor: could not infer a numeric dtype from {type(data).__name__} "
        f"(numpy made dtype {array.dtype}); pass numbers, nested lists of numbers or arrays"
    )


def _to_array(data: Any, dtype: Any = None) -> np.ndarray:
    if isinstance(data, Tensor):
        array = data._data
        return np.array(array, dtype=as_dtype(dtype) if dtype is not None else array.dtype)
    if isinstance(data, (np.ndarray, np.generic)):
        array = np.array(data, dtype=as_dtype(dtype) if dtype is not None else None)
        if array.dtype.kind in "OUSV":
            raise TypeError(f"tensor: numpy arrays of dtype {array.dtype} are not supported")
        return array
    if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in _flat(data)):
        data = _nested_to_numbers(data)
    return np.array(_python_scalar_array(data, dtype))


def _flat(seq: Any) -> Iterator[Any]:
    for item in seq:
        if isinstance(item, (list, tuple)):
            yield from _flat(item)
        else:
            yield item


def _nested_to_numbers(data: Any) -> Any:
    if isinstance(data, (list, tuple)):
        return [_nested_to_numbers(x) for x in data]
    if isinstance(data, Tensor):
        return data._data.tolist()
    return data


def as_tensor(data: Any, dtype: Any = None) -> Tensor:
    """Return ``data`` as a Tensor without copying when it already is one (or an array)."""
    if isinstance(data, Tensor):
        if dtype is None or as_dtype(dtype) == data.dtype:
            return data
        return data.to(dtype)
    if isinstance(data, np.ndarray):
        array = data if dtype is None else data.astype(as_dtype(dtype), copy=False)
    else:
        array = _to_array(data, dtype)
    return Tensor._wrap(array)


def _normalize_dims(dim: Any, ndim: int, op: str) -> tuple[int, ...] | None:
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    result = []
    for d in dims:
        d = int(d)
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(
                f"{op}: dimension {d} is out of range for a tensor of {ndim} dimensions "
                f"(expected a dim in [{-max(ndim, 1)}, {max(ndim, 1) - 1}])"
            )
        result.append(d % ndim if ndim else 0)
    return tuple(result)


class TensorMeta:
    """The rarely used parts of a tensor's state, kept out of every tensor's slots."""

    __slots__ = ("name", "hooks", "producer", "view_of")

    def __init__(self) -> None:
        #: an optional label that the graph drawings show
        self.name: str | None = None
        #: gradient hooks of a leaf (a non-leaf's hooks live on its node)
        self.hooks: list | None = None
        #: for a detached alias (or a view of one) of a non-leaf: the node whose output it shares
        self.producer: Node | None = None
        #: for a basic-indexing view: ``(base, index)``, so an in-place op on it can rewrite the base
        self.view_of: tuple | None = None


class Tensor(TensorMethods):
    """A multi-dimensional array with reverse-mode automatic differentiation.

    >>> import autograd_lite as ag
    >>> x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4., 6.])
    """

    __slots__ = ("_data", "grad", "requires_grad", "grad_fn", "_vc", "_meta", "__weakref__")
    __array_priority__ = 1000
    __array_ufunc__ = None  # make NumPy defer to Tensor's reflected operators

    _data: Any
    grad: Tensor | None
    requires_grad: bool
    grad_fn: Node | None
    _vc: VersionCounter | None  # created on the first in-place write or view
    _meta: TensorMeta | None  # created on first use

    def __init__(self, data: Any = (), dtype: Any = None, requires_grad: bool = False) -> None:
        self._init_fields(_to_array(data, dtype), requires_grad)

    def _init_fields(self, array: Any, requires_grad: bool) -> None:
        """Set every slot of a fresh tensor holding ``array`` (constructors call this)."""
        self._data = array
        self.grad = None
        self.requires_grad = False
        self.grad_fn = None
        self._vc = None
        self._meta = None
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array: Any) -> Tensor:
        t = object.__new__(cls)
        t._data = array
        t.grad = None
        t.requires_grad = False
        t.grad_fn = None
        t._vc = None
        t._meta = None
        return t

    # ------------------------------------------------------------------ attributes
    @property
    def data(self) -> Tensor:
        """The same memory as a Tensor that autograd does not track (like PyTorch's ``.data``)."""
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value: Any) -> None:
        self._data = value._data if isinstance(value, Tensor) else np.asarray(value)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def T(self) -> Tensor:
        return self.permute(*range(self.ndim - 1, -1, -1))

    @property
    def mT(self) -> Tensor:
        if self.ndim < 2:
            raise RuntimeError(f"mT: tensor of shape {self.shape} has fewer than 2 dimensions")
        return self.transpose(-2, -1)

    @property
    def _version(self) -> int:
        return 0 if self._vc is None else self._vc.value

    def _ensure_vc(self) -> VersionCounter:
        """The counter of in-place writes to this tensor's memory (shared with its views)."""
        if self._vc is None:
            self._vc = VersionCounter()
        return self._vc

    def _ensure_meta(self) -> TensorMeta:
        """This tensor's :class:`TensorMeta`, created on first use."""
        if self._meta is None:
            self._meta = TensorMeta()
        return self._meta

    @property
    def name(self) -> str | None:
        """An optional label that the graph drawings show."""
        return None if self._meta is None else self._meta.name

    @name.setter
    def name(self, value: str | None) -> None:
        self._ensure_meta().name = value

    @property
    def _producer(self) -> Node | None:
        """For a detached alias of a non-leaf tensor: the node whose output it shares."""
        return None if self._meta is None else self._meta.producer

    def size(self, dim: int | None = None) -> Any:
        if dim is None:
            return self._data.shape
        return self._data.shape[_normalize_dims(dim, self.ndim, "size")[0]]  # type: ignore[index]

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    def element_size(self) -> int:
        return self._data.dtype.itemsize

    def item(self) -> Any:
        if self._data.size != 1:
            raise RuntimeError(
                f"item: a Tensor with {self._data.size} elements cannot be converted to a Python "
                "number; only one-element tensors can"
            )
        return self._data.item() if hasattr(self._data, "item") else self._data

    def tolist(self) -> Any:
        return np.asarray(self._data).tolist()

    def numpy(self) -> np.ndarray:
        if self.requires_grad:
            raise RuntimeError(
                "numpy: can't call numpy() on a Tensor that requires grad; use tensor.detach().numpy()"
            )
        return np.asarray(self._data)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        array = np.asarray(self._data)
        return array if dtype is None else array.astype(dtype)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with {self._data.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self._data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._data)

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        body = np.array2string(
            np.asarray(self._data), separator=", ", prefix="tensor(", precision=4,
            floatmode="maxprec_equal" if self._data.dtype.kind == "f" else "maxprec",
        )
        extras = []
        if self._data.dtype not in (get_default_dtype(), int64, bool_):  # PyTorch's rule
            extras.append(f"dtype=ag.{self._data.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.prim.backward_name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    # ------------------------------------------------------------------ autograd
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self._data.dtype.kind != "f":
            raise RuntimeError(
                f"requires_grad_: only tensors of floating point dtype can require gradients, "
                f"got dtype {self._data.dtype}; convert with .float() or .double() first"
            )
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError(
                "requires_grad_: you can only change requires_grad flags of leaf variables; "
                "use .detach() to get a tensor outside the graph"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self) -> Tensor:
        """A tensor sharing this one's memory (and version counter), outside the graph."""
        t = Tensor._wrap(self._data)
        t._vc = self._ensure_vc()
        if self.grad_fn is not None:
            t._ensure_meta().producer = self.grad_fn  # writes through t count as writes to self
        return t

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self.requires_grad = False
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: can't retain_grad on a Tensor that has requires_grad=False")
        if self.grad_fn is None:
            return
        self.grad_fn.retained = weakref.ref(self)
        if self.grad_fn.hooks is None:
            self.grad_fn.hooks = []  # the engine looks at ``hooks`` to find nodes needing extra work

    @property
    def retains_grad(self) -> bool:
        node = self.grad_fn
        return node is not None and node.retained is not None and node.retained() is self

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> Any:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned value replaces it."""
        if not self.requires_grad:
            raise RuntimeError(
                "register_hook: cannot register a hook on a tensor that doesn't require gradient"
            )
        owner: Node | TensorMeta = self.grad_fn if self.grad_fn is not None else self._ensure_meta()
        if owner.hooks is None:
            owner.hooks = []
        owner.hooks.append(hook)  # a non-leaf's hooks live on its node, a leaf's in its meta
        return _RemovableHandle(owner.hooks, hook)

    # ------------------------------------------------------------------ conversion
    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def float(self) -> Tensor:
        return self.to(float32)

    def double(self) -> Tensor:
        return self.to(float64)

    def long(self) -> Tensor:
        return self.to(int64)

    def int(self) -> Tensor:
        return self.to(np.int32)

    def bool(self) -> Tensor:
        return self.to(bool_)

    def cpu(self) -> Tensor:
        return self

    def contiguous(self) -> Tensor:
        return self

    def __pos__(self) -> Tensor:
        return self

    def __invert__(self) -> Tensor:
        return Tensor._wrap(np.logical_not(self._data) if self.dtype == bool_ else np.invert(self._data))

    # ------------------------------------------------------------------ in-place
    def _check_inplace(self, op: str) -> None:
        if not _state.enabled:
            return
        if self.requires_grad and self.grad_fn is None:
            raise RuntimeError(
                f"{op}: a leaf Variable that requires grad is being used in an in-place operation; "
                "wrap the update in `with ag.no_grad():` or operate on a clone"
            )
        node = self.grad_fn
        while node is not None and node.prim.is_view:
            parent = node.parents[0]
            if type(parent) is not Node:
                if parent is not None:
                    raise RuntimeError(
                        f"{op}: a view of a leaf Variable that requires grad is being used in an in-place "
                        "operation; wrap it in `with ag.no_grad():` or operate on a clone"
                    )
                break
            node = parent

    def _bump_version(self) -> None:
        """Record an in-place write: this tensor's counter (shared with its views and detached
        aliases) and the write count of every node whose output it is part of go up."""
        self._ensure_vc().value += 1
        inplace_epoch[0] += 1
        node = self.grad_fn
        if node is None:
            node = self._producer  # a detached alias of a non-leaf tensor
        while node is not None:
            node.out_version += 1
            if not node.prim.is_view:
                break
            parent = node.parents[0]  # a view: its base's producer was written too
            node = parent if type(parent) is Node else None


def _invalidate_saved_output(tensor: Tensor) -> None:
    """An op that saved this tensor as its output (exp, tanh, ...) can no longer backward."""
    node = tensor.grad_fn
    if node is not None and node.out is not None and node.out is not OUTPUT_MODIFIED:
        node.out = OUTPUT_MODIFIED


class _RemovableHandle:
    """Returned by ``register_hook``: ``handle.remove()`` unregisters the hook."""

    def __init__(self, hooks: list, hook: Any) -> None:
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)
