"""Every example runs in its fast mode and learns something real.

The examples are loaded from their files (they are scripts, not a package), run into
``tmp_path``, and checked on outcomes: losses fall, XOR's answers round to the truth
table (and the seed network's run equals the article's hand-derived NumPy training loop),
the pictures are real PNG files, and the character model beats the uniform baseline.
"""

from __future__ import annotations

import importlib.util
import math
import struct
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = ["xor", "regression", "classify_spirals", "digits_cnn", "char_rnn"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def load_example(name: str) -> ModuleType:
    path = EXAMPLES / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"example_{name}", path)
    assert spec is not None and spec.loader is not None, f"cannot load {path}"
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses/typing look modules up by name
    spec.loader.exec_module(module)
    return module


def assert_png(path: Path) -> tuple[int, int]:
    """A well-formed PNG: signature, an IHDR first with a non-empty size, an IEND last."""
    data = Path(path).read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} does not start with the PNG signature"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13, f"{path}: first chunk is {kind!r}, expected IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 50 and height > 50, f"{path}: image is only {width}x{height}"
    assert data[-8:-4] == b"IEND", f"{path} is truncated (no IEND chunk at the end)"
    return width, height


# ----------------------------------------------------------------------------- XOR


def article_numpy_training(initial_state: dict[str, np.ndarray], steps: int, lr: float) -> dict[int, float]:
    """The seed article's own training loop (hand-derived delta rule), from given weights.

    Returns the mean squared error after every 1,000 updates, as the example logs it.
    Linear stores weight as (out, in); the article multiplies inputs @ (in, out).
    """
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    t = np.array([[0], [1], [1], [0]], dtype=np.float64)
    w_ih = initial_state["0.weight"].T.copy()
    w_ho = initial_state["2.weight"].T.copy()
    b_h = initial_state["0.bias"][None, :].copy()
    b_o = initial_state["2.bias"][None, :].copy()
    sig = lambda z: 1 / (1 + np.exp(-z))

    def forward() -> tuple[np.ndarray, np.ndarray]:
        hidden = sig(x @ w_ih + b_h)
        return hidden, sig(hidden @ w_ho + b_o)

    losses = {}
    for step in range(steps + 1):
        hidden, out = forward()
        if step % 1000 == 0:
            losses[step] = float(np.mean((t - out) ** 2))
        if step == steps:
            break
        d_out = (t - out) * out * (1 - out)
        d_hidden = d_out @ w_ho.T * hidden * (1 - hidden)
        w_ho += hidden.T @ d_out * lr
        w_ih += x.T @ d_hidden * lr
        b_h += d_hidden.sum(axis=0, keepdims=True) * lr
        b_o += d_out.sum(axis=0, keepdims=True) * lr
    return losses


def test_xor_reproduces_the_article_and_faster_variants_win(capsys):
    xor = load_example("xor")
    result = xor.main(fast=True)
    printed = capsys.readouterr().out

    # The article's configuration: weights in [0, 1), zero biases, float64.
    init = result["initial_state"]
    assert init["0.weight"].shape == (3, 2) and init["2.weight"].shape == (1, 3)
    assert init["0.weight"].dtype == np.float64
    assert all((w >= 0).all() and (w < 1).all() for k, w in init.items() if k.endswith("weight"))
    assert all((b == 0).all() for k, b in init.items() if k.endswith("bias"))

    # nn + optim + autograd give exactly the article's hand-derived run, step for step.
    article = result["article"]
    expected = article_numpy_training(init, 10_000, lr=0.1)
    logged = dict(article["history"])
    assert sorted(logged) == sorted(expected)
    for step, loss in expected.items():
        assert logged[step] == pytest.approx(loss, rel=1e-9, abs=1e-12), f"after {step} steps"

    # ... and that run is nowhere near the 0.000213 the article prints after 1,000 steps.
    assert logged[1000] > 0.1
    assert logged[10_000] < logged[0] / 10
    np.testing.assert_array_equal(np.round(article["predictions"]), [0, 1, 1, 0])

    # Each one-change variant reaches the threshold, much sooner, with the right answers.
    base = article["steps_to_threshold"]
    assert base is not None
    for name, run in result["variants"].items():
        if run is article:
            continue
        assert run["steps_to_threshold"] is not None and run["steps_to_threshold"] < base / 2, name
        np.testing.assert_array_equal(np.round(run["predictions"]), [0, 1, 1, 0], err_msg=name)

    # The three flavours of gradient descent all learn XOR; smaller batches, more updates.
    flavours = result["flavours"]
    assert set(flavours) == {"stochastic", "mini-batch", "batch"}
    for name, run in flavours.items():
        assert run["epochs"] is not None, f"{name} did not reach the threshold"
        np.testing.assert_array_equal(np.round(run["predictions"]), [0, 1, 1, 0], err_msg=name)
    assert flavours["stochastic"]["updates"] == 4 * flavours["stochastic"]["epochs"]
    assert flavours["mini-batch"]["updates"] == 2 * flavours["mini-batch"]["epochs"]
    assert flavours["batch"]["updates"] == flavours["batch"]["epochs"]

    assert "the article prints 0.000213" in printed
    assert "faster" in printed


# ------------------------------------------------------------------- other examples


def test_regression_fits_the_sine(tmp_path, capsys):
    result = load_example("regression").main(fast=True, out_dir=tmp_path)
    losses = result["losses"]
    assert losses[-1] < losses[0] / 5
    # Far better than predicting the mean, and close to the noise-free curve.
    assert result["train_mse"] < result["baseline_mse"] / 20
    assert result["truth_mse"] < 0.02
    assert result["plot"] == tmp_path / "regression.png"
    assert_png(result["plot"])
    assert "MSE against the noise-free sin(x)" in capsys.readouterr().out


def test_spirals_are_separated(tmp_path, capsys):
    result = load_example("classify_spirals").main(fast=True, out_dir=tmp_path)
    losses = result["losses"]
    assert losses[-1] < 0.5 * math.log(2)
    assert losses[-1] < losses[0] / 2
    assert result["train_accuracy"] > 0.9 and result["test_accuracy"] > 0.9
    names = sorted(p.name for p in result["pictures"])
    assert names == ["spirals_boundary.png", "spirals_loss.png"]
    for picture in result["pictures"]:
        assert picture.parent == tmp_path
        assert_png(picture)
    assert "Accuracy: training" in capsys.readouterr().out


def test_digits_cnn_learns(capsys):
    result = load_example("digits_cnn").main(fast=True)
    losses = result["losses"]
    assert len(losses) == 3
    assert losses[-1] < losses[0] * 0.7
    assert result["test_accuracy"] > 0.5  # chance is 0.1; the full run reaches ~98%
    assert result["n_train"] + result["n_test"] == 1797
    assert "Test accuracy" in capsys.readouterr().out


def test_char_rnn_beats_the_uniform_baseline(capsys):
    result = load_example("char_rnn").main(fast=True)
    vocab = result["vocab"]
    assert result["baseline"] == pytest.approx(math.log(len(vocab)))
    losses = result["losses"]
    assert losses[-1] < losses[0]
    # Below uniform guessing by a wide margin, and below letter frequencies alone.
    assert result["train_loss"] < result["baseline"] - 1.0
    assert result["train_loss"] < result["unigram"]
    assert result["held_out_loss"] < result["baseline"]
    for temperature, text in result["samples"].items():
        assert text.startswith("The ") and len(text) == len("The ") + 80, temperature
        assert set(text) <= set(vocab)
    assert "sample at temperature 0.5" in capsys.readouterr().out


# ------------------------------------------------------------------ command lines


@pytest.mark.parametrize("name", SCRIPTS)
def test_command_line_help(name):
    proc = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), "--help"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "--seed" in proc.stdout and "--fast" in proc.stdout


def test_command_line_run_writes_to_out_dir(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "regression.py"), "--fast", "--epochs", "5", "--out-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Saved" in proc.stdout
    assert_png(tmp_path / "regression.png")
