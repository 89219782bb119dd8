"""``explain(loss)``: the backward pass told as a worked example of the chain rule.

Backpropagation visits the ops in reverse order. Each op receives the gradient of the
loss with respect to its output (the *upstream* gradient), applies its own *local*
derivative rule, and passes one gradient to each of its inputs. Where a tensor feeds
several ops, the gradients it receives are added. ``explain`` prints exactly that, with
the numbers, for every op of a graph.

The numbers are the real ones: the gradient arriving at each op is caught while the
library's own engine runs backward (``autograd.grad`` with ``retain_graph=True``, so no
``.grad`` is touched and the graph can still be used), and what each op passes on is
computed with the very VJP functions the engine uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..autograd.engine import fit_to_input, vjp_outputs
from ..autograd.node import Node
from ._format import DEFAULT_MAX_ELEMENTS, fmt_array, fmt_shape
from ._names import Names
from ._record import Recording, graph_leaves
from .graph import (
    GRAD_COLOR,
    AutogradGraph,
    GraphModel,
    OpBox,
    arg_names,
    build_graph,
    render_model,
    topological_nodes,
)

__all__ = ["Explanation", "Step", "explain"]

#: What each primitive's local derivative means, in words a beginner can follow.
RULES_IN_WORDS: dict[str, str] = {
    "add": "Addition passes the upstream gradient on unchanged to both inputs (d(x+y)/dx=1).",
    "sub": "Subtraction passes the upstream gradient on unchanged to x and with its sign flipped to y.",
    "mul": "Multiplication: each factor receives the upstream gradient times the other factor.",
    "div": "Division: x receives the upstream gradient divided by y; y receives -upstream * x / y^2.",
    "pow": "Power rule: d(x^n)/dx = n * x^(n-1), multiplied by the upstream gradient.",
    "neg": "Negation flips the sign of the gradient.",
    "exp": "The derivative of exp is exp itself, so the upstream gradient is multiplied by the output.",
    "log": "The derivative of log(x) is 1/x.",
    "sqrt": "The derivative of sqrt(x) is 1 / (2 sqrt(x)).",
    "abs": "|x| has slope +1 where x > 0 and -1 where x < 0.",
    "sin": "The derivative of sin is cos.",
    "cos": "The derivative of cos is -sin.",
    "tanh": "The slope of tanh is 1 - tanh(x)^2, computed from the saved output.",
    "sigmoid": (
        "The slope of the sigmoid is s * (1 - s), where s is its own output: at most 0.25, so every "
        "sigmoid shrinks the gradient passing through it."
    ),
    "relu": "ReLU lets the gradient through where its input was positive and blocks it (0) elsewhere.",
    "softplus": "The slope of softplus is the sigmoid of its input.",
    "clamp": "Clamping passes the gradient where the input was inside the limits, and 0 where it was cut.",
    "maximum": "max(x, y) sends the gradient to whichever input was larger (half each on a tie).",
    "minimum": "min(x, y) sends the gradient to whichever input was smaller (half each on a tie).",
    "where": "where(cond, x, y) sends the gradient to x where cond holds and to y elsewhere.",
    "matmul": (
        "Matrix product: x receives upstream @ y^T and y receives x^T @ upstream, so each weight's "
        "gradient adds up input * upstream over the batch."
    ),
    "linear": (
        "A linear layer computes out = x @ weight^T + bias, one row per example. Going back, x "
        "receives upstream @ weight: each input feature collects the upstream gradient of every "
        "output it fed, times the weight that connected them. weight receives upstream^T @ x: "
        "weight[j, i] gets upstream[:, j] * x[:, i], added up over the rows (the batch). bias "
        "receives the upstream gradient summed over the rows, because it was added to every row."
    ),
    "sum": (
        "A sum hands every element it added up the same upstream gradient (the derivative of a sum "
        "with respect to each of its terms is 1)."
    ),
    "amax": "A max sends the whole gradient to the element(s) that were largest; the others get 0.",
    "amin": "A min sends the whole gradient to the element(s) that were smallest; the others get 0.",
    "prod": "A product sends each element the upstream gradient times the product of the others.",
    "logsumexp": "The slope of logsumexp is the softmax of its input.",
    "log_softmax": "log_softmax: upstream minus softmax times the sum of the upstream gradient.",
    "logsoftmax": "log_softmax: upstream minus softmax times the sum of the upstream gradient.",
    "reshape": "A reshape only rearranges numbers: the gradient is reshaped back.",
    "permute": "A transpose/permute only moves numbers: the gradient is moved back the same way.",
    "expand": "Broadcasting made copies of x: the copies' gradients are added back together.",
    "getitem": "Indexing picked some elements: they get the gradient, the rest of x gets 0.",
    "getitem_view": "Indexing picked some elements: they get the gradient, the rest of x gets 0.",
    "cat": "Concatenation: each input receives its own slice of the gradient.",
    "cast": "A dtype conversion passes the gradient on, converted back to the input's dtype.",
    "clone": "A copy passes the gradient on unchanged.",
}

#: Primitives whose local derivative is elementwise, so it can be shown as numbers.
ELEMENTWISE = {
    "add", "sub", "mul", "div", "pow", "neg", "exp", "log", "sqrt", "abs", "sin", "cos", "tanh",
    "sigmoid", "relu", "softplus", "clamp", "maximum", "minimum", "where", "erf",
}


@dataclass
class Passed:
    """One gradient an op passes to one of its inputs."""

    target: str
    target_key: str
    argname: str
    grad: np.ndarray
    #: the local derivative (elementwise ops only), broadcast to the output's shape
    local: np.ndarray | None = None
    #: True when broadcasting made the gradient be summed down to the input's shape
    summed: bool = False
    #: the op's gradient formula for this input (``grad_x = grad_out * y``), if it has one
    rule: str | None = None


@dataclass
class Step:
    """One op of the backward pass."""

    number: int
    op: OpBox
    output: str
    upstream: np.ndarray
    #: the op's forward formula (``out = x * y``)
    forward: str
    #: the op's gradient formula for each input, by position (None where it has none)
    rule: list[str | None]
    words: str
    passed: list[Passed] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Explanation:
    """The narrated backward pass: ``.text`` (also ``str(...)``), ``.steps``, ``.graph()``.

    ``grads`` maps every tensor's name (``layers.0.weight``, ``t3``, ``loss``) to the
    gradient of the loss with respect to it, as the engine computed it.
    """

    def __init__(self, model: GraphModel, steps: list[Step], grads: dict[str, np.ndarray],
                 text: str, max_elements: int) -> None:
        self.model = model
        self.steps = steps
        self.grads = grads
        self.text = text
        self._max_elements = max_elements

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<Explanation of {len(self.steps)} backward steps; print() it to read>"

    def _repr_html_(self) -> str:
        import html

        return f"<pre style='font-size:12px'>{html.escape(self.text)}</pre>"

    def graph(self, show_data: bool = True, rankdir: str = "LR", max_elements: int | None = None,
              show_passed: bool = False) -> AutogradGraph:
        """The graph annotated with the backward pass.

        Every op carries its backward step number and the local rule for each input that
        receives a gradient; every tensor shows its gradient. With ``show_passed``, dashed
        red arrows also run backwards from each op to its inputs, labelled with the
        gradient passed along them.
        """
        model = self.model
        for op in model.ops.values():
            op.notes = []
        model.extra_edges = []
        for step in self.steps:
            step.op.notes = [f"backward step {step.number}"] + [
                passed.rule.replace("grad_out", "upstream") for passed in step.passed if passed.rule
            ]
            if not show_passed:
                continue
            for passed in step.passed:
                small = passed.grad.size <= 4
                label = fmt_array(passed.grad, 4) if small else f"{fmt_shape(passed.grad.shape)} grad"
                model.extra_edges.append((
                    step.op.key, passed.target_key, label,
                    {"color": GRAD_COLOR, "fontcolor": GRAD_COLOR, "style": "dashed", "constraint": "false",
                     "arrowsize": "0.5"},
                ))
        limit = self._max_elements if max_elements is None else max_elements
        try:
            return render_model(model, show_data=show_data, show_grad=True, rankdir=rankdir,
                                max_elements=limit)
        finally:
            for op in model.ops.values():
                op.notes = []
            model.extra_edges = []


def _rule_lines(prim: Any, count: int) -> tuple[str, list[str | None]]:
    """The forward formula and the gradient formula of each of ``count`` inputs, from the
    primitive's ``formula`` and ``grad_formulas``.

    A variadic primitive (cat) has one gradient formula, for every input. Something without
    formulas (an ``autograd.Function``) is shown as a call: ``out = Cube(x)``.
    """
    forward = getattr(prim, "formula", "")
    if not forward:
        name = getattr(prim, "name", None) or getattr(prim, "__name__", "op")
        forward = f"out = {name}({', '.join(arg_names(prim, count))})"
    formulas = tuple(getattr(prim, "grad_formulas", ()) or ())
    if formulas and not isinstance(getattr(prim, "vjps", None), tuple):  # variadic: one for all
        return forward, [formulas[0]] * count
    return forward, [formulas[i] if i < len(formulas) else None for i in range(count)]


def _input_gradients(node: Node, g: np.ndarray) -> list:
    """What ``node`` passes to each input, by the engine's own per-node step, and for each
    whether the engine summed it over broadcast dimensions (the raw VJP had another shape)."""
    passed: list = []
    for position, raw in enumerate(vjp_outputs(node, g)):
        if raw is None:
            passed.append(None)
            continue
        fitted = np.asarray(fit_to_input(node, position, raw))
        passed.append((fitted, np.shape(raw) != fitted.shape))
    return passed


def _local_derivative(node: Node, position: int, g: np.ndarray) -> np.ndarray | None:
    """d out / d input for an elementwise op, by running its VJP on a gradient of ones."""
    if node.prim.name not in ELEMENTWISE:
        return None
    ones = np.ones(np.shape(g), dtype=np.asarray(g).dtype)
    needed = [i == position for i in range(len(node.parents))]
    try:
        local = node.prim.vjp(ones, node.out, node.arrays, node.attrs, needed)[position]
    except (TypeError, ValueError):
        return None
    return np.broadcast_to(np.asarray(local, dtype=np.float64), np.shape(g))


def explain(loss: Any, params: Any = None, gradient: Any = None,
            max_elements: int = DEFAULT_MAX_ELEMENTS) -> Explanation:
    """Narrate the backward pass of ``loss``, op by op, with the real numbers.

    Call it before ``loss.backward()`` (it needs the graph, which ``backward`` frees
    unless ``retain_graph=True``). It does not change any ``.grad``.

    Args:
        loss: a tensor computed with gradients (a scalar, or pass ``gradient``).
        params: names for parameters and inputs, as for :func:`draw_graph` (a Module,
            a dict ``{name: tensor}`` or ``(name, tensor)`` pairs).
        gradient: the gradient to start from when ``loss`` is not a scalar.
        max_elements: the largest tensor printed in full.

    Returns:
        An :class:`Explanation`: ``print(e)`` or ``e.text`` to read it, ``e.graph()`` for
        the annotated picture, ``e.grads[name]`` for any tensor's gradient.

    >>> import autograd_lite as ag
    >>> w = ag.tensor([2.0], requires_grad=True)
    >>> e = explain((w * 3.0).sum(), params={"w": w})
    >>> e.grads["w"]
    array([3.], dtype=float32)
    """
    from ..autograd.engine import grad as engine_grad

    root_node = getattr(loss, "grad_fn", None)
    if root_node is None:
        raise RuntimeError(
            "explain: this tensor has no grad_fn, so there is no backward pass to explain; compute it "
            "from tensors with requires_grad=True (with gradients enabled)"
        )
    if gradient is None and np.size(loss._data) != 1:
        raise RuntimeError(
            f"explain: the output has shape {tuple(loss.shape)}; backward starts from a scalar, so "
            "reduce it first (e.g. loss.sum()) or pass gradient= (a tensor of the same shape)"
        )
    order = topological_nodes(root_node)
    if any(node.arrays is None for node in order):
        raise RuntimeError(
            "explain: the graph of this tensor was already freed by backward(). Call "
            "ag.viz.explain(loss) before loss.backward(), or call loss.backward(retain_graph=True) first"
        )
    names = params if isinstance(params, Names) else Names(params)
    leaves = graph_leaves(root_node)

    # The real gradients: run the engine, catching the gradient that reaches every node.
    rec = Recording()
    rec.order = list(order)
    with rec.capture_grads():
        leaf_grads = engine_grad(loss, leaves, grad_outputs=gradient, retain_graph=True, allow_unused=True)
    for leaf, g in zip(leaves, leaf_grads, strict=True):
        rec.leaf_values[id(leaf)] = np.array(leaf._data, copy=True)
        rec.leaf_grads[id(leaf)] = None if g is None else np.asarray(g._data)
    model = build_graph(loss, params=names, recording=rec, root_name="loss")
    tensors = model.tensors
    key_of_node = {op.node: op.output for op in model.ops.values()}

    grads: dict[str, np.ndarray] = {}
    for box in tensors.values():
        if box.grad is not None and box.requires_grad:
            grads[box.name] = box.grad

    # How many ops send a gradient to each tensor (to point out when gradients add up).
    incoming: dict[str, int] = {}
    for op in model.ops.values():
        for position, parent in enumerate(op.node.parents):
            if parent is not None:
                key = _target_key(op, position, key_of_node, model)
                if key is not None:
                    incoming[key] = incoming.get(key, 0) + 1

    op_of = {op.node: op for op in model.ops.values()}
    steps: list[Step] = []
    for number, node in enumerate(reversed(order), start=1):
        op = op_of[node]
        upstream = rec.grads[node]
        forward, rules = _rule_lines(node.prim, len(node.parents))
        words = RULES_IN_WORDS.get(node.prim.name, "")
        step = Step(number, op, tensors[op.output].name, upstream, forward, rules, words)
        argnames = _argnames_by_position(op, len(node.parents))
        for position, passed in enumerate(_input_gradients(node, upstream)):
            if passed is None:
                continue
            key = _target_key(op, position, key_of_node, model)
            if key is None:
                continue
            fitted, summed = passed
            step.passed.append(Passed(
                tensors[key].name, key, argnames[position], fitted,
                _local_derivative(node, position, upstream), summed, rules[position],
            ))
        steps.append(step)

    text = _narrate(steps, model, incoming, leaves, names, max_elements)
    return Explanation(model, steps, grads, text, max_elements)


def _target_key(op: OpBox, position: int, key_of_node: dict, model: GraphModel) -> str | None:
    for (key, _), pos in zip(op.inputs, op.positions, strict=True):
        if pos == position:
            return key
    parent = op.node.parents[position]
    if isinstance(parent, Node):
        return key_of_node.get(parent)
    return None


def _argnames_by_position(op: OpBox, count: int) -> dict[int, str]:
    names = arg_names(op.node.prim, count)
    return dict(enumerate(names))


def _block(label: str, text: str, width: int) -> list[str]:
    """``label`` in a column of ``width``, then ``text``; continuation lines line up under it."""
    lines = text.split("\n")
    first = f"  {label:<{width}}"
    pad = " " * len(first)
    return [first + lines[0]] + [pad + line for line in lines[1:]]


def _labelled(prefix: str, array_text: str) -> str:
    """``prefix`` followed by a (maybe multi-line) array, its rows aligned under the first."""
    lines = array_text.split("\n")
    return "\n".join([prefix + lines[0]] + [" " * len(prefix) + line for line in lines[1:]])


def _wrap(text: str, width: int = 88) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text


_TRIVIAL = {"add", "sub", "neg", "clone"}


def _step_formula(step: Step, tensors: dict) -> str:
    """The op's formula with its arguments bound (``... with x = h, weight = fc.weight``)."""
    op = step.op
    argnames = _argnames_by_position(op, len(op.args))
    arg_values = iter(tensors[key].name for key, _ in op.inputs)
    bound = [f"{argnames[i]} = None" if a == f"{argnames[i]}=None" else
             f"{argnames[i]} = {next(arg_values, '?') if a == '·' else a}"
             for i, a in enumerate(op.args)]
    formula = step.forward
    without = getattr(op.node.prim, "formula_without", None) or {}
    for i, a in enumerate(op.args):
        if a == f"{argnames[i]}=None":  # an input left out (no bias): the formula without it
            formula = without.get(argnames[i], formula)
    return formula + (f"   with {', '.join(bound)}" if bound else "")


def _narrate_passed(step: Step, passed: Passed, tensors: dict, incoming: dict[str, int], arr: Any,
                    width: int) -> list[str]:
    """The lines telling what one step passes to one of its inputs."""
    name = step.op.node.prim.name
    slope_shown = passed.local is not None and name not in _TRIVIAL
    lines: list[str] = []
    if passed.rule:
        lines.append(passed.rule)
    if slope_shown:
        lines.append(_labelled(f"local slope d {step.output}/d {passed.target} = ", arr(passed.local)))
        if passed.summed:
            lines.append(_labelled("upstream * slope = ", arr(np.asarray(step.upstream) * passed.local)))
    if passed.summed:
        lines.append(f"summed over the broadcast axes down to {passed.target}'s shape "
                     f"{fmt_shape(passed.grad.shape)}")
    result = _labelled(f"d loss/d {passed.target} = ", arr(passed.grad))
    if slope_shown and not passed.summed:
        result = _labelled(f"d loss/d {passed.target} = upstream * slope = ", arr(passed.grad))
    tail = []
    if tensors[passed.target_key].kind in ("parameter", "input"):
        tail.append(f"added into {passed.target}.grad")
    shares = incoming.get(passed.target_key, 1)
    if shares > 1:
        tail.append(f"one of {shares} gradients {passed.target} receives; they are added")
    if tail:
        result += "   -> " + "; ".join(tail)
    lines.append(result)
    if len(passed.target) + 3 < width:
        return _block(f"to {passed.target}", "\n".join(lines), width)
    return [f"  to {passed.target} ({passed.argname}):"] + _block("", "\n".join(lines), width)


def _narrate(steps: list[Step], model: GraphModel, incoming: dict[str, int], leaves: list,
             names: Names, max_elements: int) -> str:
    def arr(a: Any) -> str:
        return fmt_array(a, max_elements)

    tensors = model.tensors
    root = tensors[model.root]
    out: list[str] = []
    out.append(f"Backward pass of {root.name} = {arr(root.value)}, explained step by step.")
    out.append("")
    out.append(_wrap(
        "Backpropagation walks the graph from the output back to the inputs. Every op gets the "
        "gradient of the loss with respect to its output (the 'upstream' gradient), multiplies it "
        "by its own local derivative (the chain rule), and passes the result on to each input. "
        "When a tensor is used by several ops, the gradients it receives are added up."))
    out.append("")
    out.append("The forward pass that built the graph:")
    calls: dict[str, str] = {}
    for op in sorted(model.ops.values(), key=lambda o: o.index):
        call = op.call([tensors[key].name for key, _ in op.inputs])
        calls[op.key] = call
        where = f"   [{op.module}]" if op.module else ""
        out.append(f"  {tensors[op.output].name} = {call}{where}")
    out.append("")
    width = 12
    for step in steps:
        op = step.op
        head = f"Step {step.number}: {step.output} = {calls[op.key]}"
        if op.module:
            head += f"   (in module {op.module})"
        out.append(head)
        out.append("-" * len(head))
        up = _labelled(f"d loss/d {step.output} = ", arr(step.upstream))
        if step.number == 1:
            up += "   (the loss with respect to itself: backward starts with 1)"
        out.extend(_block("upstream", up, width))
        formula = _step_formula(step, tensors)
        out.extend(_block("formula", formula, width))
        if step.words:
            out.extend(_block("rule", _wrap(step.words, 80), width))
        for passed in step.passed:
            out.extend(_narrate_passed(step, passed, tensors, incoming, arr, width))
        out.append("")
    out.append("Result: the gradients that reached the leaves (what loss.backward() adds to .grad):")
    for box in tensors.values():
        if box.kind in ("parameter", "input") and box.grad is not None:
            out.append(_labelled(f"  {box.name}.grad = ", arr(box.grad)))
    return "\n".join(out)
