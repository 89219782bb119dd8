"""The workloads of issue 5, in the order the issue lists them.

Each workload module defines ``WORKLOAD``: how to make its data and initial weights
(NumPy, fixed seed), one ``build(lib, cfg, data)`` that runs unchanged on
``autograd_lite`` and on ``torch`` (the API is PyTorch's, so the same source serves both),
and the hand-derived NumPy reference from :mod:`benchmarks.numpy_reference`.
Modules here never import torch or autograd_lite at import time: the worker imports
exactly one framework, so its memory is attributable.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .common import Runner


@dataclass(frozen=True)
class Workload:
    """A benchmark workload and how its time is reported."""

    name: str
    description: str
    #: the unit of the reported figure: "µs/step", "µs/op", "ms/step", "s" or "tokens/s"
    unit: str
    #: seconds per counted unit are multiplied by this (1e6 for µs); for "tokens/s" unused
    scale: float
    #: the issue's target for autograd_lite time / PyTorch time
    target: float
    #: timed repetitions by default (one more untimed warm-up runs first)
    reps: int
    #: relative tolerance for "all frameworks reach the same final numbers"
    rtol: float
    config: Callable[[bool], dict[str, Any]]
    make_data: Callable[[dict[str, Any]], dict[str, Any]]
    #: how many units (steps, ops, tokens, or 1 for "s") one run contains
    units: Callable[[dict[str, Any]], int]
    build: Callable[[Any, dict[str, Any], dict[str, Any]], Runner]
    numpy: Callable[[dict[str, Any], dict[str, Any]], Runner]
    note: str = ""
    #: its runs make matrix products big enough for BLAS to use its worker threads, which keep
    #: spinning for a while after a run: the harness pauses before each run of such a workload
    #: (the others skip the pause: after an idle pause a short run starts on a cold CPU)
    blas_threads: bool = False

    @property
    def is_rate(self) -> bool:
        return self.unit.endswith("/s")

    def display(self, seconds: float, cfg: dict[str, Any]) -> float:
        """The figure shown for one run that took ``seconds``, in this workload's unit."""
        n = self.units(cfg)
        if self.is_rate:
            return n / seconds
        return seconds / n * self.scale


NAMES = ("xor", "tiny_ops", "mlp", "cnn", "deep_chain", "char_rnn")


def get(name: str) -> Workload:
    """The workload called ``name`` (one of :data:`NAMES`)."""
    if name not in NAMES:
        raise KeyError(f"unknown workload {name!r}; choose from {', '.join(NAMES)}")
    return importlib.import_module(f"benchmarks.workloads.{name}").WORKLOAD
