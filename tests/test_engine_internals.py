"""Engine details that the public behaviour depends on: gradient buffers never alias."""

from __future__ import annotations

import numpy as np
import pytest

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


def test_intermediate_tensors_are_not_kept_alive_by_the_graph():
    import weakref

    x = ag.ones(3, requires_grad=True)
    h = x * 2
    ref = weakref.ref(h)
    y = (h * 3).sum()
    del h
    assert ref() is None  # the graph keeps h's array for the VJPs, not the tensor
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 6.0))


def test_writes_through_a_detached_alias_are_caught():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    y = (h * h).sum()  # MulBackward reads h
    h.detach().mul_(10)  # shares h's memory: PyTorch's version counter sees this
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_writes_through_a_view_under_no_grad_are_caught():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x * 1
    y = (h * h).sum()
    with ag.no_grad():
        h[1:].mul_(2)  # a view of h: the memory h's consumer saved
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_consumers_recorded_after_an_untracked_write_are_fine():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    with ag.no_grad():
        h.mul_(3)
    (h * h).sum().backward()  # recorded after the write: h is at the version it saw
    np.testing.assert_array_equal(x.grad.numpy(), 2 * np.array([3.0, 6.0]))


def test_second_order_through_rebuilt_inputs_sees_a_shared_input_twice():
    x = ag.tensor([1.5, -2.0], dtype=ag.float64, requires_grad=True)
    h = x.tanh()
    y = (h * h).sum()  # both inputs of the Mul node are the same non-leaf tensor
    (g,) = ag.autograd.grad(y, x, create_graph=True)
    (gg,) = ag.autograd.grad(g.sum(), x)
    t = np.tanh(x.detach().numpy())
    first = 2 * t * (1 - t**2)
    second = 2 * (1 - t**2) ** 2 - 4 * t**2 * (1 - t**2)
    np.testing.assert_allclose(g.detach().numpy(), first, rtol=1e-12)
    np.testing.assert_allclose(gg.numpy(), second, rtol=1e-12)
