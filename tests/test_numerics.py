"""Numerics (issue 2, point 6): saturating functions stay finite and accurate for |x| up to 1e4.

Every check runs with NumPy's floating-point warnings turned into errors, so an overflow
inside a forward or backward pass (exp(1e4), 0 * inf, ...) fails the test even when the
final value happens to come out right. References are computed element by element with
Python's ``math`` module, using the textbook stable identities.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

import autograd_lite as ag

EXTREMES = [-1e4, -1000.0, -710.0, -100.0, -88.0, -30.0, -20.0, -1.0, -1e-3, 0.0, 1e-3, 1.0, 20.0,
            30.0, 88.0, 100.0, 710.0, 1000.0, 1e4]
DTYPES = [ag.float32, ag.float64]


@contextmanager
def warnings_are_errors() -> Iterator[None]:
    # NumPy's defaults: warn on overflow, division by zero and invalid results; underflow to 0 is fine
    with warnings.catch_warnings(), np.errstate(divide="warn", over="warn", invalid="warn", under="ignore"):
        warnings.simplefilter("error")
        yield


def ref_sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def ref_softplus(x: float) -> float:
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|)
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def ref_logsumexp(xs: list[float]) -> float:
    m = max(xs)
    return m + math.log(sum(math.exp(x - m) for x in xs))


def assert_accurate(result: ag.Tensor, expected: list[float], dtype: np.dtype) -> None:
    values = np.asarray(result._data, dtype=np.float64)
    assert np.all(np.isfinite(values)), values
    # float32 results can only be as accurate as float32 is; tiny values may flush toward 0
    rtol, atol = (2e-6, 1e-37) if dtype == ag.float32 else (1e-13, 1e-300)
    np.testing.assert_allclose(values, expected, rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize(
    "name, fn, reference",
    [
        ("sigmoid", ag.sigmoid, ref_sigmoid),
        ("tanh", ag.tanh, math.tanh),
        ("softplus", ag.softplus, ref_softplus),
    ],
)
def test_elementwise_saturating_functions(name: str, fn, reference, dtype) -> None:  # type: ignore[no-untyped-def]
    x = ag.tensor(EXTREMES, dtype=dtype, requires_grad=True)
    inputs = np.asarray(x._data, dtype=np.float64).tolist()
    with warnings_are_errors():
        out = fn(x)
        assert out.dtype == dtype
        assert_accurate(out, [reference(v) for v in inputs], dtype)
        out.sum().backward()
    # derivatives: sigmoid' = s(1 - s), tanh' = 1 - tanh^2, softplus' = sigmoid
    derivative = {
        "sigmoid": lambda v: ref_sigmoid(v) * ref_sigmoid(-v),
        "tanh": lambda v: 1.0 / math.cosh(v) ** 2 if abs(v) < 350 else 0.0,
        "softplus": ref_sigmoid,
    }[name]
    grads = np.asarray(x.grad._data, dtype=np.float64)
    assert np.all(np.isfinite(grads))
    expected = [derivative(v) for v in inputs]
    rtol = 1e-5 if dtype == ag.float32 else 1e-12
    np.testing.assert_allclose(grads, expected, rtol=rtol, atol=1e-6 if dtype == ag.float32 else 1e-15)


def test_sigmoid_tails_are_relatively_accurate() -> None:
    # deep in the negative tail sigmoid(x) ~ e^x: a naive 1 - 1/(1+e^-x) would give 0 or garbage
    x = ag.tensor([-700.0, -300.0, -40.0], dtype=ag.float64)
    with warnings_are_errors():
        np.testing.assert_allclose(ag.sigmoid(x).numpy(), np.exp([-700.0, -300.0, -40.0]), rtol=1e-13)
        np.testing.assert_allclose(ag.softplus(x).numpy(), np.exp([-700.0, -300.0, -40.0]), rtol=1e-13)
    x32 = ag.tensor([-80.0, -40.0], dtype=ag.float32)
    with warnings_are_errors():
        np.testing.assert_allclose(ag.sigmoid(x32).numpy(), np.exp([-80.0, -40.0]), rtol=1e-5)


ROWS = [
    [1e4, 1e4], [-1e4, 1e4], [-1e4, -1e4], [1e4, 0.0, -1e4], [0.0, 1e-3, -1e-3], [1000.0, 999.0, 998.0],
    [-1000.0, -1001.0, -999.5], [88.0, 89.0], [710.0, -710.0],
]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("row", ROWS, ids=lambda r: str(r))
def test_logsumexp_log_softmax_softmax(row: list[float], dtype) -> None:  # type: ignore[no-untyped-def]
    x = ag.tensor([row, row[::-1]], dtype=dtype, requires_grad=True)
    values = np.asarray(x._data, dtype=np.float64).tolist()
    lse = [ref_logsumexp(r) for r in values]
    log_probs = [[v - m for v in r] for r, m in zip(values, lse)]
    with warnings_are_errors():
        total = ag.logsumexp(x, dim=1)
        log_softmax = ag.log_softmax(x, dim=1)
        softmax = ag.softmax(x, dim=1)
        assert total.dtype == log_softmax.dtype == softmax.dtype == dtype
        assert_accurate(total, lse, dtype)
        # log-probabilities are differences of large numbers: accurate to the input's scale
        scale = max(abs(v) for v in row) + 1.0
        np.testing.assert_allclose(np.asarray(log_softmax._data, np.float64), log_probs,
                                   rtol=1e-6 if dtype == ag.float32 else 1e-13,
                                   atol=scale * (2e-7 if dtype == ag.float32 else 1e-15))
        probs = np.asarray(softmax._data, np.float64)
        assert np.all(np.isfinite(probs)) and np.allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
        np.testing.assert_allclose(probs, np.exp(np.asarray(log_probs)), rtol=1e-5, atol=1e-30)
        (total.sum() + (log_softmax * ag.tensor([[1.0] + [0.0] * (len(row) - 1)] * 2)).sum()
         + (softmax * softmax).sum()).backward()
    assert np.all(np.isfinite(np.asarray(x.grad._data)))


def test_logsumexp_over_all_dims_and_infinities() -> None:
    with warnings_are_errors():
        assert ag.logsumexp(ag.tensor([[1e4, 1e4]], dtype=ag.float64), dim=(0, 1)).item() == pytest.approx(
            1e4 + math.log(2), rel=1e-15)
        # an all -inf slice: log(0) = -inf, not nan
        assert ag.logsumexp(ag.tensor([-math.inf, -math.inf]), dim=0).item() == -math.inf
        assert ag.logsumexp(ag.tensor([-math.inf, 0.0]), dim=0).item() == 0.0


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_log_of_zero_is_minus_inf_without_warnings(dtype) -> None:  # type: ignore[no-untyped-def]
    with warnings_are_errors():
        result = ag.log(ag.tensor([0.0, 1.0, -1.0], dtype=dtype))
        assert result.dtype == dtype
        values = result.tolist()
        assert values[0] == -math.inf and values[1] == 0.0 and math.isnan(values[2])
        assert ag.sqrt(ag.tensor([-1.0], dtype=dtype)).isnan().item()
        assert ag.tensor([1.0], dtype=dtype).div(0.0).item() == math.inf


def test_log_of_zero_backward_is_inf_without_warnings() -> None:
    x = ag.tensor([0.0, 2.0], requires_grad=True)
    with warnings_are_errors():
        ag.log(x).sum().backward()
    assert x.grad.tolist() == [math.inf, 0.5]


def test_large_exp_overflows_to_inf_quietly() -> None:
    with warnings_are_errors():
        assert ag.exp(ag.tensor([1e4])).item() == math.inf
        assert ag.exp(ag.tensor([-1e4])).item() == 0.0
