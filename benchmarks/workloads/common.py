"""Pieces shared by the workloads: the runner pair, weight generation and loading."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Runner:
    """One framework's version of a workload.

    ``reset()`` (not timed) puts the weights and optimizer back to their initial state;
    ``run()`` (timed) runs the whole workload once and returns the numbers that all
    frameworks must agree on (final loss, a weight or gradient norm).
    """

    reset: Callable[[], None]
    run: Callable[[], dict[str, float]]


def uniform(rng: np.random.Generator, shape: tuple[int, ...], bound: float, dtype: Any) -> np.ndarray:
    """U(-bound, bound) weights, the shape of PyTorch's default init for Linear/Conv/LSTM."""
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


def linear_weights(
    rng: np.random.Generator, prefix: str, fan_in: int, fan_out: int, dtype: Any
) -> dict[str, np.ndarray]:
    """Weights of ``Linear(fan_in, fan_out)`` under PyTorch's key names, U(-1/sqrt(fan_in), ..)."""
    bound = 1.0 / np.sqrt(fan_in)
    return {
        f"{prefix}.weight": uniform(rng, (fan_out, fan_in), bound, dtype),
        f"{prefix}.bias": uniform(rng, (fan_out,), bound, dtype),
    }


def load_weights(lib: Any, module: Any, weights: dict[str, np.ndarray]) -> None:
    """Load NumPy weights into ``module`` through its public ``load_state_dict``.

    Each array is copied first, so training can never write back into the shared initial
    weights, whatever ``load_state_dict`` does with the tensors it is given.
    """
    module.load_state_dict({name: lib.from_numpy(array.copy()) for name, array in weights.items()})


def tensor_norm(tensors: Iterable[Any]) -> float:
    """The 2-norm of all given tensors (torch or autograd_lite) or arrays taken together."""
    total = 0.0
    for t in tensors:
        array = t if isinstance(t, np.ndarray) else t.detach().numpy()
        total += float(np.sum(np.square(array, dtype=np.float64)))
    return float(np.sqrt(total))
