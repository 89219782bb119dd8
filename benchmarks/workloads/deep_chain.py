"""deep_chain: a 0-d tensor through 100,000 chained ops (alternating multiply and add), backward.

Measures per-node cost in a very deep graph, and that backward needs no recursion.
The whole run (forward, backward, freeing the graph) is timed; reported in seconds.
"""

from __future__ import annotations

from typing import Any

from .. import numpy_reference
from . import Workload
from .common import Runner

MUL, ADD = 1.00001, 1e-5


def config(quick: bool) -> dict[str, Any]:
    return {"depth": 2_000 if quick else 100_000, "x0": 0.5}


def make_data(cfg: dict[str, Any]) -> dict[str, Any]:
    return {}


def build(lib: Any, cfg: dict[str, Any], data: dict[str, Any]) -> Runner:
    pairs = cfg["depth"] // 2
    x = lib.tensor(cfg["x0"], dtype=lib.float64, requires_grad=True)

    def reset() -> None:
        x.grad = None

    def run() -> dict[str, float]:
        y = x
        for _ in range(pairs):
            y = y * MUL
            y = y + ADD
        y.backward()
        result = {"loss": y.item(), "grad": x.grad.item()}
        del y  # free the graph inside the timed region
        return result

    return Runner(reset, run)


WORKLOAD = Workload(
    name="deep_chain",
    description="0-d float64 tensor through 100,000 chained ops (x*1.00001, +1e-5), backward",
    unit="s", scale=1.0, target=0.4, reps=5, rtol=1e-9,
    config=config, make_data=make_data, units=lambda cfg: 1,
    build=build, numpy=numpy_reference.deep_chain,
)
