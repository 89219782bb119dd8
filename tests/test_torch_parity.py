"""Values and gradients agree with PyTorch 2.13.0 in float64 (issue 2, point 14).

Two layers:

* every primitive in the registry, on the generated cases of tests/op_domains.py, against
  the PyTorch reference its domain names;
* every public function and Tensor method, called through the SAME expression with
  ``lib = autograd_lite`` and ``lib = torch`` (the APIs share names and arguments).

Gradients are compared as vector-Jacobian products with a random output weighting.
All of it uses the ``torch`` fixture: skipped locally without torch, failing in CI.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from op_domains import DOMAINS

import autograd_lite as ag
import autograd_lite.nn.functional  # noqa: F401  (nn may register more primitives)
from autograd_lite.ops.primitive import REGISTRY, apply

RTOL, ATOL = 1e-10, 1e-12


def to_numpy(t: Any) -> np.ndarray:
    if isinstance(t, ag.Tensor):
        return np.asarray(t.detach()._data)
    return t.detach().numpy()


def compare(ours: Any, theirs: Any, what: str) -> None:
    a, b = to_numpy(ours), to_numpy(theirs)
    assert a.shape == b.shape, f"{what}: shape {a.shape} vs torch's {b.shape}"
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL, err_msg=what)


def compare_vjp(torch: Any, out: Any, t_out: Any, leaves: list, t_leaves: list, what: str) -> None:
    """J^T v of autograd_lite and of torch for one random v."""
    # v in the output's dtype (torch casts a grad_output to it; autograd_lite passes it through)
    v = np.random.default_rng(0).standard_normal(np.shape(out._data)).astype(out.dtype)
    ours = ag.autograd.grad(out, leaves, ag.tensor(v), allow_unused=True) if out.requires_grad else [None] * len(leaves)
    theirs = (torch.autograd.grad(t_out, t_leaves, torch.tensor(v), allow_unused=True)
              if t_out.requires_grad else [None] * len(t_leaves))
    for k, (g, tg) in enumerate(zip(ours, theirs)):
        g = np.zeros(leaves[k].shape) if g is None else to_numpy(g)
        tg = np.zeros(tuple(t_leaves[k].shape)) if tg is None else to_numpy(tg)
        np.testing.assert_allclose(g, tg, rtol=RTOL, atol=ATOL, err_msg=f"{what}: gradient of input {k}")


def test_the_reference_is_torch_2_13_0(torch) -> None:  # type: ignore[no-untyped-def]
    assert torch.__version__.split("+")[0] == "2.13.0", "pyproject pins torch==2.13.0 as the oracle"


# ---------------------------------------------------------------- every primitive
PRIMITIVES = sorted(REGISTRY)


@pytest.mark.parametrize("name", PRIMITIVES)
def test_every_domain_has_a_torch_reference_or_a_reason(name: str) -> None:
    if name not in DOMAINS:
        pytest.fail(f"primitive {name!r} has no test domain in tests/op_domains.py")
    domain = DOMAINS[name]
    assert domain.torch is not None or domain.no_torch.strip(), (
        f"{name}: give a PyTorch reference (torch=...) or say why there is none (no_torch=...)")


@pytest.mark.parametrize("name", [n for n in PRIMITIVES if n in DOMAINS and DOMAINS[n].torch is not None])
# the torch fixture only returns the module, so sharing it between examples is safe
@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_primitive_matches_torch(torch, name: str, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    domain = DOMAINS[name]
    prim = REGISTRY[name]
    case = data.draw(domain.cases, label="case")
    note(f"{name}: input shapes {[np.shape(x) for x in case.inputs]}, attrs {case.attrs}")
    positions = [i for i, x in enumerate(case.inputs)
                 if isinstance(x, np.ndarray) and x.dtype == np.float64 and prim.vjps[i] is not None]
    inputs = [ag.tensor(x, requires_grad=True) if i in positions else x for i, x in enumerate(case.inputs)]
    t_inputs = [
        torch.tensor(x, requires_grad=True) if i in positions
        else torch.from_numpy(x.copy()) if isinstance(x, np.ndarray) else x
        for i, x in enumerate(case.inputs)
    ]
    out = apply(prim, tuple(inputs), case.attrs)
    t_out = domain.torch(torch, *t_inputs, **case.attrs)
    compare(out, t_out, f"{name} forward")
    compare_vjp(torch, out, t_out, [inputs[i] for i in positions], [t_inputs[i] for i in positions],
                f"{name} backward")


# ---------------------------------------------------------------- every public op
def _inputs(spec: str, rng: np.random.Generator) -> np.ndarray:
    """'3x4' -> normal values; '3x4+' -> positive values in [0.5, 2]."""
    positive = spec.endswith("+")
    shape = tuple(int(n) for n in spec.rstrip("+").split("x") if n) if spec.rstrip("+") else ()
    if positive:
        return rng.uniform(0.5, 2.0, shape)
    return rng.standard_normal(shape)


# (id, input specs, expression valid for both libraries: fn(lib, *tensors))
PUBLIC = [
    ("add", ["2x3", "3"], lambda lib, x, y: lib.add(x, y)),
    ("add_alpha", ["2x3", "2x3"], lambda lib, x, y: lib.add(x, y, alpha=2.5)),
    ("sub_alpha", ["2x3", "1"], lambda lib, x, y: lib.sub(x, y, alpha=-0.5)),
    ("rsub", ["2x3"], lambda lib, x: 2.0 - x),
    ("mul", ["4x1", "3"], lambda lib, x, y: lib.mul(x, y)),
    ("div", ["2x3", "3+"], lambda lib, x, y: lib.div(x, y)),
    ("rdiv", ["3+"], lambda lib, x: 1.5 / x),
    ("pow", ["2x3+", "2x3"], lambda lib, x, y: lib.pow(x, y)),
    ("pow_scalar", ["2x3"], lambda lib, x: x ** 3),
    ("rpow", ["2x3"], lambda lib, x: 2.0 ** x),
    ("neg", ["2x3"], lambda lib, x: lib.neg(x)),
    ("exp", ["2x3"], lambda lib, x: lib.exp(x)),
    ("log", ["2x3+"], lambda lib, x: lib.log(x)),
    ("log1p", ["2x3+"], lambda lib, x: lib.log1p(x)),
    ("sqrt", ["2x3+"], lambda lib, x: lib.sqrt(x)),
    ("rsqrt", ["2x3+"], lambda lib, x: lib.rsqrt(x)),
    ("abs", ["2x3"], lambda lib, x: lib.abs(x)),
    ("sign", ["2x3"], lambda lib, x: lib.sign(x)),
    ("square", ["2x3"], lambda lib, x: lib.square(x)),
    ("sin", ["2x3"], lambda lib, x: lib.sin(x)),
    ("cos", ["2x3"], lambda lib, x: lib.cos(x)),
    ("tanh", ["2x3"], lambda lib, x: lib.tanh(x)),
    ("sigmoid", ["2x3"], lambda lib, x: lib.sigmoid(x)),
    ("relu", ["2x3"], lambda lib, x: lib.relu(x)),
    ("softplus_beta", ["2x3"], lambda lib, x: (lib.nn.functional.softplus(x, beta=2.0))),
    ("clamp", ["3x4"], lambda lib, x: lib.clamp(x, -0.5, 0.5)),
    ("clamp_min", ["3x4"], lambda lib, x: x.clamp(min=0.1)),
    ("clamp_tensor", ["3x4", "4"], lambda lib, x, m: lib.clamp(x, min=m)),
    ("maximum", ["3x4", "4"], lambda lib, x, y: lib.maximum(x, y)),
    ("minimum", ["3x4", "3x1"], lambda lib, x, y: lib.minimum(x, y)),
    ("where", ["3x4", "4"], lambda lib, x, y: lib.where(x > 0, x, y)),
    ("where_scalar", ["3x4"], lambda lib, x: lib.where(x > 0, x, 0.0)),
    ("matmul_2d", ["3x4", "4x2"], lambda lib, x, y: lib.matmul(x, y)),
    ("matmul_vec", ["3x4", "4"], lambda lib, x, y: x @ y),
    ("matmul_vecmat", ["4", "2x4x3"], lambda lib, x, y: x @ y),
    ("matmul_dot", ["4", "4"], lambda lib, x, y: x @ y),
    ("matmul_batched", ["2x1x3x4", "5x4x2"], lambda lib, x, y: x @ y),
    ("mm", ["3x4", "4x2"], lambda lib, x, y: lib.mm(x, y)),
    ("outer", ["3", "4"], lambda lib, x, y: lib.outer(x, y)),
    ("einsum", ["2x3x4", "2x4x5"], lambda lib, x, y: lib.einsum("bij,bjk->bik", x, y)),
    ("sum", ["2x3x4"], lambda lib, x: lib.sum(x)),
    ("sum_dims", ["2x3x4"], lambda lib, x: x.sum(dim=(0, -1), keepdim=True)),
    ("mean", ["2x3x4"], lambda lib, x: x.mean(dim=-2)),
    ("mean_tuple", ["2x3x4"], lambda lib, x: lib.mean(x, (0, 2))),
    ("var", ["2x3x4"], lambda lib, x: x.var(dim=1)),
    ("var_correction", ["2x3x4"], lambda lib, x: lib.var(x, dim=(0, 2), correction=0, keepdim=True)),
    ("std", ["2x3x4"], lambda lib, x: x.std()),
    ("std_unbiased", ["5x3"], lambda lib, x: lib.std(x, 0, unbiased=False)),
    ("prod", ["2x3+"], lambda lib, x: x.prod()),
    ("prod_dim", ["2x3"], lambda lib, x: lib.prod(x, 1, keepdim=True)),
    ("amax", ["2x3x4"], lambda lib, x: lib.amax(x, dim=(0, 2))),
    ("amin", ["2x3x4"], lambda lib, x: x.amin(-1, keepdim=True)),
    ("max", ["3x4"], lambda lib, x: x.max()),
    ("min", ["3x4"], lambda lib, x: lib.min(x)),
    ("max_dim_values", ["3x4"], lambda lib, x: x.max(dim=1).values),
    ("max_dim_indices", ["3x4"], lambda lib, x: x.max(dim=1).indices),
    ("min_dim_keepdim", ["3x4"], lambda lib, x: lib.min(x, 0, keepdim=True)[0]),
    ("max_elementwise", ["3x4", "4"], lambda lib, x, y: lib.max(x, y)),
    ("argmax", ["3x4"], lambda lib, x: x.argmax()),
    ("argmax_dim", ["3x4"], lambda lib, x: lib.argmax(x, dim=1, keepdim=True)),
    ("argmin_dim", ["3x4"], lambda lib, x: x.argmin(0)),
    ("logsumexp", ["3x4"], lambda lib, x: lib.logsumexp(x, dim=1)),
    ("logsumexp_tuple", ["2x3x4"], lambda lib, x: x.logsumexp(dim=(0, 2), keepdim=True)),
    ("softmax", ["3x4"], lambda lib, x: lib.softmax(x, dim=1)),
    ("softmax_method", ["3x4"], lambda lib, x: x.softmax(0)),
    ("log_softmax", ["3x4"], lambda lib, x: lib.log_softmax(x, dim=-1)),
    ("cat", ["2x3", "2x2"], lambda lib, x, y: lib.cat([x, y], dim=1)),
    ("stack", ["2x3", "2x3"], lambda lib, x, y: lib.stack([x, y], dim=1)),
    ("split", ["5x3"], lambda lib, x: lib.split(x, 2)[2]),
    ("split_sizes", ["5x3"], lambda lib, x: x.split([1, 2], dim=1)[1]),
    ("chunk", ["6x3"], lambda lib, x: lib.chunk(x, 4)[1]),
    ("unbind", ["3x2"], lambda lib, x: x.unbind(1)[0]),
    ("reshape", ["2x3x4"], lambda lib, x: lib.reshape(x, (4, -1))),
    ("view", ["2x3x4"], lambda lib, x: x.view(6, 4)),
    ("flatten", ["2x3x4"], lambda lib, x: lib.flatten(x, 1)),
    ("squeeze", ["1x3x1"], lambda lib, x: lib.squeeze(x)),
    ("squeeze_dim", ["1x3x1"], lambda lib, x: x.squeeze(-1)),
    ("unsqueeze", ["2x3"], lambda lib, x: lib.unsqueeze(x, 1)),
    ("transpose", ["2x3x4"], lambda lib, x: lib.transpose(x, 0, 2)),
    ("permute", ["2x3x4"], lambda lib, x: lib.permute(x, (2, 0, 1))),
    ("permute_varargs", ["2x3x4"], lambda lib, x: x.permute(1, 2, 0)),
    ("T", ["2x3"], lambda lib, x: x.T),
    ("mT", ["2x3x4"], lambda lib, x: x.mT),
    ("t", ["2x3"], lambda lib, x: x.t()),
    ("broadcast_to", ["3x1"], lambda lib, x: lib.broadcast_to(x, (2, 3, 4))),
    ("expand", ["3x1"], lambda lib, x: x.expand(2, -1, 4)),
    ("index_int_slice", ["3x4x5"], lambda lib, x: x[1, 1:3]),
    ("index_none_ellipsis", ["3x4x5"], lambda lib, x: x[None, ..., 2]),
    ("index_repeated", ["5x2"], lambda lib, x: x[[0, 0, 3, 0]]),
    ("index_tensor", ["4x3"], lambda lib, x: x[lib.tensor([3, 1, 3])]),
    ("index_pair", ["4x3"], lambda lib, x: x[lib.tensor([0, 2, 0]), lib.tensor([1, 1, 1])]),
    ("index_mask", ["4x3"], lambda lib, x: x[x > 0]),
    ("index_mixed", ["4x3x2"], lambda lib, x: x[1:, [0, 2, 2]]),
    ("gather", ["3x4"], lambda lib, x: lib.gather(x, 1, lib.tensor([[0, 0], [3, 1], [2, 2]]))),
    ("gather_smaller", ["3x4"], lambda lib, x: x.gather(0, lib.tensor([[2, 1]]))),
    ("masked_fill", ["3x4"], lambda lib, x: x.masked_fill(x < 0, 0.5)),
    ("tril", ["4x4"], lambda lib, x: lib.tril(x, -1)),
    ("triu", ["3x4"], lambda lib, x: x.triu()),
    ("clone", ["2x3"], lambda lib, x: x.clone() * 2),
    ("detach", ["2x3"], lambda lib, x: x * x.detach()),
    ("to_float32", ["2x3"], lambda lib, x: x.float().double()),
    ("type_as", ["2x3", "3"], lambda lib, x, y: x.type_as(y) * y),
    ("setitem", ["3x4", "4"], lambda lib, x, y: _setitem(x * 1, y)),
    ("inplace_chain", ["3x4", "4"], lambda lib, x, y: (x * 1).mul_(y).add_(y, alpha=2).clamp_(-1, 1)),
    ("iadd", ["3x4", "4"], lambda lib, x, y: _iadd(x * 2, y)),
]


def _setitem(x: Any, y: Any) -> Any:
    x[1] = y
    x[0, 1:3] = 0.0
    return x


def _iadd(x: Any, y: Any) -> Any:
    x += y
    x *= y
    return x


@pytest.mark.parametrize("specs, expression", [(p[1], p[2]) for p in PUBLIC], ids=[p[0] for p in PUBLIC])
def test_public_op_matches_torch(torch, specs: list[str], expression) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(len(specs) * 1000 + sum(map(len, specs)))
    arrays = [_inputs(spec, rng) for spec in specs]
    ours_in = [ag.tensor(a, requires_grad=True) for a in arrays]
    theirs_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = expression(ag, *ours_in)
    t_out = expression(torch, *theirs_in)
    assert str(out.dtype) == str(t_out.dtype).replace("torch.", ""), (out.dtype, t_out.dtype)
    compare(out, t_out, "forward")
    if t_out.dtype.is_floating_point:
        compare_vjp(torch, out, t_out, ours_in, theirs_in, "backward")
    else:
        assert not out.requires_grad


# ---------------------------------------------------------------- dtypes
DTYPE_CASES = [
    ("float_literal", lambda lib: lib.tensor(1.5)),
    ("int_literal", lambda lib: lib.tensor([1, 2])),
    ("bool_literal", lambda lib: lib.tensor([True])),
    ("f32_plus_float", lambda lib: lib.ones(2) + 1.5),
    ("float_times_f32", lambda lib: 2.5 * lib.ones(2)),
    ("f32_pow_float", lambda lib: lib.ones(2) ** 2.0),
    ("f32_plus_f64", lambda lib: lib.ones(2) + lib.ones(2, dtype=lib.float64)),
    ("int_plus_float", lambda lib: lib.arange(3) + 0.5),
    ("int_div_int", lambda lib: lib.arange(3) / 2),
    ("int_div_int_tensor", lambda lib: lib.arange(3) / lib.arange(1, 4)),
    ("int_times_int", lambda lib: lib.arange(3) * 2),
    ("int_sum", lambda lib: lib.arange(3).sum()),
    ("comparison", lambda lib: lib.ones(2) > 0.5),
    ("argmax", lambda lib: lib.ones(2, 2).argmax(dim=0)),
    ("max_indices", lambda lib: lib.ones(2, 2).max(dim=0).indices),
    ("arange_float", lambda lib: lib.arange(0.0, 1.0, 0.5)),
    ("full_int", lambda lib: lib.full((2,), 3)),
    ("zeros_like_int", lambda lib: lib.zeros_like(lib.arange(2))),
    ("f64_mean", lambda lib: lib.ones(2, dtype=lib.float64).mean()),
    ("where_scalar", lambda lib: lib.where(lib.ones(2) > 0, lib.ones(2), 0.0)),
    ("cat_mixed", lambda lib: lib.cat([lib.ones(2), lib.ones(2, dtype=lib.float64)])),
]


@pytest.mark.parametrize("expression", [c[1] for c in DTYPE_CASES], ids=[c[0] for c in DTYPE_CASES])
def test_result_dtypes_match_torch(torch, expression) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = expression(ag), expression(torch)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")


def test_zero_dim_tensors_do_not_promote_dimensioned_ones(torch) -> None:  # type: ignore[no-untyped-def]
    expression = lambda lib: lib.ones(2) + lib.tensor(1.5, dtype=lib.float64)  # noqa: E731
    assert str(expression(ag).dtype) == str(expression(torch).dtype).replace("torch.", "")


# ---------------------------------------------------------------- softplus's beta and threshold
SOFTPLUS_POINTS = [-40.0, -12.0, -2.5, -0.5, 0.0, 0.1, 0.5, 0.9, 1.0, 1.5, 2.4, 2.5, 2.6, 5.0, 10.0, 19.9, 20.0,
                   20.1, 25.0, 60.0, 800.0]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("beta, threshold", [(1.0, 20.0), (2.0, 20.0), (0.5, 20.0), (1.0, 5.0), (2.0, 5.0),
                                             (3.0, 1.0), (0.25, 0.5), (1.0, 0.0), (-1.0, 5.0)])
def test_softplus_beta_and_threshold_match_torch(torch, beta, threshold, dtype) -> None:  # type: ignore[no-untyped-def]
    """ag.softplus, nn.functional.softplus, nn.Softplus and Tensor.softplus: one function, PyTorch's.

    Where beta * x > threshold the result is x itself and its derivative exactly 1; the
    points include ones where beta * x equals the threshold (the smooth branch, as PyTorch).
    """
    x = np.array(SOFTPLUS_POINTS, dtype=dtype)
    t_x = torch.tensor(x, requires_grad=True)
    t_out = torch.nn.functional.softplus(t_x, beta=beta, threshold=threshold)
    tol = {"rtol": 1e-12, "atol": 1e-300} if dtype == "float64" else {"rtol": 2e-6, "atol": 1e-37}
    calls = {
        "ag.softplus": lambda t: ag.softplus(t, beta=beta, threshold=threshold),
        "F.softplus": lambda t: ag.nn.functional.softplus(t, beta, threshold),
        "nn.Softplus": lambda t: ag.nn.Softplus(beta=beta, threshold=threshold)(t),
        "Tensor.softplus": lambda t: t.softplus(beta, threshold),
    }
    v = np.random.default_rng(0).standard_normal(x.shape).astype(dtype)
    (t_grad,) = torch.autograd.grad(t_out, t_x, torch.tensor(v))
    for what, call in calls.items():
        leaf = ag.tensor(x, requires_grad=True)
        out = call(leaf)
        assert str(out.dtype) == dtype, what
        np.testing.assert_allclose(to_numpy(out), to_numpy(t_out), err_msg=what, **tol)
        (grad,) = ag.autograd.grad(out, leaf, ag.tensor(v))
        np.testing.assert_allclose(to_numpy(grad), to_numpy(t_grad), err_msg=f"{what}: gradient", **tol)
    above = beta * x > threshold
    assert np.array_equal(to_numpy(ag.softplus(ag.tensor(x), beta, threshold))[above], x[above])


def test_softplus_second_derivative_matches_torch(torch) -> None:  # type: ignore[no-untyped-def]
    x = np.array([-3.0, -0.5, 0.0, 0.7, 2.4, 2.6, 9.0])
    leaf, t_leaf = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (g,) = ag.autograd.grad(ag.softplus(leaf, beta=2.0, threshold=5.0).sum(), leaf, create_graph=True)
    (t_g,) = torch.autograd.grad(torch.nn.functional.softplus(t_leaf, beta=2.0, threshold=5.0).sum(), t_leaf,
                                 create_graph=True)
    (gg,) = ag.autograd.grad(g.sum(), leaf)
    (t_gg,) = torch.autograd.grad(t_g.sum(), t_leaf)
    compare(g, t_g, "first derivative")
    compare(gg, t_gg, "second derivative")
