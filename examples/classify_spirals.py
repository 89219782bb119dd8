"""Classification: two interleaved spirals, an MLP, cross-entropy and mini-batches.

No straight line (and no single hidden unit) separates two spirals that wind around each
other, so this needs the non-linear hidden layers the seed article describes. The points
are generated with NumPy, split into training and test sets with ``random_split``, and fed
to a 2-64-64-2 tanh network by a shuffling DataLoader; the loss is ``nn.CrossEntropyLoss``
on the network's two logits, and Adam does the updates.

Output: a progress bar over the epochs (if tqdm is installed), the final training and
test accuracy, and two pictures in the output directory: the decision regions the network
learned (``spirals_boundary.png``) and the loss curve (``spirals_loss.png``).

Run it::

    python examples/classify_spirals.py
    python examples/classify_spirals.py --fast --out-dir /tmp/out

matplotlib and tqdm are optional (``pip install autograd_lite[examples]``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

import autograd_lite as ag
from autograd_lite import nn, optim
from autograd_lite.utils.data import DataLoader, TensorDataset, random_split

DEFAULT_OUT_DIR = Path(__file__).resolve().parent / "output"


def make_spirals(n_per_class: int, seed: int, turns: float = 2.0, noise: float = 0.03) -> tuple[np.ndarray, np.ndarray]:
    """Two spirals of ``n_per_class`` points each: features (2n, 2) float32, labels (2n,) int64.

    Points sit at angle t and radius t / (2 pi turns) along an arm; the second arm is
    the first rotated by 180 degrees. Gaussian noise blurs the arms a little.
    """
    rng = np.random.default_rng(seed)
    t = np.sqrt(rng.uniform(0.02, 1.0, n_per_class)) * turns * 2 * np.pi  # denser near the centre
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (turns * 2 * np.pi)
    x = np.concatenate([arm, -arm]) + noise * rng.standard_normal((2 * n_per_class, 2))
    y = np.repeat(np.arange(2), n_per_class)
    return x.astype(np.float32), y.astype(np.int64)


def make_model(hidden: int = 64) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(2, hidden), nn.Tanh(),
        nn.Linear(hidden, hidden), nn.Tanh(),
        nn.Linear(hidden, 2),
    )


def progress(epochs: int, enabled: bool) -> tuple[Iterable[int], Any]:
    """A tqdm bar over the epochs if tqdm is installed (and ``enabled``), else a plain range."""
    if not enabled:
        return range(1, epochs + 1), None
    try:
        from tqdm import tqdm
    except ImportError:
        print("(tqdm is not installed: no progress bar; pip install tqdm)")
        return range(1, epochs + 1), None
    bar = tqdm(range(1, epochs + 1), desc="epochs", unit="epoch")
    return bar, bar


def accuracy(model: nn.Module, x: ag.Tensor, y: ag.Tensor) -> float:
    with ag.no_grad():
        return (model(x).argmax(dim=1) == y).float().mean().item()


def save_pictures(out_dir: Path, model: nn.Module, x: np.ndarray, y: np.ndarray,
                  losses: list[float]) -> list[Path]:
    """The decision regions with the data on top, and the loss curve; [] without matplotlib."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print("matplotlib is not installed, so no pictures were saved (pip install matplotlib).")
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    lim = float(np.abs(x).max()) + 0.15
    axis = np.linspace(-lim, lim, 250, dtype=np.float32)
    gx, gy = np.meshgrid(axis, axis)
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
    with ag.no_grad():  # one forward pass over all 62,500 grid points
        prob = model(ag.from_numpy(grid)).softmax(dim=1).numpy()[:, 1].reshape(gx.shape)

    fig = Figure(figsize=(5.5, 5), tight_layout=True)
    ax = fig.add_subplot()
    ax.contourf(gx, gy, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
    ax.contour(gx, gy, prob, levels=[0.5], colors="k", linewidths=1.5)
    ax.scatter(x[y == 0, 0], x[y == 0, 1], s=6, color="tab:blue", label="class 0")
    ax.scatter(x[y == 1, 0], x[y == 1, 1], s=6, color="tab:red", label="class 1")
    ax.set_aspect("equal")
    ax.set_title("Decision regions (P(class 1); black line: 0.5)")
    ax.legend(loc="lower left", fontsize=8, framealpha=0.9)
    boundary = out_dir / "spirals_boundary.png"
    fig.savefig(boundary, dpi=100)

    fig = Figure(figsize=(6, 3.5), tight_layout=True)
    ax = fig.add_subplot()
    ax.plot(np.arange(1, len(losses) + 1), losses)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean cross-entropy (training)")
    ax.set_title("Loss curve")
    curve = out_dir / "spirals_loss.png"
    fig.savefig(curve, dpi=100)
    return [boundary, curve]


def main(
    epochs: int = 150,
    n_per_class: int = 500,
    batch_size: int = 64,
    lr: float = 0.01,
    seed: int = 0,
    out_dir: str | Path | None = DEFAULT_OUT_DIR,
    fast: bool = False,
    verbose: bool = True,
) -> dict[str, Any]:
    """Train and return ``losses`` (mean per epoch), ``train_accuracy``, ``test_accuracy``,
    ``pictures`` (paths of the PNGs written) and ``seconds``."""
    if fast:
        epochs = min(epochs, 40)
    say = print if verbose else (lambda *a, **k: None)
    ag.manual_seed(seed)
    x, y = make_spirals(n_per_class, seed)
    data = TensorDataset(ag.from_numpy(x), ag.from_numpy(y))
    n_test = len(data) // 5
    train_set, test_set = random_split(data, [len(data) - n_test, n_test], generator=ag.Generator(seed))
    loader = DataLoader(train_set, batch_size=batch_size, shuffle=True, seed=seed)
    x_train, y_train = (ag.from_numpy(a[train_set.indices]) for a in (x, y))
    x_test, y_test = (ag.from_numpy(a[test_set.indices]) for a in (x, y))

    model = make_model()
    optimizer = optim.Adam(model.parameters(), lr=lr)
    criterion = nn.CrossEntropyLoss()
    say(f"Two spirals: {len(train_set)} training and {len(test_set)} test points; model:")
    say(model)

    losses: list[float] = []
    epoch_iter, bar = progress(epochs, verbose)
    start = time.perf_counter()
    for epoch in epoch_iter:
        total, count = 0.0, 0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(yb)
            count += len(yb)
        losses.append(total / count)
        if bar is not None:
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
        elif verbose and (epoch % max(1, epochs // 5) == 0 or epoch == epochs):
            print(f"  epoch {epoch:4d}: loss {losses[-1]:.4f}")
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - start

    train_acc = accuracy(model, x_train, y_train)
    test_acc = accuracy(model, x_test, y_test)
    say(f"Loss {losses[0]:.4f} -> {losses[-1]:.4f} (chance: ln 2 = {np.log(2):.4f}) in {epochs} epochs, "
        f"{seconds:.1f} s")
    say(f"Accuracy: training {train_acc:.1%}, test {test_acc:.1%}")

    pictures: list[Path] = []
    if out_dir is not None:
        pictures = save_pictures(Path(out_dir), model, x, y, losses)
        for p in pictures:
            say(f"Saved {p}")
    return {"losses": losses, "train_accuracy": train_acc, "test_accuracy": test_acc,
            "pictures": pictures, "seconds": seconds}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR, help="where the PNGs go")
    parser.add_argument("--fast", action="store_true", help="a short run (40 epochs)")
    args = parser.parse_args()
    main(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, seed=args.seed,
         out_dir=args.out_dir, fast=args.fast)
