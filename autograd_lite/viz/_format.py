"""How numbers, shapes and op attributes are written in pictures and explanations.

Small arrays are printed in full (4 significant digits); large ones are summarised by
their mean, standard deviation, minimum and maximum, so a label never grows with the
tensor.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

#: arrays with at most this many elements are printed in full by default
DEFAULT_MAX_ELEMENTS = 16


def fmt_number(value: Any) -> str:
    """One number in 4 significant digits: ``0.5``, ``-1.25e-05``, ``3``, ``nan``."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{float(value):.4g}"


def _formatter() -> Any:
    return {"float_kind": fmt_number, "int_kind": fmt_number, "bool": fmt_number}


def fmt_array(array: Any, max_elements: int = DEFAULT_MAX_ELEMENTS) -> str:
    """The values of ``array``: in full when small, else ``mean=.. std=.. min=.. max=..``.

    >>> fmt_array(np.array([2.0, 4.0, 6.0]))
    '[2, 4, 6]'
    >>> fmt_array(np.arange(100.0))
    'mean=49.5 std=28.87 min=0 max=99'
    """
    a = np.asarray(array)
    if a.ndim == 0:
        return fmt_number(a.item())
    if a.size <= max_elements:
        return np.array2string(a, separator=", ", formatter=_formatter(), max_line_width=10_000)
    return fmt_summary(a)


def fmt_summary(array: Any) -> str:
    """``mean=.. std=.. min=.. max=..`` over the finite elements, plus a count of nan/inf."""
    a = np.asarray(array)
    if a.size == 0:
        return "(empty)"
    if a.dtype.kind == "b":
        return f"true={int(a.sum())} of {a.size}"
    finite = np.isfinite(a) if a.dtype.kind in "fc" else np.ones(a.shape, dtype=bool)
    bad = a.size - int(finite.sum())
    values = a[finite].astype(np.float64) if bad else a.astype(np.float64, copy=False)
    parts = []
    if values.size:
        parts.append(
            f"mean={fmt_number(values.mean())} std={fmt_number(values.std())} "
            f"min={fmt_number(values.min())} max={fmt_number(values.max())}"
        )
    if bad:
        parts.append(f"non-finite={bad}")
    return " ".join(parts)


def fmt_shape(shape: tuple) -> str:
    """``(4, 3)``; a scalar is ``()``."""
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def fmt_norm(array: Any) -> str:
    return fmt_number(float(np.linalg.norm(np.asarray(array, dtype=np.float64).ravel())))


# ---------------------------------------------------------------- op attributes
_ATTR_NAMES = {"axis": "dim", "keepdims": "keepdim", "axes": "dims"}
_ATTR_DEFAULTS = {"keepdims": False}


def _fmt_index_part(item: Any) -> str:
    if isinstance(item, slice):
        start = "" if item.start is None else str(item.start)
        stop = "" if item.stop is None else str(item.stop)
        step = "" if item.step is None else f":{item.step}"
        return f"{start}:{stop}{step}"
    if item is None:
        return "None"
    if item is Ellipsis:
        return "..."
    if isinstance(item, np.ndarray):
        return f"<{item.dtype} array {fmt_shape(item.shape)}>" if item.size > 6 else fmt_array(item)
    return repr(item)


def fmt_attr_value(key: str, value: Any) -> str:
    if key == "axis" and isinstance(value, tuple) and len(value) == 1:
        return str(value[0])
    if key == "index":
        items = value if isinstance(value, tuple) else (value,)
        return "[" + ", ".join(_fmt_index_part(i) for i in items) + "]"
    if isinstance(value, np.dtype):
        return str(value)
    if isinstance(value, np.ndarray):
        return fmt_array(value, 6)
    if isinstance(value, float):
        return fmt_number(value)
    return repr(value) if isinstance(value, str) else str(value)


#: attributes that are bookkeeping, not arguments the user wrote: an autograd.Function's
#: context, the slot where cross-entropy keeps its softmax for the backward
_HIDDEN_ATTRS = frozenset({"ctx", "saved"})


def fmt_attrs(attrs: dict | None) -> str:
    """Op attributes in PyTorch spelling, defaults left out: ``dim=1, keepdim=True``."""
    if not attrs:
        return ""
    parts = []
    for key, value in attrs.items():
        if key in _HIDDEN_ATTRS or value is None:
            continue
        if key in _ATTR_DEFAULTS and value == _ATTR_DEFAULTS[key]:
            continue
        parts.append(f"{_ATTR_NAMES.get(key, key)}={fmt_attr_value(key, value)}")
    return ", ".join(parts)


def op_title(prim: Any, attrs: dict | None) -> str:
    """An op as the user would write it: ``sum(dim=1)``, ``sigmoid``, ``reshape(shape=(4, 1))``."""
    name = getattr(prim, "name", None) or type(prim).__name__
    args = fmt_attrs(attrs)
    return f"{name}({args})" if args else name


def esc(text: str) -> str:
    """Escape text for a Graphviz HTML-like label."""
    return html.escape(text, quote=True)
