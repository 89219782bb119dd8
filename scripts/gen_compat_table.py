"""Generate the tables of docs/pytorch-compat.md from the code, so they cannot drift.

The tables list what autograd_lite has, read from the library itself: the top-level
functions and factories, the Tensor methods, every ``nn`` module, ``nn.functional``,
``nn.init`` and ``nn.utils``, the optimizers and schedulers, ``utils.data``, and every
registered primitive (``autograd_lite.ops.primitive.REGISTRY``) with its formulas (its
``formula`` and ``grad_formulas``). Each row names its PyTorch counterpart; ``tests/test_docs.py`` checks
with PyTorch installed that every counterpart named here really exists.

    python scripts/gen_compat_table.py           # rewrite the tables in docs/pytorch-compat.md
    python scripts/gen_compat_table.py --check   # exit 1 if they are out of date
"""

from __future__ import annotations

import argparse
import inspect
import sys
import types
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "pytorch-compat.md"
BEGIN = "<!-- BEGIN GENERATED TABLES: python scripts/gen_compat_table.py -->"
END = "<!-- END GENERATED TABLES -->"

#: autograd_lite names whose PyTorch counterpart has another name (None: no counterpart).
COUNTERPART: dict[str, str | None] = {
    "autograd_lite.as_dtype": None,
    "autograd_lite.expand": "torch.Tensor.expand",
    "autograd_lite.softplus": "torch.nn.functional.softplus",
    "autograd_lite.nn.functional.erf": "torch.erf",
    "autograd_lite.nn.functional.identity": None,
    "autograd_lite.save_safetensors": "safetensors.torch.save_file",
    "autograd_lite.load_safetensors": "safetensors.torch.load_file",
}


def _torch_name(qualified: str) -> str | None:
    if qualified in COUNTERPART:
        return COUNTERPART[qualified]
    return "torch" + qualified[len("autograd_lite"):]


def _default(value: Any) -> str:
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    if isinstance(value, tuple) and all(isinstance(v, (bool, int, float, str, type(None))) for v in value):
        return repr(value)
    return "..."


def signature(obj: Any) -> str:
    """``(a, b=1, *, c=None)`` without annotations; for classes, the constructor's."""
    target = obj.__init__ if isinstance(obj, type) else obj
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return "(...)"
    parts: list[str] = []
    star_done = False
    for param in sig.parameters.values():
        if param.name == "self":
            continue
        if param.kind is param.VAR_POSITIONAL:
            parts.append("*" + param.name)
            star_done = True
            continue
        if param.kind is param.VAR_KEYWORD:
            parts.append("**" + param.name)
            continue
        if param.kind is param.KEYWORD_ONLY and not star_done:
            parts.append("*")
            star_done = True
        text = param.name
        if param.default is not param.empty:
            text += "=" + _default(param.default)
        parts.append(text)
    return "(" + ", ".join(parts) + ")"


def summary(obj: Any) -> str:
    """The first line of the docstring (of the class itself, not an inherited one)."""
    doc = obj.__dict__.get("__doc__") if isinstance(obj, type) else getattr(obj, "__doc__", None)
    lines = [line.strip() for line in (doc or "").strip().splitlines()]
    first = []
    for line in lines:
        if not line or line.startswith(">>>"):
            break
        first.append(line)
    return " ".join(first)


def cell(text: str) -> str:
    """Make text safe inside a Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").strip()


def code(text: str) -> str:
    """Inline code that may contain a pipe (kept inside the table)."""
    return "`" + text.replace("|", "\\|") + "`"


def _counterpart_cell(qualified: str) -> str:
    name = _torch_name(qualified)
    return code(name) if name else "(autograd_lite only)"


def _public(module: Any, names: list[str] | None = None) -> list[tuple[str, Any]]:
    if names is None:
        names = list(getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")])
    return [(n, getattr(module, n)) for n in names]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


def _callables_table(prefix: str, items: list[tuple[str, Any]], with_summary: bool = True) -> list[str]:
    rows = []
    for name, obj in sorted(items, key=lambda item: item[0].lower()):
        qualified = f"{prefix}.{name}"
        row = [code(f"{qualified.replace('autograd_lite', 'ag', 1)}{signature(obj)}"), _counterpart_cell(qualified)]
        if with_summary:
            row.append(cell(summary(obj)))
        rows.append(row)
    header = ["autograd_lite", "PyTorch"] + (["What it is"] if with_summary else [])
    return _table(header, rows)


def top_level() -> list[str]:
    import autograd_lite as ag

    groups: dict[str, list[tuple[str, Any]]] = {}
    titles = {
        "autograd_lite.factories": "Creating tensors",
        "autograd_lite.functional": "Math, reductions, shapes, indexing and comparisons",
        "autograd_lite.autograd.grad_mode": "Grad mode",
        "autograd_lite.random": "Random numbers",
        "autograd_lite._dtype": "dtypes",
        "autograd_lite.serialization": "Saving and loading",
    }
    for name in sorted(dir(ag)):
        if name.startswith("_") or name == "annotations":
            continue
        obj = getattr(ag, name)
        if isinstance(obj, types.ModuleType) or name == "Tensor":
            continue
        module = getattr(obj, "__module__", None)
        if callable(obj) and module in titles:
            groups.setdefault(module, []).append((name, obj))
    out: list[str] = []
    for module, title in titles.items():
        out += ["", f"### {title}", ""]
        out += _callables_table("autograd_lite", groups.get(module, []), with_summary=False)
    dtypes = sorted(
        name for name in dir(ag)
        if not name.startswith("_") and type(getattr(ag, name)).__module__ == "numpy.dtypes"
    )
    out += ["", "dtype names (NumPy dtype objects, `ag.float32 == np.dtype('float32')`): "
            + ", ".join(code(f"ag.{n}") for n in dtypes) + "."]
    return out


def tensor_methods() -> list[str]:
    from autograd_lite import Tensor

    names = sorted(
        name for name in dir(Tensor)
        if not name.startswith("_") and callable(getattr(Tensor, name)) and not isinstance(getattr(Tensor, name), type)
    )
    attributes = sorted(
        name for name in dir(Tensor)
        if not name.startswith("_") and isinstance(inspect.getattr_static(Tensor, name), property)
    )
    inplace = [n for n in names if n.endswith("_")]
    regular = [n for n in names if not n.endswith("_")]
    operators = sorted(
        name.strip("_") for name in dir(Tensor)
        if name.startswith("__") and name.endswith("__") and name[2:-2] in _OPERATORS
    )
    return [
        "",
        "### Tensor methods",
        "",
        *_table(["Kind", "Names"], [
            ["attributes", ", ".join(code(n) for n in attributes)],
            ["methods", ", ".join(code(n) for n in regular)],
            ["in-place methods", ", ".join(code(n) for n in inplace)],
            ["operators", ", ".join(code(f"__{n}__") for n in operators)],
        ]),
    ]


_OPERATORS = {
    "add", "radd", "iadd", "sub", "rsub", "isub", "mul", "rmul", "imul", "truediv", "rtruediv", "itruediv",
    "pow", "rpow", "ipow", "matmul", "rmatmul", "neg", "pos", "abs", "floordiv", "mod", "eq", "ne", "lt", "le",
    "gt", "ge", "and", "or", "xor", "invert", "getitem", "setitem", "len", "iter", "bool", "float", "int",
    "index", "array",
}


def nn_modules() -> list[str]:
    from autograd_lite import nn

    by_file: dict[str, list[tuple[str, Any]]] = {}
    for name in sorted(dir(nn)):
        obj = getattr(nn, name)
        if isinstance(obj, type) and not name.startswith("_") and obj.__module__.startswith("autograd_lite.nn"):
            by_file.setdefault(obj.__module__.rsplit(".", 1)[-1], []).append((name, obj))
    titles = {
        "module": "Module and Parameter", "containers": "Containers", "linear": "Linear layers and shapes",
        "activation": "Activations", "dropout": "Dropout", "conv": "Convolution", "pooling": "Pooling",
        "normalization": "Normalisation", "sparse": "Embeddings", "rnn": "Recurrent layers", "loss": "Losses",
    }
    out = ["", "### nn modules", ""]
    rows = []
    for key in list(titles) + sorted(set(by_file) - set(titles)):
        for name, obj in by_file.get(key, []):
            rows.append([titles.get(key, key), code(f"nn.{name}{signature(obj)}"),
                         _counterpart_cell(f"autograd_lite.nn.{name}"), cell(summary(obj))])
    out += _table(["Kind", "autograd_lite", "PyTorch", "What it is"], rows)
    return out


def nn_functional() -> list[str]:
    from autograd_lite.nn import functional as F

    names = sorted(n for n in dir(F) if not n.startswith("_") and inspect.isfunction(getattr(F, n))
                   and getattr(F, n).__module__.startswith("autograd_lite.nn"))
    rows = [[code(f"F.{n}{signature(getattr(F, n))}"), _counterpart_cell(f"autograd_lite.nn.functional.{n}")]
            for n in names]
    return ["", "### nn.functional", "", *_table(["autograd_lite", "PyTorch"], rows)]


def nn_init_utils() -> list[str]:
    from autograd_lite.nn import init, utils

    out = ["", "### nn.init and nn.utils", ""]
    rows = []
    for prefix, module in (("autograd_lite.nn.init", init), ("autograd_lite.nn.utils", utils)):
        for name, obj in _public(module):
            if inspect.isfunction(obj):
                short = prefix.replace("autograd_lite.", "")
                rows.append([code(f"{short}.{name}{signature(obj)}"), _counterpart_cell(f"{prefix}.{name}")])
    return out + _table(["autograd_lite", "PyTorch"], rows)


def optimizers() -> list[str]:
    from autograd_lite import optim
    from autograd_lite.optim import lr_scheduler

    rows = []
    for name, obj in _public(optim):
        if isinstance(obj, type):
            rows.append([code(f"optim.{name}{signature(obj)}"), _counterpart_cell(f"autograd_lite.optim.{name}"),
                         cell(summary(obj))])
    for name, obj in _public(lr_scheduler):
        if isinstance(obj, type) and obj.__module__ == lr_scheduler.__name__:
            rows.append([code(f"lr_scheduler.{name}{signature(obj)}"),
                         _counterpart_cell(f"autograd_lite.optim.lr_scheduler.{name}"), cell(summary(obj))])
    return ["", "### Optimizers and learning-rate schedulers", "",
            *_table(["autograd_lite", "PyTorch", "What it is"], rows)]


def data() -> list[str]:
    from autograd_lite.utils import data as data_module

    rows = [[code(f"{name}{signature(obj)}"), _counterpart_cell(f"autograd_lite.utils.data.{name}"),
             cell(summary(obj))] for name, obj in _public(data_module)]
    return ["", "### utils.data", "", *_table(["autograd_lite", "PyTorch", "What it is"], rows)]


def _input_names(prim: Any) -> list[str]:
    """The inputs' names, as the primitive's VJPs (and so its formulas) call them."""
    vjps = prim.vjps
    first = next((v for v in vjps if v is not None), None) if isinstance(vjps, tuple) else vjps[0]
    params = list(inspect.signature(first).parameters.values())[2:]  # after grad_out, out
    return [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _notes(prim: Any) -> str:
    """The first paragraph of the primitive's own docstring (its formulas follow it), if it has one."""
    first = inspect.cleandoc(prim.__doc__ or "").split("\n\n")[0]
    return "" if first == prim.formula else " ".join(line.strip() for line in first.splitlines())


def primitives() -> list[str]:
    import autograd_lite  # noqa: F401  (registers every primitive)
    from autograd_lite.ops.primitive import REGISTRY

    rows = []
    for name in sorted(REGISTRY):
        prim = REGISTRY[name]
        names = _input_names(prim)
        rules = [rule if rule is not None else f"{names[i] if i < len(names) else f'input {i}'}: no gradient"
                 for i, rule in enumerate(prim.grad_formulas)]
        flags = [flag for flag, on in (("view", prim.is_view), ("saves output", prim.saves_out),
                                       ("shapes only", not prim.reads_inputs)) if on]
        # the class links to its rendered source on the API page "ops (primitives)"
        link = f"[`{prim.__name__}`][{prim.__module__}.{prim.__name__}]"
        rows.append([code(name), link, code(prim.__module__.replace(".", "/") + ".py"), cell(prim.formula),
                     cell(";  ".join(rules)), cell(_notes(prim)), ", ".join(flags)])
    return [
        "",
        "### Primitives",
        "",
        f"The {len(rows)} registered primitives (`autograd_lite.ops.primitive.REGISTRY`): every other "
        "differentiable function is a composite of these. The forward and the VJP rules are each "
        "primitive's `formula` and `grad_formulas`; the notes are the first paragraph of its docstring. "
        "Flags: *view* (the output shares the input's memory), "
        "*saves output* (the VJP reads the forward result), *shapes only* (the VJP needs the inputs' "
        "shapes, not their values, so modifying an input in place after the op is allowed).",
        "",
        *_table(["name", "class", "file", "forward", "VJP (gradient rules)", "notes", "flags"], rows),
    ]


def generate() -> str:
    """The Markdown that goes between the markers of docs/pytorch-compat.md."""
    lines = [BEGIN, "", "<!-- Do not edit by hand: run python scripts/gen_compat_table.py -->"]
    for part in (top_level, tensor_methods, nn_modules, nn_functional, nn_init_utils, optimizers, data, primitives):
        lines += part()
    lines += ["", END]
    return "\n".join(lines)


def render_page(text: str) -> str:
    """``text`` with its generated region replaced by what the code gives now."""
    start, stop = text.find(BEGIN), text.find(END)
    if start < 0 or stop < start:
        raise ValueError(f"{PAGE}: the markers {BEGIN!r} ... {END!r} are missing")
    return text[:start] + generate() + text[stop + len(END):]


def counterparts() -> list[str]:
    """Every PyTorch name the tables claim exists (for the test that checks them with torch)."""
    names = []
    for line in generate().splitlines():
        if not line.startswith("| ") or "`torch." not in line and "`safetensors." not in line:
            continue
        for piece in line.split("`")[1::2]:
            if piece.startswith(("torch.", "safetensors.")) and "(" not in piece:
                names.append(piece)
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed tables are out of date")
    args = parser.parse_args(argv)
    current = PAGE.read_text(encoding="utf-8")
    fresh = render_page(current)
    if args.check:
        if fresh != current:
            print(f"{PAGE.relative_to(ROOT)} is out of date: run python scripts/gen_compat_table.py", file=sys.stderr)
            return 1
        return 0
    if fresh != current:
        PAGE.write_text(fresh, encoding="utf-8")
        print(f"updated {PAGE.relative_to(ROOT)}")
    else:
        print(f"{PAGE.relative_to(ROOT)} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
