"""Forward semantics of the top-level functions and Tensor methods (issue 2, points 4 and 5).

NumPy is the independent oracle for values; PyTorch's semantics (checked against torch
itself in test_torch_parity.py) decide shapes, dtypes and return types.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd_lite as ag
from autograd_lite.testing import arrays, broadcastable_shapes, matmul_shapes, shapes


def close(t: ag.Tensor, expected: object, rtol: float = 1e-6, atol: float = 1e-7) -> None:
    np.testing.assert_allclose(np.asarray(t._data), np.asarray(expected), rtol=rtol, atol=atol)


def sigmoid_np(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


# ---------------------------------------------------------------- elementwise
UNARY = [
    ("exp", np.exp, None),
    ("log", np.log, "positive"),
    ("sqrt", np.sqrt, "positive"),
    ("rsqrt", lambda x: 1 / np.sqrt(x), "positive"),
    ("abs", np.abs, None),
    ("neg", np.negative, None),
    ("sign", np.sign, None),
    ("square", np.square, None),
    ("sin", np.sin, None),
    ("cos", np.cos, None),
    ("tanh", np.tanh, None),
    ("sigmoid", sigmoid_np, None),
    ("relu", lambda x: np.maximum(x, 0), None),
    ("softplus", lambda x: np.log1p(np.exp(x)), None),
    ("log1p", np.log1p, "positive"),
]


@pytest.mark.parametrize("name, reference, domain", UNARY, ids=[u[0] for u in UNARY])
@given(data=st.data())
def test_unary_function_and_method_agree_with_numpy(name: str, reference, domain, data) -> None:  # type: ignore[no-untyped-def]
    low = 0.1 if domain == "positive" else -3.0
    x = data.draw(arrays(shapes(), dtype=np.float64, min_value=low, max_value=3.0))
    t = ag.tensor(x)
    by_function = getattr(ag, name)(t)
    by_method = getattr(t, name)()
    assert by_function.shape == x.shape and by_function.dtype == ag.float64
    close(by_function, reference(x), rtol=1e-12, atol=1e-12)
    close(by_method, reference(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["exp", "sqrt", "tanh", "sigmoid", "relu", "softplus", "abs"])
def test_unary_ops_keep_float32(name: str) -> None:
    assert getattr(ag, name)(ag.tensor([0.5, 2.0])).dtype == ag.float32


BINARY = [
    ("add", np.add, "+"), ("sub", np.subtract, "-"), ("mul", np.multiply, "*"),
    ("div", np.true_divide, "/"), ("pow", np.power, "**"), ("maximum", np.maximum, None),
    ("minimum", np.minimum, None),
]


@pytest.mark.parametrize("name, reference, operator", BINARY, ids=[b[0] for b in BINARY])
@given(data=st.data())
def test_binary_ops_broadcast_like_numpy(name: str, reference, operator, data) -> None:  # type: ignore[no-untyped-def]
    shape_x, shape_y = data.draw(broadcastable_shapes(2)).input_shapes
    low = 0.5 if name in ("div", "pow") else -3.0
    x = data.draw(arrays(shape_x, min_value=low, max_value=3.0))
    y = data.draw(arrays(shape_y, min_value=low, max_value=3.0))
    expected = reference(x, y)
    tx, ty = ag.tensor(x), ag.tensor(y)
    results = [getattr(ag, name)(tx, ty), getattr(tx, name)(ty)]
    if operator is not None:
        results.append(eval(f"tx {operator} ty"))
        results.append(eval(f"tx {operator} y"))  # a NumPy array on the right
        results.append(eval(f"x {operator} ty"))  # ... and on the left (reflected)
    for result in results:
        assert isinstance(result, ag.Tensor)
        assert result.shape == expected.shape
        close(result, expected, rtol=1e-12, atol=1e-12)


def test_reflected_operators_with_python_numbers() -> None:
    t = ag.tensor([1.0, 2.0, 4.0])
    close(2 + t, [3, 4, 6])
    close(2 - t, [1, 0, -2])
    close(2 * t, [2, 4, 8])
    close(2 / t, [2, 1, 0.5])
    close(2 ** t, [2, 4, 16])
    close(-t, [-1, -2, -4])
    close(+t, [1, 2, 4])
    close(abs(ag.tensor([-1.5, 2.0])), [1.5, 2.0])
    close(t ** 2, [1, 4, 16])
    close(ag.pow(2.0, t), [2, 4, 16])
    close(ag.add(t, t, alpha=2), [3, 6, 12])
    close(ag.sub(t, 1.0, alpha=3), [-2, -1, 1])


def test_division_rounding_modes() -> None:
    t = ag.tensor([-7.0, 7.0])
    close(ag.div(t, 2), [-3.5, 3.5])
    close(ag.div(t, 2, rounding_mode="trunc"), [-3, 3])
    close(ag.div(t, 2, rounding_mode="floor"), [-4, 3])
    with pytest.raises(ValueError, match="rounding_mode"):
        ag.div(t, 2, rounding_mode="round")


def test_clamp_forms() -> None:
    t = ag.tensor([-2.0, 0.0, 2.0])
    close(ag.clamp(t, -1, 1), [-1, 0, 1])
    close(t.clamp(min=0.5), [0.5, 0.5, 2])
    close(t.clamp(max=-1.0), [-2, -1, -1])
    close(t.clip(-1, 1), [-1, 0, 1])
    close(ag.clamp(t, min=ag.tensor(-1.0), max=ag.tensor([1.0, 1.0, 1.5])), [-1, 0, 1.5])
    with pytest.raises(ValueError, match="clamp: at least one of min and max"):
        ag.clamp(t)


def test_where() -> None:
    cond = ag.tensor([True, False, True])
    x, y = ag.tensor([1.0, 2.0, 3.0]), ag.tensor([10.0, 20.0, 30.0])
    close(ag.where(cond, x, y), [1, 20, 3])
    close(ag.where(np.array([False, True, False]), x, 0.0), [0, 2, 0])
    close(ag.where(cond, 1.0, y), [1, 20, 1])
    close(x.where(cond, y), [1, 20, 3])
    close(ag.where(ag.tensor([[True], [False]]), x, y), [[1, 2, 3], [10, 20, 30]])  # broadcasts
    assert ag.where(cond, 1.0, y).dtype == ag.float32


# ---------------------------------------------------------------- comparisons
COMPARISONS = [("eq", np.equal, "=="), ("ne", np.not_equal, "!="), ("lt", np.less, "<"),
               ("le", np.less_equal, "<="), ("gt", np.greater, ">"), ("ge", np.greater_equal, ">=")]


@pytest.mark.parametrize("name, reference, operator", COMPARISONS, ids=[c[0] for c in COMPARISONS])
def test_comparisons_give_bool_tensors_without_grad(name: str, reference, operator) -> None:  # type: ignore[no-untyped-def]
    x = ag.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    y = ag.tensor([[2.0], [1.0]], requires_grad=True)
    expected = reference(np.array([[1.0, 2.0, 3.0]]), np.array([[2.0], [1.0]]))
    for result in (getattr(ag, name)(x, y), getattr(x, name)(y), eval(f"x {operator} y"),
                    eval(f"x {operator} 2.0")):
        assert result.dtype == ag.bool
        assert not result.requires_grad and result.grad_fn is None
    np.testing.assert_array_equal(getattr(ag, name)(x, y).numpy(), expected)


def test_logical_helpers() -> None:
    t = ag.tensor([[1.0, float("nan")], [float("inf"), 0.0]])
    np.testing.assert_array_equal(ag.isnan(t).numpy(), [[False, True], [False, False]])
    np.testing.assert_array_equal(ag.isinf(t).numpy(), [[False, False], [True, False]])
    np.testing.assert_array_equal(ag.isfinite(t).numpy(), [[True, False], [False, True]])
    mask = ag.tensor([True, False])
    np.testing.assert_array_equal((mask & ~mask).numpy(), [False, False])
    np.testing.assert_array_equal((mask | ~mask).numpy(), [True, True])
    assert ag.any(mask).item() is True and ag.all(mask).item() is False
    np.testing.assert_array_equal(ag.tensor([[True, False], [True, True]]).all(dim=1).numpy(), [False, True])
    assert ag.equal(ag.tensor([1.0, 2.0]), ag.tensor([1.0, 2.0]))
    assert not ag.equal(ag.tensor([1.0, 2.0]), ag.tensor([1.0, 2.5]))
    assert ag.allclose(ag.tensor([1.0]), ag.tensor([1.0 + 1e-7]))


# ---------------------------------------------------------------- reductions
@st.composite
def reduction_case(draw):  # type: ignore[no-untyped-def]
    """A shape and a dim argument: None, an int, a tuple; negative dims included."""
    shape = draw(shapes(min_dims=1))
    ndim = len(shape)
    dims = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    as_given = tuple(d - ndim if draw(st.booleans()) else d for d in dims)  # some negative
    dim = draw(st.sampled_from([None, as_given[0], as_given]))
    return shape, dim, draw(st.booleans())


REDUCTIONS = [
    ("sum", lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims)),
    ("mean", lambda x, axis, keepdims: np.mean(x, axis=axis, keepdims=keepdims)),
    ("prod", lambda x, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims)),
    ("amax", lambda x, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims)),
    ("amin", lambda x, axis, keepdims: np.min(x, axis=axis, keepdims=keepdims)),
    ("var", lambda x, axis, keepdims: np.var(x, axis=axis, keepdims=keepdims, ddof=1)),
    ("std", lambda x, axis, keepdims: np.std(x, axis=axis, keepdims=keepdims, ddof=1)),
    ("logsumexp", lambda x, axis, keepdims: np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))),
]


@pytest.mark.parametrize("name, reference", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
@given(data=st.data())
def test_reductions_over_dims(name: str, reference, data) -> None:  # type: ignore[no-untyped-def]
    shape, dim, keepdim = data.draw(reduction_case())
    x = data.draw(arrays(shape, min_value=0.5, max_value=1.5))
    if name in ("var", "std") and int(np.prod([shape[d] for d in np.atleast_1d(dim)] if dim is not None
                                             else shape)) < 2:
        return  # Bessel's correction needs two elements (the n=1 case is tested on its own)
    if name == "logsumexp" and dim is None:
        dim = tuple(range(len(shape)))  # logsumexp needs dims, like torch
    expected = reference(x, dim, keepdim)
    t = ag.tensor(x)
    results = [getattr(ag, name)(t, dim, keepdim=keepdim), getattr(t, name)(dim=dim, keepdim=keepdim)]
    if name != "logsumexp":
        results.append(getattr(t, name)(axis=dim, keepdims=keepdim))  # NumPy's spellings
    for result in results:
        assert result.shape == np.shape(expected), (result.shape, np.shape(expected))
        close(result, expected, rtol=1e-10, atol=1e-12)


def test_reductions_of_a_zero_dim_tensor_accept_dim_0_and_minus_1() -> None:
    t = ag.tensor(3.0)
    for name in ("sum", "mean", "prod", "amax", "amin", "logsumexp"):
        for dim in (0, -1):
            result = getattr(t, name)(dim)
            assert result.shape == () and result.item() == pytest.approx(3.0), name
    assert t.sum(0, keepdim=True).shape == ()
    values, indices = t.max(0)
    assert values.item() == 3.0 and indices.item() == 0
    assert t.argmax(0).item() == 0
    assert ag.log_softmax(t, 0).item() == 0.0
    with pytest.raises(IndexError, match="sum: dimension 1 is out of range"):
        t.sum(1)


def test_var_std_corrections() -> None:
    x = np.array([[1.0, 2.0, 4.0], [3.0, 5.0, 9.0]])
    t = ag.tensor(x, dtype=ag.float64)
    close(t.var(), np.var(x, ddof=1), rtol=1e-12)
    close(t.var(unbiased=False), np.var(x), rtol=1e-12)
    close(t.var(correction=0), np.var(x), rtol=1e-12)
    close(t.std(dim=1, correction=2), np.std(x, axis=1, ddof=2), rtol=1e-12)
    close(t.std(1, keepdim=True), np.std(x, axis=1, ddof=1, keepdims=True), rtol=1e-12)


def test_var_of_one_element_is_nan_without_warnings() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(ag.tensor([2.0]).var().item())
        assert np.isnan(ag.tensor([2.0]).std().item())
        assert ag.tensor([2.0]).var(correction=0).item() == 0.0


def test_reduction_dim_errors() -> None:
    t = ag.ones(2, 3)
    with pytest.raises(IndexError, match=r"sum: dimension 2 is out of range for a tensor of 2 dimensions"):
        t.sum(2)
    with pytest.raises(IndexError, match=r"mean: dimension -3 is out of range"):
        t.mean(-3)
    with pytest.raises(RuntimeError, match="sum: dim 0 appears multiple times"):
        t.sum((0, -2))
    with pytest.raises(RuntimeError, match="mean: .*floating point"):
        ag.arange(3).mean()


def test_integer_sum_and_prod_stay_integers() -> None:
    t = ag.tensor([[1, 2], [3, 4]])
    assert t.sum().dtype == ag.int64 and t.sum().item() == 10
    assert t.prod(dim=0).tolist() == [3, 8]
    assert t.sum(dtype=ag.float64).dtype == ag.float64


def test_max_min_with_dim_return_values_and_indices() -> None:
    x = np.array([[1.0, 5.0, 3.0], [7.0, 2.0, 7.5]])
    t = ag.tensor(x)
    result = t.max(dim=1)
    values, indices = result  # a tuple ...
    assert result.values is values and result.indices is indices  # ... with named fields
    close(values, [5.0, 7.5])
    assert indices.dtype == ag.int64 and indices.tolist() == [1, 2]
    values, indices = ag.min(t, 0, keepdim=True)
    close(values, [[1.0, 2.0, 3.0]])
    assert values.shape == (1, 3) and indices.tolist() == [[0, 1, 0]]
    values, indices = t.max(-1, keepdim=True)
    assert values.shape == (2, 1) and indices.tolist() == [[1], [2]]
    # without dim: the overall extremum; with a tensor: elementwise
    assert t.max().item() == 7.5 and t.min().item() == 1.0 and t.max().shape == ()
    close(ag.max(t, ag.tensor(4.0)), np.maximum(x, 4.0))
    close(t.min(ag.tensor([[2.0], [3.0]])), np.minimum(x, [[2.0], [3.0]]))


def test_argmax_argmin() -> None:
    t = ag.tensor([[1.0, 5.0, 3.0], [7.0, 2.0, 7.5]])
    assert t.argmax().item() == 5 and t.argmin().item() == 0
    assert t.argmax(dim=1).tolist() == [1, 2] and t.argmin(0).tolist() == [0, 1, 0]
    assert t.argmax(1, keepdim=True).shape == (2, 1)
    assert t.argmax().dtype == ag.int64


def test_softmax_and_log_softmax() -> None:
    x = np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 10.0]])
    t = ag.tensor(x, dtype=ag.float64)
    expected = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    close(ag.softmax(t, dim=1), expected, rtol=1e-12)
    close(t.softmax(-1), expected, rtol=1e-12)
    close(ag.log_softmax(t, 1), np.log(expected), rtol=1e-12)
    close(t.log_softmax(dim=0), x - np.log(np.exp(x).sum(axis=0, keepdims=True)), rtol=1e-12)
    close(ag.softmax(t, 0).sum(0), [1, 1, 1], rtol=1e-12)
    assert ag.softmax(ag.tensor([1.0, 2.0]), 0, dtype=ag.float64).dtype == ag.float64


# ---------------------------------------------------------------- matmul
@given(data=st.data())
def test_matmul_1d_2d_batched_like_numpy(data) -> None:  # type: ignore[no-untyped-def]
    shapes_ = data.draw(matmul_shapes(max_dims=3))
    x = data.draw(arrays(shapes_.input_shapes[0]))
    y = data.draw(arrays(shapes_.input_shapes[1]))
    expected = np.matmul(x, y)
    for result in (ag.matmul(ag.tensor(x), ag.tensor(y)), ag.tensor(x) @ ag.tensor(y), ag.tensor(x) @ y,
                   x @ ag.tensor(y), ag.tensor(x).matmul(ag.tensor(y))):
        assert result.shape == shapes_.result_shape
        close(result, expected, rtol=1e-12, atol=1e-12)


def test_matmul_shapes_by_hand() -> None:
    assert (ag.ones(3) @ ag.ones(3)).shape == ()
    assert (ag.ones(2, 3) @ ag.ones(3)).shape == (2,)
    assert (ag.ones(3) @ ag.ones(3, 4)).shape == (4,)
    assert (ag.ones(2, 1, 3, 4) @ ag.ones(5, 4, 2)).shape == (2, 5, 3, 2)
    assert ag.mm(ag.ones(2, 3), ag.ones(3, 4)).shape == (2, 4)
    assert ag.dot(ag.tensor([1.0, 2.0]), ag.tensor([3.0, 4.0])).item() == 11.0
    close(ag.outer(ag.tensor([1.0, 2.0]), ag.tensor([1.0, 10.0, 100.0])), [[1, 10, 100], [2, 20, 200]])


def test_matmul_errors_name_the_shapes() -> None:
    with pytest.raises(RuntimeError, match=r"matmul: shapes \(3, 2\) and \(3,\) cannot be multiplied"):
        ag.ones(3, 2) @ ag.ones(3)
    with pytest.raises(RuntimeError, match=r"matmul: shapes \(2, 3\) and \(2, 3\)"):
        ag.ones(2, 3) @ ag.ones(2, 3)
    with pytest.raises(RuntimeError, match="matmul: both arguments need at least 1 dimension"):
        ag.tensor(2.0) @ ag.ones(2)


def test_einsum() -> None:
    a, b = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)
    close(ag.einsum("ij,jk->ik", ag.tensor(a), ag.tensor(b)), a @ b)
    close(ag.einsum("ij,jk", ag.tensor(a), ag.tensor(b)), a @ b)  # implicit output
    close(ag.einsum("ij->j", ag.tensor(a)), a.sum(0))
    close(ag.einsum("bi,bi->b", [ag.tensor(a), ag.tensor(a)]), (a * a).sum(1))


# ---------------------------------------------------------------- shapes
def test_reshape_view_flatten() -> None:
    x = np.arange(24.0).reshape(2, 3, 4)
    t = ag.tensor(x)
    assert t.reshape(6, 4).shape == (6, 4) and t.reshape((4, -1)).shape == (4, 6)
    assert ag.reshape(t, (-1,)).shape == (24,) and t.view(2, 12).shape == (2, 12)
    close(t.reshape(4, 6), x.reshape(4, 6))
    assert t.flatten().shape == (24,) and t.flatten(1).shape == (2, 12)
    assert ag.flatten(t, 0, 1).shape == (6, 4) and t.flatten(-2, -1).shape == (2, 12)
    assert ag.tensor(1.0).flatten().shape == (1,)
    assert t.view_as(ag.ones(4, 6)).shape == (4, 6)
    assert t.unflatten(2, (2, 2)).shape == (2, 3, 2, 2)
    with pytest.raises(RuntimeError, match=r"reshape: shape \[5, -1\] is invalid for input of size 24"):
        t.reshape(5, -1)
    with pytest.raises(RuntimeError, match=r"reshape: shape \[-1, -1\] is invalid"):
        t.reshape(-1, -1)


def test_squeeze_unsqueeze() -> None:
    t = ag.ones(1, 2, 1, 3)
    assert t.squeeze().shape == (2, 3)
    assert t.squeeze(0).shape == (2, 1, 3) and t.squeeze(-2).shape == (1, 2, 3)
    assert t.squeeze(1).shape == (1, 2, 1, 3)  # not of size 1: unchanged, as in PyTorch
    assert t.squeeze((0, 2)).shape == (2, 3)
    assert ag.ones(2).unsqueeze(0).shape == (1, 2) and ag.unsqueeze(ag.ones(2), -1).shape == (2, 1)
    with pytest.raises(IndexError, match="unsqueeze: dimension 3 is out of range"):
        ag.ones(2).unsqueeze(3)


def test_transpose_permute_t() -> None:
    x = np.arange(24.0).reshape(2, 3, 4)
    t = ag.tensor(x)
    close(t.transpose(0, 2), x.transpose(2, 1, 0))
    close(ag.transpose(t, -1, 1), np.swapaxes(x, -1, 1))
    close(t.permute(2, 0, 1), x.transpose(2, 0, 1))
    close(ag.permute(t, (1, 2, 0)), x.transpose(1, 2, 0))
    close(t.T, x.T)
    close(t.mT, np.swapaxes(x, -1, -2))
    close(ag.tensor(x[0]).t(), x[0].T)
    assert ag.ones(3).t().shape == (3,)
    with pytest.raises(RuntimeError, match=r"permute: dims \[0, 0, 1\] are not a permutation"):
        t.permute(0, 0, 1)
    with pytest.raises(RuntimeError, match="t: expects a tensor with <= 2 dimensions"):
        t.t()


def test_broadcast_to_and_expand() -> None:
    t = ag.tensor([[1.0], [2.0], [3.0]])
    close(ag.broadcast_to(t, (2, 3, 4)), np.broadcast_to([[1.0], [2.0], [3.0]], (2, 3, 4)))
    assert t.expand(3, 4).shape == (3, 4) and t.expand(2, -1, 5).shape == (2, 3, 5)
    assert t.expand_as(ag.ones(3, 2)).shape == (3, 2)
    with pytest.raises(RuntimeError, match=r"cannot be expanded to \(4, 4\)"):
        t.expand(4, 4)


def test_cat_stack_split_chunk() -> None:
    a, b = np.arange(6.0).reshape(2, 3), np.arange(6.0, 12.0).reshape(2, 3)
    ta, tb = ag.tensor(a), ag.tensor(b)
    close(ag.cat([ta, tb]), np.concatenate([a, b]))
    close(ag.cat((ta, tb), dim=-1), np.concatenate([a, b], axis=-1))
    close(ag.stack([ta, tb]), np.stack([a, b]))
    close(ag.stack([ta, tb], dim=2), np.stack([a, b], axis=2))
    assert ag.cat([ag.ones(2), ag.ones(2, dtype=ag.float64)]).dtype == ag.float64
    pieces = ag.arange(7).split(3)
    assert [p.tolist() for p in pieces] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [p.shape for p in ag.split(ta, [1, 2], dim=1)] == [(2, 1), (2, 2)]
    assert [p.tolist() for p in ag.arange(6).chunk(4)] == [[0, 1], [2, 3], [4, 5]]
    assert [p.shape for p in ta.chunk(2, dim=1)] == [(2, 2), (2, 1)]
    assert [p.tolist() for p in ta.unbind(1)] == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
    with pytest.raises(RuntimeError, match=r"cat: sizes of tensors must match except in dimension 0"):
        ag.cat([ag.ones(2, 3), ag.ones(2, 4)])
    with pytest.raises(RuntimeError, match="stack: expects each tensor to be of equal size"):
        ag.stack([ag.ones(2), ag.ones(3)])
    with pytest.raises(RuntimeError, match=r"split: split_sizes \[2, 2\] do not add up to the size 5"):
        ag.ones(5).split([2, 2])
    with pytest.raises(RuntimeError, match="cat: expected a non-empty list"):
        ag.cat([])


def test_gather_masked_fill_tril_triu() -> None:
    x = np.arange(12.0).reshape(3, 4)
    t = ag.tensor(x)
    index = np.array([[0, 3], [1, 1], [2, 0]])
    close(t.gather(1, ag.tensor(index)), np.take_along_axis(x, index, 1))
    # like torch.gather, the index may be smaller than the input in the other dims
    close(ag.gather(t, 1, ag.tensor([[0, 1], [2, 3]])), [[0, 1], [6, 7]])
    with pytest.raises(IndexError, match=r"gather: index values must be in \[-4, 3\]"):
        t.gather(1, ag.tensor([[4]]))
    with pytest.raises(RuntimeError, match="gather: index must be an integer tensor"):
        t.gather(1, ag.tensor([[0.0]]))
    close(t.masked_fill(t > 5, -1.0), np.where(x > 5, -1.0, x))
    close(t.tril(), np.tril(x))
    close(ag.triu(t, 1), np.triu(x, 1))


def test_shape_errors_for_dims() -> None:
    with pytest.raises(IndexError, match=r"transpose: dimension 2 is out of range"):
        ag.ones(2, 3).transpose(0, 2)
    with pytest.raises(IndexError, match=r"cat: dimension 1 is out of range"):
        ag.cat([ag.ones(2), ag.ones(2)], dim=1)


# ---------------------------------------------------------------- indexing
INDEX_CASES = [
    (1,), (-1,), (slice(1, 3),), (slice(None, None, 2),), (slice(None, None, -1),), (None,), (Ellipsis,),
    (1, 2), (slice(None), 0), (Ellipsis, 1), (None, Ellipsis, slice(0, 2)), (0, None, slice(1, None)),
    ([0, 2, 0],), (np.array([2, 0]),), ((np.array([0, 1]), np.array([2, 2])),),
    (slice(1, 3), [0, 0, 3]), (np.array([[0, 1], [2, 0]]),), (Ellipsis, [1, 1]),
]


@pytest.mark.parametrize("key", [c[0] if len(c) == 1 else c for c in INDEX_CASES], ids=repr)
def test_indexing_like_numpy(key) -> None:  # type: ignore[no-untyped-def]
    x = np.arange(3.0 * 4.0 * 5.0).reshape(3, 4, 5)
    expected = x[key if not isinstance(key, list) else np.asarray(key)]
    result = ag.tensor(x)[key]
    assert result.shape == expected.shape
    close(result, expected)


def test_indexing_with_tensors_and_masks() -> None:
    x = np.arange(12.0).reshape(3, 4)
    t = ag.tensor(x)
    close(t[ag.tensor([2, 0, 2])], x[[2, 0, 2]])
    close(t[ag.tensor([0, 1]), ag.tensor([3, 3])], x[[0, 1], [3, 3]])
    close(t[t > 6], x[x > 6])
    close(t[np.array([True, False, True])], x[[0, 2]])
    close(t[ag.tensor([True, False, True]), 1:], x[[0, 2], 1:])
    with pytest.raises(IndexError, match="tensors used as indices must be long, int or bool tensors"):
        t[ag.tensor([0.0])]
    with pytest.raises(IndexError, match=r"index 5 is invalid for a tensor of shape \(3, 4\)"):
        t[5]


def test_repeated_indices_accumulate_in_backward() -> None:
    w = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (w[[0, 0, 2, 0]] * ag.tensor([1.0, 10.0, 100.0, 1000.0])).sum().backward()
    assert w.grad.tolist() == [1011.0, 0.0, 100.0]
    m = ag.zeros(2, 3, requires_grad=True)
    m[ag.tensor([1, 1]), ag.tensor([2, 2])].sum().backward()
    assert m.grad.tolist() == [[0, 0, 0], [0, 0, 2]]
    b = ag.tensor([1.0, -2.0, 3.0], requires_grad=True)
    b[b > 0].sum().backward()
    assert b.grad.tolist() == [1.0, 0.0, 1.0]


def test_basic_indexing_is_a_view() -> None:
    t = ag.ones(2, 3)
    row = t[0]
    t.zero_()
    assert row.tolist() == [0.0, 0.0, 0.0]
    row.fill_(5.0)
    assert t.tolist() == [[5.0, 5.0, 5.0], [0.0, 0.0, 0.0]]


def test_setitem() -> None:
    t = ag.zeros(2, 3)
    t[0] = 1.0
    t[1, 1:] = ag.tensor([2.0, 3.0])
    t[:, 0] += 10.0
    assert t.tolist() == [[11.0, 1.0, 1.0], [10.0, 2.0, 3.0]]
    t[t > 5] = 0.0
    assert t.tolist() == [[0.0, 1.0, 1.0], [0.0, 2.0, 3.0]]
    # recorded when gradients flow: the overwritten elements get no gradient
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    v = ag.tensor(5.0, requires_grad=True)
    y = x * 2
    y[1] = v
    (y * ag.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert x.grad.tolist() == [2.0, 0.0, 200.0] and v.grad.item() == 10.0
    with pytest.raises(IndexError, match=r"__setitem__: cannot assign a value of shape \(2,\)"):
        ag.zeros(3)[:] = np.ones(2)


# ---------------------------------------------------------------- dtypes (issue 2, point 5)
def test_default_dtypes_of_python_data() -> None:
    assert ag.tensor(1.5).dtype == ag.float32 == np.dtype("float32")
    assert ag.tensor([1, 2]).dtype == ag.int64
    assert ag.tensor([True, False]).dtype == ag.bool
    assert ag.tensor([1, 2.5]).dtype == ag.float32
    assert ag.get_default_dtype() == ag.float32
    assert (ag.float, ag.double, ag.long) == (ag.float32, ag.float64, ag.int64)
    for factory in (ag.zeros(2), ag.ones(2), ag.empty(2), ag.rand(2), ag.randn(2), ag.full((2,), 1.5),
                    ag.linspace(0, 1, 3), ag.eye(2), ag.arange(0.0, 1.0, 0.5)):
        assert factory.dtype == ag.float32
    assert ag.arange(3).dtype == ag.int64 and ag.randint(0, 3, (2,)).dtype == ag.int64
    assert ag.full((2,), 7).dtype == ag.int64


def test_numpy_arrays_keep_their_dtype() -> None:
    for dtype in (np.float64, np.float32, np.int32, np.int64, np.bool_):
        array = np.zeros(3, dtype=dtype)
        assert ag.tensor(array).dtype == dtype
        assert ag.from_numpy(array).dtype == dtype
        assert ag.as_tensor(array).dtype == dtype
    assert ag.tensor(np.zeros(2), dtype=ag.float32).dtype == ag.float32


def test_python_scalars_do_not_upcast() -> None:
    t = ag.ones(2)
    for result in (t + 1.5, 1.5 + t, t * 2.0, t / 3.0, 3.0 / t, t - 0.5, t ** 2.0, 2.0 ** t, t + 1,
                   ag.maximum(t, ag.tensor(0.5)), ag.where(t > 0, t, 0.0)):
        assert result.dtype == ag.float32
    assert (ag.ones(2, dtype=ag.float64) + 1.5).dtype == ag.float64


def test_float32_and_float64_promote_to_float64() -> None:
    a, b = ag.ones(2), ag.ones(2, dtype=ag.float64)
    for result in (a + b, b * a, a @ b, ag.maximum(a, b), ag.cat([a, b]), ag.where(a > 0, a, b)):
        assert result.dtype == ag.float64


def test_integer_tensors() -> None:
    i = ag.arange(4)
    assert (i + 1).dtype == ag.int64 and (i * i).dtype == ag.int64
    assert (i + 0.5).dtype == ag.float32  # int tensor with a Python float: the default dtype
    assert (i / 2).dtype == ag.float32 and (i / i).dtype == ag.float32  # true division, as PyTorch
    assert (i // 2).tolist() == [0, 0, 1, 1] and (i % 3).tolist() == [0, 1, 2, 0]
    assert (ag.tensor(np.arange(3, dtype=np.int32)) + 5).dtype == ag.int32


def test_set_default_dtype() -> None:
    ag.set_default_dtype(ag.float64)  # conftest restores float32 afterwards
    assert ag.tensor(1.5).dtype == ag.float64 and ag.zeros(2).dtype == ag.float64
    assert (ag.ones(2, dtype=ag.float32) + 1.5).dtype == ag.float32
    with pytest.raises(TypeError, match="set_default_dtype: only floating dtypes"):
        ag.set_default_dtype(ag.int64)


def test_only_floating_tensors_require_grad() -> None:
    with pytest.raises(RuntimeError, match="only tensors of floating point dtype can require gradients, got "
                       "dtype int64"):
        ag.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="got dtype bool"):
        ag.tensor([True]).requires_grad_()
    assert ag.tensor([1.0], requires_grad=True).requires_grad


def test_conversions() -> None:
    t = ag.tensor([1.7, -1.7])
    assert t.double().dtype == ag.float64 and t.float().dtype == ag.float32
    assert t.long().tolist() == [1, -1] and t.long().dtype == ag.int64
    assert t.to(ag.float64).dtype == ag.float64 and t.to("float64").dtype == ag.float64
    assert t.to(dtype=ag.int32).dtype == ag.int32
    assert t.type_as(ag.arange(2)).dtype == ag.int64
    assert t.to(ag.float32) is t  # no copy when nothing changes


# ---------------------------------------------------------------- Tensor basics
def test_tensor_attributes_and_methods() -> None:
    x = np.arange(6.0).reshape(2, 3)
    t = ag.tensor(x)
    assert t.shape == (2, 3) and t.size() == (2, 3) and t.size(1) == 3 and t.size(-2) == 2
    assert t.dim() == 2 and t.ndim == 2 and t.numel() == 6 and len(t) == 2
    assert t.tolist() == x.tolist()
    assert ag.tensor([[2.5]]).item() == 2.5 and isinstance(ag.tensor(3).item(), int)
    assert np.asarray(t).dtype == np.float64 and np.asarray(t).shape == (2, 3)  # x is float64
    assert t.numpy().tolist() == x.tolist()
    assert [row.tolist() for row in t] == x.tolist()
    assert t.is_leaf and t.grad is None and t.grad_fn is None and not t.requires_grad
    assert float(ag.tensor(2.5)) == 2.5 and int(ag.tensor(3)) == 3
    assert bool(ag.tensor([1.0])) is True
    clone = t.clone()
    clone.zero_()
    assert t.sum().item() == 15.0  # a clone has its own memory
    shared = ag.from_numpy(x)
    x[0, 0] = 100.0
    assert shared[0, 0].item() == 100.0


def test_tensor_errors() -> None:
    with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted to a Python number"):
        ag.ones(2).item()
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with 2 elements is ambiguous"):
        bool(ag.ones(2))
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(ag.tensor(1.0))
    with pytest.raises(RuntimeError, match=r"can't call numpy\(\) on a Tensor that requires grad"):
        ag.ones(2, requires_grad=True).numpy()
    with pytest.raises(TypeError, match="complex numbers are not supported"):
        ag.tensor([1j])


def test_factories() -> None:
    assert ag.zeros(2, 3).tolist() == [[0.0] * 3] * 2 and ag.ones((2,)).tolist() == [1.0, 1.0]
    assert ag.full((2, 2), 7.0).tolist() == [[7.0, 7.0], [7.0, 7.0]]
    assert ag.arange(5).tolist() == [0, 1, 2, 3, 4] and ag.arange(1, 7, 2).tolist() == [1, 3, 5]
    assert ag.arange(0, 1, 0.25).tolist() == [0.0, 0.25, 0.5, 0.75]
    close(ag.linspace(0, 1, 5), [0, 0.25, 0.5, 0.75, 1.0])
    assert ag.eye(2, 3).tolist() == [[1, 0, 0], [0, 1, 0]]
    like = ag.tensor([[1, 2]])
    assert ag.zeros_like(like).dtype == ag.int64 and ag.ones_like(like).tolist() == [[1, 1]]
    assert ag.full_like(like, 3).tolist() == [[3, 3]]
    base = ag.ones(3, 2)
    assert ag.rand_like(base).shape == (3, 2) and ag.randn_like(base).shape == (3, 2)
    ag.manual_seed(7)
    first = ag.rand(4).tolist() + ag.randn(2).tolist() + ag.randint(0, 10, (3,)).tolist()
    ag.manual_seed(7)
    again = ag.rand(4).tolist() + ag.randn(2).tolist() + ag.randint(0, 10, (3,)).tolist()
    assert first == again
    assert all(0.0 <= v < 1.0 for v in ag.rand(100).tolist())
    assert ag.zeros(2, requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match="negative dimension"):
        ag.zeros(-1)


# ---------------------------------------------------------------- in-place ops
def test_inplace_ops_values_and_identity() -> None:
    t = ag.tensor([1.0, 2.0, 4.0])
    assert t.add_(1.0) is t and t.tolist() == [2.0, 3.0, 5.0]
    assert t.sub_(ag.tensor([1.0, 1.0, 1.0])) is t and t.tolist() == [1.0, 2.0, 4.0]
    assert t.mul_(2) is t and t.tolist() == [2.0, 4.0, 8.0]
    assert t.div_(4.0) is t and t.tolist() == [0.5, 1.0, 2.0]
    assert t.clamp_(0.75, 1.5) is t and t.tolist() == [0.75, 1.0, 1.5]
    t.add_(ag.ones(3), alpha=2)
    assert t.tolist() == [2.75, 3.0, 3.5]
    assert t.copy_(ag.tensor([7.0])) is t and t.tolist() == [7.0, 7.0, 7.0]  # src broadcasts
    assert t.fill_(3.0) is t and t.tolist() == [3.0, 3.0, 3.0]
    assert t.zero_() is t and t.tolist() == [0.0, 0.0, 0.0]
    before = t
    t += 2.0
    t *= ag.tensor([1.0, 2.0, 3.0])
    t -= 1.0
    t /= 2.0
    assert t is before and t.tolist() == [0.5, 1.5, 2.5]
    assert t.dtype == ag.float32
    t.add_(ag.ones(3, dtype=ag.float64))
    assert t.dtype == ag.float32  # an in-place op keeps the tensor's dtype


def test_inplace_errors() -> None:
    with pytest.raises(RuntimeError, match=r"add_: the result of shape \(3,\) doesn't match the tensor's shape \(1,\)"):
        ag.ones(1).add_(ag.ones(3))
    i = ag.arange(3)
    with pytest.raises(RuntimeError, match="add_: result type float32 can't be cast to the tensor's dtype int64"):
        i.add_(1.5)
    assert i.tolist() == [0, 1, 2]  # nothing half-changed
    x = ag.ones(2, 3)
    with pytest.raises((RuntimeError, ValueError), match=r"\(2, ?3\)"):
        x.mul_(ag.ones(4))
    assert x.tolist() == [[1.0] * 3] * 2


def test_broadcast_errors_name_the_op_and_shapes() -> None:
    with pytest.raises(RuntimeError, match=r"mul.*\(2, 3\).*\(4,\)"):
        ag.ones(2, 3) * ag.ones(4)


def test_inplace_ops_bump_the_version_counter() -> None:
    t = ag.ones(2)
    view = t[:1]
    assert t._version == 0
    t.add_(1.0)
    t[0] = 5.0
    assert t._version == 2
    view.mul_(2.0)  # a view shares its base's counter
    assert t._version == 3 and t.tolist() == [10.0, 2.0]
