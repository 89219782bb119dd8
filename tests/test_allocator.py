"""The allocator setting applied at import: on by default on glibc, off when asked."""

from __future__ import annotations

import os
import subprocess
import sys

import autograd_lite._allocator as allocator


def _tuned_in_child(env_value: str | None) -> str:
    env = dict(os.environ)
    env.pop("AUTOGRAD_LITE_MALLOC_TUNING", None)
    if env_value is not None:
        env["AUTOGRAD_LITE_MALLOC_TUNING"] = env_value
    code = "import autograd_lite._allocator as a; print(a.allocator_tuned)"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_opting_out_leaves_the_allocator_alone():
    assert _tuned_in_child("0") == "False"


def test_default_follows_the_platform():
    expected = sys.platform.startswith("linux") and allocator.tune_allocator()
    assert _tuned_in_child(None) == str(expected)
