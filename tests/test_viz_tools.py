"""The viz command line, the two viz examples, and the gradient-flow recorder and plot."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import viz
from autograd_lite.viz.__main__ import main as cli

REPO = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _example(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", REPO / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------- command line
def test_cli_draws_the_xor_step_into_a_file(dot_binary, tmp_path, capsys):
    out = tmp_path / "step.svg"
    assert cli(["step", "-o", str(out)]) == 0
    root = ET.parse(out).getroot()
    assert root.tag.endswith("svg")
    text = out.read_text()
    assert "hidden.weight" in text and "Training step 0" in text
    assert f"wrote {out}" in capsys.readouterr().out
    png = tmp_path / "step.png"
    assert cli(["-o", str(png)]) == 0  # "step" is the default
    assert png.read_bytes()[:8] == PNG_MAGIC


def test_cli_dot_source_and_explanation_need_no_graphviz(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    out = tmp_path / "step.dot"
    assert cli(["step", "-o", str(out)]) == 0
    assert out.read_text().startswith("digraph")
    capsys.readouterr()
    assert cli(["explain"]) == 0
    assert "Step 1: loss = mul(0.5, t7)" in capsys.readouterr().out
    txt = tmp_path / "explain.txt"
    assert cli(["explain", "-o", str(txt)]) == 0
    assert txt.read_text().startswith("Backward pass of loss")


def test_cli_without_dot_says_how_to_install_it_and_writes_the_source(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert cli(["step", "-o", str(tmp_path / "step.svg")]) == 1
    err = capsys.readouterr().err
    assert "apt-get install graphviz" in err and "brew install graphviz" in err
    assert (tmp_path / "step.dot").read_text().startswith("digraph")
    assert not (tmp_path / "step.svg").exists()


def test_cli_film(dot_binary, tmp_path):
    out = tmp_path / "film.html"
    assert cli(["film", "-o", str(out), "--steps", "12", "--frames", "3"]) == 0
    text = out.read_text()
    assert text.count('class="frame') == 3 and "The seed XOR network learning (12 steps" in text


def test_python_dash_m_runs_the_cli(tmp_path):
    out = tmp_path / "step.dot"
    result = subprocess.run([sys.executable, "-m", "autograd_lite.viz", "step", "-o", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert out.read_text().startswith("digraph")


# ---------------------------------------------------------------------- examples
def test_visualize_xor_step_example(dot_binary, tmp_path):
    result = _example("visualize_xor_step").main(fast=True, out_dir=tmp_path)
    assert ET.parse(result["step_svg"]).getroot().tag.endswith("svg")
    assert result["step_png"].read_bytes()[:8] == PNG_MAGIC
    assert ET.parse(result["explain_svg"]).getroot().tag.endswith("svg")
    explained = result["explain_txt"].read_text()
    assert "Step 8: t1 = linear(x, hidden.weight, hidden.bias)" in explained and "Step 9:" not in explained
    assert result["film_html"].read_text().count('class="frame') == 4
    assert result["last_loss"] < result["first_loss"]


def test_gradient_flow_example_shows_sigmoid_gradients_vanish_and_relu_ones_do_not(tmp_path):
    result = _example("gradient_flow").main(fast=True, out_dir=tmp_path)
    assert result["png"].read_bytes()[:8] == PNG_MAGIC
    sigmoid, relu = result["runs"]["sigmoid"], result["runs"]["relu"]
    # Going down one sigmoid layer multiplies the gradient by the slope (<= 1/4) times the
    # weights (about sqrt(2) with He init): roughly 0.35 per layer, 0.35^9 ~ 1e-4 from the last
    # hidden layer to the first. ReLU's slope is 1 where active: He init keeps the norm level.
    assert sigmoid["shrink"] < 1e-3
    assert relu["shrink"] > 1e-1
    assert relu["losses"][-1] < relu["losses"][0]


# ---------------------------------------------------------------------- gradient flow
def test_gradient_flow_records_per_layer_norms():
    ag.manual_seed(0)
    model = ag.nn.Sequential(ag.nn.Linear(3, 4), ag.nn.Tanh(), ag.nn.Linear(4, 2))
    flow = viz.GradientFlow(model)
    assert flow.layers == ["0", "2"]
    assert np.isnan(flow.record()).all()  # no gradients yet
    model(ag.ones(5, 3)).sum().backward()
    row = flow.record()
    expected = [
        np.sqrt(sum(float((p.grad.numpy().astype(np.float64) ** 2).sum()) for p in layer.parameters()))
        for layer in (model[0], model[2])
    ]
    np.testing.assert_allclose(row, expected, rtol=1e-6)
    assert flow.norms.shape == (2, 2) and flow.steps == [0, 1]
    with pytest.raises(ValueError, match="no parameters"):
        viz.GradientFlow({"x": ag.ones(2)})


def test_plot_gradient_flow_side_by_side(tmp_path):
    flows = {}
    for name in ("a", "b"):
        w = ag.tensor([[1.0, 2.0]], requires_grad=True)
        flow = viz.GradientFlow({"layer.weight": w})
        for _ in range(3):
            w.grad = None
            (w * w).sum().backward()
            flow.record()
        flows[name] = flow
    fig = viz.plot_gradient_flow(flows, path=tmp_path / "flow.png", title="t")
    assert len(fig.axes) == 4
    assert (tmp_path / "flow.png").read_bytes()[:8] == PNG_MAGIC
    with pytest.raises(ValueError, match="no recorded steps"):
        viz.plot_gradient_flow(viz.GradientFlow({"w": ag.ones(1, requires_grad=True)}))


def test_plot_gradient_flow_without_matplotlib_says_what_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    w = ag.tensor([1.0], requires_grad=True)
    flow = viz.GradientFlow({"w": w})
    (w * w).sum().backward()
    flow.record()
    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        viz.plot_gradient_flow(flow)
