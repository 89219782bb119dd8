"""Test configuration: Hypothesis profiles and the rule that CI never skips."""

from __future__ import annotations

import os
import shutil

# One BLAS thread: the tests multiply small matrices, where a second thread on a busy 2-core
# machine only adds contention (set before NumPy is first imported).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest
from hypothesis import HealthCheck, settings

# A quick profile by default; HYPOTHESIS_PROFILE=thorough for many more examples.
settings.register_profile(
    "default", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

IN_CI = bool(os.environ.get("CI"))


def require(condition: bool, reason: str) -> None:
    """Skip locally when an optional tool is missing, but fail in CI, where everything must run."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


@pytest.fixture
def torch():
    """PyTorch 2.13.0 as a reference oracle (skips locally without it, fails in CI)."""
    require(_has_module("torch"), "torch==2.13.0 is not installed (pip install -e '.[torch]')")
    import torch as _torch

    _torch.set_default_dtype(_torch.float32)
    return _torch


@pytest.fixture
def dot_binary():
    """Graphviz's `dot` program (skips locally without it, fails in CI)."""
    require(shutil.which("dot") is not None, "Graphviz's `dot` is not installed (apt-get install graphviz)")
    return shutil.which("dot")


@pytest.fixture(autouse=True)
def _fresh_defaults():
    import autograd_lite as ag

    ag.set_default_dtype(ag.float32)
    ag.manual_seed(0)
    yield
    ag.set_default_dtype(ag.float32)
