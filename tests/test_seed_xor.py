"""The seed article's network (issue 2, point 15): autograd equals the hand-derived delta rule.

A 2-3-1 network with sigmoid hidden and output units, weights uniform in [0, 1), zero
biases, trained on XOR with full-batch gradient descent at learning rate 0.1 on the loss
0.5 * sum((target - output)^2). The reference below is the backpropagation the article
derives by hand, written in plain NumPy; the autograd version uses raw tensors only
(no nn), so the two share nothing but the initial weights.
"""

from __future__ import annotations

import numpy as np
import pytest

import autograd_lite as ag

INPUTS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
TARGETS = np.array([[0.0], [1.0], [1.0], [0.0]])
LEARNING_RATE = 0.1
STEPS = 10_000


def initial_parameters(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.random((2, 3)),  # uniform in [0, 1), as in the article
        "b1": np.zeros(3),
        "W2": rng.random((3, 1)),
        "b2": np.zeros(1),
    }


# ---------------------------------------------------------------- the hand-derived reference
def numpy_sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def delta_rule_gradients(p: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], float]:
    """Backpropagation by hand: the article's delta rule for E = 0.5 * sum((t - o)^2).

    dE/do = o - t, and sigmoid'(z) = s (1 - s), so the output delta is (o - t) o (1 - o).
    It is pushed back through W2 (transposed) and the hidden sigmoid's derivative; each
    weight's gradient is its layer's input transposed times its delta, summed over the
    batch; a bias's gradient is its delta summed over the batch.
    """
    hidden = numpy_sigmoid(INPUTS @ p["W1"] + p["b1"])
    output = numpy_sigmoid(hidden @ p["W2"] + p["b2"])
    delta_out = (output - TARGETS) * output * (1.0 - output)
    delta_hidden = (delta_out @ p["W2"].T) * hidden * (1.0 - hidden)
    grads = {
        "W2": hidden.T @ delta_out,
        "b2": delta_out.sum(axis=0),
        "W1": INPUTS.T @ delta_hidden,
        "b1": delta_hidden.sum(axis=0),
    }
    loss = 0.5 * float(np.sum((TARGETS - output) ** 2))
    return grads, loss


def numpy_training(p: dict[str, np.ndarray], steps: int) -> tuple[dict[str, np.ndarray], list[float]]:
    p = {k: v.copy() for k, v in p.items()}
    losses = []
    for _ in range(steps):
        grads, loss = delta_rule_gradients(p)
        losses.append(loss)
        for k in p:
            p[k] -= LEARNING_RATE * grads[k]
    return p, losses


# ---------------------------------------------------------------- the autograd version
def autograd_loss(t: dict[str, ag.Tensor]) -> ag.Tensor:
    x, target = ag.tensor(INPUTS), ag.tensor(TARGETS)
    hidden = (x @ t["W1"] + t["b1"]).sigmoid()
    output = (hidden @ t["W2"] + t["b2"]).sigmoid()
    return 0.5 * ((target - output) ** 2).sum()


def leaves(p: dict[str, np.ndarray]) -> dict[str, ag.Tensor]:
    return {k: ag.tensor(v, requires_grad=True) for k, v in p.items()}


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_autograd_gradients_equal_the_delta_rule(seed: int) -> None:
    p = initial_parameters(seed)
    expected, expected_loss = delta_rule_gradients(p)
    t = leaves(p)
    assert all(v.dtype == ag.float64 for v in t.values())
    loss = autograd_loss(t)
    assert loss.item() == pytest.approx(expected_loss, rel=1e-14)
    loss.backward()
    for name, grad in expected.items():
        assert t[name].grad.shape == grad.shape, name
        np.testing.assert_allclose(t[name].grad.numpy(), grad, rtol=0, atol=1e-12, err_msg=name)
    # and away from the initial point (trained weights, non-zero biases) too
    trained, _ = numpy_training(p, 200)
    expected, _ = delta_rule_gradients(trained)
    t = leaves(trained)
    autograd_loss(t).backward()
    for name, grad in expected.items():
        np.testing.assert_allclose(t[name].grad.numpy(), grad, rtol=0, atol=1e-12, err_msg=name)


def test_training_reproduces_the_numpy_trajectory() -> None:
    p = initial_parameters(0)
    expected, numpy_losses = numpy_training(p, STEPS)
    t = leaves(p)
    losses = []
    for _ in range(STEPS):
        loss = autograd_loss(t)
        loss.backward()
        losses.append(loss.item())
        with ag.no_grad():
            for v in t.values():
                v -= LEARNING_RATE * v.grad
                v.grad = None
    for name, value in expected.items():
        np.testing.assert_allclose(t[name].detach().numpy(), value, rtol=0, atol=1e-10, err_msg=name)
    np.testing.assert_allclose(losses, numpy_losses, rtol=0, atol=1e-10)
    assert losses[-1] < losses[0]  # gradient descent did descend
