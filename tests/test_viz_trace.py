"""Training-step traces (values, gradients, updates) and the self-contained HTML film."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from viz_helpers import StrictChecker, label_text, parse_dot, squash

import autograd_lite as ag
from autograd_lite import viz
from autograd_lite.viz._format import fmt_array
from autograd_lite.viz.trace import frame_steps
from autograd_lite.viz.xor import SEED_LR, xor_problem


def test_trace_step_with_plain_gradient_descent_by_hand():
    w = ag.tensor([1.0, -2.0], requires_grad=True)
    trace = viz.trace_step(lambda: (w * w).sum(), params={"w": w}, lr=0.25)
    # loss = 1 + 4; grad = 2w = [2, -4]; after = w - 0.25 * grad = [0.5, -1]
    assert trace.loss == 5.0
    np.testing.assert_array_equal(trace.before["w"], [1.0, -2.0])
    np.testing.assert_array_equal(trace.grads["w"], [2.0, -4.0])
    np.testing.assert_array_equal(trace.after["w"], [0.5, -1.0])
    np.testing.assert_array_equal(w.detach().numpy(), [0.5, -1.0])
    text = squash(label_text(parse_dot(trace.graph().source)["nodes"]["l1"]))
    assert "data[1,-2]" in text and "grad[2,-4]" in text
    assert "after[0.5,-1]" in text and "change[-0.5,1]" in text


def test_trace_of_the_xor_step_with_sgd():
    problem = xor_problem(seed=0)
    optimizer = ag.optim.SGD(problem.model.parameters(), lr=SEED_LR)
    trace = viz.trace_step(problem.loss, params=problem.names, optimizer=optimizer, step=0)
    assert [name for name, _ in trace.params] == [
        "hidden.weight", "hidden.bias", "output.weight", "output.bias"]
    for name, p in problem.model.named_parameters():
        np.testing.assert_allclose(trace.after[name], trace.before[name] - SEED_LR * trace.grads[name],
                                   rtol=1e-6, atol=1e-8)
        np.testing.assert_array_equal(trace.after[name], p.detach().numpy())
    g = trace.graph()
    assert g.model.title.startswith("Training step 0: loss = ") and "SGD(lr=0.1)" in g.model.title
    parsed = parse_dot(g.source)
    labels = {label_text(v).split("\n")[0].split(" ")[0]: squash(label_text(v))
              for v in parsed["nodes"].values()}
    for name in trace.after:
        assert "after" + squash(fmt_array(trace.after[name])) in labels[name]
        assert "grad" + squash(fmt_array(trace.grads[name])) in labels[name]
    assert "data" + squash(fmt_array(problem.x.numpy())) in labels["x"]
    # every intermediate tensor shows its value and its gradient, and they are the right ones
    hidden = [g.model.tensors[op.output] for op in g.model.ops.values()
              if op.title == "sigmoid" and g.model.tensors[op.output].shape == (4, 3)]
    assert len(hidden) == 1 and hidden[0].module == ""  # computed in XorNet.forward itself
    fresh = xor_problem(seed=0)
    h = ag.sigmoid(fresh.model.hidden(fresh.x))
    h.retain_grad()
    out = ag.sigmoid(fresh.model.output(h))
    (0.5 * ((fresh.target - out) ** 2).sum()).backward()
    np.testing.assert_allclose(hidden[0].value, h.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(hidden[0].grad, h.grad.numpy(), rtol=1e-6)
    # module frames: the Linear layers and the network
    assert {"cluster_model", "cluster_hidden", "cluster_output"} <= set(parsed["clusters"])
    summary = trace.summary()
    assert "hidden.weight:" in summary and "after" in summary


def test_trace_step_with_a_manual_update_and_argument_checks():
    w = ag.tensor([3.0], requires_grad=True)

    def update():
        with ag.no_grad():
            w.sub_(w.grad * 0.5)

    trace = viz.trace_step(lambda: (w * w).sum(), params={"w": w}, update=update)
    np.testing.assert_array_equal(trace.after["w"], [0.0])  # 3 - 0.5 * 6
    with pytest.raises(ValueError, match="only one of optimizer, update and lr"):
        viz.trace_step(lambda: (w * w).sum(), params={"w": w}, update=update, lr=0.1)
    with pytest.raises(RuntimeError, match="must return the loss"):
        viz.trace_step(lambda: 3.0, params={"w": w}, lr=0.1)
    with pytest.raises(TypeError, match="step\\(\\) method"):
        viz.trace_step(lambda: (w * w).sum(), optimizer=object())


def test_trace_without_names_still_shows_every_update():
    a = ag.tensor([1.0, 2.0], requires_grad=True)
    trace = viz.trace_step(lambda: (a * 3.0).sum(), lr=1.0)
    assert len(trace.params) == 1
    (name, tensor), = trace.params
    assert tensor is a
    np.testing.assert_array_equal(trace.after[name], [-2.0, -1.0])


def test_frame_steps_spread_on_a_log_scale():
    steps = frame_steps(10_000, 12)
    assert steps[0] == 0 and steps[-1] == 9999 and len(steps) == 12
    assert steps == sorted(set(steps))
    assert steps[1] - steps[0] < steps[-1] - steps[-2]  # dense early, sparse late
    assert frame_steps(5, 12) == [0, 1, 2, 3, 4]


def test_film_is_one_valid_self_contained_html_file(dot_binary, tmp_path):
    problem = xor_problem(seed=0)
    optimizer = ag.optim.SGD(problem.model.parameters(), lr=1.0)
    film = viz.record_film(problem.loss, steps=30, params=problem.names, optimizer=optimizer, frames=4,
                           title="XOR <test>")
    assert [t.step for t in film.frames] == frame_steps(30, 4)
    assert len(film.losses) == 30 and film.losses[-1] < film.losses[0]
    path = film.save(tmp_path / "film.html")
    text = path.read_text(encoding="utf-8")
    checker = StrictChecker()
    checker.feed(text)
    checker.close()
    assert checker.errors == [] and checker.stack == []
    assert text.lstrip().lower().startswith("<!doctype html>")
    # self-contained: nothing is loaded from anywhere
    assert checker.loads == [], checker.loads
    assert "link" not in checker.tags
    assert not re.search(r"<script[^>]*\ssrc=", text)
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", text)
    assert "@import" not in text and "url(" not in text
    # one inline SVG per frame, plus the loss chart; a slider over the frames
    assert text.count("<svg") == 4 + 1
    assert re.search(r'<input type="range" id="slider" min="0" max="3"', text)
    assert "<title>XOR &lt;test&gt;</title>" in text
    data = json.loads(re.search(r"var data = (\{.*?\});\n", text).group(1))
    assert [f["step"] for f in data["frames"]] == [t.step for t in film.frames]
    np.testing.assert_allclose([f["loss"] for f in data["frames"]], [t.loss for t in film.frames])
    # the frames differ: the network learns between them
    frames = re.findall(r'<div class="frame[^"]*" id="frame\d+">', text)
    assert len(frames) == 4


def test_film_checks_its_arguments():
    w = ag.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="outside 0..9"):
        viz.record_film(lambda: (w * w).sum(), steps=10, params={"w": w}, lr=0.1, frames=[0, 10])
    with pytest.raises(ValueError, match="at least 1"):
        viz.record_film(lambda: (w * w).sum(), steps=0, params={"w": w}, lr=0.1)
