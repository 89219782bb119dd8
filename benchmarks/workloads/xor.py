"""xor: the seed article's 2-3-1 sigmoid network, full-batch gradient descent.

0.5 * sum of squared errors over the four XOR patterns, SGD at lr 0.1 (no momentum), float64.
Weights uniform in [0, 1) and zero biases, as in the seed article.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import numpy_reference
from . import Workload
from .common import Runner, load_weights, tensor_norm


def config(quick: bool) -> dict[str, Any]:
    return {"steps": 20 if quick else 10_000, "lr": 0.1}


def make_data(cfg: dict[str, Any]) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    t = np.array([[0.0], [1.0], [1.0], [0.0]])
    weights = {
        "0.weight": rng.random((3, 2)),
        "0.bias": np.zeros(3),
        "2.weight": rng.random((1, 3)),
        "2.bias": np.zeros(1),
    }
    return {"x": x, "t": t, "weights": weights}


def build(lib: Any, cfg: dict[str, Any], data: dict[str, Any]) -> Runner:
    nn = lib.nn
    model = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1), nn.Sigmoid()).to(lib.float64)
    x, t = lib.from_numpy(data["x"]), lib.from_numpy(data["t"])
    steps, lr = cfg["steps"], cfg["lr"]
    state: dict[str, Any] = {}

    def reset() -> None:
        load_weights(lib, model, data["weights"])
        state["opt"] = lib.optim.SGD(model.parameters(), lr=lr)

    def run() -> dict[str, float]:
        opt = state["opt"]
        for _ in range(steps):
            opt.zero_grad()
            loss = 0.5 * ((model(x) - t) ** 2).sum()
            loss.backward()
            opt.step()
        return {"loss": loss.item(), "weight_norm": tensor_norm(model.parameters())}

    return Runner(reset, run)


WORKLOAD = Workload(
    name="xor",
    description="2-3-1 sigmoid MLP, 0.5*SSE, full-batch GD lr 0.1, float64",
    unit="µs/step", scale=1e6, target=0.35, reps=5, rtol=1e-9,
    config=config, make_data=make_data, units=lambda cfg: cfg["steps"],
    build=build, numpy=numpy_reference.xor,
)
