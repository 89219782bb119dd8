"""The Primitive base class, the registry of primitives, and ``apply``, which runs one.

A primitive is declared once: ``forward`` computes the result on NumPy arrays, and
``vjps`` holds one vector-Jacobian product per input, each a function
``vjp(grad_out, out, *inputs, **attrs)``. VJPs are written with operators and the
primitives' own ``call``, so the same formula runs on plain arrays (fast first-order
backward) and on Tensors (``create_graph=True``, where the VJP is itself recorded and can
be differentiated again).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from ..autograd.grad_mode import _anomaly, _state, _threads_disabled
from ..autograd.node import Node, VersionCounter, inplace_epoch, link_inputs, version_of

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
    #: the VJPs always return gradients of exactly the input's shape and dtype for
    #: elementwise-style unary use, so the engine can skip unbroadcasting (``unary`` only).
    exact: ClassVar[bool] = False
    #: the result is floating even for integer inputs (exp, log, ...): integers are first
    #: converted to the default dtype, as PyTorch does (NumPy would give float64).
    floating_only: ClassVar[bool] = False
    #: the forward returns a view of its first input's memory (reshape, transpose, ...).
    is_view: ClassVar[bool] = False
    #: a Python number combined with a float32/float64 array is first made a 0-d array of the
    #: array's dtype: the same number NumPy would cast it to, but a ufunc takes a 0-d array in
    #: about half the time of a Python scalar on small arrays (forward and VJP alike).
    scalar_as_array: ClassVar[bool] = False
    #: one VJP per input; ``None`` marks an input that has no gradient (an index, a mask).
    vjps: ClassVar[tuple[Callable[..., Any] | None, ...]] = ()
    forward: ClassVar[Callable[..., Any]]
    #: the forward as a formula over the inputs' names, e.g. ``"out = x * y"``. Docstrings,
    #: pictures, ``explain`` and the API reference read it (formulas are data, not prose).
    formula: ClassVar[str] = ""
    #: one gradient formula per input, e.g. ``("grad_x = grad_out * y", "grad_y = grad_out * x")``;
    #: ``None`` for an input that has no gradient. A variadic primitive (cat) gives one formula
    #: written for the i-th input (``grad_x_i = ...``).
    grad_formulas: ClassVar[tuple[str | None, ...]] = ()
    #: a fused primitive's plain composite: the same function of the input Tensors (attrs as
    #: keywords) built from other ops. ``create_graph=True`` differentiates through it, so the
    #: fused VJPs only ever run on arrays.
    composite: ClassVar[Callable[..., Any] | None] = None
    #: ``unary``/``binary`` specialised for this primitive (made for every subclass)
    unary_op: ClassVar[Callable[..., Any]]
    binary_op: ClassVar[Callable[..., Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = cls.__name__.lower()
        cls.backward_name = cls.__name__ + "Backward"
        if cls.__dict__.get("forward") is not None:
            REGISTRY[cls.name] = cls
        if "formula" in cls.__dict__ or "grad_formulas" in cls.__dict__:
            cls.__doc__ = describe(cls)
        cls.unary_op = staticmethod(_make_unary(cls))
        cls.binary_op = staticmethod(_make_binary(cls))

    @classmethod
    def call(cls, *inputs: Any, **attrs: Any) -> Any:
        """Run on arrays (plain forward) or on Tensors (recorded); VJPs use this."""
        for item in inputs:
            if isinstance(item, Tensor):
                return apply(cls, inputs, attrs)
        return cls.forward(*inputs, **attrs)


def describe(prim: Any) -> str:
    """The docstring of a primitive: its own summary line(s), then its formulas.

    >>> class Twice(Primitive):
    ...     "Doubles its input."
    ...     formula = "out = 2 * x"
    ...     grad_formulas = ("grad_x = 2 * grad_out",)
    >>> print(Twice.__doc__)
    Doubles its input.
    <BLANKLINE>
    out = 2 * x
    <BLANKLINE>
    grad_x = 2 * grad_out
    """
    summary = (prim.__dict__.get("__doc__") or "").strip()
    parts = [summary] if summary and summary != prim.formula else []
    if prim.formula:
        parts.append(prim.formula)
    rules = [rule for rule in prim.grad_formulas if rule]
    if rules:
        parts.append("\n".join(rules))
    return "\n\n".join(parts)


#: callables ``observer(node, result)`` told about every recorded node (graph drawing uses it)
observers: list = []


def _finish_node(node: Node, result: Tensor) -> None:
    """The rare extras of recording: anomaly traces and observers."""
    if _anomaly[0]:
        import traceback

        node.trace = traceback.extract_stack()[:-3]
    for observer in observers:
        observer(node, result)


def _record(prim: Any, result: Tensor, inputs: tuple, arrays: tuple, attrs: dict, out: Any) -> None:
    """Make ``result`` the output of a new node for ``prim`` (for code that runs a forward itself)."""
    result.requires_grad = True
    result.grad_fn = node = Node(prim, inputs, arrays, attrs, out if prim.saves_out else None)
    if _anomaly[0] or observers:
        _finish_node(node, result)


def _share_version(result: Tensor, source: Any) -> None:
    """A view shares its source's version counter; when no node will connect it to the
    source's producer (under no_grad, or a view of a detached alias), it links to that
    producer directly, so that writes through the view still count as writes to it."""
    counter = source._vc
    if counter is None:
        counter = source._vc = VersionCounter()
    result._vc = counter
    if _state.enabled and source.requires_grad:
        return  # the view's own node will lead to the producer
    producer = source.grad_fn
    if producer is None and source._extra is not None:
        producer = source._extra.get("producer")
    if producer is not None:
        result._extra = {"producer": producer}


def apply(prim: Any, inputs: tuple, attrs: dict = EMPTY) -> Tensor:
    """Run ``prim`` on ``inputs`` (Tensors, arrays or Python numbers) and record it."""
    record = not _threads_disabled[0] or _state.enabled
    if record:
        arrays, parents, versions, outside = link_inputs(inputs)
    else:
        arrays = tuple([x._data if isinstance(x, Tensor) else x for x in inputs])
    out = prim.forward(*arrays, **attrs) if attrs else prim.forward(*arrays)
    result = Tensor._wrap(out)
    if prim.is_view and isinstance(inputs[0], Tensor):
        _share_version(result, inputs[0])
    if record and any(parent is not None for parent in parents):  # some input requires grad
        result.requires_grad = True
        # inputs that require grad are reachable through their parents; the node keeps the
        # inputs only when a tensor outside the graph needs its version checked later
        result.grad_fn = node = Node(
            prim, inputs if outside else None, arrays, attrs, out if prim.saves_out else None, parents, versions,
        )
        if _anomaly[0] or observers:
            _finish_node(node, result)
    return result


def unary(prim: Any, x: Tensor, attrs: dict = EMPTY) -> Tensor:
    """``apply`` for one Tensor input: the hot path of elementwise and reduction ops."""
    return prim.unary_op(x, attrs)


def _make_unary(prim: Any) -> Callable[..., Tensor]:
    """``unary`` specialised for one primitive (a closure): Tensor methods such as
    ``tanh`` are these functions themselves, one Python call per op."""

    # The class's forward and flags, bound once: a closure variable is cheaper to read than a
    # class attribute (primitives never change them after the class is made).
    forward = getattr(prim, "forward", None)
    floating_only, saves_out, is_view, fit = prim.floating_only, prim.saves_out, prim.is_view, not prim.exact

    def unary_op(x: Tensor, attrs: dict = EMPTY) -> Tensor:
        data = x._data
        if floating_only and data.dtype.kind != "f":  # (integers become the default float dtype)
            data = data.astype(get_default_dtype())
        out = forward(data, **attrs) if attrs else forward(data)
        result = _tensor_new(Tensor)  # Tensor._wrap, inlined on this hot path
        result._data = out
        result.grad = None
        result.requires_grad = False
        result.grad_fn = None
        result._vc = None
        result._extra = None
        if is_view:
            _share_version(result, x)
        if x.requires_grad and (not _threads_disabled[0] or _state.enabled):
            parent = x.grad_fn or x
            version = parent.out_version if type(parent) is Node else (x._vc.value if x._vc is not None else 0)
            result.requires_grad = True
            # Node(...) written out slot by slot: this is the hottest allocation of the library.
            # ``inputs`` stays None: an input that requires grad is reachable through its parent,
            # and not holding it lets intermediate tensors die young (far less work for the GC).
            result.grad_fn = node = _node_new(Node)
            node.prim = prim
            node.inputs = None
            node.arrays = (data,)
            node.attrs = attrs
            node.out = out if saves_out else None
            node.parents = (parent,)
            node.versions = [version] if version else None
            node.epoch = inplace_epoch[0]
            node.fit = fit
            node.out_version = 0
            node.pending = 0
            node.acc = None
            node.hooks = None
            node.retained = None
            if _anomaly[0] or observers:
                _finish_node(node, result)
        return result

    unary_op.__name__ = prim.name
    unary_op.__doc__ = prim.__doc__
    return unary_op


def binary(prim: Any, x: Tensor, y: Any) -> Tensor:
    """``apply`` for ``x op y`` where x is a Tensor and y a Tensor, array or Python number."""
    return prim.binary_op(x, y)


def _make_binary(prim: Any) -> Callable[..., Tensor]:
    """``binary`` specialised for one primitive (a closure): Tensor operators such as
    ``__mul__`` are these functions themselves, one Python call per op."""

    forward = getattr(prim, "forward", None)
    saves_out, scalar_as_array = prim.saves_out, prim.scalar_as_array
    # The last (number, dtype, 0-d array) made for scalar_as_array: code like ``h * 1.01`` in a
    # loop passes the same float object every time. The array is read-only, as it is shared.
    recent = [(None, None, None)]

    def binary_op(x: Tensor, y: Any) -> Tensor:
        xd = x._data
        xdt = xd.dtype
        if type(y) is float or type(y) is int:  # checked first: cheaper than isinstance
            y_is_tensor = False
            if scalar_as_array and type(xd) is _ndarray and (xdt is _FLOAT64 or xdt is _FLOAT32):
                last = recent[0]
                if last[0] is y and last[1] is xdt:
                    yd = last[2]
                else:
                    yd = _asarray(y, xdt)
                    yd.flags.writeable = False
                    recent[0] = (y, xdt, yd)
            else:
                yd = y
        elif isinstance(y, Tensor):
            y_is_tensor = True
            yd = y._data
        elif isinstance(y, (bool, int, float, np.number, np.bool_)):
            y_is_tensor = False
            yd = y
        else:
            y = as_tensor(y)
            yd = y._data
            y_is_tensor = True
        try:
            out = forward(xd, yd)
        except ValueError:
            raise _broadcast_error(prim, xd, yd) from None
        if type(yd) is float and xdt.kind != "f":
            # PyTorch: an integer tensor combined with a Python float gives the default dtype.
            out = out.astype(get_default_dtype())
        elif y_is_tensor and xdt != yd.dtype:
            target = result_dtype(xd, yd)
            if out.dtype != target:
                out = out.astype(target)
        result = _tensor_new(Tensor)  # Tensor._wrap, inlined on this hot path
        result._data = out
        result.grad = None
        result.requires_grad = False
        result.grad_fn = None
        result._vc = None
        result._extra = None
        if not _threads_disabled[0] or _state.enabled:
            x_grad = x.requires_grad
            y_grad = y_is_tensor and y.requires_grad
            if x_grad or y_grad:
                px = (x.grad_fn or x) if x_grad else None
                py = (y.grad_fn or y) if y_grad else None
                # version_of(x, px) and version_of(y, py), inlined on this hot path
                xv = px.out_version if type(px) is Node else (0 if x._vc is None else x._vc.value)
                if y_is_tensor:
                    yv = py.out_version if type(py) is Node else (0 if y._vc is None else y._vc.value)
                else:
                    yv = 0
                result.requires_grad = True
                result.grad_fn = node = _node_new(Node)  # Node(...) inlined, as in unary
                node.prim = prim
                # Keep the inputs only when one is a tensor outside the graph (its version must be
                # checkable later); inputs that require grad are reachable through the parents.
                node.inputs = (x, y) if not x_grad or (y_is_tensor and not y_grad) else None
                node.arrays = (xd, yd)
                node.attrs = EMPTY
                node.out = out if saves_out else None
                node.parents = (px, py)
                node.versions = [xv, yv] if xv or yv else None
                node.epoch = inplace_epoch[0]
                # (dtype identity is enough: a false "differs" only costs the engine a check)
                node.fit = xdt is not out.dtype or (
                    y_is_tensor and (xd.shape != yd.shape or yd.dtype is not xdt)
                )
                node.out_version = 0
                node.pending = 0
                node.acc = None
                node.hooks = None
                node.retained = None
                if _anomaly[0] or observers:
                    _finish_node(node, result)
        return result

    binary_op.__name__ = f"__{prim.name}__"
    binary_op.__doc__ = prim.__doc__
    return binary_op


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def result_dtype(a: Any, b: Any) -> np.dtype:
    """PyTorch's type promotion for two tensors' arrays.

    Within one category (bool < integer < floating) NumPy's rule holds (float32 + float64 ->
    float64). Across categories the higher category's dtype wins (int64 + float32 -> float32,
    where NumPy would say float64). A 0-d tensor counts like a Python scalar: it only decides
    the dtype when its category is higher than the dimensioned operand's.
    """
    da, db = a.dtype, b.dtype
    ca, cb = _CATEGORY.get(da.kind, 2), _CATEGORY.get(db.kind, 2)
    zero_a, zero_b = np.ndim(a) == 0, np.ndim(b) == 0
    if zero_a != zero_b:
        dimensioned, zero_dim = (da, db) if zero_b else (db, da)
        c_dim, c_zero = (ca, cb) if zero_b else (cb, ca)
        return dimensioned if c_zero <= c_dim else zero_dim
    if ca == cb:
        return np.result_type(da, db)
    return da if ca > cb else db


def _broadcast_error(prim: Any, xd: Any, yd: Any) -> RuntimeError:
    shape_x, shape_y = tuple(np.shape(xd)), tuple(np.shape(yd))
    if prim.name == "matmul":
        return RuntimeError(f"matmul: shapes {shape_x} and {shape_y} cannot be multiplied")
    return RuntimeError(
        f"{prim.name}: shapes {shape_x} and {shape_y} cannot be broadcast together; sizes must be "
        "equal or 1 in each dimension, counting from the last"
    )


def reflected(prim: Any, x: Tensor, y: Any) -> Tensor:
    """``y op x`` where only x is known to be a Tensor (``2 - t``, ``array @ t``)."""
    if not isinstance(y, Tensor):
        if type(y) is float or type(y) is int or isinstance(y, (np.number, np.bool_)):
            data = x._data
            dtype = data.dtype
            if prim.scalar_as_array and (type(y) is float or type(y) is int) and type(data) is _ndarray and (
                dtype is _FLOAT64 or dtype is _FLOAT32
            ):
                y = _asarray(y, dtype)  # see Primitive.scalar_as_array
            out = prim.forward(y, data)
            if type(y) is float and data.dtype.kind != "f":
                out = out.astype(get_default_dtype())
            result = Tensor._wrap(out)
            if x.requires_grad and _state.enabled:
                parent = x.grad_fn or x
                version = version_of(x, parent)
                result.requires_grad = True
                result.grad_fn = node = Node(
                    prim, None, (y, data), EMPTY, out if prim.saves_out else None,
                    (None, parent), [0, version] if version else None, data.dtype != out.dtype,
                )
                if _anomaly[0] or observers:
                    _finish_node(node, result)
            return result
        y = as_tensor(y)
    return binary(prim, y, x)


from .._dtype import get_default_dtype  # noqa: E402
from ..tensor import Tensor, as_tensor  # noqa: E402

_tensor_new = object.__new__
_node_new = object.__new__
_ndarray = np.ndarray
_asarray = np.asarray
_FLOAT64 = np.dtype(np.float64)
_FLOAT32 = np.dtype(np.float32)
