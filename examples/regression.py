"""Regression: fit a noisy sine curve with a small MLP and mean squared error.

The seed article names mean squared error as the loss for regression. Here 256 points
``y = sin(x) + noise`` (noise standard deviation 0.1, so the best possible training MSE
is about 0.01) are fitted by a 1-64-64-1 tanh network with Adam (its learning rate
annealed by a cosine schedule) and mini-batches from a DataLoader. The script prints
the training loss as it falls and the error against the noise-free curve, and saves a
plot of the data, the truth and the fit.

Run it::

    python examples/regression.py                # plot in examples/output/regression.png
    python examples/regression.py --fast --out-dir /tmp/out

The plot needs matplotlib (``pip install autograd_lite[examples]``); without it the
script still trains and prints.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

import autograd_lite as ag
from autograd_lite import nn, optim
from autograd_lite.utils.data import DataLoader, TensorDataset

DEFAULT_OUT_DIR = Path(__file__).resolve().parent / "output"
NOISE_STD = 0.1


def make_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points with x ~ U(-3, 3) and y = sin(x) + N(0, 0.1^2), as (n, 1) float32 arrays."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3.0, 3.0, size=(n, 1))
    y = np.sin(x) + NOISE_STD * rng.standard_normal((n, 1))
    return x.astype(np.float32), y.astype(np.float32)


def make_model(hidden: int = 64) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(1, hidden), nn.Tanh(),
        nn.Linear(hidden, hidden), nn.Tanh(),
        nn.Linear(hidden, 1),
    )


def save_plot(path: Path, x: np.ndarray, y: np.ndarray, grid: np.ndarray, fit: np.ndarray) -> bool:
    """Data, truth and fit in one PNG; returns False (with a message) if matplotlib is missing."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print("matplotlib is not installed, so no plot was saved (pip install matplotlib).")
        return False
    fig = Figure(figsize=(7, 4), tight_layout=True)
    ax = fig.add_subplot()
    ax.scatter(x.ravel(), y.ravel(), s=8, alpha=0.5, color="tab:gray", label="noisy data")
    ax.plot(grid.ravel(), np.sin(grid).ravel(), color="tab:green", lw=2, label="truth: sin(x)")
    ax.plot(grid.ravel(), fit.ravel(), color="tab:red", lw=2, ls="--", label="MLP fit")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("MSE regression with autograd_lite")
    ax.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return True


def main(
    epochs: int = 300,
    n_points: int = 256,
    batch_size: int = 32,
    lr: float = 0.01,
    seed: int = 0,
    out_dir: str | Path | None = DEFAULT_OUT_DIR,
    fast: bool = False,
    verbose: bool = True,
) -> dict[str, Any]:
    """Train and return ``losses`` (mean training loss per epoch), ``train_mse``,
    ``truth_mse`` (against sin on a grid), ``baseline_mse`` (predicting the mean of y)
    and ``plot`` (the PNG's path, or None)."""
    if fast:
        epochs = min(epochs, 60)
    say = print if verbose else (lambda *a, **k: None)
    ag.manual_seed(seed)
    x, y = make_data(n_points, seed)
    loader = DataLoader(TensorDataset(ag.from_numpy(x), ag.from_numpy(y)), batch_size=batch_size,
                        shuffle=True, seed=seed)
    model = make_model()
    optimizer = optim.Adam(model.parameters(), lr=lr)
    # Large steps first, then smaller ones so the fit settles instead of jittering.
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    criterion = nn.MSELoss()

    baseline = float(np.mean((y - y.mean()) ** 2))
    say(f"Fitting y = sin(x) + noise (std {NOISE_STD}) on {n_points} points; "
        f"predicting the mean gives MSE {baseline:.4f}.")
    losses: list[float] = []
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        total = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
        scheduler.step()
        losses.append(total / n_points)
        if epoch == 1 or epoch % max(1, epochs // 6) == 0 or epoch == epochs:
            say(f"  epoch {epoch:4d}: training MSE {losses[-1]:.4f}")
    seconds = time.perf_counter() - start

    grid = np.linspace(-3.0, 3.0, 400, dtype=np.float32)[:, None]
    with ag.no_grad():
        train_mse = criterion(model(ag.from_numpy(x)), ag.from_numpy(y)).item()
        fit = model(ag.from_numpy(grid)).numpy()
    truth_mse = float(np.mean((fit - np.sin(grid)) ** 2))
    say(f"Training MSE {train_mse:.4f} (noise floor ~{NOISE_STD ** 2:.4f}); "
        f"MSE against the noise-free sin(x): {truth_mse:.4f}; {epochs} epochs in {seconds:.1f} s")

    plot = None
    if out_dir is not None:
        path = Path(out_dir) / "regression.png"
        if save_plot(path, x, y, grid, fit):
            plot = path
            say(f"Saved {path}")
    return {"losses": losses, "train_mse": train_mse, "truth_mse": truth_mse,
            "baseline_mse": baseline, "plot": plot, "seconds": seconds}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR, help="where the PNG goes")
    parser.add_argument("--fast", action="store_true", help="a short run (60 epochs)")
    args = parser.parse_args()
    main(epochs=args.epochs, lr=args.lr, seed=args.seed, out_dir=args.out_dir, fast=args.fast)
