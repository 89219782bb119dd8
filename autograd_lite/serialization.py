"""Checkpoints without pickle: ``ag.save`` / ``ag.load``, and ``.safetensors`` export/import.

File format
-----------
``ag.save`` writes a NumPy ``.npz`` archive (a zip of ``.npy`` files) holding only plain
arrays:

- ``a0``, ``a1``, ... : the tensors and arrays found in the object, each with its exact
  dtype and shape;
- ``__autograd_lite__`` : a ``uint8`` array holding UTF-8 JSON that describes the
  structure: ``{"format": "autograd_lite", "version": 1, "root": NODE}``.

A NODE is a JSON ``null``/``true``/``false``/number/string for ``None``, bools, ints,
finite floats and strings, or a one-key object for everything else:
``{"list": [NODE...]}``, ``{"tuple": [...]}``, ``{"dict": [[KEY, VALUE], ...]}``
(keys are NODEs, so int keys stay ints), ``{"odict": ...}`` (an OrderedDict),
``{"tensor": "a3", "requires_grad": false}``, ``{"ndarray": "a4"}``,
``{"scalar": "a5"}`` (a NumPy scalar) and ``{"float": "nan" | "inf" | "-inf"}``.
A tensor that appears twice in the object is stored once and loads as one tensor.

``ag.load`` reads it back with ``np.load(..., allow_pickle=False)``: nothing in the file
is ever unpickled or executed, so loading an untrusted checkpoint is safe. Saving goes to
a temporary file in the same directory, flushed to disk, then renamed over the target,
so an interrupted save leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from typing import IO, Any, Union

import numpy as np

from .tensor import Tensor

__all__ = ["save", "load", "save_safetensors", "load_safetensors"]

PathLike = Union[str, "os.PathLike[str]"]

FORMAT_NAME = "autograd_lite"
FORMAT_VERSION = 1
HEADER_KEY = "__autograd_lite__"

_SPECIAL_FLOATS = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}


# ---------------------------------------------------------------------- encoding
class _Encoder:
    """Turns an object into a JSON-able NODE, collecting its arrays into ``self.arrays``."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self._memo: dict[int, str] = {}
        self._keep: list[Any] = []  # keeps memoized objects alive, so ids stay unique

    def _store(self, obj: Any, array: np.ndarray, where: str) -> str:
        key = self._memo.get(id(obj))
        if key is not None:
            return key
        if array.dtype.kind in "OV":
            raise TypeError(
                f"ag.save: {where} is an array of dtype {array.dtype}; only numeric, bool and string "
                "arrays can be saved (object arrays would need pickle)"
            )
        key = f"a{len(self.arrays)}"
        self.arrays[key] = array
        self._memo[id(obj)] = key
        self._keep.append(obj)
        return key

    def encode(self, obj: Any, where: str) -> Any:
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            if obj != obj:
                return {"float": "nan"}
            if obj in (float("inf"), float("-inf")):
                return {"float": "inf" if obj > 0 else "-inf"}
            return float(obj)
        if isinstance(obj, Tensor):
            key = self._store(obj, np.asarray(obj._data), where)
            return {"tensor": key, "requires_grad": bool(obj.requires_grad)}
        if isinstance(obj, np.ndarray):
            return {"ndarray": self._store(obj, obj, where)}
        if isinstance(obj, np.generic):
            return {"scalar": self._store(obj, np.asarray(obj), where)}
        if isinstance(obj, Mapping):
            tag = "odict" if isinstance(obj, OrderedDict) else "dict"
            items = []
            for k, v in obj.items():
                if not (k is None or isinstance(k, (bool, int, float, str, tuple, np.generic))):
                    raise TypeError(
                        f"ag.save: the dict at {where} has a key of type {type(k).__name__}; keys must "
                        "be strings, numbers, bools, None or tuples of those"
                    )
                items.append([self.encode(k, f"{where} (a key)"), self.encode(v, f"{where}[{k!r}]")])
            return {tag: items}
        if isinstance(obj, (list, tuple)):
            tag = "tuple" if isinstance(obj, tuple) else "list"
            return {tag: [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        hint = ""
        if hasattr(obj, "state_dict"):
            hint = f"; save {type(obj).__name__}.state_dict() instead of the object itself"
        raise TypeError(
            f"ag.save: can't save {where} of type {type(obj).__name__}: only tensors, NumPy arrays, "
            f"numbers, strings, bools, None and dicts/lists/tuples of them are allowed (no pickle){hint}"
        )


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories can't be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_atomically(path: PathLike, write: Any) -> None:
    """Call ``write(file_object)`` on a temp file next to ``path``, fsync it, then rename it over ``path``."""
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(target) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


def save(obj: Any, f: PathLike | IO[bytes]) -> None:
    """Save ``obj`` (e.g. a model's or optimizer's ``state_dict()``) to ``f`` without pickle.

    ``obj`` may nest dicts (any keys that are strings, numbers, bools, None or tuples),
    lists and tuples of tensors, NumPy arrays, numbers, strings, bools and None. Dtypes,
    shapes and container types are kept exactly. ``f`` is a path (the file name is used as
    given; ``.pt`` is fine) or a binary file object. Writing to a path is atomic: the old
    file stays intact until the new one is completely on disk.

    >>> import autograd_lite as ag, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.pt")
    >>> ag.save({"w": ag.ones(2), "step": 3}, path)
    >>> ag.load(path)
    {'w': tensor([1., 1.]), 'step': 3}
    """
    encoder = _Encoder()
    root = encoder.encode(obj, "obj")
    header = json.dumps(
        {"format": FORMAT_NAME, "version": FORMAT_VERSION, "root": root},
        allow_nan=False, separators=(",", ":"),
    )
    arrays = dict(encoder.arrays)
    arrays[HEADER_KEY] = np.frombuffer(header.encode("utf-8"), dtype=np.uint8)

    def write(fileobj: IO[bytes]) -> None:
        np.savez(fileobj, **arrays)  # type: ignore[arg-type]  # (numpy's stub types the keywords as its own options)

    if hasattr(f, "write"):
        write(f)  # type: ignore[arg-type]
    else:
        _write_atomically(f, write)


# ---------------------------------------------------------------------- decoding
class _Decoder:
    def __init__(self, arrays: dict[str, np.ndarray], name: str) -> None:
        self.arrays = arrays
        self.name = name
        self._tensors: dict[str, Tensor] = {}

    def _bad(self, what: str) -> ValueError:
        return ValueError(f"ag.load: {self.name} is corrupted: {what}")

    def _array(self, key: Any) -> np.ndarray:
        if not isinstance(key, str) or key not in self.arrays:
            raise self._bad(f"its structure refers to an array {key!r} that the file does not contain")
        return self.arrays[key]

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict) or len(node) not in (1, 2):
            raise self._bad(f"unexpected structure entry {str(node)[:80]!r}")
        if "tensor" in node:
            return self._decode_tensor(node)
        if len(node) != 1:
            raise self._bad(f"unexpected structure entry {str(node)[:80]!r}")
        (tag, value), = node.items()
        if tag == "ndarray":
            return self._array(value)
        if tag == "scalar":
            return self._array(value)[()]
        if tag == "float":
            if value not in _SPECIAL_FLOATS:
                raise self._bad(f"unknown special float {value!r}")
            return _SPECIAL_FLOATS[value]
        if tag in ("list", "tuple"):
            return self._decode_sequence(tag, value)
        if tag in ("dict", "odict"):
            return self._decode_mapping(tag, value)
        raise self._bad(f"unknown entry type {tag!r}")

    def _decode_tensor(self, node: dict) -> Tensor:
        """A tensor entry; entries naming the same array decode to the same Tensor (shared storage)."""
        key = node["tensor"]
        tensor = self._tensors.get(key)
        if tensor is None:
            tensor = Tensor._wrap(self._array(key))
            if node.get("requires_grad") and tensor._data.dtype.kind == "f":
                tensor.requires_grad = True
            self._tensors[key] = tensor
        return tensor

    def _decode_sequence(self, tag: str, value: Any) -> list | tuple:
        if not isinstance(value, list):
            raise self._bad(f"a {tag} entry holds {type(value).__name__}, not a list")
        items = [self.decode(v) for v in value]
        return items if tag == "list" else tuple(items)

    def _decode_mapping(self, tag: str, value: Any) -> dict:
        if not isinstance(value, list):
            raise self._bad(f"a {tag} entry holds {type(value).__name__}, not a list of pairs")
        out: dict[Any, Any] = OrderedDict() if tag == "odict" else {}
        for pair in value:
            if not isinstance(pair, list) or len(pair) != 2:
                raise self._bad("a dict entry is not a [key, value] pair")
            key = self.decode(pair[0])
            try:
                hash(key)
            except TypeError:
                raise self._bad(f"a dict key of type {type(key).__name__} is not hashable") from None
            out[key] = self.decode(pair[1])
        return out


def _describe(f: Any) -> str:
    if hasattr(f, "read"):
        return repr(getattr(f, "name", f))
    return repr(os.fspath(f))


def _read_npz(f: Any, name: str) -> dict[str, np.ndarray]:
    """Every array in the archive, read with pickle disabled; clear errors for anything else."""
    loaded = _open_npz(f, name)
    try:
        with loaded:
            _check_checkpoint_members(loaded, name)
            return {key: _read_member(loaded, key, name) for key in loaded.files}
    except ValueError:
        raise
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as e:
        raise ValueError(f"ag.load: {name} is truncated or corrupted: {e}") from None
    except Exception as e:  # zlib.error and other low-level read failures
        raise ValueError(f"ag.load: {name} is truncated or corrupted: {type(e).__name__}: {e}") from None


def _open_npz(f: Any, name: str) -> Any:
    """``np.load`` of the file with pickle disabled: an ``NpzFile``, or a ValueError saying what the file is."""
    try:
        loaded = np.load(f, allow_pickle=False)
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise
    except ValueError as e:
        if "pickle" in str(e):
            raise ValueError(
                f"ag.load: {name} is not an autograd_lite checkpoint: it is (or starts like) a pickle, "
                "e.g. a file written by torch.save or pickle; it was not loaded, since unpickling can run "
                "code. For PyTorch weights, export them as .safetensors and use load_safetensors"
            ) from None
        raise ValueError(f"ag.load: {name} is not a valid autograd_lite checkpoint ({e})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"ag.load: {name} is truncated or corrupted: {e}") from None
    if isinstance(loaded, np.ndarray):
        raise ValueError(
            f"ag.load: {name} is a single .npy array, not an autograd_lite checkpoint (load it with np.load)"
        )
    return loaded


def _check_checkpoint_members(loaded: Any, name: str) -> None:
    """Raise a ValueError naming what the archive is if it has no autograd_lite header."""
    if HEADER_KEY in loaded.files:
        return
    if any(k.endswith("data.pkl") for k in loaded.files):
        raise ValueError(
            f"ag.load: {name} looks like a PyTorch torch.save file (a zip holding a pickle), not "
            "an autograd_lite checkpoint; it was not loaded, since unpickling can run code. "
            "Export PyTorch weights with safetensors and use load_safetensors"
        )
    raise ValueError(
        f"ag.load: {name} is a .npz/zip archive but not an autograd_lite checkpoint (it has no "
        f"{HEADER_KEY!r} entry; its members are {sorted(loaded.files)[:5]}); read it with np.load"
    )


def _read_member(loaded: Any, key: str, name: str) -> np.ndarray:
    """One array of the archive (a writable one), refusing pickled object arrays."""
    try:
        array = loaded[key]
    except ValueError as e:
        if "allow_pickle" in str(e) or "pickle" in str(e):
            raise ValueError(
                f"ag.load: {name} contains a pickled object array ({key!r}); refusing to "
                "load it, since unpickling can run arbitrary code. autograd_lite checkpoints "
                "never contain one"
            ) from None
        raise ValueError(
            f"ag.load: {name} is corrupted: array {key!r} can't be read ({e})"
        ) from None
    if not isinstance(array, np.ndarray):
        raise ValueError(f"ag.load: {name} is corrupted: member {key!r} is not a .npy array")
    if not array.flags.writeable:
        array = array.copy()
    return array


def load(f: PathLike | IO[bytes], map_location: Any = None, *, weights_only: bool = True) -> Any:
    """Load an object saved by :func:`save`. Never unpickles or runs anything from the file.

    ``map_location`` (only ``None`` or ``"cpu"``) and ``weights_only`` are accepted so that
    PyTorch code runs unchanged. A truncated, corrupted or foreign file raises ``ValueError``
    naming the file and what is wrong.
    """
    if map_location not in (None, "cpu"):
        raise ValueError(
            f"ag.load: map_location={map_location!r} is not supported; autograd_lite runs on the CPU"
        )
    name = _describe(f)
    arrays = _read_npz(f, name)
    raw = arrays.pop(HEADER_KEY)
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise ValueError(f"ag.load: {name} is corrupted: its structure entry is not a byte string")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ValueError(
            f"ag.load: {name} is corrupted: its structure description is not valid JSON ({e})"
        ) from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME or "root" not in header:
        raise ValueError(
            f"ag.load: {name} is corrupted: its structure description has no autograd_lite header"
        )
    version = header.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"ag.load: {name} uses checkpoint format version {version!r}, but this autograd_lite reads "
            f"versions up to {FORMAT_VERSION}; upgrade autograd_lite"
        )
    try:
        return _Decoder(arrays, name).decode(header["root"])
    except RecursionError:
        raise ValueError(f"ag.load: {name} is corrupted: its structure is nested too deeply") from None


# ---------------------------------------------------------------------- safetensors
def _safetensors_numpy() -> Any:
    try:
        import safetensors.numpy as st_numpy
    except ImportError:
        raise ImportError(
            "save_safetensors/load_safetensors need the optional 'safetensors' package; install it with "
            "pip install 'autograd_lite[safetensors]' (or pip install safetensors)"
        ) from None
    return st_numpy


def save_safetensors(
    state_dict: Mapping[str, Any], path: PathLike, metadata: dict[str, str] | None = None
) -> None:
    """Write a flat ``{name: tensor}`` dict (a model's ``state_dict()``) as ``.safetensors``.

    The file loads in PyTorch with ``safetensors.torch.load_file(path)`` and the result
    goes straight into ``model.load_state_dict``. The write is atomic, like :func:`save`.
    Needs the optional ``safetensors`` package.
    """
    st_numpy = _safetensors_numpy()
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            f"save_safetensors: expected a dict of name -> tensor, got {type(state_dict).__name__}"
        )
    arrays: dict[str, np.ndarray] = {}
    for key, value in state_dict.items():
        if not isinstance(key, str):
            raise TypeError(f"save_safetensors: keys must be strings, got {key!r}")
        if isinstance(value, Tensor):
            array = np.asarray(value._data)
        elif isinstance(value, (np.ndarray, np.generic)):
            array = np.asarray(value)
        else:
            raise TypeError(
                f"save_safetensors: {key!r} is a {type(value).__name__}; safetensors holds only tensors "
                "(use ag.save for nested or non-tensor state)"
            )
        if array.dtype.kind not in "biuf":
            raise TypeError(
                f"save_safetensors: {key!r} has dtype {array.dtype}, which safetensors can't store"
            )
        arrays[key] = np.ascontiguousarray(array)
    if metadata is not None and not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise TypeError("save_safetensors: metadata must map strings to strings")

    def write(fileobj: IO[bytes]) -> None:
        fileobj.write(st_numpy.save(arrays, metadata=metadata))

    _write_atomically(path, write)


def load_safetensors(path: PathLike) -> dict[str, Tensor]:
    """Read a ``.safetensors`` file (e.g. from ``safetensors.torch.save_file``) as ``{name: Tensor}``.

    Needs the optional ``safetensors`` package. bfloat16 tensors are not supported (NumPy
    has no bfloat16); convert them to float32 on the PyTorch side first.
    """
    st_numpy = _safetensors_numpy()
    name = _describe(path)
    try:
        with open(os.fspath(path), "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise
    try:
        arrays = st_numpy.load(data)
    except Exception as e:  # safetensors raises its own SafetensorError (and TypeError for bf16)
        raise ValueError(f"load_safetensors: {name} is not a valid .safetensors file: {e}") from None
    return {k: Tensor._wrap(v if v.flags.writeable else v.copy()) for k, v in arrays.items()}
