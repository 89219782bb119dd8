"""mlp: a 784-256-256-10 ReLU MLP in float32, cross-entropy, SGD with momentum 0.9.

Batches of 128 are taken in order (wrapping around) from 4,096 random samples with random
labels; 100 steps at lr 0.01.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import numpy_reference
from . import Workload
from .common import Runner, linear_weights, load_weights, tensor_norm

SIZES = (784, 256, 256, 10)


def config(quick: bool) -> dict[str, Any]:
    return {"steps": 3 if quick else 100, "batch": 128, "samples": 4096, "lr": 0.01, "momentum": 0.9}


def make_data(cfg: dict[str, Any]) -> dict[str, Any]:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((cfg["samples"], SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], size=cfg["samples"]).astype(np.int64)
    weights: dict[str, np.ndarray] = {}
    for layer, (fan_in, fan_out) in enumerate(zip(SIZES[:-1], SIZES[1:], strict=False)):
        weights.update(linear_weights(rng, str(2 * layer), fan_in, fan_out, np.float32))
    return {"x": x, "y": y, "weights": weights}


def build(lib: Any, cfg: dict[str, Any], data: dict[str, Any]) -> Runner:
    nn, F = lib.nn, lib.nn.functional
    model = nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)
    ).to(lib.float32)
    x, y = lib.from_numpy(data["x"]), lib.from_numpy(data["y"])
    steps, batch, samples = cfg["steps"], cfg["batch"], cfg["samples"]
    state: dict[str, Any] = {}

    def reset() -> None:
        load_weights(lib, model, data["weights"])
        state["opt"] = lib.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=cfg["momentum"])

    def run() -> dict[str, float]:
        opt = state["opt"]
        for step in range(steps):
            start = (step * batch) % samples
            opt.zero_grad()
            loss = F.cross_entropy(model(x[start:start + batch]), y[start:start + batch])
            loss.backward()
            opt.step()
        return {"loss": loss.item(), "weight_norm": tensor_norm(model.parameters())}

    return Runner(reset, run)


WORKLOAD = Workload(
    name="mlp",
    description="784-256-256-10 ReLU MLP, float32, cross-entropy, batch 128, SGD momentum 0.9",
    unit="ms/step", scale=1e3, target=0.8, reps=5, rtol=1e-4,
    config=config, make_data=make_data, units=lambda cfg: cfg["steps"],
    build=build, numpy=numpy_reference.mlp,
    blas_threads=True,
)
