"""``draw_graph``: a Graphviz picture of the computation that produced a tensor.

The picture has one box per tensor (its name, shape, dtype, values and gradient) and one
rounded box per op (its name and attributes, e.g. ``sum(dim=1)``), with arrows in the
direction data flows. Parameters, other leaves, constants (tensors that need no
gradient) and the output are coloured differently, and everything an ``nn.Module``
computed sits inside a frame named after the module (``layers.0: Linear``).

Building the picture happens in two stages, both without recursion:

1. :func:`build_graph` walks the graph from ``root.grad_fn`` through ``node.parents`` and
   collects a :class:`GraphModel`: plain data (tensor boxes, op boxes, edges, modules)
   that tests and other tools can inspect.
2. :func:`render_model` turns that model into a :class:`AutogradGraph`, a
   ``graphviz.Digraph`` that shows as SVG in Jupyter and renders to files with ``dot``.

Values of intermediate tensors are known while the graph still holds its inputs (before
``backward``, or with ``retain_graph=True``), or when the computation was watched by a
:class:`~autograd_lite.viz._record.Recording` (as ``trace_step`` does).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import graphviz
import numpy as np

from ..autograd.engine import saved_inputs
from ..autograd.node import Node
from ._format import (
    DEFAULT_MAX_ELEMENTS,
    esc,
    fmt_array,
    fmt_attrs,
    fmt_norm,
    fmt_number,
    fmt_shape,
    op_title,
)
from ._names import Names
from ._record import Recording

__all__ = [
    "AutogradGraph", "GraphModel", "GraphvizNotFoundError", "OpBox", "TensorBox", "build_graph",
    "draw_graph", "render_model",
]

INSTALL_HINT = (
    "Install Graphviz and make sure `dot` is on your PATH: `apt-get install graphviz` "
    "(Debian/Ubuntu), `brew install graphviz` (macOS), `conda install -c conda-forge graphviz` "
    "(conda) or the installer from graphviz.org (Windows; add its bin folder to PATH)."
)


class GraphvizNotFoundError(graphviz.ExecutableNotFound):
    """Raised when a picture must be rendered but Graphviz's ``dot`` program is missing."""

    def __init__(self, action: str) -> None:
        RuntimeError.__init__(
            self,
            f"Graphviz's `dot` program was not found, so {action} is not possible. {INSTALL_HINT} "
            "The graph's DOT source is still available without it: `graph.source`, or "
            "`graph.save('graph.dot')`.",
        )


_IMAGE_SUFFIXES = {".svg", ".png", ".pdf", ".jpg", ".jpeg", ".gif", ".ps", ".eps", ".dot", ".gv"}


class AutogradGraph(graphviz.Digraph):
    """A ``graphviz.Digraph`` that explains how to install Graphviz when ``dot`` is missing.

    * In Jupyter it displays as SVG (``_repr_mimebundle_`` / ``_repr_svg_``); without
      ``dot`` it displays the install hint and the DOT source instead of failing.
    * ``render('step.svg')`` writes exactly that file (the format comes from the suffix);
      ``render('step', format='png')`` behaves as in ``graphviz`` (writes ``step.png``).
    * ``source`` (the DOT text) never needs ``dot``.
    """

    #: the data the picture was drawn from (set by ``render_model``)
    model: GraphModel | None = None

    def render(self, filename: Any = None, directory: Any = None, view: bool = False,
               cleanup: bool = False, format: str | None = None, **kwargs: Any) -> str:
        """Write the picture; returns the path of the rendered file."""
        if filename is not None and format is None and "outfile" not in kwargs:
            suffix = str(filename)[str(filename).rfind("."):].lower() if "." in str(filename) else ""
            if suffix in _IMAGE_SUFFIXES - {".dot", ".gv"}:
                import os

                target = os.path.join(str(directory), str(filename)) if directory else str(filename)
                kwargs["outfile"] = target
                filename, directory, cleanup = None, None, True
        try:
            return super().render(filename, directory=directory, view=view, cleanup=cleanup, format=format,
                                  **kwargs)
        except graphviz.ExecutableNotFound as error:
            raise GraphvizNotFoundError("rendering to a file") from error

    def pipe(self, format: str | None = None, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().pipe(format, *args, **kwargs)
        except graphviz.ExecutableNotFound as error:
            raise GraphvizNotFoundError(f"rendering to {format or self.format}") from error

    def svg(self) -> str:
        """The picture as an SVG document (a string)."""
        return self.pipe(format="svg", encoding="utf-8")

    def _repr_svg_(self) -> str:
        return self.svg()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> dict:
        try:
            return super()._repr_mimebundle_(include, exclude, **kwargs)
        except graphviz.ExecutableNotFound as error:
            return {"text/plain": f"{error}\n\n{self.source}"}


# ---------------------------------------------------------------------- the model
@dataclass
class TensorBox:
    """One tensor in the picture."""

    key: str
    #: 'output', 'parameter', 'input' (another leaf that requires grad), 'constant' (no grad)
    #: or 'intermediate'
    kind: str
    name: str
    shape: tuple | None
    dtype: str | None
    value: np.ndarray | None
    grad: np.ndarray | None
    module: str | None = None
    #: the node that produced it (None for leaves and constants)
    node: Node | None = None
    #: extra labelled rows, e.g. ``("after", "[0.1, 0.2]")`` for a parameter update
    rows: list[tuple[str, str, str]] = field(default_factory=list)
    #: whether a gradient is defined for it (False for constants)
    requires_grad: bool = True


@dataclass
class OpBox:
    """One recorded op (a graph node) in the picture."""

    key: str
    index: int
    title: str
    node: Node
    output: str
    #: (tensor key, argument name) for every tensor input, in argument order
    inputs: list[tuple[str, str]]
    module: str | None = None
    notes: list[str] = field(default_factory=list)
    #: the argument position of each entry of ``inputs``
    positions: list[int] = field(default_factory=list)
    #: every argument as shown: "·" for a tensor (an arrow), else the constant's value
    args: list[str] = field(default_factory=list)

    def call(self, tensor_names: list[str]) -> str:
        """The op as a call with tensor names filled in: ``sum(t3, dim=1)``, ``mul(t2, 0.5)``."""
        names = iter(tensor_names)
        parts = [next(names, "?") if arg == "·" else arg for arg in self.args]
        attrs = fmt_attrs(self.node.attrs)
        if attrs:
            parts.append(attrs)
        return f"{getattr(self.node.prim, 'name', 'op')}({', '.join(parts)})"


@dataclass
class GraphModel:
    """Everything a picture shows, as plain data (see :func:`build_graph`)."""

    tensors: dict[str, TensorBox]
    ops: dict[str, OpBox]
    #: (source key, target key, label) in data-flow direction
    edges: list[tuple[str, str, str]]
    root: str
    #: module path -> label, e.g. ``"layers.0" -> "layers.0: Linear"``; the model is ``""``
    modules: dict[str, str]
    #: module path -> parent path (None at the top)
    module_parents: dict[str, str | None]
    #: extra edges drawn on top (e.g. gradients flowing back): (source, target, label, attrs)
    extra_edges: list[tuple[str, str, str, dict]] = field(default_factory=list)
    title: str | None = None

    def op_for(self, node: Node) -> OpBox:
        for op in self.ops.values():
            if op.node is node:
                return op
        raise KeyError(f"node {node!r} is not in this graph")

    def tensor_named(self, name: str) -> TensorBox:
        for box in self.tensors.values():
            if box.name == name:
                return box
        names = ", ".join(sorted(b.name for b in self.tensors.values()))
        raise KeyError(f"no tensor named {name!r} in this graph; the names are: {names}")


# ---------------------------------------------------------------------- walking the graph
def topological_nodes(root_node: Node) -> list[Node]:
    """Every node reachable from ``root_node``, inputs before the ops that use them.

    An explicit stack (post-order), so graphs of any depth are fine.
    """
    order: list[Node] = []
    seen: set = set()
    stack: list[tuple[Node, bool]] = [(root_node, False)]
    while stack:
        node, finished = stack.pop()
        if finished:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        parents = node.parents or ()
        for parent in reversed(parents):
            if isinstance(parent, Node) and parent not in seen:
                stack.append((parent, False))
    return order


_ARG_NAMES: dict[Any, tuple[tuple[str, ...], str | None]] = {}


def _input_signature(prim: Any) -> tuple[tuple[str, ...], str | None]:
    """A primitive's input names, read from its VJPs' signature (the parameters after
    ``grad_out, out``), and the name of its variadic input (``*x``: cat, einsum) or None.

    For an ``autograd.Function`` (no VJPs) they are its forward's parameters after ``ctx``.
    """
    cached = _ARG_NAMES.get(prim)
    if cached is None:
        cached = ((), None)
        try:
            vjps = getattr(prim, "vjps", None)
            if vjps is None:  # autograd.Function: the forward's parameters after ctx
                params = list(inspect.signature(prim.forward).parameters.values())[1:]
            elif isinstance(vjps, tuple):
                first = next((v for v in vjps if v is not None), None)
                params = list(inspect.signature(first).parameters.values())[2:] if first else []
            else:  # one VJP per input position, made on demand (a variadic primitive)
                params = list(inspect.signature(vjps[0]).parameters.values())[2:]
            names = tuple(p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))
            variadic = next((p.name for p in params if p.kind is p.VAR_POSITIONAL), None)
            cached = (names, variadic)
        except (TypeError, ValueError, IndexError):
            pass
        _ARG_NAMES[prim] = cached
    return cached


def formula_arg_names(prim: Any) -> tuple[str, ...]:
    """Names of a primitive's inputs as its formulas use them (``x``, ``y``, ``weight``...)."""
    return _input_signature(prim)[0]


def arg_names(prim: Any, count: int) -> list[str]:
    """Names of a primitive's inputs as pictures and explanations show them: the names its
    formulas use (``x``, ``y``; ``x_1, x_2, ...`` for a variadic input)."""
    names, variadic = _input_signature(prim)
    if len(names) >= count:
        return list(names[:count])
    if variadic is not None:
        return list(names) + [f"{variadic}_{i + 1}" for i in range(count - len(names))]
    if count == 1:
        return ["x"]
    return [f"x{i + 1}" for i in range(count)]


def _constant_text(value: Any) -> str:
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return fmt_array(value, 4) if value.size <= 4 else f"<{value.dtype} {fmt_shape(value.shape)}>"
    try:
        return fmt_number(value)
    except (TypeError, ValueError):
        return repr(value)


_COMMUTATIVE = {"add", "mul", "maximum", "minimum"}


def build_graph(
    root: Any, params: Any = None, recording: Recording | None = None, root_name: str | None = None,
) -> GraphModel:
    """Collect the picture of the graph that produced ``root`` as a :class:`GraphModel`.

    ``params`` names tensors and modules (see :class:`~autograd_lite.viz._names.Names`);
    ``recording`` supplies intermediate values, gradients and modules when available.
    """
    names = params if isinstance(params, Names) else Names(params)
    return _GraphBuilder(root, names, recording, root_name).build()


_LEAF_NAME_BASES = {"parameter": "param", "input": "input"}


class _GraphBuilder:
    """The state of one :func:`build_graph` call: the boxes so far and the names given out."""

    def __init__(self, root: Any, names: Names, rec: Recording | None, root_name: str | None) -> None:
        self.root = root
        self.names = names
        self.rec = rec
        self.root_name = root_name
        self.root_node: Node | None = getattr(root, "grad_fn", None)
        self.tensors: dict[str, TensorBox] = {}
        self.ops: dict[str, OpBox] = {}
        self.edges: list[tuple[str, str, str]] = []
        # Leaves and constants get one box each, keyed by the tensor's identity.
        self.by_id: dict[int, str] = {}
        self.keep_alive: list = []
        self.used_names: set[str] = set()
        self.counters: dict[str, int] = {}
        self.node_key: dict[Node, str] = {}
        self.module_labels: dict[str, str] = {}
        self.unknown_modules: dict[int, str] = {}

    def build(self) -> GraphModel:
        if self.root_node is None:
            key = self.leaf_box(self.root)
            return GraphModel(self.tensors, self.ops, self.edges, key, {}, {})
        order = self._node_order(self.root_node)
        produced = self._produced_tensors(order, self.root_node)
        for index, node in enumerate(order, start=1):
            self._add_node(index, node, produced.get(node))
        modules, parents_of = self._module_frames()
        model = GraphModel(self.tensors, self.ops, self.edges, self.node_key[self.root_node], modules, parents_of)
        model._keep_alive = self.keep_alive  # type: ignore[attr-defined]
        return model

    # ------------------------------------------------------------------ names
    def unique(self, name: str | None, base: str) -> str:
        """The name itself if free, else (or when None) ``base`` numbered: param1, const2..."""
        used = self.used_names
        if name is not None and name not in used:
            used.add(name)
            return name
        stem = name if name is not None else base
        while True:
            self.counters[stem] = self.counters.get(stem, 0) + 1
            count = self.counters[stem]
            candidate = f"{stem}{count}" if name is None else f"{stem}_{count + 1}"
            if candidate not in used:
                used.add(candidate)
                return candidate

    # ------------------------------------------------------------------ leaves and constants
    def leaf_box(self, tensor: Any) -> str:
        """The key of ``tensor``'s box (a leaf or a constant), made on first sight."""
        key = self.by_id.get(id(tensor))
        if key is not None:
            return key
        requires = bool(getattr(tensor, "requires_grad", False))
        kind = self._leaf_kind(tensor, requires)
        key = f"{'c' if kind == 'constant' else 'l'}{len(self.by_id) + 1}"
        value, grad = self._leaf_value_and_grad(tensor)
        name = self.names.tensor_name(tensor)
        if name is None and tensor is self.root:
            name = self.root_name or "output"
        name = self.unique(name, _LEAF_NAME_BASES.get(kind, "const"))
        value = np.asarray(value)
        self.tensors[key] = TensorBox(
            key, kind, name, tuple(value.shape), str(value.dtype), value,
            np.asarray(grad) if grad is not None else None, module=self._leaf_module(tensor, kind, name),
            requires_grad=requires,
        )
        self.by_id[id(tensor)] = key
        self.keep_alive.append(tensor)
        return key

    def _leaf_kind(self, tensor: Any, requires: bool) -> str:
        if tensor is self.root:
            return "output"
        if not requires:
            return "constant"
        if self.names.is_named_param(tensor) or _is_parameter(tensor):
            return "parameter"
        return "input"

    def _leaf_value_and_grad(self, tensor: Any) -> tuple[Any, Any]:
        """A leaf's value and gradient: as recorded if the recording saw it, else its own."""
        rec = self.rec
        if rec is not None and id(tensor) in rec.leaf_values:
            return rec.leaf_values[id(tensor)], rec.leaf_grads.get(id(tensor))
        grad = tensor.grad._data if getattr(tensor, "grad", None) is not None else None
        return tensor._data, grad

    def _leaf_module(self, tensor: Any, kind: str, name: str) -> str | None:
        """The module a parameter belongs to, by its name (``layers.0.weight``: ``layers.0``)."""
        if kind != "parameter":
            return None
        if "." in name:
            return name.rsplit(".", 1)[0]
        if self.names.model is not None and self.names.is_named_param(tensor):
            return ""
        return None

    # ------------------------------------------------------------------ ops and their outputs
    def _node_order(self, root_node: Node) -> list[Node]:
        """The nodes, inputs first; in the order they ran when the recording saw them all."""
        order = topological_nodes(root_node)
        rec = self.rec
        if rec is not None and all(node in rec.outputs for node in order):
            position = {node: i for i, node in enumerate(rec.order)}
            order.sort(key=position.__getitem__)
        return order

    def _produced_tensors(self, order: list[Node], root_node: Node) -> dict[Node, Any]:
        """Which tensor object each node produced (from the recording, or from a consumer's inputs)."""
        produced: dict[Node, Any] = {root_node: self.root}
        rec = self.rec
        if rec is not None:
            for node in order:
                if node in rec.outputs:
                    produced.setdefault(node, rec.outputs[node])
        for node in order:
            inputs = _known_inputs(node, rec)
            if inputs is None:
                continue
            for parent, item in zip(node.parents, inputs, strict=False):
                if isinstance(parent, Node) and parent not in produced:
                    produced[parent] = item
        return produced

    def _module_of(self, node: Node) -> str | None:
        rec = self.rec
        if rec is None or node not in rec.modules:
            return None
        module = rec.modules[node]
        path = self.names.module_path(module)
        if path is None:
            path = self.unknown_modules.get(id(module))
            if path is None:
                path = f"{type(module).__name__}#{len(self.unknown_modules) + 1}"
                self.unknown_modules[id(module)] = path
                self.module_labels[path] = path
        return path

    def _add_node(self, index: int, node: Node, tensor: Any) -> None:
        """The box of the tensor ``node`` produced, its op box, and the arrows into and out of it."""
        key = f"t{index}"
        self.node_key[node] = key
        module = self._module_of(node)
        self.tensors[key] = self._output_box(key, node, tensor, module)
        inputs = _known_inputs(node, self.rec)
        in_edges, positions, shown_args = self._op_arguments(node, inputs)
        title = _title_with_constants(op_title(node.prim, node.attrs), shown_args, inputs)
        op_key = f"op{index}"
        self.ops[op_key] = OpBox(op_key, index, title, node, key, in_edges, module=module, positions=positions,
                                 args=shown_args)
        label_args = len(in_edges) > 1 and node.prim.name not in _COMMUTATIVE
        for src, argname in in_edges:
            self.edges.append((src, op_key, argname if label_args else ""))
        self.edges.append((op_key, key, ""))

    def _output_box(self, key: str, node: Node, tensor: Any, module: str | None) -> TensorBox:
        name = self.names.tensor_name(tensor) if tensor is not None else None
        if node is self.root_node:
            kind = "output"
            name = self.unique(name or self.root_name or "output", "output")
        else:
            kind = "intermediate"
            name = self.unique(name or key, "t")
        value, grad = self._node_value_and_grad(node, tensor)
        return TensorBox(
            key, kind, name, tuple(value.shape) if value is not None else None,
            str(value.dtype) if value is not None else None, value, grad, module=module, node=node,
        )

    def _node_value_and_grad(self, node: Node, tensor: Any) -> tuple[Any, Any]:
        """An op output's value and gradient: from the recording if it has them, else from the tensor."""
        rec = self.rec
        value = None
        grad = None
        if rec is not None and node in rec.values:
            value = rec.values[node]
        elif tensor is not None:
            value = np.asarray(tensor._data)
        if rec is not None and node in rec.grads:
            grad = rec.grads[node]
        elif tensor is not None and tensor.grad is not None:
            grad = np.asarray(tensor.grad._data)
        return value, grad

    def _op_arguments(self, node: Node, inputs: tuple | None) -> tuple[list[tuple[str, str]], list[int], list[str]]:
        """The arrows into an op (source key, argument name), their positions, and every argument as shown."""
        parents = node.parents or ()
        count = len(parents) if inputs is None else len(inputs)
        argnames = arg_names(node.prim, count)
        in_edges: list[tuple[str, str]] = []
        positions: list[int] = []
        shown_args: list[str] = []
        for position in range(count):
            parent = parents[position] if position < len(parents) else None
            item = inputs[position] if inputs is not None else None
            src = self._argument_source(parent, item)
            if src is None:
                shown_args.append(_argument_text(argnames[position], item, inputs))
                continue
            shown_args.append("·")
            in_edges.append((src, argnames[position]))
            positions.append(position)
        return in_edges, positions, shown_args

    def _argument_source(self, parent: Any, item: Any) -> str | None:
        """The key of the box an argument's arrow comes from; None for an argument shown as text."""
        if isinstance(parent, Node):
            return self.node_key[parent]
        if parent is not None:
            return self.leaf_box(parent)
        if item is not None and hasattr(item, "_data"):
            return self.leaf_box(item)
        return None

    # ------------------------------------------------------------------ module frames
    def _module_frames(self) -> tuple[dict[str, str], dict[str, str | None]]:
        """Module labels and the nesting of their frames: (path -> label, path -> parent path)."""
        # Parameters sit in their module's frame only when the ops are framed by module too.
        if not any(op.module is not None for op in self.ops.values()):
            for box in self.tensors.values():
                box.module = None
        labels = self.module_labels
        for path, module in self.names.modules.values():
            labels.setdefault(path, f"{path}: {type(module).__name__}" if path else type(module).__name__)
        used = {box.module for box in self.tensors.values() if box.module is not None}
        used |= {op.module for op in self.ops.values() if op.module is not None}
        parents_of: dict[str, str | None] = {}
        pending = list(used)
        while pending:
            path = pending.pop()
            if path in parents_of:
                continue
            parent = _parent_path(path, labels)
            parents_of[path] = parent
            if parent is not None:
                pending.append(parent)
        modules = {path: labels.get(path, path) for path in parents_of}
        return modules, parents_of


def _argument_text(argname: str, item: Any, inputs: tuple | None) -> str:
    """An argument without an arrow, as shown: a constant's value, ``bias=None``, or ``?`` (unknown)."""
    if inputs is None:
        return "?"
    if item is None:  # an optional input left out: linear's bias
        return f"{argname}=None"
    return _constant_text(item)


def _title_with_constants(title: str, shown_args: list[str], inputs: tuple | None) -> str:
    """An op's title with its constant arguments in their places: ``mul(·, 0.5)``.

    Inputs left out go as keywords at the end, the arrows alone standing for the tensors
    when nothing else is positional (``linear(bias=None)``).
    """
    if inputs is None or all(a == "·" for a in shown_args):
        return title
    left_out = [a for a in shown_args if a.endswith("=None")]
    positional = [a for a in shown_args if not a.endswith("=None")]
    if all(a == "·" for a in positional):
        positional = []
    constants = ", ".join(positional + left_out)
    if title.endswith(")"):
        return title[:-1] + "; " + constants + ")"
    return f"{title}({constants})"


def _known_inputs(node: Node, rec: Recording | None) -> tuple | None:
    if rec is not None and node in rec.inputs:
        return rec.inputs[node]
    if node.arrays is not None:  # not freed by backward: rebuild them from the saved arrays
        return saved_inputs(node)
    return None


def _is_parameter(tensor: Any) -> bool:
    return type(tensor).__name__ == "Parameter"


def _parent_path(path: str, known: dict[str, str]) -> str | None:
    if path == "":
        return None
    if path in known and "#" in path:  # a module we could not name: top level
        return None
    while "." in path:
        path = path.rsplit(".", 1)[0]
        if path in known:
            return path
    return "" if "" in known else None


# ---------------------------------------------------------------------- drawing
TENSOR_STYLES: dict[str, dict[str, str]] = {
    "output": {"fillcolor": "#ffe8cc", "color": "#e8590c", "penwidth": "2.2"},
    "parameter": {"fillcolor": "#dbe9ff", "color": "#1c7ed6", "penwidth": "1.4"},
    "input": {"fillcolor": "#fff3bf", "color": "#f08c00"},
    "constant": {"fillcolor": "#f8f9fa", "color": "#adb5bd", "style": "filled,dashed",
                 "fontcolor": "#495057"},
    "intermediate": {"fillcolor": "#ffffff", "color": "#868e96"},
}
KIND_CAPTIONS = {
    "output": "output", "parameter": "parameter", "input": "leaf (requires grad)",
    "constant": "no grad", "intermediate": "",
}
OP_STYLE = {"shape": "box", "style": "rounded,filled", "fillcolor": "#e9ecef", "color": "#495057",
            "fontsize": "11"}
GROUP_STYLE = {"shape": "box3d", "style": "filled", "fillcolor": "#e7f5ff", "color": "#1c7ed6"}
GRAD_COLOR = "#c92a2a"
UPDATE_COLOR = "#2b8a3e"
MONO = "DejaVu Sans Mono,Menlo,Consolas,monospace"


def _value_cell(text: str, color: str | None = None) -> str:
    lines = [esc(line) for line in text.split("\n")]
    body = '<BR ALIGN="LEFT"/>'.join(lines) + '<BR ALIGN="LEFT"/>'
    font = f'<FONT FACE="{MONO}" POINT-SIZE="10"' + (f' COLOR="{color}"' if color else "") + ">"
    return f'<TD ALIGN="LEFT" BALIGN="LEFT">{font}{body}</FONT></TD>'


def _row(caption: str, text: str, color: str | None = None) -> str:
    font = f'<FONT POINT-SIZE="9" COLOR="{color or "#495057"}">'
    head = f'<TD ALIGN="RIGHT" VALIGN="TOP">{font}{esc(caption)}</FONT></TD>'
    return f"<TR>{head}{_value_cell(text, color)}</TR>"


def tensor_label(box: TensorBox, show_data: bool, show_grad: bool, max_elements: int) -> str:
    """The HTML-like Graphviz label of a tensor box."""
    caption = KIND_CAPTIONS.get(box.kind, "")
    if caption == box.name:
        caption = ""
    head = f"<B>{esc(box.name)}</B>"
    if caption:
        head += f' <FONT POINT-SIZE="9" COLOR="#868e96">{esc(caption)}</FONT>'
    rows = [f'<TR><TD COLSPAN="2">{head}</TD></TR>']
    if box.shape is not None:
        meta = f"{fmt_shape(box.shape)} {box.dtype}"
        rows.append(f'<TR><TD COLSPAN="2"><FONT POINT-SIZE="9" COLOR="#495057">{esc(meta)}</FONT></TD></TR>')
    if show_data and box.value is not None:
        rows.append(_row("data", fmt_array(box.value, max_elements)))
    if show_grad and box.grad is not None and box.requires_grad:
        rows.append(_row("grad", fmt_array(box.grad, max_elements), GRAD_COLOR))
    for caption_text, text, color in box.rows:
        rows.append(_row(caption_text, text, color or None))
    return '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">' + "".join(rows) + "</TABLE>>"


def op_label(op: OpBox) -> str:
    if not op.notes:
        return op.title
    rows = [f"<TR><TD><B>{esc(op.title)}</B></TD></TR>"]
    for note in op.notes:
        rows.append(f'<TR><TD><FONT POINT-SIZE="9" COLOR="{GRAD_COLOR}">{esc(note)}</FONT></TD></TR>')
    return '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">' + "".join(rows) + "</TABLE>>"


def _collapsed_paths(model: GraphModel, collapse: Any) -> set[str]:
    if collapse is None or collapse is False:
        return set()
    paths = set(model.modules)
    if collapse is True:
        children = {p for p in paths if p and model.module_parents.get(p) in ("", None)}
        return children or ({""} if "" in paths else set())
    if isinstance(collapse, int):
        return {p for p in paths if p and p.count(".") + 1 == collapse and "#" not in p}
    wanted = {collapse} if isinstance(collapse, str) else set(collapse)
    missing = wanted - paths
    if missing:
        raise ValueError(
            f"draw_graph: collapse names modules {sorted(missing)} that produced nothing in this graph; "
            f"the modules in it are {sorted(paths)}"
        )
    return wanted


def _group_of(path: str | None, collapsed: set[str]) -> str | None:
    """The outermost collapsed module that contains ``path`` (None if none does)."""
    if path is None or not collapsed:
        return None
    best = None
    candidate: str | None = path
    while candidate is not None:
        if candidate in collapsed:
            best = candidate
        if candidate == "":
            break
        candidate = candidate.rsplit(".", 1)[0] if "." in candidate else ("" if candidate else None)
    return best


def _dot_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text) or "model"


@dataclass
class _Collapsed:
    """What the collapsed modules of a picture swallow."""

    #: the collapsed module paths
    paths: set[str]
    #: op key -> the collapsed module drawn in its place (None: the op is drawn)
    op_group: dict[str, str | None]
    #: tensor keys drawn inside a collapsed module (only used there)
    hidden: set[str] = field(default_factory=set)
    #: collapsed module -> the parameters listed in its box
    params: dict[str, list[TensorBox]] = field(default_factory=dict)
    #: collapsed module -> how many ops it stands for
    op_counts: dict[str, int] = field(default_factory=dict)

    def place(self, key: str) -> str:
        """The id an arrow to or from ``key`` attaches to: the op, or its collapsed module's box."""
        group = self.op_group.get(key)
        return "group_" + _dot_id(group) if group is not None else key


def _collapse(model: GraphModel, collapse: Any) -> _Collapsed:
    """Which ops, tensors and parameters each collapsed module swallows."""
    collapsed = _collapsed_paths(model, collapse)
    op_group = {key: _group_of(op.module, collapsed) for key, op in model.ops.items()}
    result = _Collapsed(collapsed, op_group)
    consumers: dict[str, set] = {}
    for src, dst, _ in model.edges:
        if dst in model.ops:
            consumers.setdefault(src, set()).add(op_group[dst] if op_group[dst] is not None else dst)
    producer_group = {op.output: op_group[key] for key, op in model.ops.items()}
    for group in op_group.values():
        if group is not None:
            result.op_counts[group] = result.op_counts.get(group, 0) + 1
    for key, box in model.tensors.items():
        if key == model.root:
            continue
        users = consumers.get(key, set())
        group = producer_group.get(key)
        if group is None and box.kind == "parameter":
            group = _group_of(box.module, collapsed)
        if group is not None and users and users == {group}:
            result.hidden.add(key)
            if box.kind == "parameter":
                result.params.setdefault(group, []).append(box)
    return result


#: Items per frame: frame (module path, None at the top) -> list of (id, label, attrs).
_Frames = dict[str | None, list[tuple[str, str, dict]]]


def _tensor_frame(model: GraphModel, box: TensorBox, collapsed: set[str]) -> str | None:
    """The frame a tensor box is drawn in: its module's, or the parent's of the module collapsed over it."""
    group = _group_of(box.module, collapsed)
    frame = box.module if group is None else model.module_parents.get(group or "")
    if box.kind == "parameter" and box.module not in model.modules:
        frame = None
    return frame


def _group_label(model: GraphModel, group: str, collapsed: _Collapsed, show_grad: bool) -> str:
    """The HTML-like label of a collapsed module's box: its name, op count and parameters."""
    label = model.modules.get(group, group)
    rows = [f"<TR><TD><B>{esc(label)}</B></TD></TR>",
            f'<TR><TD><FONT POINT-SIZE="9">{collapsed.op_counts[group]} ops collapsed</FONT></TD></TR>']
    for box in collapsed.params.get(group, []):
        text = f"{box.name} {fmt_shape(box.shape or ())}"
        if show_grad and box.grad is not None:
            text += f"  |grad|={fmt_norm(box.grad)}"
        rows.append(f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="9">{esc(text)}</FONT></TD></TR>')
    return '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0">' + "".join(rows) + "</TABLE>>"


def _frames(model: GraphModel, collapsed: _Collapsed, show_data: bool, show_grad: bool,
            max_elements: int) -> _Frames:
    """Every box to draw (tensors, ops, collapsed modules), by the frame it sits in."""
    frames: _Frames = {}
    for key, box in model.tensors.items():
        if key in collapsed.hidden:
            continue
        style = dict(TENSOR_STYLES[box.kind])
        style.setdefault("style", "filled")
        style["shape"] = "box"
        frames.setdefault(_tensor_frame(model, box, collapsed.paths), []).append(
            (key, tensor_label(box, show_data, show_grad, max_elements), style))
    for key, op in model.ops.items():
        if collapsed.op_group[key] is not None:
            continue
        frames.setdefault(op.module, []).append((key, op_label(op), dict(OP_STYLE)))
    for group in sorted(collapsed.paths):
        if group not in collapsed.op_counts:
            continue
        frames.setdefault(model.module_parents.get(group), []).append(
            ("group_" + _dot_id(group), _group_label(model, group, collapsed, show_grad), dict(GROUP_STYLE)))
    return frames


def _emit_frames(dot: graphviz.Digraph, model: GraphModel, frames: _Frames, collapsed: set[str]) -> None:
    """Draw the boxes in frames that nest like the module tree; collapsed modules draw no frame of their own."""
    children: dict[str | None, list[str]] = {}
    for path, parent in model.module_parents.items():
        children.setdefault(parent, []).append(path)

    def has_content(path: str) -> bool:
        stack = [path]
        while stack:
            current = stack.pop()
            if frames.get(current):
                return True
            stack.extend(children.get(current, []))
        return False

    def emit(graph: graphviz.Digraph, path: str | None) -> None:
        for key, label, attrs in frames.get(path, []):
            graph.node(key, label, **attrs)
        for child in sorted(children.get(path, [])):
            if child in collapsed or not has_content(child):
                continue
            with graph.subgraph(name="cluster_" + _dot_id(child)) as sub:
                sub.attr(label=model.modules.get(child, child), style="rounded,dashed", color="#74c0fc",
                         fontcolor="#1864ab", fontsize="11", labeljust="l")
                emit(sub, child)

    emit(dot, None)


def _emit_edges(dot: graphviz.Digraph, model: GraphModel, collapsed: _Collapsed) -> None:
    """The arrows; one into or out of a collapsed module is drawn once."""
    hidden = collapsed.hidden
    seen_edges: set = set()
    for src, dst, label in model.edges:
        if src in hidden or dst in hidden:
            continue
        a, b = collapsed.place(src), collapsed.place(dst)
        if a != src or b != dst:  # an arrow into or out of a collapsed module: draw it once
            if a == b or (a, b) in seen_edges:
                continue
            seen_edges.add((a, b))
        if label:
            dot.edge(a, b, label=label)
        else:
            dot.edge(a, b)
    for src, dst, label, attrs in model.extra_edges:
        if src in hidden or dst in hidden:
            continue
        a, b = collapsed.place(src), collapsed.place(dst)
        if a == b:
            continue
        dot.edge(a, b, label=label.replace("\n", " "), **attrs)


def render_model(
    model: GraphModel, show_data: bool = True, show_grad: bool = True, rankdir: str = "LR",
    max_elements: int = DEFAULT_MAX_ELEMENTS, collapse: Any = None,
) -> AutogradGraph:
    """Turn a :class:`GraphModel` into a Graphviz picture (see :func:`draw_graph`)."""
    if rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(f"draw_graph: rankdir must be one of 'LR', 'RL', 'TB', 'BT', got {rankdir!r}")
    graph_attr = {"rankdir": rankdir, "nodesep": "0.25", "ranksep": "0.35", "fontname": "Helvetica",
                  "bgcolor": "white"}
    if model.title:
        graph_attr.update(label=model.title, labelloc="t", fontsize="16")
    dot = AutogradGraph(
        "autograd",
        graph_attr=graph_attr,
        node_attr={"fontname": "Helvetica", "fontsize": "11", "shape": "box", "style": "filled"},
        edge_attr={"color": "#495057", "arrowsize": "0.7", "fontsize": "9", "fontname": "Helvetica"},
    )
    dot.model = model
    collapsed = _collapse(model, collapse)
    _emit_frames(dot, model, _frames(model, collapsed, show_data, show_grad, max_elements), collapsed.paths)
    _emit_edges(dot, model, collapsed)
    return dot


def draw_graph(
    root: Any,
    params: Any = None,
    show_data: bool = True,
    show_grad: bool = True,
    rankdir: str = "LR",
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    collapse: bool | int | str | Iterable[str] | None = None,
    recording: Recording | None = None,
    title: str | None = None,
) -> AutogradGraph:
    """Draw the graph that produced ``root`` as a ``graphviz.Digraph``.

    Args:
        root: the tensor whose history to draw (usually the loss).
        params: names for tensors and modules: an ``nn.Module`` (parameters get names such
            as ``layers.0.weight``), a dict ``{name: tensor}`` (may also name inputs and
            targets), or an iterable of ``(name, tensor)`` pairs.
        show_data: print each tensor's values (in full up to ``max_elements`` elements,
            else as mean/std/min/max).
        show_grad: print each tensor's gradient where it is known (``.grad`` of leaves
            and of tensors that called ``retain_grad()``, or gradients caught by a trace).
        rankdir: layout direction, ``'LR'`` (left to right) or ``'TB'`` (top to bottom).
        max_elements: the largest tensor printed in full.
        collapse: draw modules as single boxes: ``True`` (the model's direct children),
            a depth (``2`` collapses ``encoder.layer0``-level modules), or module names.
        recording: a :class:`~autograd_lite.viz._record.Recording` of the computation,
            for values and gradients of intermediate tensors and module frames.
        title: a caption over the picture.

    Returns:
        An :class:`AutogradGraph` (a ``graphviz.Digraph``): it shows as SVG in Jupyter,
        ``.render('graph.svg')`` writes a file, ``.source`` is the DOT text.

    Without a recording, intermediate values are shown while the graph still holds them
    (before ``backward()``, or after ``backward(retain_graph=True)``). To see them, their
    gradients and the module frames after backward, record the forward pass::

        with ag.viz.Recording() as rec:
            loss = loss_fn(model(x), y)
        with rec.capture_grads():
            loss.backward()
        ag.viz.draw_graph(loss, params=model, recording=rec)

    (:func:`~autograd_lite.viz.trace_step` does all of this, and the update, in one call.)

    >>> import autograd_lite as ag
    >>> x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward(retain_graph=True)
    >>> g = draw_graph(y, params={"x": x})
    >>> sorted(op.title for op in g.model.ops.values())
    ['mul', 'sum']
    """
    model = build_graph(root, params=params, recording=recording)
    model.title = title
    return render_model(model, show_data=show_data, show_grad=show_grad, rankdir=rankdir,
                        max_elements=max_elements, collapse=collapse)
