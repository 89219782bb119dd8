"""The Tensor methods that type checkers see are the ones attached at run time."""

import inspect
import subprocess
import sys
from pathlib import Path

import autograd_lite as ag
from autograd_lite._tensor_methods import METHODS

ROOT = Path(__file__).resolve().parents[1]


def test_the_stub_is_what_the_generator_writes_now():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_tensor_api.py"), "--check"], capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr


def test_every_attached_method_is_declared_with_its_parameters():
    stub = (ROOT / "autograd_lite" / "_tensor_api.pyi").read_text(encoding="utf-8")
    for name, function in METHODS.items():
        assert f"    def {name}(self" in stub, name
        assert getattr(ag.Tensor, name) is function
        parameters = list(inspect.signature(function).parameters)[1:]
        line = next(line for line in stub.splitlines() if line.startswith(f"    def {name}(self"))
        for parameter in parameters:
            assert parameter in line, (name, parameter)


def test_importing_the_library_leaves_numpy_and_the_allocator_settings_alone():
    code = (
        "import numpy as np; before = (np.geterr(), np.get_printoptions()); import autograd_lite; "
        "assert (np.geterr(), np.get_printoptions()) == before"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
