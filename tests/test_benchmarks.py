"""The benchmark suite (``python -m benchmarks``) in its quick mode, so the benchmarks never rot.

No timing is asserted: the run must finish, every workload must run for every framework,
all frameworks must reach the same final loss from the same data and weights, and the
Markdown and JSON outputs must hold the tables. The hand-derived NumPy reference's
trickier gradients (conv, max-pool) are also checked against finite differences here, so
the reference stands on its own and not only on its agreement with the frameworks.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import numpy_reference  # noqa: E402
from benchmarks.run import run_workload  # noqa: E402
from benchmarks.workloads import NAMES, get  # noqa: E402

HAS_TORCH = importlib.util.find_spec("torch") is not None


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("benchmarks")
    json_path, md_path = out / "quick.json", out / "quick.md"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json", str(json_path), "--markdown", str(md_path)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    report = json.loads(json_path.read_text()) if json_path.exists() else None
    markdown = md_path.read_text() if md_path.exists() else ""
    return {"proc": proc, "report": report, "markdown": markdown}


def _workload(quick: dict, name: str) -> dict:
    assert quick["report"] is not None, f"no JSON written:\n{quick['proc'].stdout}\n{quick['proc'].stderr}"
    by_name = {w["name"]: w for w in quick["report"]["workloads"]}
    assert name in by_name, f"workload {name} missing from the report"
    return by_name[name]


def _entry(quick: dict, name: str, framework: str) -> dict:
    entry = _workload(quick, name)["frameworks"][framework]
    assert entry["status"] == "ok", f"{name} failed for {framework}:\n{entry['error']}"
    return entry


def _assert_agree(quick: dict, name: str, framework: str) -> None:
    workload = _workload(quick, name)
    got = _entry(quick, name, framework)["results"][-1]
    expected = _entry(quick, name, "numpy")["results"][-1]
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=workload["rtol"]), (name, framework, key)


def test_quick_run_exits_cleanly(quick: dict) -> None:
    proc = quick["proc"]
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "Final losses agree across frameworks for: " + ", ".join(NAMES) in proc.stdout
    assert "µs/step" in proc.stdout and "tokens/s" in proc.stdout


@pytest.mark.parametrize("name", NAMES)
def test_autograd_lite_matches_numpy_reference(quick: dict, name: str) -> None:
    entry = _entry(quick, name, "autograd_lite")
    assert entry["seconds"] and entry["seconds"][0] > 0
    assert entry["peak_rss_mb"] >= entry["import_rss_mb"] > 0
    _assert_agree(quick, name, "autograd_lite")


@pytest.mark.parametrize("name", NAMES)
def test_torch_matches_numpy_reference(quick: dict, name: str, torch: object) -> None:
    _assert_agree(quick, name, "torch")
    assert _workload(quick, name)["agree"] is True


def test_json_and_markdown_hold_the_tables(quick: dict) -> None:
    report = quick["report"]
    assert report["machine"]["cores"] >= 1 and report["machine"]["numpy"] == np.__version__
    assert [w["name"] for w in report["workloads"]] == list(NAMES)
    markdown = quick["markdown"]
    assert "| workload | unit | autograd_lite | PyTorch | NumPy ref |" in markdown
    assert "peak MB (import)" in markdown
    for name in NAMES:
        unit = get(name).unit
        assert f"| {name} | {unit} |" in markdown
        assert f"| {name} | " in markdown.split("final loss ag")[1]
    for workload in report["workloads"]:
        ag = workload["frameworks"]["autograd_lite"]
        if ag["status"] != "ok":
            continue  # reported by test_autograd_lite_matches_numpy_reference
        assert ag["figure"] > 0
        if HAS_TORCH and workload["frameworks"]["torch"]["status"] == "ok":
            torch_median = workload["frameworks"]["torch"]["median_s"]
            assert workload["ratio_torch"] == pytest.approx(ag["median_s"] / torch_median)


def test_unknown_workload_is_refused() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--only", "nope"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert "unknown workload(s) nope; choose from xor" in proc.stderr


def test_a_failing_worker_is_reported_not_skipped() -> None:
    broken = dataclasses.replace(get("xor"), name="no_such_workload")
    log = io.StringIO()
    report = run_workload(broken, ["numpy"], quick=True, reps=1, warmup=0, log=log)
    entry = report["frameworks"]["numpy"]
    assert entry["status"] == "failed"
    assert "unknown workload 'no_such_workload'" in entry["error"]
    assert "numpy FAILED" in log.getvalue()


# ---------------------------------------------------------------- the NumPy reference on its own
def _numeric_grad(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + eps
        up = f()
        x[index] = old - eps
        down = f()
        x[index] = old
        grad[index] = (up - down) / (2 * eps)
    return grad


def test_reference_conv_gradients_match_finite_differences() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 2, 4, 5))
    w = rng.standard_normal((3, 2, 3, 3))
    b = rng.standard_normal(3)
    v = rng.standard_normal((2, 3, 4, 5))  # the loss is <v, conv(x)>
    out, cols = numpy_reference._conv3x3_forward(x, w, b)
    dx, dw, db = numpy_reference._conv3x3_backward(v, cols, w, True)

    def loss() -> float:
        return float(np.sum(v * numpy_reference._conv3x3_forward(x, w, b)[0]))

    np.testing.assert_allclose(dx, _numeric_grad(loss, x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dw, _numeric_grad(loss, w), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(db, _numeric_grad(loss, b), rtol=1e-6, atol=1e-8)


def test_reference_maxpool_routes_gradient_to_the_first_winner() -> None:
    x = np.array([[[[1.0, 3.0, 2.0, 2.0], [0.0, 3.0, 2.0, 1.0]]]])  # the right window ties at 2
    out, masks = numpy_reference._maxpool2_forward(x)
    np.testing.assert_array_equal(out, [[[[3.0, 2.0]]]])
    dx = numpy_reference._maxpool2_backward(np.array([[[[10.0, 20.0]]]]), masks)
    np.testing.assert_array_equal(dx, [[[[0.0, 10.0, 20.0, 0.0], [0.0, 0.0, 0.0, 0.0]]]])


def test_run_orders_put_every_framework_after_every_other_equally_often():
    from benchmarks.run import run_orders

    frameworks = ["autograd_lite", "torch", "numpy"]
    orders = run_orders(frameworks, 6)
    assert all(sorted(order) == sorted(frameworks) for order in orders)
    sequence = [fw for order in orders for fw in order]
    successors: dict[tuple[str, str], int] = {}
    for before, after in zip(sequence, sequence[1:]):
        if before != after:
            successors[(before, after)] = successors.get((before, after), 0) + 1
    # all six ordered pairs occur, and none is more than twice as common as another
    assert len(successors) == 6
    assert max(successors.values()) <= 2 * min(successors.values())
    assert run_orders(["numpy"], 3) == [["numpy"]] * 3
