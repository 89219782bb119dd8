"""tiny_ops: per-op overhead on a (16,) tensor.

x of shape (16,), float64; 100 x (multiply by 1.01, add 0.1, tanh) = 300 ops, sum,
backward; repeated 100 times. Reported per op (forward and backward together).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import numpy_reference
from . import Workload
from .common import Runner


def config(quick: bool) -> dict[str, Any]:
    return {"repeats": 3 if quick else 100, "blocks": 100}


def make_data(cfg: dict[str, Any]) -> dict[str, Any]:
    return {"x": np.random.default_rng(1).standard_normal(16)}


def build(lib: Any, cfg: dict[str, Any], data: dict[str, Any]) -> Runner:
    x = lib.from_numpy(data["x"].copy()).requires_grad_()
    repeats, blocks = cfg["repeats"], cfg["blocks"]

    def reset() -> None:
        x.grad = None

    def run() -> dict[str, float]:
        for _ in range(repeats):
            x.grad = None
            y = x
            for _ in range(blocks):
                y = y * 1.01
                y = y + 0.1
                y = y.tanh()
            loss = y.sum()
            loss.backward()
        return {"loss": loss.item(), "grad_norm": float(np.linalg.norm(x.grad.numpy()))}

    return Runner(reset, run)


WORKLOAD = Workload(
    name="tiny_ops",
    description="x (16,) float64: 100 x (mul 1.01, add 0.1, tanh) = 300 ops, sum, backward; x100",
    unit="µs/op", scale=1e6, target=0.5, reps=7, rtol=1e-12,
    config=config, make_data=make_data, units=lambda cfg: cfg["repeats"] * cfg["blocks"] * 3,
    build=build, numpy=numpy_reference.tiny_ops,
)
