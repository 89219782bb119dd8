"""Random number generation: one global generator, seeded by ``manual_seed``."""

from __future__ import annotations

from typing import Any

import numpy as np


class Generator:
    """A seedable random source (``ag.Generator().manual_seed(0)``), wrapping NumPy's PCG64."""

    def __init__(self, seed: int | None = None) -> None:
        self._seed = seed
        self.rng = np.random.default_rng(seed)

    def manual_seed(self, seed: int) -> Generator:
        self._seed = int(seed)
        self.rng = np.random.default_rng(self._seed)
        return self

    def initial_seed(self) -> int | None:
        return self._seed

    def get_state(self) -> dict:
        return dict(self.rng.bit_generator.state)

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the global generator so that rand/randn/init/dropout/shuffling repeat exactly."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    value = int(np.random.SeedSequence().entropy) % (2**63)  # type: ignore[arg-type]  # entropy is an int when drawn
    default_generator.manual_seed(value)
    return value


def initial_seed() -> int | None:
    return default_generator.initial_seed()


def get_rng(generator: Any = None) -> np.random.Generator:
    """The NumPy generator behind ``generator`` (or behind the global one)."""
    if generator is None:
        return default_generator.rng
    if isinstance(generator, Generator):
        return generator.rng
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"expected an ag.Generator, got {type(generator).__name__}")
