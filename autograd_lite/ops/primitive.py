"""Primitives, and ``apply``: how every differentiable operation runs and is recorded.

A primitive is declared once, as a class:

* ``forward(*arrays, **attrs)`` computes the result on NumPy arrays;
* ``vjps`` holds one vector-Jacobian product per input, each a function
  ``vjp(grad_out, out, *inputs, **attrs)`` that turns the gradient of the output into the
  gradient of that input (``None`` for an input with no gradient, such as an index);
* ``formula`` and ``grad_formulas`` state the same math as data (``"out = x * y"``,
  ``("grad_x = grad_out * y", "grad_y = grad_out * x")``): the docstring, the pictures and
  ``explain`` all read them.

VJPs are written with operators and the primitives' own ``call``, so one formula runs on
plain arrays (an ordinary backward) and on Tensors (``create_graph=True``, where the VJP is
itself recorded and can be differentiated again).

``apply(prim, inputs, attrs)`` is the one recording path: take the arrays out of the
inputs, run the forward, wrap the result, and, when grad mode is on and some input requires
grad, give the result a :class:`~autograd_lite.autograd.node.Node` as its ``grad_fn``. The
Tensor operators run specialised copies of these few lines (``ops/_fastpath.py``); a test
checks that both build the same nodes.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from .._dtype import get_default_dtype
from ..autograd.grad_mode import _anomaly, _state
from ..autograd.node import Node, link_inputs
from ..tensor import Tensor

#: every primitive with a forward, by name (the tests, pictures and docs walk it)
REGISTRY: dict[str, type[Primitive]] = {}
#: the attrs of a primitive that takes none (shared, never modified)
EMPTY: dict = {}


class Primitive:
    """A differentiable operation: its forward, its VJPs and its formulas."""

    name: ClassVar[str] = "primitive"
    #: listed in REGISTRY (a user's autograd.Function is not)
    registered: ClassVar[bool] = True
    backward_name: ClassVar[str] = "Backward"
    forward: ClassVar[Callable[..., Any]]
    #: one VJP per input; ``None`` marks an input that has no gradient (an index, a mask).
    vjps: ClassVar[Any] = ()
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

    # What the VJPs need, so the node keeps exactly that:
    #: the VJPs read ``out`` (the forward result), so the node keeps it.
    saves_out: ClassVar[bool] = False
    #: the VJPs read the input values (not just shapes): in-place changes to them are errors.
    reads_inputs: ClassVar[bool] = True

    # How the result's dtype and memory relate to the inputs':
    #: the result is floating even for integer inputs (exp, log, ...): integers are first
    #: converted to the default dtype, as PyTorch does (NumPy would give float64).
    floating_only: ClassVar[bool] = False
    #: a binary arithmetic op: the result dtype follows PyTorch's type promotion.
    promotes_types: ClassVar[bool] = False
    #: the forward returns a view of its first input's memory (reshape, transpose, ...).
    is_view: ClassVar[bool] = False

    # Hints for the fast path (ops/_fastpath.py); they never change a result:
    #: the VJP of this one-input primitive returns exactly the input's shape and dtype.
    exact: ClassVar[bool] = False
    #: a Python number next to a float array may be passed to the forward as a 0-d array.
    scalar_as_array: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = cls.__name__.lower()
        cls.backward_name = cls.__name__ + "Backward"
        if cls.__dict__.get("forward") is not None and cls.registered:
            REGISTRY[cls.name] = cls
        if "formula" in cls.__dict__ or "grad_formulas" in cls.__dict__:
            cls.__doc__ = describe(cls)

    @classmethod
    def call(cls, *inputs: Any, **attrs: Any) -> Any:
        """Run on arrays (a plain forward) or on Tensors (recorded); VJPs use this."""
        for item in inputs:
            if isinstance(item, Tensor):
                return apply(cls, inputs, attrs)
        return cls.forward(*inputs, **attrs)

    @classmethod
    def vjp(cls, grad_out: Any, out: Any, inputs: Sequence[Any], attrs: dict, needed: Sequence[bool]) -> list:
        """The backward protocol: one gradient per input (``None`` where not ``needed``).

        The engine calls this for every node; a built-in primitive runs its table of VJPs,
        a user's :class:`~autograd_lite.autograd.Function` its ``backward``.
        """
        return [
            cls.vjps[position](grad_out, out, *inputs, **attrs) if need else None
            for position, need in enumerate(needed)
        ]


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
        parts.extend(rules)  # one paragraph each, so rendered docs keep them apart
    return "\n\n".join(parts)


# ---------------------------------------------------------------- the recording path


def apply(prim: Any, inputs: Sequence[Any], attrs: dict = EMPTY) -> Tensor:
    """Run ``prim`` on ``inputs`` (Tensors, arrays or Python numbers) and record it."""
    inputs = tuple(inputs)
    arrays = tuple(x._data if isinstance(x, Tensor) else x for x in inputs)
    if prim.floating_only:
        arrays = tuple(_as_floating(a) for a in arrays)
    out = run_forward(prim, inputs, arrays, attrs)
    result = Tensor._wrap(out)
    if prim.is_view and isinstance(inputs[0], Tensor):
        share_version(result, inputs[0])
    if _state.enabled and any(getattr(x, "requires_grad", False) for x in inputs):
        record(prim, result, inputs, arrays, attrs, out)
    return result


def run_forward(prim: Any, inputs: tuple, arrays: tuple, attrs: dict) -> Any:
    """The primitive's forward on the arrays; binary arithmetic also gets PyTorch's dtype."""
    if not prim.promotes_types:
        return prim.forward(*arrays, **attrs)
    try:
        out = prim.forward(*arrays, **attrs)
    except ValueError:
        raise broadcast_error(prim, *arrays) from None
    return promote(out, inputs, arrays)


def record(prim: Any, result: Tensor, inputs: tuple, arrays: tuple, attrs: dict, out: Any) -> Node:
    """Make ``result`` the output of a new node for ``prim``.

    Inputs that require grad are reachable through the node's parents; the node keeps the
    input tensors themselves only when one of them is outside the graph, so that its
    version can still be checked at backward time.
    """
    _, parents, versions, outside = link_inputs(inputs)
    node = Node(prim, inputs if outside else None, arrays, attrs, out if prim.saves_out else None, parents, versions)
    result.requires_grad = True
    result.grad_fn = node
    if _anomaly[0] or observers:
        notify(node, result)
    return node


#: callables ``observer(node, result)`` told about every recorded node (graph drawing uses it)
observers: list = []


def notify(node: Node, result: Tensor) -> None:
    """The rare extras of recording: anomaly mode's stack trace, and the observers."""
    if _anomaly[0]:
        node.trace = traceback.extract_stack()[:-3]
    for observer in observers:
        observer(node, result)


def share_version(result: Tensor, source: Tensor) -> None:
    """A view shares its source's version counter, so a write through either is seen by both.

    When no node will connect the view to the source's producer (under no_grad, or a view
    of a detached alias), the view remembers that producer, so that writes through the view
    still count as writes to the producer's output.
    """
    result._vc = source._ensure_vc()
    if _state.enabled and source.requires_grad:
        return  # the view's own node will lead to the producer
    producer = source.grad_fn or source._producer
    if producer is not None:
        result._ensure_meta().producer = producer


# ---------------------------------------------------------------- dtypes

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def _as_floating(array: Any) -> Any:
    """Integer and bool arrays become the default float dtype (for floating_only primitives)."""
    if isinstance(array, np.ndarray) and array.dtype.kind != "f":
        return array.astype(get_default_dtype())
    return array


def promote(out: Any, inputs: tuple, arrays: tuple) -> Any:
    """The result of a binary arithmetic op, cast to PyTorch's result dtype.

    A Python float with an integer tensor gives the default float dtype; two tensors of
    different dtypes give :func:`result_dtype` of the pair. Otherwise NumPy's dtype stands.
    """
    x, y = arrays
    if type(y) is float and x.dtype.kind != "f":
        return out.astype(get_default_dtype())
    if type(x) is float and isinstance(y, np.ndarray) and y.dtype.kind != "f":
        return out.astype(get_default_dtype())
    if isinstance(inputs[0], Tensor) and isinstance(inputs[1], Tensor) and x.dtype != y.dtype:
        target = result_dtype(x, y)
        if out.dtype != target:
            return out.astype(target)
    return out


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


def broadcast_error(prim: Any, xd: Any, yd: Any) -> RuntimeError:
    """The error for two operands whose shapes do not fit together."""
    shape_x, shape_y = tuple(np.shape(xd)), tuple(np.shape(yd))
    if prim.name == "matmul":
        return RuntimeError(f"matmul: shapes {shape_x} and {shape_y} cannot be multiplied")
    return RuntimeError(
        f"{prim.name}: shapes {shape_x} and {shape_y} cannot be broadcast together; sizes must be "
        "equal or 1 in each dimension, counting from the last"
    )
