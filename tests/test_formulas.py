"""Every primitive states its math as data: ``formula`` and one ``grad_formulas`` entry per input.

The docstrings, the pictures, ``explain`` and the compatibility table all read these two class
attributes, so they are checked for every registered primitive (a new primitive without
formulas fails here), against the primitive's own code: the input names are those of its
VJPs' parameters, and an input has a gradient formula exactly when it has a VJP.
"""

from __future__ import annotations

import importlib
import inspect

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import viz
from autograd_lite.ops.primitive import REGISTRY, Primitive

NAMES = sorted(REGISTRY)


def _is_variadic(prim: type) -> bool:
    """A primitive with any number of inputs (cat, einsum): its VJPs are made per position."""
    return not isinstance(prim.vjps, tuple)


def _vjp_params(vjp) -> list[inspect.Parameter]:
    """The parameters of a VJP after ``grad_out, out`` (which must be its first two)."""
    params = list(inspect.signature(vjp).parameters.values())
    assert [p.name for p in params[:2]] == ["grad_out", "out"], f"{vjp} must start (grad_out, out, ...)"
    return params[2:]


def _input_names(prim: type) -> list[str]:
    """The inputs' names from the first VJP's signature (every VJP must agree on them)."""
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    tables = [
        [p.name for p in _vjp_params(vjp) if p.kind in positional][: len(prim.vjps)]
        for vjp in prim.vjps if vjp is not None
    ]
    assert tables, f"{prim.__name__} has no VJP at all"
    assert all(names == tables[0] for names in tables), f"{prim.__name__}'s VJPs name their inputs differently"
    return tables[0]


def _primitive_classes() -> list[type]:
    """Every Primitive subclass the library defines, registered or not (``_BasicGetItem``)."""
    found, stack = [], list(Primitive.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("autograd_lite.") and cls.registered:
            found.append(cls)  # (autograd.Function is the base of users' Functions, which have no formulas)
    return sorted(found, key=lambda cls: cls.__qualname__)


@pytest.mark.parametrize("name", NAMES)
def test_formula_is_the_forward(name):
    prim = REGISTRY[name]
    assert isinstance(prim.formula, str) and prim.formula.startswith("out = "), prim.formula
    assert "\n" not in prim.formula


@pytest.mark.parametrize("name", NAMES)
def test_one_grad_formula_per_vjp_none_where_no_gradient(name):
    prim = REGISTRY[name]
    formulas = prim.grad_formulas
    assert isinstance(formulas, tuple)
    if _is_variadic(prim):
        assert len(formulas) == 1 and isinstance(formulas[0], str), "a variadic primitive gives one formula"
        return
    assert len(formulas) == len(prim.vjps)
    for position, (vjp, formula) in enumerate(zip(prim.vjps, formulas, strict=True)):
        assert (formula is None) == (vjp is None), f"input {position}: formula {formula!r}, VJP {vjp!r}"


@pytest.mark.parametrize("name", NAMES)
def test_grad_formulas_name_the_vjp_parameters(name):
    prim = REGISTRY[name]
    if _is_variadic(prim):
        params = _vjp_params(prim.vjps[0])
        (star,) = [p.name for p in params if p.kind is p.VAR_POSITIONAL]
        assert prim.grad_formulas[0].startswith(f"grad_{star}_i = "), prim.grad_formulas[0]
        return
    names = _input_names(prim)
    assert len(names) == len(prim.vjps), f"the VJPs take {names} but there are {len(prim.vjps)} inputs"
    for input_name, formula in zip(names, prim.grad_formulas, strict=True):
        if formula is not None:
            assert formula.startswith(f"grad_{input_name} = "), f"{formula!r} is not for input {input_name!r}"
            assert "\n" not in formula


@pytest.mark.parametrize("name", NAMES)
def test_docstring_is_composed_from_the_formulas(name):
    prim = REGISTRY[name]
    doc = prim.__doc__ or ""
    assert prim.formula in doc
    for formula in prim.grad_formulas:
        if formula is not None:
            assert formula in doc
    # what comes before the formulas is a note, never the formulas again as prose
    summary = doc[: doc.index(prim.formula)]
    assert "out = " not in summary and "grad_out;" not in summary


@pytest.mark.parametrize("cls", _primitive_classes(), ids=lambda cls: cls.__qualname__)
def test_every_primitive_class_has_formulas(cls):
    """Unregistered subclasses too (``_BasicGetItem``, the view flavour of getitem)."""
    if getattr(cls, "forward", None) is None:
        return  # an abstract base, if any
    assert cls.formula.startswith("out = ")
    assert cls.grad_formulas
    assert cls.formula in (cls.__doc__ or "")


def test_basic_getitem_lives_with_getitem():
    from autograd_lite.ops.shape import GetItem, _BasicGetItem

    assert issubclass(_BasicGetItem, GetItem) and _BasicGetItem.is_view
    assert importlib.import_module("autograd_lite.functional")._BasicGetItem is _BasicGetItem
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    assert x[1:].grad_fn.prim is _BasicGetItem


# ---------------------------------------------------------------------- the viz reads the data
def _linear_and_mul():
    x = ag.tensor([[1.0, 2.0], [3.0, -1.0]])
    w = ag.tensor([[1.0, 0.5], [2.0, -1.0], [0.0, 1.0]], requires_grad=True)
    b = ag.tensor([0.1, 0.2, 0.3], requires_grad=True)
    loss = (ag.nn.functional.linear(x, w, b) * 3.0).sum()
    return loss, {"x": x, "w": w, "b": b}


def test_explain_shows_the_formulas_of_the_data():
    linear, mul = REGISTRY["linear"], REGISTRY["mul"]
    loss, names = _linear_and_mul()
    text = viz.explain(loss, params=names).text
    assert f"{linear.formula}   with x = x, weight = w, bias = b" in text
    assert f"{mul.formula}   with x = t1, y = 3" in text
    for formula in linear.grad_formulas[1:] + mul.grad_formulas[:1]:  # x needs no grad; y is a number
        assert formula in text
    assert linear.grad_formulas[0] not in text


def test_explain_and_graph_follow_changed_formulas(monkeypatch):
    """Change the data only (the docstrings stay as they were): the narration and picture follow."""
    mul = REGISTRY["mul"]
    monkeypatch.setattr(mul, "formula", "out = x times y")
    monkeypatch.setattr(mul, "grad_formulas", ("grad_x = grad_out times y", "grad_y = grad_out times x"))
    linear = REGISTRY["linear"]
    monkeypatch.setattr(linear, "grad_formulas", (
        "grad_x = grad_out @ weight", "grad_weight = (grad_out^T) @ x", "grad_bias = grad_out summed over rows",
    ))
    loss, names = _linear_and_mul()
    e = viz.explain(loss, params=names)
    assert "out = x times y   with x = t1, y = 3" in e.text
    assert "grad_x = grad_out times y" in e.text
    assert "grad_weight = (grad_out^T) @ x" in e.text and "grad_bias = grad_out summed over rows" in e.text
    source = e.graph().source  # the op boxes' labels
    assert "grad_x = upstream times y" in source
    assert "grad_weight = (upstream^T) @ x" in source and "grad_bias = upstream summed over rows" in source


def test_graph_labels_show_the_grad_formulas():
    loss, names = _linear_and_mul()
    source = viz.explain(loss, params=names).graph().source
    assert "grad_x = upstream * y" in source  # mul's, from its grad_formulas
    for formula in REGISTRY["linear"].grad_formulas[1:]:
        assert formula.replace("grad_out", "upstream") in source


def test_linear_without_bias_uses_the_formula_without_it():
    x = ag.tensor([[1.0, 2.0]])
    w = ag.tensor([[1.0, 0.5]], requires_grad=True)
    text = viz.explain(ag.nn.functional.linear(x, w).sum(), params={"x": x, "w": w}).text
    assert f"{REGISTRY['linear'].formula_without['bias']}   with x = x, weight = w, bias = None" in text


def test_a_function_without_formulas_is_shown_as_a_call():
    class Scale(ag.autograd.Function):
        @staticmethod
        def forward(ctx, x, factor):
            ctx.factor = factor
            return x * factor

        @staticmethod
        def backward(ctx, grad_out):
            return grad_out * ctx.factor, None

    x = ag.tensor([1.0, 2.0], requires_grad=True)
    e = viz.explain(Scale.apply(x, 3.0).sum(), params={"x": x})
    assert "out = Scale(x, factor)   with x = x, factor = 3" in e.text
    np.testing.assert_allclose(e.grads["x"], [3.0, 3.0])


def test_variadic_inputs_are_numbered_as_in_the_formula():
    a = ag.tensor([1.0], requires_grad=True)
    b = ag.tensor([2.0, 3.0], requires_grad=True)
    text = viz.explain(ag.cat([a, b]).sum(), params={"a": a, "b": b}).text
    assert f"{REGISTRY['cat'].formula}   with x_1 = a, x_2 = b" in text
    assert REGISTRY["cat"].grad_formulas[0] in text
