"""Vanishing gradients, measured: a deep sigmoid MLP against the same MLP with ReLU.

The seed article says ReLU eases the vanishing-gradient problem. Here is why, with
numbers. Backpropagation multiplies the gradient, layer by layer, by each activation's
slope (and by the weights). The sigmoid's slope is at most 0.25, so in a deep stack of
sigmoids every layer shrinks the gradient by a factor of 4 or more and the first layers
hardly learn. ReLU's slope is exactly 1 wherever a unit is active, so with weights scaled
for it (Kaiming/He initialisation) the gradient keeps its size all the way down.

The two networks are identical except for the activation: the same depth and width, the
same initial weights (Kaiming normal, drawn from the same seed), the same data (points
in the square labelled by the XOR of their coordinates' signs: the seed's XOR problem in
2-D) and the same optimiser. During training, ``viz.GradientFlow`` records every layer's
gradient norm after each backward pass, and ``viz.plot_gradient_flow`` draws both runs
side by side (matplotlib, an optional extra).

Run ``python examples/gradient_flow.py``; it writes ``gradient_flow.png`` (by default into
``docs/images``; pass another folder as the first argument).
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np

import autograd_lite as ag
from autograd_lite import nn, viz

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "docs" / "images"


def make_mlp(activation: str, depth: int, width: int, seed: int) -> nn.Module:
    """``depth`` hidden layers of ``width`` units with the given activation, then 2 logits."""
    ag.manual_seed(seed)
    act = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}[activation]
    layers: list[tuple[str, nn.Module]] = []
    fan_in = 2
    for index in range(1, depth + 1):
        linear = nn.Linear(fan_in, width)
        nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
        nn.init.zeros_(linear.bias)
        layers += [(f"fc{index}", linear), (f"act{index}", act())]
        fan_in = width
    head = nn.Linear(width, 2)
    nn.init.kaiming_normal_(head.weight, nonlinearity="relu")
    nn.init.zeros_(head.bias)
    layers.append(("head", head))
    return nn.Sequential(OrderedDict(layers))


def make_data(n: int, seed: int) -> tuple[ag.Tensor, ag.Tensor]:
    """``n`` points in [-1, 1]^2, labelled 1 where x0 * x1 > 0 (the XOR of the signs)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(n, 2)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    return ag.tensor(x), ag.tensor(y)


def train(
    model: nn.Module, x: ag.Tensor, y: ag.Tensor, steps: int, lr: float,
) -> tuple[viz.GradientFlow, list]:
    """Full-batch SGD, recording every layer's gradient norm after each backward pass."""
    flow = viz.GradientFlow(model)
    optimizer = ag.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for step in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        flow.record(step)
        optimizer.step()
        losses.append(loss.item())
    return flow, losses


def main(fast: bool = False, out_dir: str | Path = DEFAULT_OUT, depth: int = 10, width: int = 32) -> dict:
    """Train both networks, plot the gradient flow, and return the measurements.

    ``fast`` trains for a few steps only (for tests). The result holds, per activation,
    the ``GradientFlow``, the losses and ``shrink``: the first layer's gradient norm
    divided by the last hidden layer's, at the first step (1 means no vanishing).
    """
    steps = 15 if fast else 300
    x, y = make_data(256, seed=1)
    results: dict = {"runs": {}}
    flows = {}
    for activation in ("sigmoid", "relu"):
        model = make_mlp(activation, depth, width, seed=0)
        flow, losses = train(model, x, y, steps, lr=0.1)
        first = flow.norms[0]
        hidden = [i for i, name in enumerate(flow.layers) if name.startswith("fc")]
        shrink = float(first[hidden[0]] / first[hidden[-1]])
        results["runs"][activation] = {"flow": flow, "losses": losses, "shrink": shrink}
        flows[f"{depth} x Linear + {activation}"] = flow
        print(f"{activation:>8}: first-layer / last-layer gradient norm at step 0 = {shrink:.3g}; "
              f"loss {losses[0]:.4f} -> {losses[-1]:.4f}")
        print("          per-layer gradient norms at step 0: "
              + " ".join(f"{v:.2g}" for v in first[hidden]))
    out = Path(out_dir)
    path = out / "gradient_flow.png"
    viz.plot_gradient_flow(
        flows, path=path,
        title=f"Gradient norm per layer while training a {depth}-layer MLP: sigmoid vs ReLU "
              "(same weights, same data)",
    )
    print(f"wrote {path}")
    results["png"] = path
    return results


if __name__ == "__main__":
    main(out_dir=sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT)
