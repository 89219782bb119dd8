"""ag.save / ag.load (npz + JSON, no pickle, atomic writes) and the safetensors bridge to PyTorch."""

from __future__ import annotations

import importlib.util
import io
import json
import math
import os
import pathlib
import sys
from collections import OrderedDict

import numpy as np
import pytest
from conftest import require

import autograd_lite as ag
from autograd_lite import serialization
from autograd_lite.serialization import HEADER_KEY, load_safetensors, save_safetensors


@pytest.fixture
def safetensors():
    """The optional safetensors package (skips locally without it, fails in CI)."""
    require(importlib.util.find_spec("safetensors") is not None,
            "safetensors is not installed (pip install -e '.[safetensors]')")
    import safetensors as module

    return module


def _assert_same(a, b, where="obj"):
    """Structural equality with exact types and dtypes (NaN equal to NaN)."""
    assert type(a) is type(b) or (isinstance(a, ag.Tensor) and isinstance(b, ag.Tensor)), where
    if isinstance(a, ag.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad, where
        np.testing.assert_array_equal(np.asarray(a._data), np.asarray(b._data), err_msg=where)
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and np.shape(a) == np.shape(b), where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            assert type(k) is type([kb for kb in b if kb == k][0]), where
            _assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            _assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), where
    else:
        assert a == b, where
        if isinstance(a, float):
            assert math.copysign(1, a) == math.copysign(1, b), where


def _nested():
    shared = ag.tensor([1.5, -2.5], dtype=ag.float64, requires_grad=True)
    return {
        "tensors": {
            str(dt): ag.tensor(np.arange(6).reshape(2, 3) % 2 == 0) if dt == "bool"
            else ag.tensor(np.arange(6).reshape(2, 3), dtype=getattr(ag, dt))
            for dt in ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]
        },
        "scalar_tensor": ag.tensor(3.25),
        "empty": ag.zeros(0, 3),
        "param": shared,
        "tied": [shared, shared],
        "arrays": [np.arange(4, dtype=np.uint8), np.array(["ab", "ç"]), np.float32(2.5), np.int64(-7)],
        "numbers": (0, -1, 2**70, 1.0, -0.0, 1e-300, float("nan"), float("inf"), float("-inf"),
                    True, False, None),
        "text": "héllo \"world\" \n",
        3: "int key",
        (1, "a"): "tuple key",
        None: "none key",
        2.5: "float key",
        "ordered": OrderedDict([("z", 1), ("a", [ag.ones(1)])]),
        "empty_containers": ([], (), {}, OrderedDict()),
    }


def test_round_trip_nested_structures_with_exact_types(tmp_path):
    obj = _nested()
    path = tmp_path / "nested.ckpt"
    ag.save(obj, path)
    assert path.exists() and not path.with_suffix(".ckpt.npz").exists()  # the name is used as given
    loaded = ag.load(path)
    _assert_same(obj, loaded)
    assert isinstance(loaded["ordered"], OrderedDict) and not isinstance(loaded["tensors"], OrderedDict)
    assert loaded["tied"][0] is loaded["tied"][1] is loaded["param"]  # a tensor saved twice loads as one
    assert loaded["tensors"]["float32"]._data.flags.writeable


def test_round_trip_through_a_file_object():
    buffer = io.BytesIO()
    ag.save({"w": ag.ones(2, 2), "step": 4}, buffer)
    buffer.seek(0)
    loaded = ag.load(buffer)
    assert loaded["step"] == 4 and loaded["w"].tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_file_is_plain_npz_with_a_json_description(tmp_path):
    path = tmp_path / "plain.pt"
    ag.save({"w": ag.tensor([1.0, 2.0]), "n": 3}, path)
    with np.load(path, allow_pickle=False) as npz:
        assert set(npz.files) == {"a0", HEADER_KEY}
        header = json.loads(npz[HEADER_KEY].tobytes().decode())
        assert npz["a0"].tolist() == [1.0, 2.0]
    assert header["format"] == "autograd_lite" and header["version"] == 1
    assert header["root"] == {"dict": [["w", {"tensor": "a0", "requires_grad": False}], ["n", 3]]}


def test_model_state_dict_round_trip(tmp_path):
    model = ag.nn.Linear(3, 2)
    path = tmp_path / "model.pt"
    ag.save(model.state_dict(), path)
    fresh = ag.nn.Linear(3, 2)
    fresh.load_state_dict(ag.load(path))
    x = ag.randn(4, 3)
    np.testing.assert_array_equal(fresh(x).detach().numpy(), model(x).detach().numpy())


def test_optimizer_state_dict_round_trip(tmp_path):
    def make():
        return [ag.tensor([[0.5, -1.0], [2.0, 0.1]], dtype=ag.float64, requires_grad=True)]

    def train(opt, params, steps):
        for _ in range(steps):
            opt.zero_grad()
            ((params[0] ** 3).sum() + params[0].sum()).backward()
            opt.step()

    params = make()
    opt = ag.optim.Adam(params, lr=0.01, amsgrad=True)
    train(opt, params, 3)
    path = tmp_path / "opt.pt"
    ag.save({"params": params[0].detach(), "optimizer": opt.state_dict()}, path)
    checkpoint = ag.load(path)
    assert isinstance(checkpoint["optimizer"]["state"][0]["step"], ag.Tensor)
    assert checkpoint["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    resumed = [ag.tensor(checkpoint["params"].numpy(), requires_grad=True)]
    opt2 = ag.optim.Adam(resumed)
    opt2.load_state_dict(checkpoint["optimizer"])
    train(opt, params, 4)
    train(opt2, resumed, 4)
    np.testing.assert_array_equal(params[0].detach().numpy(), resumed[0].detach().numpy())


# ---------------------------------------------------------------------- bad input to save
def test_save_refuses_unsupported_objects(tmp_path):
    path = tmp_path / "x.pt"
    with pytest.raises(TypeError, match=r"obj\['fn'\] of type function"):
        ag.save({"fn": lambda: 0}, path)
    with pytest.raises(TypeError, match="state_dict"):
        ag.save(ag.nn.Linear(1, 1), path)
    with pytest.raises(TypeError, match="dtype object"):
        ag.save([np.array([{}], dtype=object)], path)
    with pytest.raises(TypeError, match="key of type"):
        ag.save({frozenset(): 1}, path)
    assert not path.exists() and os.listdir(tmp_path) == []


# ---------------------------------------------------------------------- bad files to load
@pytest.fixture
def checkpoint(tmp_path):
    path = tmp_path / "good.pt"
    ag.save({"w": ag.randn(50, 20), "b": ag.zeros(20), "step": 1}, path)
    return path


@pytest.mark.parametrize("keep", [0, 10, 0.5, -22, -1])
def test_truncated_file_raises_clear_error(checkpoint, tmp_path, keep):
    data = checkpoint.read_bytes()
    cut = keep if isinstance(keep, int) else int(len(data) * keep)
    bad = tmp_path / "truncated.pt"
    bad.write_bytes(data[:cut])
    with pytest.raises(ValueError, match="truncated.pt.*(truncated|corrupted|not)"):
        ag.load(bad)


def test_corrupted_bytes_are_detected(checkpoint, tmp_path):
    data = bytearray(checkpoint.read_bytes())
    data[len(data) // 3] ^= 0xFF  # inside the first array's data: the zip CRC catches it
    bad = tmp_path / "flipped.pt"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="flipped.pt' is truncated or corrupted"):
        ag.load(bad)


def test_foreign_files_raise_clear_errors(tmp_path, torch):
    cases = {}
    np.save(tmp_path / "array.npy", np.ones(3))
    cases["array.npy"] = "single .npy array"
    np.savez(tmp_path / "other.npz", x=np.ones(3))
    cases["other.npz"] = "not an autograd_lite checkpoint"
    (tmp_path / "notes.txt").write_text("just some text\n")
    cases["notes.txt"] = "notes.txt"
    torch.save({"w": torch.ones(2)}, tmp_path / "torch.pt")
    cases["torch.pt"] = "PyTorch torch.save file"
    for name, match in cases.items():
        with pytest.raises(ValueError, match=match):
            ag.load(tmp_path / name)
    with pytest.raises(FileNotFoundError):
        ag.load(tmp_path / "missing.pt")


def _write_npz(path, header, **arrays):
    raw = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(path, **{HEADER_KEY: raw}, **arrays)


@pytest.mark.parametrize("header,arrays,match", [
    ({"format": "autograd_lite", "version": 99, "root": None}, {}, "version 99"),
    ({"format": "something", "version": 1, "root": None}, {}, "no autograd_lite header"),
    ({"format": "autograd_lite", "version": 1, "root": {"tensor": "a7"}}, {}, "'a7'"),
    ({"format": "autograd_lite", "version": 1, "root": {"frobnicate": 1}}, {}, "unknown entry type"),
    ({"format": "autograd_lite", "version": 1, "root": {"dict": [[{"list": []}, 1]]}}, {}, "not hashable"),
])
def test_malformed_descriptions_raise(tmp_path, header, arrays, match):
    path = tmp_path / "crafted.npz"
    _write_npz(path, header, **arrays)
    with pytest.raises(ValueError, match=match):
        ag.load(path)


class _Tripwire:
    """Unpickling this creates a file: proof that code from the checkpoint ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path(self.marker).touch, ())


def test_pickled_object_array_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "code-ran"
    payload = np.array([_Tripwire(str(marker))], dtype=object)
    header = {"format": "autograd_lite", "version": 1, "root": {"ndarray": "a0"}}
    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:  # a file object: np.savez does not append .npz
        raw = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        np.savez(f, **{HEADER_KEY: raw, "a0": payload})
    with pytest.raises(ValueError, match="pickled object array"):
        ag.load(path)
    assert not marker.exists()
    # the tripwire is real: a pickle-enabled load would have run it
    with np.load(path, allow_pickle=True) as npz:
        npz["a0"]
    assert marker.exists()


def test_a_plain_pickle_is_refused_without_running_it(tmp_path):
    import pickle

    marker = tmp_path / "code-ran"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(_Tripwire(str(marker))))
    with pytest.raises(ValueError, match="pickle"):
        ag.load(path)
    assert not marker.exists()


# ---------------------------------------------------------------------- atomic writes
def test_failed_save_leaves_previous_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.pt"
    ag.save({"version": 1, "w": ag.ones(3)}, path)
    before = path.read_bytes()

    real_savez = np.savez

    def crash_midway(file, **arrays):
        file.write(b"PK\x03\x04 half of a zip archive")  # some bytes reach the disk ...
        raise OSError("disk full")  # ... then the write dies

    monkeypatch.setattr(np, "savez", crash_midway)
    with pytest.raises(OSError, match="disk full"):
        ag.save({"version": 2, "w": ag.zeros(3)}, path)
    monkeypatch.setattr(np, "savez", real_savez)

    assert path.read_bytes() == before
    assert ag.load(path)["version"] == 1
    assert os.listdir(tmp_path) == ["model.pt"]  # the temporary file was cleaned up
    ag.save({"version": 3}, path)
    assert ag.load(path) == {"version": 3}


def test_save_replaces_via_rename_with_fsync(tmp_path, monkeypatch):
    calls = []
    real_replace, real_fsync = os.replace, os.fsync
    monkeypatch.setattr(os, "replace", lambda a, b: (calls.append(("replace", a, b)), real_replace(a, b))[1])
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(("fsync",)), real_fsync(fd))[1])
    path = tmp_path / "ckpt.pt"
    ag.save([1, 2], path)
    kinds = [c[0] for c in calls]
    assert kinds.index("fsync") < kinds.index("replace")  # data is on disk before the rename
    replace = calls[kinds.index("replace")]
    assert os.path.dirname(replace[1]) == str(tmp_path) and replace[2] == str(path)


# ---------------------------------------------------------------------- safetensors
def test_safetensors_to_torch_and_back(tmp_path, torch, safetensors):
    from safetensors.torch import load_file, save_file

    model = ag.nn.Linear(4, 3)
    path = tmp_path / "linear.safetensors"
    save_safetensors(model.state_dict(), path, metadata={"source": "autograd_lite"})
    tmodel = torch.nn.Linear(4, 3)
    tmodel.load_state_dict(load_file(str(path)))
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_allclose(
        tmodel(torch.from_numpy(x)).detach().numpy(), model(ag.tensor(x)).detach().numpy(),
        rtol=1e-6, atol=1e-6,
    )

    torch.manual_seed(0)
    tmodel2 = torch.nn.Linear(4, 3)
    back = tmp_path / "from_torch.safetensors"
    save_file(tmodel2.state_dict(), str(back))
    model2 = ag.nn.Linear(4, 3)
    model2.load_state_dict(load_safetensors(back))
    np.testing.assert_allclose(
        model2(ag.tensor(x)).detach().numpy(), tmodel2(torch.from_numpy(x)).detach().numpy(),
        rtol=1e-6, atol=1e-6,
    )


def test_safetensors_keeps_dtypes_and_values(tmp_path, torch, safetensors):
    from safetensors.torch import load_file

    tensors = {
        "f16": ag.tensor([1.5, -2.0], dtype=ag.float16),
        "f32": ag.randn(2, 3),
        "f64": ag.randn(3, dtype=ag.float64),
        "i64": ag.tensor([1, -2, 3]),
        "u8": ag.tensor([0, 255], dtype=ag.uint8),
        "b": ag.tensor([True, False]),
        "view": ag.arange(12.0).reshape(3, 4).T,  # not contiguous
    }
    path = tmp_path / "all.safetensors"
    save_safetensors(tensors, path)
    ours = load_safetensors(path)
    theirs = load_file(str(path))
    for key, value in tensors.items():
        assert ours[key].dtype == value.dtype and ours[key].shape == value.shape
        np.testing.assert_array_equal(ours[key].numpy(), value.numpy())
        np.testing.assert_array_equal(theirs[key].numpy(), value.numpy())
    ours["f32"]._data[0, 0] = 7.0  # loaded arrays are ordinary writable memory


def test_safetensors_functions_are_exported_at_top_level():
    assert ag.save_safetensors is save_safetensors and ag.load_safetensors is load_safetensors


def test_safetensors_errors(tmp_path, safetensors):
    with pytest.raises(TypeError, match="safetensors holds only tensors"):
        save_safetensors({"nested": {"a": ag.ones(1)}}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="keys must be strings"):
        save_safetensors({1: ag.ones(1)}, tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(ValueError, match="bad.safetensors' is not a valid .safetensors file"):
        load_safetensors(bad)


def test_safetensors_missing_gives_install_hint(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match=r"pip install 'autograd_lite\[safetensors\]'"):
        serialization.save_safetensors({"w": ag.ones(1)}, tmp_path / "w.safetensors")
    with pytest.raises(ImportError, match="optional 'safetensors' package"):
        serialization.load_safetensors(tmp_path / "w.safetensors")
