"""Engine details that the public behaviour depends on: gradient buffers never alias."""

from __future__ import annotations

import numpy as np

import autograd_lite as ag


def test_leaves_sharing_one_upstream_gradient_get_separate_buffers():
    b = ag.randn(3, requires_grad=True)
    c = ag.randn(3, requires_grad=True)
    (b + c).sum().backward()
    assert not np.shares_memory(b.grad.numpy(), c.grad.numpy())
    (b + c).sum().backward()  # accumulation in place must not leak into the other leaf
    np.testing.assert_array_equal(b.grad.numpy(), np.full(3, 2.0))
    np.testing.assert_array_equal(c.grad.numpy(), np.full(3, 2.0))


def test_leaf_gradient_does_not_alias_the_user_supplied_seed():
    x = ag.randn(4, requires_grad=True)
    seed = ag.ones(4)
    (x + 0).backward(seed)
    x.grad.add_(1)
    np.testing.assert_array_equal(seed.numpy(), np.ones(4))


def test_fresh_gradient_is_kept_without_a_copy_and_accumulates_correctly():
    w = ag.randn(3, 2, dtype=ag.float64, requires_grad=True)
    x = ag.randn(5, 3, dtype=ag.float64)
    for _ in range(3):
        (x.T @ x @ w).sum().backward()
    expected = 3 * (x.numpy().T @ x.numpy()) @ np.ones((3, 2))
    np.testing.assert_allclose(w.grad.numpy(), expected, rtol=1e-12)
