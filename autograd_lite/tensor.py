"""The Tensor: an n-dimensional array that records the operations applied to it.

A Tensor wraps a NumPy array (``_data``). When it requires grad and grad mode is on,
every operation on it creates a :class:`~autograd_lite.autograd.node.Node` (its
``grad_fn``), and ``backward()`` walks those nodes to fill ``.grad`` on the leaves.
Operators and methods delegate to the primitives in :mod:`autograd_lite.ops` and the
composites in :mod:`autograd_lite.functional`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ._dtype import as_dtype, bool_, float32, float64, get_default_dtype, int64
from .autograd.grad_mode import _state, set_mode
from .autograd.node import OUTPUT_MODIFIED, Node, VersionCounter, inplace_epoch


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


class Tensor:
    """A multi-dimensional array with reverse-mode automatic differentiation.

    >>> import autograd_lite as ag
    >>> x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4., 6.])
    """

    __slots__ = ("_data", "grad", "requires_grad", "grad_fn", "_vc", "_extra", "__weakref__")
    __array_priority__ = 1000
    __array_ufunc__ = None  # make NumPy defer to Tensor's reflected operators

    _data: Any
    grad: Tensor | None
    requires_grad: bool
    grad_fn: Node | None

    def __init__(self, data: Any = (), dtype: Any = None, requires_grad: bool = False) -> None:
        self._init_fields(_to_array(data, dtype), requires_grad)

    def _init_fields(self, array: Any, requires_grad: bool) -> None:
        """Set every slot of a fresh tensor holding ``array`` (constructors call this)."""
        self._data = array
        self.grad = None
        self.requires_grad = False
        self.grad_fn = None
        self._vc = None
        self._extra = None
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
        t._extra = None
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

    @property
    def name(self) -> str | None:
        """An optional label that the graph drawings show."""
        return None if self._extra is None else self._extra.get("name")

    @name.setter
    def name(self, value: str | None) -> None:
        self._ensure_extra()["name"] = value

    def _ensure_extra(self) -> dict:
        if self._extra is None:
            self._extra = {}
        return self._extra

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
        if self._vc is None:
            self._vc = VersionCounter()
        t._vc = self._vc
        if self.grad_fn is not None:
            t._extra = {"producer": self.grad_fn}  # writes through t count as writes to self
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
        import weakref

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
        if self.grad_fn is not None:
            self.grad_fn.register_hook(hook)
            hooks = self.grad_fn.hooks
        else:
            hooks = self._ensure_extra().setdefault("hooks", [])
            hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    def backward(
        self, gradient: Any = None, retain_graph: bool | None = None, create_graph: bool = False,
        inputs: Sequence[Tensor] | None = None,
    ) -> None:
        """Compute the gradient of this tensor w.r.t. the graph leaves and add it to their ``.grad``."""
        _engine.backward([self], [gradient], retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)

    # ------------------------------------------------------------------ conversion
    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        dtype = kwargs.get("dtype")
        for arg in list(args) + [kwargs.get("device")]:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif isinstance(arg, str) and arg.split(":")[0] in ("cuda", "mps", "xpu", "meta", "hip"):
                raise RuntimeError(
                    f"to: autograd_lite runs on the CPU (NumPy) only; device {arg!r} is not available"
                )
            elif isinstance(arg, str) and arg.split(":")[0] == "cpu":
                continue
            elif arg is not None and not isinstance(arg, bool):
                dtype = arg
        if dtype is None or as_dtype(dtype) == self._data.dtype:
            return self
        return _F.to_dtype(self, as_dtype(dtype))

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

    def clone(self) -> Tensor:
        return _F.clone(self)

    # ------------------------------------------------------------------ operators
    def __radd__(self, other: Any) -> Tensor:
        return reflected(Add, self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return reflected(Sub, self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return reflected(Mul, self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return reflected(Div, self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return reflected(Pow, self, other)

    def __matmul__(self, other: Any) -> Tensor:
        if isinstance(other, Tensor):
            try:
                return Matmul.binary_op(self, other)
            except RuntimeError:
                pass  # let matmul explain the shape problem
        return _F.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _F.matmul(as_tensor(other), self)

    def __pos__(self) -> Tensor:
        return self

    def __floordiv__(self, other: Any) -> Tensor:
        return _F._no_grad_binary(np.floor_divide, self, other)

    def __mod__(self, other: Any) -> Tensor:
        return _F._no_grad_binary(np.remainder, self, other)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _F._no_grad_binary(np.equal, self, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _F._no_grad_binary(np.not_equal, self, other)

    def __lt__(self, other: Any) -> Tensor:
        return _F._no_grad_binary(np.less, self, other)

    def __le__(self, other: Any) -> Tensor:
        return _F._no_grad_binary(np.less_equal, self, other)

    def __gt__(self, other: Any) -> Tensor:
        return _F._no_grad_binary(np.greater, self, other)

    def __ge__(self, other: Any) -> Tensor:
        return _F._no_grad_binary(np.greater_equal, self, other)

    def __and__(self, other: Any) -> Tensor:
        return _F._no_grad_binary(np.logical_and if self.dtype == bool_ else np.bitwise_and, self, other)

    def __or__(self, other: Any) -> Tensor:
        return _F._no_grad_binary(np.logical_or if self.dtype == bool_ else np.bitwise_or, self, other)

    def __xor__(self, other: Any) -> Tensor:
        return _F._no_grad_binary(np.logical_xor if self.dtype == bool_ else np.bitwise_xor, self, other)

    def __invert__(self) -> Tensor:
        return Tensor._wrap(np.logical_not(self._data) if self.dtype == bool_ else np.invert(self._data))

    # ------------------------------------------------------------------ indexing
    def __getitem__(self, key: Any) -> Tensor:
        return _F.getitem(self, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        _F.setitem(self, key, value)

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
        if self._vc is None:
            self._vc = VersionCounter()
        self._vc.value += 1
        inplace_epoch[0] += 1
        node = self.grad_fn
        if node is None and self._extra is not None:
            node = self._extra.get("producer")  # a detached alias of a non-leaf tensor
        while node is not None:
            node.out_version += 1
            if not node.prim.is_view:
                break
            parent = node.parents[0]  # a view: its base's producer was written too
            node = parent if type(parent) is Node else None

    def _inplace(self, op: str, compute: Callable[..., Tensor], *args: Any) -> Tensor:
        """Run ``compute(self, *args)`` out of place and make the result this tensor's value.

        The result is written into this tensor's memory, so views of it see the change.
        Tracked (grad involved): the op ran on a copy of the old values, and its node becomes
        this tensor's ``grad_fn``. Either way the version counter goes up, so any node that
        saved this tensor refuses to run backward.
        """
        self._check_inplace(op)
        tracked = _state.enabled and (
            self.requires_grad or any(isinstance(a, Tensor) and a.requires_grad for a in args)
        )
        if tracked and self._extra is not None and "view_of" in self._extra:
            return self._inplace_through_view(op, compute, args)
        if tracked and self.grad_fn is not None and self.grad_fn.prim.is_view:
            raise RuntimeError(
                f"{op}: in-place changes through a {self.grad_fn.prim.name} view of a tensor that requires "
                "grad are not supported (only basic-indexing views such as t[1:] are); apply the op "
                "out of place, or to the base tensor"
            )
        if tracked:
            # The op runs on a recorded copy of the old values (which are about to be
            # overwritten and which its backward may read); the copy's node, not the old
            # producer, is what the op's node depends on.
            result = compute(_F.clone(self), *args)
        else:
            previous = set_mode(False)
            try:
                result = compute(self, *args)
            finally:
                set_mode(previous)
        out = result._data
        if out.shape != self._data.shape:
            raise RuntimeError(
                f"{op}: the result of shape {tuple(out.shape)} doesn't match the tensor's shape "
                f"{tuple(self._data.shape)} it is written into; an in-place op cannot broadcast its target"
            )
        if out.dtype != self._data.dtype and not np.can_cast(out.dtype, self._data.dtype, "same_kind"):
            raise RuntimeError(
                f"{op}: result type {out.dtype} can't be cast to the tensor's dtype {self._data.dtype}"
            )
        _invalidate_saved_output(self)
        if isinstance(self._data, np.ndarray) and self._data.flags.writeable:
            np.copyto(self._data, out, casting="same_kind")  # in memory: views see the change
        else:
            self._data = np.array(out, dtype=self._data.dtype)
        self._bump_version()  # before the new grad_fn: it is the old producer that was written
        if tracked:
            self.grad_fn = result.grad_fn
            self.requires_grad = True
        return self

    def _inplace_through_view(self, op: str, compute: Callable[..., Tensor], args: tuple) -> Tensor:
        """A tracked in-place op on ``base[index]``: rewrite the base, as PyTorch does.

        The new view values are computed from a snapshot of the old ones; the base becomes
        ``index_put(old base, index, new values)`` (a recorded op), its memory is updated so
        every view sees the change, and this view is re-derived from the new base.
        """
        base, index = self._extra["view_of"]  # type: ignore[index]
        base._check_inplace(op)
        old_base = _F.clone(base)  # a recorded copy: the base's memory is about to change
        snapshot = _F.getitem(old_base, index)  # the view's old values
        result = compute(snapshot, *args)
        if result._data.shape != self._data.shape:
            raise RuntimeError(
                f"{op}: the result of shape {tuple(result._data.shape)} doesn't match the view's shape "
                f"{tuple(self._data.shape)}; an in-place op cannot broadcast its target"
            )
        new_base = _F.index_put(old_base, index, result.to(base.dtype))
        _invalidate_saved_output(base)
        np.copyto(base._data, new_base._data)
        self._bump_version()  # the old view node and, through it, the base's old producer
        base.grad_fn = new_base.grad_fn
        base.requires_grad = True
        view = _F.getitem(base, index)
        self.grad_fn = view.grad_fn
        self.requires_grad = True
        return self

    def add_(self, other: Any, alpha: Any = 1) -> Tensor:
        if alpha != 1:
            return self._inplace("add_", lambda s, o: s + o * alpha, other)
        return self._inplace("add_", Tensor.__add__, other)

    def sub_(self, other: Any, alpha: Any = 1) -> Tensor:
        if alpha != 1:
            return self._inplace("sub_", lambda s, o: s - o * alpha, other)
        return self._inplace("sub_", Tensor.__sub__, other)

    def mul_(self, other: Any) -> Tensor:
        return self._inplace("mul_", Tensor.__mul__, other)

    def div_(self, other: Any) -> Tensor:
        return self._inplace("div_", Tensor.__truediv__, other)

    def pow_(self, other: Any) -> Tensor:
        return self._inplace("pow_", Tensor.__pow__, other)

    def neg_(self) -> Tensor:
        return self._inplace("neg_", Tensor.__neg__)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        return self._inplace("clamp_", lambda s: _F.clamp(s, min, max))

    def fill_(self, value: Any) -> Tensor:
        return self._inplace("fill_", lambda s, v: _F.fill_like(s, v), value)

    def zero_(self) -> Tensor:
        return self._inplace("zero_", lambda s: _F.fill_like(s, 0))

    def copy_(self, src: Any) -> Tensor:
        return self._inplace("copy_", _F.copy_from, src)

    def __iadd__(self, other: Any) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: Any) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: Any) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self.div_(other)

    def __ipow__(self, other: Any) -> Tensor:
        return self.pow_(other)


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


from . import functional as _F  # noqa: E402
from .autograd import engine as _engine  # noqa: E402
from .ops.elementwise import Abs, Add, Div, Mul, Neg, Pow, Sub  # noqa: E402
from .ops.linalg import Matmul  # noqa: E402
from .ops.primitive import reflected  # noqa: E402

# The arithmetic operators are the primitives' specialised closures: one call per op.
Tensor.__add__ = Add.binary_op  # type: ignore[method-assign]
Tensor.__sub__ = Sub.binary_op  # type: ignore[method-assign]
Tensor.__mul__ = Mul.binary_op  # type: ignore[method-assign]
Tensor.__truediv__ = Div.binary_op  # type: ignore[method-assign]
Tensor.__pow__ = Pow.binary_op  # type: ignore[method-assign]
Tensor.__neg__ = Neg.unary_op  # type: ignore[method-assign]
Tensor.__abs__ = Abs.unary_op  # type: ignore[method-assign]
