"""Make every picture the documentation shows, from real runs of the library.

    python scripts/make_doc_images.py                 # all of them, into docs/images
    python scripts/make_doc_images.py --only xor_loss.png gradient_flow.png
    python scripts/make_doc_images.py --list          # each picture and where it comes from

Three kinds of sources, listed in ``MANIFEST``:

* **documentation pages**: the page's Python blocks are run (with the test runner, so
  their printed output is checked on the way), in a scratch directory; pictures the page
  itself writes (``graph.render("tensors_graph.svg")``) are copied, and plots are drawn
  from the numbers the page's run left in its namespace (the loss curves of chapter 5
  are the runs printed in chapter 5);
* **examples**: ``examples/*.py`` are run at their full default size and write (or
  return the numbers for) their pictures;
* **the library directly**: a few curves computed with autograd over a fine grid
  (activations and their derivatives, loss gradients, higher derivatives of tanh).

Needs Graphviz's ``dot`` and matplotlib. ``tests/test_docs.py`` checks that every picture
the docs reference is in ``MANIFEST`` and exists, and that nothing else is in docs/images.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
IMAGES = DOCS / "images"
sys.path.insert(0, str(Path(__file__).resolve().parent))

import docs_blocks  # noqa: E402  (the docs' own code-block runner, next to this script)

#: picture -> (what makes it, a short description)
MANIFEST: dict[str, tuple[str, str]] = {
    "tensors_graph.svg": ("page", "docs/tutorial/tensors.md: ag.viz.draw_graph of y = sum(a * b)"),
    "neuron_graph.svg": ("page", "docs/tutorial/neurons.md: ag.viz.draw_graph of one sigmoid neuron"),
    "activations.png": ("library", "sigmoid, tanh, ReLU and their derivatives from backward()"),
    "losses.png": ("library", "MSE and cross-entropy against the logit, and their gradients"),
    "regression.png": ("example", "examples/regression.py at its default size"),
    "spirals_boundary.png": ("example", "examples/classify_spirals.py at its default size"),
    "xor_explain.txt": ("example", "examples/visualize_xor_step.py: ag.viz.explain of the XOR network"),
    "xor_explain.svg": ("example", "examples/visualize_xor_step.py: the annotated backward pass"),
    "xor_step.svg": ("example", "examples/visualize_xor_step.py: ag.viz.trace_step, SVG"),
    "xor_step.png": ("example", "examples/visualize_xor_step.py: ag.viz.trace_step, PNG"),
    "xor_film.html": ("example", "examples/visualize_xor_step.py: ag.viz.record_film of 10,000 steps"),
    "gradient_flow.png": ("example", "examples/gradient_flow.py: deep sigmoid vs ReLU MLP"),
    "optimizers_batch.png": ("page", "docs/tutorial/optimizers.md: the three flavours' loss curves"),
    "optimizers_ravine.png": ("page", "docs/tutorial/optimizers.md: SGD, momentum and Adam in a ravine"),
    "xor_loss.png": ("page", "docs/tutorial/xor.md: the article's configuration, 10,000 steps"),
    "xor_boundary.png": ("page", "docs/tutorial/xor.md: the trained network over the unit square"),
    "digits_predictions.png": ("page", "docs/tutorial/images.md: test digits with the CNN's guesses"),
    "digits_filters.png": ("page", "docs/tutorial/images.md: the first convolution's learned filters"),
    "digits_training.png": ("example", "examples/digits_cnn.py at its default size"),
    "char_rnn_loss.png": ("example", "examples/char_rnn.py at its default size"),
    "char_rnn_samples.txt": ("example", "examples/char_rnn.py: text sampled after training"),
    "higher_order.png": ("library", "tanh and its first four derivatives with create_graph=True"),
    "mlp_graph.svg": ("page", "docs/guides/visualization.md: ag.viz.draw_graph of a small MLP"),
}

DPI = 110


# ---------------------------------------------------------------------- helpers
def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _save(fig: Any, name: str) -> Path:
    path = IMAGES / name
    fig.savefig(path, metadata={"Software": None})
    return path


def _run_page(relative: str) -> tuple[dict[str, Any], Path]:
    """Run a docs page's blocks (checking their output) in a scratch directory."""
    page = docs_blocks.parse_file(DOCS / relative, ROOT)
    scratch = Path(tempfile.mkdtemp(prefix="docs-page-"))
    here = os.getcwd()
    os.chdir(scratch)
    try:
        import autograd_lite as ag

        ag.manual_seed(0)
        namespace = docs_blocks.run_page(page)
    finally:
        os.chdir(here)
    return namespace, scratch


_PAGES: dict[str, tuple[dict[str, Any], Path]] = {}


def page(relative: str) -> tuple[dict[str, Any], Path]:
    """The namespace and scratch directory of a page's run (each page runs once)."""
    if relative not in _PAGES:
        print(f"  running {relative}")
        _PAGES[relative] = _run_page(relative)
    return _PAGES[relative]


def copy_from_page(relative: str, name: str) -> Path:
    _, scratch = page(relative)
    target = IMAGES / name
    shutil.copyfile(scratch / name, target)
    return target


def _example(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"example_{name}", ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


_EXAMPLES: dict[str, Any] = {}


def example_result(name: str, **kwargs: Any) -> Any:
    """Run ``examples/<name>.py``'s main() once (quietly where it can be) and keep its result."""
    if name not in _EXAMPLES:
        print(f"  running examples/{name}.py")
        _EXAMPLES[name] = _example(name).main(**kwargs)
    return _EXAMPLES[name]


# ---------------------------------------------------------------------- the pictures
def tensors_graph() -> Path:
    return copy_from_page("tutorial/tensors.md", "tensors_graph.svg")


def neuron_graph() -> Path:
    return copy_from_page("tutorial/neurons.md", "neuron_graph.svg")


def mlp_graph() -> Path:
    return copy_from_page("guides/visualization.md", "mlp_graph.svg")


def activations() -> Path:
    import autograd_lite as ag

    z = ag.linspace(-5.0, 5.0, 401, requires_grad=True)
    fig = _figure(10, 3.2)
    axes = fig.subplots(1, 3, sharey=True)
    for ax, (name, fn) in zip(axes, (("sigmoid", ag.sigmoid), ("tanh", ag.tanh), ("ReLU", ag.relu))):
        z.grad = None
        y = fn(z)
        y.sum().backward()  # the gradient of sum(f(z_i)) is f'(z_i) at every point
        zs = z.detach().numpy()
        ax.plot(zs, y.detach().numpy(), lw=2, label=f"{name}(z)")
        ax.plot(zs, z.grad.numpy(), lw=2, ls="--", label=f"{name}'(z) from backward()")
        ax.axhline(0, color="0.6", lw=0.8)
        ax.axvline(0, color="0.6", lw=0.8)
        ax.set_title(name)
        ax.set_xlabel("z")
        ax.set_ylim(-1.15, 1.6)
        ax.legend(fontsize=8, loc="upper left")
        ax.grid(alpha=0.3)
    return _save(fig, "activations.png")


def losses() -> Path:
    import autograd_lite as ag
    from autograd_lite.nn import functional as F

    z = ag.linspace(-6.0, 6.0, 401, requires_grad=True)
    target = ag.ones(401)
    mse = (ag.sigmoid(z) - target) ** 2
    (dmse,) = ag.autograd.grad(mse.sum(), z, retain_graph=True)
    ce = F.binary_cross_entropy_with_logits(z, target, reduction="none")
    (dce,) = ag.autograd.grad(ce.sum(), z, retain_graph=True)
    zs = z.detach().numpy()
    fig = _figure(9, 3.4)
    left, right = fig.subplots(1, 2)
    left.plot(zs, mse.detach().numpy(), lw=2, label="squared error (sigmoid(z) - 1)^2")
    left.plot(zs, ce.detach().numpy(), lw=2, label="cross-entropy -log sigmoid(z)")
    left.set_title("loss for a target of 1")
    right.plot(zs, -dmse.numpy(), lw=2, label="squared error")
    right.plot(zs, -dce.numpy(), lw=2, label="cross-entropy")
    right.set_title("how hard the loss pushes z up: -d loss / dz")
    for ax in (left, right):
        ax.set_xlabel("logit z   (z < 0: the network answers 0, wrongly)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return _save(fig, "losses.png")


def higher_order() -> Path:
    import autograd_lite as ag

    z = ag.linspace(-3.0, 3.0, 301, requires_grad=True)
    curves = [ag.tanh(z)]
    for _ in range(4):
        (d,) = ag.autograd.grad(curves[-1].sum(), z, create_graph=True)
        curves.append(d)
    fig = _figure(7, 3.8)
    ax = fig.subplots()
    zs = z.detach().numpy()
    for order, curve in enumerate(curves):
        label = "tanh(z)" if order == 0 else f"d{'' if order == 1 else order}/dz{'' if order == 1 else order}"
        ax.plot(zs, curve.detach().numpy(), lw=2 if order == 0 else 1.5, label=label)
    ax.set_xlabel("z")
    ax.set_title("tanh and its derivatives, each by differentiating the previous one")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, "higher_order.png")


def optimizers_batch() -> Path:
    namespace, _ = page("tutorial/optimizers.md")
    fig = _figure(7, 3.8)
    ax = fig.subplots()
    for flavour, curve in namespace["curves"].items():
        epochs, loss = zip(*curve)
        ax.plot(epochs, loss, lw=1.2 if flavour == "stochastic" else 2, marker="o" if flavour == "batch" else None,
                ms=4, label=f"{flavour} ({len(curve)} updates)")
    ax.set_yscale("log")
    ax.set_xlabel("epochs (passes over the 64 points)")
    ax.set_ylabel("MSE on all the data (log scale)")
    ax.set_title("Same data, same learning rate, 10 epochs: three batch sizes")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return _save(fig, "optimizers_batch.png")


def optimizers_ravine() -> Path:
    namespace, _ = page("tutorial/optimizers.md")
    paths, ravine_losses = namespace["paths"], namespace["ravine_losses"]
    fig = _figure(10, 3.8)
    left, right = fig.subplots(1, 2, width_ratios=[1.5, 1])
    w0, w1 = np.meshgrid(np.linspace(-4.5, 1.5, 300), np.linspace(-1.3, 1.3, 200))
    left.contour(w0, w1, 0.5 * (w0 ** 2 + 50 * w1 ** 2), levels=np.geomspace(0.01, 60, 14), colors="0.75",
                 linewidths=0.8)
    for name, path in paths.items():
        points = np.asarray(path)
        left.plot(points[:, 0], points[:, 1], marker=".", ms=3, lw=1, label=name)
        right.plot(np.arange(1, len(ravine_losses[name]) + 1), ravine_losses[name], lw=2, label=name)
    left.plot([0], [0], marker="*", ms=12, color="k")
    left.set_xlabel("w0")
    left.set_ylabel("w1")
    left.set_title("loss = 0.5 (w0^2 + 50 w1^2), from (-4, 1)")
    left.legend(fontsize=8)
    right.set_yscale("log")
    right.set_xlabel("step")
    right.set_title("loss (log scale)")
    right.grid(alpha=0.3, which="both")
    right.legend(fontsize=8)
    return _save(fig, "optimizers_ravine.png")


def xor_loss() -> Path:
    namespace, _ = page("tutorial/xor.md")
    steps = np.arange(len(namespace["by_hand"]))
    fig = _figure(7.5, 4)
    ax = fig.subplots()
    ax.plot(steps, [namespace["by_hand"][s] for s in steps], lw=3, alpha=0.5, label="1. NumPy, delta rule by hand")
    ax.plot(steps, [namespace["with_tensors"][s] for s in steps], lw=1.5, ls="--", label="2. autograd on tensors")
    ax.plot(steps, [namespace["with_modules"][s] for s in steps], lw=1, ls=":", color="k",
            label="3. nn.Sequential + optim.SGD")
    printed = namespace["ARTICLE_PRINTS"]
    ax.scatter(list(printed), list(printed.values()), marker="x", s=60, color="tab:red", zorder=5,
               label="what the article prints")
    ax.set_yscale("log")
    ax.set_xlabel("step (full batch, SGD lr 0.1)")
    ax.set_ylabel("mean squared error (log scale)")
    ax.set_title("The article's 2-3-1 sigmoid network on XOR: a real run")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _save(fig, "xor_loss.png")


def xor_boundary() -> Path:
    import autograd_lite as ag

    namespace, _ = page("tutorial/xor.md")
    model = namespace["model"]
    axis = np.linspace(-0.25, 1.25, 241)
    gx, gy = np.meshgrid(axis, axis)
    grid = ag.tensor(np.stack([gx.ravel(), gy.ravel()], axis=1))
    with ag.no_grad():
        out = model(grid).numpy().reshape(gx.shape)
    fig = _figure(4.6, 4)
    ax = fig.subplots()
    filled = ax.contourf(gx, gy, out, levels=np.linspace(0, 1, 11), cmap="RdBu_r")
    ax.contour(gx, gy, out, levels=[0.5], colors="k", linewidths=1.5)
    fig.colorbar(filled, ax=ax, label="network output")
    for (a, b), target in zip(namespace["X"], namespace["T"].ravel()):
        ax.scatter([a], [b], s=120, color="white", edgecolor="k", zorder=5)
        ax.annotate(f"{int(a)}{int(b)} -> {int(target)}", (a, b), textcoords="offset points", xytext=(8, 8))
    ax.set_xlabel("input 1")
    ax.set_ylabel("input 2")
    ax.set_title("Trained XOR network (black line: output 0.5)")
    return _save(fig, "xor_boundary.png")


def digits_predictions() -> Path:
    import autograd_lite as ag

    namespace, _ = page("tutorial/images.md")
    model, x_test, y_test = namespace["model"], namespace["x_test"], namespace["y_test"]
    model.eval()
    with ag.no_grad():
        predicted = model(x_test[:24]).argmax(dim=1).numpy()
    images, truth = x_test.numpy()[:24, 0], y_test.numpy()[:24]
    fig = _figure(9, 3.8)
    axes = fig.subplots(3, 8)
    for ax, image, guess, true in zip(axes.ravel(), images, predicted, truth):
        ax.imshow(image, cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"{guess}" if guess == true else f"{guess} (is {true})", fontsize=9,
                     color="black" if guess == true else "tab:red")
        ax.set_xticks([])
        ax.set_yticks([])
    wrong = int((predicted != truth).sum())
    fig.suptitle(f"The chapter's CNN after 3 epochs: the first 24 test digits, {wrong} wrong (red)")
    return _save(fig, "digits_predictions.png")


def digits_filters() -> Path:
    namespace, _ = page("tutorial/images.md")
    weights = namespace["model"][0].weight.detach().numpy()[:, 0]  # (16, 3, 3)
    limit = float(np.abs(weights).max())
    fig = _figure(8, 2.4)
    axes = fig.subplots(2, 8)
    for index, (ax, kernel) in enumerate(zip(axes.ravel(), weights)):
        ax.imshow(kernel, cmap="bwr", vmin=-limit, vmax=limit)
        ax.set_title(str(index), fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("First-layer 3x3 filters after training (red positive, blue negative)")
    return _save(fig, "digits_filters.png")


def digits_training() -> Path:
    result = example_result("digits_cnn", verbose=False)
    losses = result["losses"]
    fig = _figure(6.5, 3.6)
    ax = fig.subplots()
    ax.plot(np.arange(1, len(losses) + 1), losses, marker="o", ms=3, lw=2)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training cross-entropy (log scale)")
    ax.set_title(f"examples/digits_cnn.py: {len(losses)} epochs, test accuracy {result['test_accuracy']:.1%}")
    ax.grid(alpha=0.3, which="both")
    return _save(fig, "digits_training.png")


def char_rnn_loss() -> Path:
    result = example_result("char_rnn", verbose=False)
    losses = result["losses"]
    fig = _figure(6.5, 3.6)
    ax = fig.subplots()
    epochs = np.arange(1, len(losses) + 1)
    ax.plot(epochs, losses, lw=2, label="training loss")
    ax.axhline(result["baseline"], color="tab:red", ls="--", label=f"uniform guess ln(V) = {result['baseline']:.2f}")
    ax.axhline(result["unigram"], color="tab:orange", ls="--",
               label=f"letter frequencies alone = {result['unigram']:.2f}")
    ax.axhline(result["held_out_loss"], color="tab:green", ls=":",
               label=f"held-out text after training = {result['held_out_loss']:.2f}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy (nats per character)")
    ax.set_title("examples/char_rnn.py: an LSTM learning the shipped text")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, "char_rnn_loss.png")


def char_rnn_samples() -> Path:
    result = example_result("char_rnn", verbose=False)
    lines = [
        "Text written by examples/char_rnn.py after training (an LSTM, default settings),",
        "continuing the prompt 'The ' one character at a time.",
        f"Training loss {result['train_loss']:.3f}, held-out loss {result['held_out_loss']:.3f} nats/char.",
        "",
    ]
    for temperature, text in result["samples"].items():
        lines += [f"--- temperature {temperature} ---", text, ""]
    path = IMAGES / "char_rnn_samples.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _visualize_xor_step() -> None:
    example_result("visualize_xor_step", out_dir=IMAGES)


def _gradient_flow() -> None:
    example_result("gradient_flow", out_dir=IMAGES)


def _copy_example_output(name: str, filename: str) -> Path:
    scratch = Path(tempfile.mkdtemp(prefix="docs-example-"))
    example_result(name, out_dir=scratch, verbose=False)
    target = IMAGES / filename
    shutil.copyfile(scratch / filename, target)
    return target


#: picture -> the function that makes it
MAKERS: dict[str, Callable[[], Any]] = {
    "tensors_graph.svg": tensors_graph,
    "neuron_graph.svg": neuron_graph,
    "activations.png": activations,
    "losses.png": losses,
    "regression.png": lambda: _copy_example_output("regression", "regression.png"),
    "spirals_boundary.png": lambda: _copy_example_output("classify_spirals", "spirals_boundary.png"),
    "xor_explain.txt": _visualize_xor_step,
    "xor_explain.svg": _visualize_xor_step,
    "xor_step.svg": _visualize_xor_step,
    "xor_step.png": _visualize_xor_step,
    "xor_film.html": _visualize_xor_step,
    "gradient_flow.png": _gradient_flow,
    "optimizers_batch.png": optimizers_batch,
    "optimizers_ravine.png": optimizers_ravine,
    "xor_loss.png": xor_loss,
    "xor_boundary.png": xor_boundary,
    "digits_predictions.png": digits_predictions,
    "digits_filters.png": digits_filters,
    "digits_training.png": digits_training,
    "char_rnn_loss.png": char_rnn_loss,
    "char_rnn_samples.txt": char_rnn_samples,
    "higher_order.png": higher_order,
    "mlp_graph.svg": mlp_graph,
}
assert set(MAKERS) == set(MANIFEST), "MAKERS and MANIFEST must list the same pictures"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="make only these pictures")
    parser.add_argument("--list", action="store_true", help="list the pictures and their sources")
    args = parser.parse_args(argv)
    if args.list:
        for name, (kind, description) in MANIFEST.items():
            print(f"{name:<24} {kind:<8} {description}")
        return 0
    names = args.only or list(MANIFEST)
    unknown = sorted(set(names) - set(MANIFEST))
    if unknown:
        parser.error(f"unknown pictures {unknown}; --list shows the known ones")
    import matplotlib

    matplotlib.use("Agg")
    IMAGES.mkdir(parents=True, exist_ok=True)
    done: set[Callable[[], Any]] = set()
    start = time.perf_counter()
    for name in names:
        maker = MAKERS[name]
        if maker in done:
            continue
        t0 = time.perf_counter()
        print(f"{name}:")
        maker()
        done.add(maker)
        print(f"  made in {time.perf_counter() - t0:.1f} s")
    for name in names:
        if not (IMAGES / name).exists():
            raise SystemExit(f"{name} was not written")
    print(f"{len(names)} pictures in {time.perf_counter() - start:.0f} s, in {IMAGES.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
