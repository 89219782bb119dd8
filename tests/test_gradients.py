"""Every primitive's gradient against central finite differences in float64.

Parametrized over ``ops.primitive.REGISTRY``: a primitive without an entry in
tests/op_domains.py fails here. For each generated case (shapes, broadcast pairs, random
dims and indices from its domain) ``check_gradients`` compares first AND second
derivatives with finite differences, elementwise and along a random direction, on both
backward paths (plain arrays, and create_graph=True Tensors).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from op_domains import DOMAINS, Case

import autograd_lite as ag
import autograd_lite.nn.functional  # noqa: F401  (nn may register more primitives)
from autograd_lite.ops.primitive import REGISTRY, apply
from autograd_lite.testing import GradientCheckError, check_gradients

PRIMITIVES = sorted(REGISTRY)


def require_domain(name: str):  # type: ignore[no-untyped-def]
    if name not in DOMAINS:
        pytest.fail(
            f"primitive {name!r} ({REGISTRY[name].__module__}.{REGISTRY[name].__name__}) has no test "
            "domain: add an @domain entry for it in tests/op_domains.py (see the top of that file)"
        )
    return DOMAINS[name]


def differentiable_positions(prim, inputs) -> list[int]:  # type: ignore[no-untyped-def]
    return [
        i for i, x in enumerate(inputs)
        if isinstance(x, np.ndarray) and x.dtype == np.float64 and prim.vjps[i] is not None
    ]


def as_function(prim, case: Case):  # type: ignore[no-untyped-def]
    """``case`` as (fn, args) for check_gradients: differentiable inputs become leaf tensors."""
    positions = differentiable_positions(prim, case.inputs)
    args = [
        ag.tensor(x, requires_grad=True) if i in positions else x for i, x in enumerate(case.inputs)
    ]

    def fn(*inputs):  # type: ignore[no-untyped-def]
        return apply(prim, inputs, case.attrs)

    fn.__name__ = prim.name
    return fn, args


@pytest.mark.parametrize("name", PRIMITIVES)
def test_every_primitive_has_a_test_domain(name: str) -> None:
    require_domain(name)


def test_no_domain_names_a_missing_primitive() -> None:
    stale = sorted(set(DOMAINS) - set(REGISTRY))
    assert not stale, f"tests/op_domains.py has entries for primitives that are not registered: {stale}"


@pytest.mark.parametrize("name", PRIMITIVES)
@given(data=st.data())
def test_gradients_match_finite_differences(name: str, data: st.DataObject) -> None:
    domain = require_domain(name)
    prim = REGISTRY[name]
    case = data.draw(domain.cases, label="case")
    positions = differentiable_positions(prim, case.inputs)
    note(f"{name}: input shapes {[np.shape(x) for x in case.inputs]}, attrs {case.attrs}, "
         f"differentiable positions {positions}")
    assert positions, f"the domain of {name!r} produced no differentiable input"
    fn, args = as_function(prim, case)
    check_gradients(fn, *args, order=2 if domain.second_order else 1, **domain.tol)


# ---------------------------------------------------------------- pinned cases
# Regressions pinned with @example: cases the generated domains once found, or that sit on
# the edges the generators might miss.

def test_repeated_indices_accumulate_at_second_order() -> None:
    x = np.arange(1.0, 5.0)
    fn, args = as_function(REGISTRY["getitem"], Case((x,), {"index": np.array([0, 0, 3, 0])}))
    check_gradients(lambda t: fn(t) ** 2, *args, order=2)


def test_pow_gradient_at_zero_base_is_finite() -> None:
    # d(x**y)/dy = x**y log x, taken as 0 at x == 0 (PyTorch's convention), never nan
    x = ag.tensor([0.0, 2.0], dtype=ag.float64, requires_grad=True)
    y = ag.tensor([2.0, 3.0], dtype=ag.float64, requires_grad=True)
    (x ** y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 12.0])
    np.testing.assert_allclose(y.grad.numpy(), [0.0, 8.0 * np.log(2.0)])


def test_matmul_vector_cases_second_order() -> None:
    rng = np.random.default_rng(1)
    for shape_x, shape_y in [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((3,), (2, 3, 4)), ((2, 1, 3, 4), (4,))]:
        check_gradients(ag.matmul, rng.standard_normal(shape_x), rng.standard_normal(shape_y), order=2)


def test_composites_second_order() -> None:
    """Composites built from primitives differentiate twice too."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4))
    for fn in [
        lambda t: ag.softmax(t, dim=1), lambda t: t.var(dim=0), lambda t: t.std(), lambda t: t.mean((0, 1)),
        lambda t: ag.rsqrt(t * t + 1), lambda t: ag.stack([t, 2 * t], dim=1), lambda t: t.max(dim=1).values,
        lambda t: ag.log1p(t * t), lambda t: ag.softplus(t, beta=2.0), lambda t: t.split(2, dim=1)[1],
        lambda t: ag.outer(t[0], t[1]), lambda t: ag.masked_fill(t, t > 0.5, 0.0), lambda t: t.tril(),
    ]:
        check_gradients(fn, x, order=2)


# ---------------------------------------------------------------- the checker itself
class _WrongFirst(ag.autograd.Function):
    """d(x^2)/dx with a wrong factor: 3x instead of 2x."""

    @staticmethod
    def forward(ctx, x):  # type: ignore[no-untyped-def]
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):  # type: ignore[no-untyped-def]
        (x,) = ctx.saved_tensors
        return g * 3 * x


class _DetachedBackward(ag.autograd.Function):
    """x^3 with a first derivative that is right but not differentiable (detached)."""

    @staticmethod
    def forward(ctx, x):  # type: ignore[no-untyped-def]
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):  # type: ignore[no-untyped-def]
        (x,) = ctx.saved_tensors
        return g * 3 * (x * x).detach()


class _DriftingBackward(ag.autograd.Function):
    """x^2 whose backward differs between the array path and the create_graph path."""

    @staticmethod
    def forward(ctx, x):  # type: ignore[no-untyped-def]
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):  # type: ignore[no-untyped-def]
        (x,) = ctx.saved_tensors
        return g * 2 * x * (1.5 if ag.is_grad_enabled() else 1.0)


def test_check_gradients_reports_function_input_index_and_values() -> None:
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    only_11 = ag.tensor([[0.0, 0.0], [0.0, 1.0]], dtype=ag.float64)

    def wrong_at_11(a, b):  # type: ignore[no-untyped-def]
        # b*b everywhere, but its gradient is wrong (3b instead of 2b) at element (1, 1) only
        return a + b * b + only_11 * (_WrongFirst.apply(b) - b * b)

    with pytest.raises(GradientCheckError) as info:
        check_gradients(wrong_at_11, np.zeros(2), x, name="wrong_square")
    message = str(info.value)
    assert "first derivative of `wrong_square`" in message
    assert "d/d input 1 (shape (2, 2)) at index (1, 1) (value 4.0)" in message
    assert "1 of 4 checked elements differ" in message
    numbers = message.split("numeric ")[1].split(" vs analytic ")
    numeric, analytic = (float(part.split()[0].rstrip(";")) for part in numbers)
    assert analytic == pytest.approx(1.5 * numeric, rel=1e-6)  # 3b v against 2b v


def test_check_gradients_catches_a_wrong_second_derivative() -> None:
    x = np.array([0.5, -1.0, 2.0])
    check_gradients(_DetachedBackward.apply, x, order=1)
    with pytest.raises(GradientCheckError, match="second derivative"):
        check_gradients(_DetachedBackward.apply, x, order=2)


def test_check_gradients_catches_array_and_graph_paths_disagreeing() -> None:
    with pytest.raises(GradientCheckError, match="array path and the create_graph path disagree"):
        check_gradients(_DriftingBackward.apply, np.array([1.0, 2.0]))


def test_check_gradients_random_direction_check_sees_unchecked_elements() -> None:
    # with max_elements=1 the elementwise check may miss the bad element; the direction check can't
    x = np.linspace(1.0, 2.0, 9)

    def wrong_in_one_place(t):  # type: ignore[no-untyped-def]
        return t * t + ag.tensor(np.eye(9)[8]) * (_WrongFirst.apply(t) - t * t)

    with pytest.raises(GradientCheckError):
        check_gradients(wrong_in_one_place, x, max_elements=1, seed=3)


def test_check_gradients_passes_constants_through_and_third_order() -> None:
    index = np.array([2, 0])
    assert check_gradients(lambda t, i: (t[i] ** 3).sum(), np.array([1.0, 2.0, 3.0]), index, order=3)
    with pytest.raises(ValueError, match="no input to differentiate"):
        check_gradients(lambda t: t, ag.tensor([1.0]))


def test_cat_gradient_regression() -> None:
    # Cat's VJP once read ``out.shape`` although the node does not keep ``out`` (saves_out is False)
    parts = [np.array([1.0, 2.0]), np.array([3.0]), np.array([[4.0, 5.0]])[0]]
    check_gradients(lambda *xs: ag.cat(xs) ** 2, *parts, order=2)
    check_gradients(lambda x: ag.stack([x, x * 2], dim=-1), np.ones((2, 3)), order=2)


# ---------------------------------------------------------------- one finite-difference routine
def test_central_difference_and_numerical_jacobian() -> None:
    from autograd_lite.autograd.gradcheck import central_difference, numerical_jacobian

    # (f(x + eps) - f(x - eps)) / (2 eps) in float64, for numbers and arrays
    assert central_difference(lambda step: (2.0 + step) ** 3, 1e-6) == pytest.approx(12.0, rel=1e-9)
    slope = central_difference(lambda step: np.array([1.0, 2.0]) * (1.0 + step) ** 2, 1e-6)
    np.testing.assert_allclose(slope, [2.0, 4.0], rtol=1e-9)
    # columns: d(outputs)/d(each element), the array perturbed in place and restored
    values = np.array([[1.0, 2.0], [3.0, 4.0]])
    jac = numerical_jacobian(lambda: np.concatenate([values.reshape(-1) ** 2, [values.sum()]]), values, 1e-6)
    expected = np.vstack([np.diag(2 * values.reshape(-1)), np.ones((1, 4))])
    np.testing.assert_allclose(jac, expected, rtol=1e-8, atol=1e-8)
    np.testing.assert_array_equal(values, [[1.0, 2.0], [3.0, 4.0]])
    # a subset of the columns, and a transposed (non-contiguous) array
    view = np.arange(1.0, 7.0).reshape(2, 3).T
    jac = numerical_jacobian(lambda: (view**2).sum(), view, 1e-6, indices=[1, 4])
    np.testing.assert_allclose(jac, [[2 * view.reshape(-1)[1], 2 * view.reshape(-1)[4]]], rtol=1e-8)


def test_both_gradient_checkers_use_the_one_central_difference(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """ag.autograd.gradcheck and testing.check_gradients take their finite differences in one place."""
    import sys

    from autograd_lite.testing import gradients

    finite = sys.modules["autograd_lite.autograd.gradcheck"]
    assert gradients.central_difference is finite.central_difference
    assert gradients.numerical_jacobian is finite.numerical_jacobian
    calls: list[str] = []
    original = finite.central_difference

    def counting(evaluate, eps):  # type: ignore[no-untyped-def]
        calls.append("call")
        return original(evaluate, eps)

    monkeypatch.setattr(finite, "central_difference", counting)
    x = ag.tensor([0.3, -1.2, 2.0], dtype=ag.float64, requires_grad=True)
    assert ag.autograd.gradcheck(lambda t: t.sin() * t, (x,))
    assert len(calls) == 3  # one per element of x
    calls.clear()
    assert check_gradients(lambda t: t.sin() * t, x)
    assert len(calls) == 3  # the elementwise check, one per element
    # and a wrong derivative still fails both, through it
    calls.clear()
    with pytest.raises(ag.autograd.GradcheckError):
        ag.autograd.gradcheck(_WrongFirst.apply, (x,))
    with pytest.raises(GradientCheckError):
        check_gradients(_WrongFirst.apply, x)
    assert calls


def test_gradcheck_on_a_float32_input_and_a_non_contiguous_input() -> None:
    # perturbed in place in the input's own array, whatever its dtype and layout
    base = ag.tensor([[0.5, 1.0, 1.5], [2.0, 2.5, 3.0]], dtype=ag.float64)
    x = base.t().detach().requires_grad_()
    assert not x._data.flags.c_contiguous
    assert ag.autograd.gradcheck(lambda t: (t * t).sum(dim=0), (x,))
    np.testing.assert_array_equal(x.detach().numpy(), base.t().numpy())
    x32 = ag.tensor([0.5, 1.0], dtype=ag.float32, requires_grad=True)
    assert ag.autograd.gradcheck(lambda t: t * 3.0, (x32,), eps=1e-3, atol=1e-2)


def test_testing_module_works_without_hypothesis() -> None:
    """Hypothesis is a test extra: importing the package (and check_gradients) must not need it."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "import numpy as np, autograd_lite as ag\n"
        "from autograd_lite.testing import check_gradients, shapes\n"
        "assert check_gradients(ag.tanh, np.array([0.3, -0.2]), order=2)\n"
        "try:\n"
        "    shapes()\n"
        "except ImportError as error:\n"
        "    assert 'pip install' in str(error)\n"
        "else:\n"
        "    raise AssertionError('shapes() without hypothesis should raise ImportError')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_testing_module_docstring_examples() -> None:
    import doctest

    import autograd_lite.testing as testing
    from autograd_lite.testing import gradients, strategies

    for module in (testing, gradients, strategies):
        failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert tried > 0 and failures == 0, module.__name__
