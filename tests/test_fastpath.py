"""The fast paths give exactly what the reference paths give.

``ops/_fastpath.py`` records one- and two-input primitives with specialised closures, and
``autograd/_fast_backward.py`` runs the plain backward in one fused loop. Both are
optimisations of the readable reference (``ops.primitive.apply`` and the engine's named
steps): here every registry primitive is built both ways and must give identical nodes,
values, gradients and version bookkeeping, and random graphs are walked both ways.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from op_domains import DOMAINS

import autograd_lite as ag
from autograd_lite.autograd import engine
from autograd_lite.autograd.node import Node
from autograd_lite.ops import _fastpath
from autograd_lite.ops.elementwise import Add, Div, Exp, Maximum, Mul, Pow, Sub, Tanh
from autograd_lite.ops.linalg import Matmul
from autograd_lite.ops.primitive import REGISTRY, apply


def _fast_form(prim: Any, inputs: tuple, attrs: dict) -> str | None:
    """Which closure of the fast path can build this call (None: only ``apply`` can)."""
    if len(inputs) == 1 and isinstance(inputs[0], ag.Tensor):
        return "unary"
    if len(inputs) == 2 and not attrs and isinstance(inputs[0], ag.Tensor):
        return "binary"
    if len(inputs) == 2 and not attrs and isinstance(inputs[1], ag.Tensor) and not isinstance(inputs[0], ag.Tensor):
        return "reflected"
    return None


def _build_fast(form: str, prim: Any, inputs: tuple, attrs: dict) -> ag.Tensor:
    if form == "unary":
        return _fastpath.unary(prim, inputs[0], attrs)
    if form == "binary":
        return _fastpath.binary(prim, inputs[0], inputs[1])
    return _fastpath.reflected_op(prim)(inputs[1], inputs[0])


FAST_PRIMITIVES = sorted(
    name for name, prim in REGISTRY.items()
    if isinstance(prim.vjps, tuple) and 1 <= len(prim.vjps) <= 2 and name in DOMAINS
)


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    if a is None or b is None:
        return a is b
    if isinstance(a, (np.ndarray, np.generic, float, int)) and not isinstance(a, bool):
        x, y = np.asarray(a), np.asarray(b)
        return x.shape == y.shape and np.array_equal(x, y, equal_nan=True)
    return a == b


def _assert_same_nodes(ref: Node, fast: Node) -> None:
    assert fast.prim is ref.prim
    assert fast.parents == ref.parents  # the same parent objects, in order
    assert (fast.versions or [0] * len(ref.parents)) == (ref.versions or [0] * len(ref.parents))
    assert _same_value(ref.attrs, fast.attrs)
    assert _same_value(ref.arrays, fast.arrays)
    assert _same_value(ref.out, fast.out)
    assert (fast.inputs is None) == (ref.inputs is None)
    if ref.inputs is not None:
        assert all(a is b or _same_value(a, b) for a, b in zip(ref.inputs, fast.inputs))
    assert (fast.out_version, fast.pending, fast.acc, fast.hooks) == (0, 0, None, None)


def _inputs_for(case: Any, prim: Any, bump: bool) -> tuple[tuple, list]:
    """Leaf tensors for the differentiable inputs; the first one non-leaf and written in place."""
    leaves: list = []
    inputs: list = []
    for position, x in enumerate(case.inputs):
        if isinstance(x, np.ndarray) and x.dtype == np.float64 and prim.vjps[position] is not None:
            leaf = ag.tensor(x, requires_grad=True)
            leaves.append(leaf)
            item = leaf * 1.0
            if bump and position == 0:
                with ag.no_grad():
                    item.add_(0.0)  # version 1, so the node must record it
            inputs.append(item)
        else:
            inputs.append(x)
    return tuple(inputs), leaves


@pytest.mark.parametrize("name", FAST_PRIMITIVES)
@given(data=st.data())
def test_every_primitive_builds_the_same_node_both_ways(name: str, data: st.DataObject) -> None:
    prim = REGISTRY[name]
    case = data.draw(DOMAINS[name].cases, label="case")
    inputs, leaves = _inputs_for(case, prim, bump=data.draw(st.booleans(), label="bump"))
    form = _fast_form(prim, inputs, case.attrs)
    note(f"{name}: form {form}, shapes {[np.shape(x) for x in case.inputs]}, attrs {case.attrs}")
    if form is None:  # e.g. a constant first input with attrs: only apply builds it
        assert apply(prim, inputs, case.attrs).grad_fn is not None
        return
    ref, fast = apply(prim, inputs, case.attrs), _build_fast(form, prim, inputs, case.attrs)
    assert ref.dtype == fast.dtype and _same_value(ref._data, fast._data)
    assert ref.requires_grad == fast.requires_grad
    _assert_same_nodes(ref.grad_fn, fast.grad_fn)
    seed = np.random.default_rng(0).standard_normal(ref.shape).astype(ref.dtype)
    ref_grads = ag.autograd.grad(ref, leaves, grad_outputs=ag.tensor(seed), allow_unused=True, retain_graph=True)
    fast_grads = ag.autograd.grad(fast, leaves, grad_outputs=ag.tensor(seed), allow_unused=True)
    for a, b in zip(ref_grads, fast_grads):
        assert (a is None) == (b is None)
        if a is not None:
            assert a.dtype == b.dtype and _same_value(a._data, b._data)


@pytest.mark.parametrize(
    ("prim", "x", "y"),
    [
        (Add, np.arange(3), 1.5),  # an integer tensor and a Python float: the default float dtype
        (Mul, np.arange(3, dtype=np.float32), np.ones(3)),  # float32 with float64: float64
        (Sub, np.ones((2, 3), dtype=np.float32), np.float64(2.0)),
        (Div, np.arange(1, 4), np.arange(1, 4)),  # integer true division: the default float dtype
        (Pow, np.ones(3, dtype=np.float32), 2),
        (Maximum, np.arange(4.0).reshape(2, 2), np.array(1.5)),  # a 0-d tensor does not promote
        (Matmul, np.ones((2, 3), dtype=np.float32), np.ones(3, dtype=np.float64)),
    ],
)
def test_dtype_promotion_is_the_same_both_ways(prim: Any, x: Any, y: Any) -> None:
    tx = ag.tensor(x)
    ty = ag.tensor(y) if isinstance(y, np.ndarray) else y
    ref, fast = apply(prim, (tx, ty)), _fastpath.binary(prim, tx, ty)
    assert ref.dtype == fast.dtype and _same_value(ref._data, fast._data)


def test_integer_input_to_a_floating_primitive_is_the_same_both_ways() -> None:
    x = ag.tensor([1, 2, 3])
    ref, fast = apply(Exp, (x,)), _fastpath.unary(Exp, x)
    assert ref.dtype == fast.dtype == ag.get_default_dtype()
    assert _same_value(ref._data, fast._data)


def test_a_bad_broadcast_raises_the_same_error_both_ways() -> None:
    x, y = ag.ones(2, 3), ag.ones(4)
    with pytest.raises(RuntimeError, match=r"add: shapes \(2, 3\) and \(4,\)") as ref:
        apply(Add, (x, y))
    with pytest.raises(RuntimeError) as fast:
        _fastpath.binary(Add, x, y)
    assert str(ref.value) == str(fast.value)


# ---------------------------------------------------------------- the two backward walks

_UNARY_OPS = ["tanh", "exp_small", "sigmoid", "square", "relu", "sum_keep", "function"]
_BINARY_OPS = ["add", "mul", "sub", "div", "matmul_t"]


class _Twice(ag.autograd.Function):
    @staticmethod
    def forward(ctx, x):  # type: ignore[no-untyped-def]
        return x * 2

    @staticmethod
    def backward(ctx, grad_out):  # type: ignore[no-untyped-def]
        return grad_out * 2


def _apply_unary(op: str, x: ag.Tensor) -> ag.Tensor:
    if op == "exp_small":
        return (x * 0.1).exp()
    if op == "square":
        return x * x
    if op == "sum_keep":
        return x.sum(dim=-1, keepdim=True) if x.ndim else x
    if op == "function":
        return _Twice.apply(x)
    return getattr(x, op)()


def _apply_binary(op: str, x: ag.Tensor, y: ag.Tensor) -> ag.Tensor:
    if op == "matmul_t":
        return x * (y @ ag.ones(y.shape[-1:] or (1,), dtype=y.dtype)).unsqueeze(-1) if y.ndim else x * y
    if op == "div":
        return x / (y * y + 1.0)
    return {"add": x + y, "mul": x * y, "sub": x - y}[op]


@st.composite
def _programs(draw: Any) -> tuple:
    shape = draw(st.sampled_from([(), (3,), (2, 3)]))
    steps = draw(st.lists(
        st.one_of(
            st.tuples(st.just("unary"), st.sampled_from(_UNARY_OPS), st.integers(0, 10)),
            st.tuples(st.just("binary"), st.sampled_from(_BINARY_OPS), st.integers(0, 10), st.integers(0, 10)),
        ),
        min_size=1, max_size=12,
    ))
    broadcast = draw(st.booleans())
    hook = draw(st.booleans())
    return shape, steps, broadcast, hook


def _run_program(program: tuple, fast: bool) -> list:
    shape, steps, broadcast, hook = program
    rng = np.random.default_rng(1)
    a = ag.tensor(rng.standard_normal(shape), requires_grad=True)
    b = ag.tensor(rng.standard_normal(shape[-1:] if broadcast else shape), requires_grad=True)
    values = [a, b]
    for step in steps:
        if step[0] == "unary":
            values.append(_apply_unary(step[1], values[step[2] % len(values)]))
        else:
            x, y = values[step[2] % len(values)], values[step[3] % len(values)]
            values.append(_apply_binary(step[1], x, y))
    if hook and values[-1].grad_fn is not None:
        values[-1].register_hook(lambda g: g * 3)
    loss = sum((v * v).sum() for v in values[2:]) + (a * b).sum()
    roots = engine._roots(loss, None, False)
    engine._run(roots, retain_graph=False, create_graph=False, capture=None, only=None, fast=fast)
    return [None if t.grad is None else t.grad._data for t in (a, b)]


@given(program=_programs())
def test_the_fast_walk_gives_the_reference_walks_gradients(program: tuple) -> None:
    reference, fast = _run_program(program, fast=False), _run_program(program, fast=True)
    for r, f in zip(reference, fast):
        assert (r is None) == (f is None)
        if r is not None:
            assert r.dtype == f.dtype and np.array_equal(r, f)


def test_a_leaf_never_shares_its_grad_array_with_another_leaf() -> None:
    """Explicit ownership: an identity VJP passes one array to two leaves; each gets its own."""
    for fast in (True, False):
        a, b = ag.ones(3, requires_grad=True), ag.ones(3, requires_grad=True)
        roots = engine._roots((a + b).sum(), None, False)
        engine._run(roots, retain_graph=False, create_graph=False, capture=None, only=None, fast=fast)
        assert not np.shares_memory(a.grad._data, b.grad._data)
        a.grad._data += 1
        assert np.array_equal(b.grad._data, np.ones(3))


def test_the_callers_seed_gradient_is_copied_not_kept() -> None:
    x = ag.ones(3, requires_grad=True)
    seed = ag.tensor([1.0, 2.0, 3.0])
    x.backward(seed)
    assert not np.shares_memory(x.grad._data, seed._data)


def test_tanh_method_is_the_fast_closure() -> None:
    assert ag.Tensor.tanh is _fastpath._UNARY[Tanh]


class _ReturnsSaved(ag.autograd.Function):
    @staticmethod
    def forward(ctx, x, w):  # type: ignore[no-untyped-def]
        ctx.save_for_backward(w)
        return x * 1.0

    @staticmethod
    def backward(ctx, grad_out):  # type: ignore[no-untyped-def]
        (w,) = ctx.saved_tensors
        return w, None  # an array the caller keeps, handed back as a gradient


def test_a_gradient_array_that_a_function_keeps_is_copied_into_grad() -> None:
    for fast in (True, False):
        x, w = ag.ones(3, requires_grad=True), ag.tensor([1.0, 2.0, 3.0])
        roots = engine._roots(_ReturnsSaved.apply(x, w).sum(), None, False)
        engine._run(roots, retain_graph=False, create_graph=False, capture=None, only=None, fast=fast)
        assert np.array_equal(x.grad._data, w._data) and not np.shares_memory(x.grad._data, w._data)
