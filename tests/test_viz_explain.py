"""explain(loss): the narrated backward pass carries the real gradients."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from viz_helpers import parse_dot, squash

import autograd_lite as ag
from autograd_lite import viz
from autograd_lite.viz._format import fmt_array
from autograd_lite.viz.xor import xor_problem


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _delta_rule(problem):
    """The seed article's hand-derived gradients, in float64 NumPy (no autograd)."""
    x = problem.x.numpy().astype(np.float64)
    t = problem.target.numpy().astype(np.float64)
    w1 = problem.model.hidden.weight.detach().numpy().astype(np.float64)
    b1 = problem.model.hidden.bias.detach().numpy().astype(np.float64)
    w2 = problem.model.output.weight.detach().numpy().astype(np.float64)
    b2 = problem.model.output.bias.detach().numpy().astype(np.float64)
    h = _sigmoid(x @ w1.T + b1)
    o = _sigmoid(h @ w2.T + b2)
    delta_o = (o - t) * o * (1 - o)  # error times sigmoid'(output)
    delta_h = (delta_o @ w2) * h * (1 - h)  # pushed back through the transposed weights
    return {
        "output.weight": delta_o.T @ h, "output.bias": delta_o.sum(axis=0),
        "hidden.weight": delta_h.T @ x, "hidden.bias": delta_h.sum(axis=0),
    }


def test_xor_explanation_numbers_are_the_delta_rule_and_the_engine_gradients():
    problem = xor_problem(seed=3)
    loss = problem.loss()
    e = viz.explain(loss, params=problem.names)
    expected = _delta_rule(problem)
    for name, grad in expected.items():
        np.testing.assert_allclose(e.grads[name], grad, rtol=1e-5, atol=1e-7, err_msg=name)
    # explain left .grad alone and the graph usable: backward now gives the same numbers
    assert all(p.grad is None for p in problem.model.parameters())
    loss.backward()
    for name, p in problem.model.named_parameters():
        np.testing.assert_array_equal(e.grads[name], p.grad.numpy(), err_msg=name)
        # ... and the text prints exactly those numbers
        assert squash(f"{name}.grad=" + fmt_array(p.grad.numpy())) in squash(e.text), name


def test_every_gradient_passed_on_adds_up_to_the_engines_total():
    problem = xor_problem(seed=1)
    e = viz.explain(problem.loss(), params=problem.names)
    received: dict[str, np.ndarray] = {}
    for step in e.steps:
        for passed in step.passed:
            received[passed.target] = received.get(passed.target, 0) + passed.grad
        # the upstream gradient of each op is the total its output received
        if step.number > 1:
            np.testing.assert_allclose(received[step.output], step.upstream, rtol=1e-6, atol=1e-9)
    for name, total in received.items():
        np.testing.assert_allclose(total, e.grads[name], rtol=1e-6, atol=1e-9, err_msg=name)
    # linear, sigmoid, linear, sigmoid, sub, pow, sum, mul: one backward step each
    assert [s.number for s in e.steps] == list(range(1, 9))
    assert e.steps[0].output == "loss" and float(e.steps[0].upstream) == 1.0


def test_xor_intermediate_gradients_match_torch(torch):
    problem = xor_problem(seed=2)
    e = viz.explain(problem.loss(), params=problem.names)
    tt = {name: torch.tensor(p.detach().numpy(), requires_grad=True)
          for name, p in problem.model.named_parameters()}
    x = torch.tensor(problem.x.numpy())
    target = torch.tensor(problem.target.numpy())
    steps = {}
    steps["linear", (4, 3)] = x @ tt["hidden.weight"].T + tt["hidden.bias"]
    steps["sigmoid", (4, 3)] = torch.sigmoid(steps["linear", (4, 3)])
    steps["linear", (4, 1)] = steps["sigmoid", (4, 3)] @ tt["output.weight"].T + tt["output.bias"]
    steps["sigmoid", (4, 1)] = torch.sigmoid(steps["linear", (4, 1)])
    steps["sub", (4, 1)] = target - steps["sigmoid", (4, 1)]
    steps["pow", (4, 1)] = steps["sub", (4, 1)] ** 2
    steps["sum", ()] = steps["pow", (4, 1)].sum()
    steps["mul", ()] = 0.5 * steps["sum", ()]
    for value in steps.values():
        value.retain_grad()
    steps["mul", ()].backward()
    checked = 0
    for op in e.model.ops.values():
        box = e.model.tensors[op.output]
        reference = steps[op.node.prim.name, box.shape]
        np.testing.assert_allclose(box.value, reference.detach().numpy(), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(e.grads[box.name], reference.grad.numpy(), rtol=1e-5, atol=1e-7,
                                   err_msg=op.title)
        checked += 1
    assert checked == len(steps) == 8
    for name, p in tt.items():
        np.testing.assert_allclose(e.grads[name], p.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_text_reads_as_a_worked_chain_rule_example():
    problem = xor_problem(seed=0)
    text = str(viz.explain(problem.loss(), params=problem.names))
    words = " ".join(text.split())  # the rules in words are wrapped across lines
    assert text.startswith("Backward pass of loss = ")
    assert "Step 1: loss = mul(0.5, t7)" in text
    assert "backward starts with 1" in text
    assert "grad_x = grad_out * out * (1 - out)" in text  # the sigmoid's rule, from its grad_formulas
    assert "its own output: at most 0.25, so every sigmoid shrinks the gradient" in words  # in words
    assert "added into hidden.weight.grad" in text
    # one fused op per layer, its inputs called x, weight and bias, its rules from its grad_formulas
    assert "t1 = linear(x, hidden.weight, hidden.bias)" in text
    assert "Step 8: t1 = linear(x, hidden.weight, hidden.bias)" in text
    assert "out = x @ weight^T + bias   with x = t2, weight = output.weight, bias = output.bias" in text
    assert "grad_x = grad_out @ weight" in text
    assert "grad_weight = grad_out^T @ x" in text and "grad_bias = sum of grad_out rows" in text
    assert "bias receives the upstream gradient summed over the rows, because it was added to every row" in words
    assert "to output.bias (bias):" in text
    assert "Step 9" not in text


def test_broadcast_gradients_are_told_to_be_summed_back():
    x = ag.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    b = ag.tensor([10.0, 20.0, 30.0], requires_grad=True)
    e = viz.explain(((x + b) * 2.0).sum(), params={"x": x, "b": b})
    # b was added to both rows: each of its elements gets 2 (from the * 2) from each row
    assert "summed over the broadcast axes down to b's shape (3,)" in e.text
    (to_b,) = [p for s in e.steps for p in s.passed if p.target == "b"]
    assert to_b.summed and to_b.grad.shape == (3,)
    np.testing.assert_array_equal(to_b.grad, [4.0, 4.0, 4.0])
    np.testing.assert_array_equal(e.grads["x"], np.full((2, 3), 2.0))


def test_linear_without_bias():
    x = ag.tensor([[1.0, 2.0], [3.0, -1.0]])
    w = ag.tensor([[1.0, 0.5], [2.0, -1.0], [0.0, 1.0]], requires_grad=True)
    e = viz.explain(ag.nn.functional.linear(x, w).sum(), params={"x": x, "w": w})
    assert "t1 = linear(x, w, bias=None)" in e.text
    assert "out = x @ weight^T   with x = x, weight = w, bias = None" in e.text
    (step,) = [s for s in e.steps if s.op.node.prim.name == "linear"]
    assert [(p.target, p.argname) for p in step.passed] == [("w", "weight")]  # x needs no grad
    # d sum(x @ w^T) / d w[j, i] = sum over rows of x[:, i], for every j
    np.testing.assert_array_equal(e.grads["w"], np.tile([4.0, 1.0], (3, 1)))


def test_shared_tensors_are_told_to_add_up():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    e = viz.explain((x * x).sum(), params={"x": x})
    assert "one of 2 gradients x receives; they are added" in e.text
    passed = [p.grad for s in e.steps for p in s.passed if p.target == "x"]
    assert len(passed) == 2
    np.testing.assert_array_equal(passed[0], [1, 2, 3])
    np.testing.assert_array_equal(e.grads["x"], [2, 4, 6])


def test_autograd_function_and_nonscalar_output():
    class Cube(ag.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, grad_out):
            (x,) = ctx.saved_tensors
            return grad_out * 3 * x**2

    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = Cube.apply(x)
    with pytest.raises(RuntimeError, match="reduce it first"):
        viz.explain(y)
    e = viz.explain(y, params={"x": x}, gradient=ag.tensor([1.0, 10.0]))
    np.testing.assert_allclose(e.grads["x"], [3.0, 120.0])


def test_errors_name_the_fix():
    x = ag.tensor([1.0], requires_grad=True)
    loss = (x * 2.0).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="before loss.backward()"):
        viz.explain(loss)
    with pytest.raises(RuntimeError, match="no grad_fn"):
        viz.explain(ag.tensor(1.0))


def test_annotated_graph(dot_binary, tmp_path):
    problem = xor_problem(seed=0)
    e = viz.explain(problem.loss(), params=problem.names)
    g = e.graph()
    parsed = parse_dot(g.source)
    assert "backward step 1" in g.source and "backward step 8" in g.source
    assert "backward step 9" not in g.source
    assert "upstream * out * (1 - out)" in g.source
    assert "grad_weight = upstream^T @ x" in g.source and "grad_bias = sum of upstream rows" in g.source
    assert len(parsed["nodes"]) == 8 + 8 + 4 + 2  # ops, their outputs, parameters, x and target
    with_arrows = e.graph(show_passed=True)
    back = [edge for edge in parse_dot(with_arrows.source)["edges"] if "dashed" in edge[2]]
    assert len(back) == sum(len(s.passed) for s in e.steps)
    path = g.render(tmp_path / "explain.svg")
    assert ET.parse(path).getroot().tag.endswith("svg")
    # drawing the annotations left the explanation's model clean for the next drawing
    assert "backward step" not in viz.draw_graph(problem.loss(), params=problem.names).source
