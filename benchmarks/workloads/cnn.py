"""cnn: a small LeNet-like CNN on a (64, 1, 28, 28) float32 batch.

Conv2d 1->8 3x3 pad 1, ReLU, MaxPool 2; Conv2d 8->16 3x3 pad 1, ReLU, MaxPool 2; Flatten;
Linear 784->10; cross-entropy; plain SGD at lr 0.01; 20 steps on one fixed random batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import numpy_reference
from . import Workload
from .common import Runner, linear_weights, load_weights, tensor_norm, uniform


def config(quick: bool) -> dict[str, Any]:
    return {"steps": 2 if quick else 20, "batch": 64, "lr": 0.01}


def make_data(cfg: dict[str, Any]) -> dict[str, Any]:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((cfg["batch"], 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, size=cfg["batch"]).astype(np.int64)
    weights: dict[str, np.ndarray] = {}
    for key, (c_in, c_out) in (("0", (1, 8)), ("3", (8, 16))):
        bound = 1.0 / np.sqrt(c_in * 9)
        weights[f"{key}.weight"] = uniform(rng, (c_out, c_in, 3, 3), bound, np.float32)
        weights[f"{key}.bias"] = uniform(rng, (c_out,), bound, np.float32)
    weights.update(linear_weights(rng, "7", 784, 10, np.float32))
    return {"x": x, "y": y, "weights": weights}


def build(lib: Any, cfg: dict[str, Any], data: dict[str, Any]) -> Runner:
    nn, F = lib.nn, lib.nn.functional
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(784, 10),
    ).to(lib.float32)
    x, y = lib.from_numpy(data["x"]), lib.from_numpy(data["y"])
    steps = cfg["steps"]
    state: dict[str, Any] = {}

    def reset() -> None:
        load_weights(lib, model, data["weights"])
        state["opt"] = lib.optim.SGD(model.parameters(), lr=cfg["lr"])

    def run() -> dict[str, float]:
        opt = state["opt"]
        for _ in range(steps):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        return {"loss": loss.item(), "weight_norm": tensor_norm(model.parameters())}

    return Runner(reset, run)


WORKLOAD = Workload(
    name="cnn",
    description="(64,1,28,28) f32: conv 1->8, relu, pool, conv 8->16, relu, pool, linear 784->10, CE, SGD",
    unit="ms/step", scale=1e3, target=1.5, reps=5, rtol=1e-4,
    config=config, make_data=make_data, units=lambda cfg: cfg["steps"],
    build=build, numpy=numpy_reference.cnn,
    blas_threads=True,
)
