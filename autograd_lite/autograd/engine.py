"""The backward pass: reverse-mode automatic differentiation over the recorded graph.

``loss.backward()`` runs :func:`_run` in four named steps:

1. :func:`count_dependencies`: for every node reachable from the roots, count how many
   consumers will send it a gradient (an explicit stack, never recursion, so a chain of
   100,000 ops is fine).
2. The walk: a node runs only when its count reaches zero, that is, once every gradient
   flowing into it has been summed in its ``acc`` slot. :func:`take_gradient` applies its
   hooks; :func:`input_gradients` runs its VJPs (after checking that no saved value was
   overwritten in place), undoes broadcasting and checks for NaN in anomaly mode;
   :func:`pass_on` adds each result to the parent node's ``acc`` or to the leaf's entry.
3. Unless ``retain_graph``, each node drops its saved arrays as soon as it has run.
4. :func:`finish_leaves`: leaf hooks run, then each leaf's ``.grad`` is accumulated.

With ``create_graph=True`` the same walk hands Tensors (not arrays) to the VJPs, so the
gradient computation is itself recorded and can be differentiated again.

The plain case (first order, no hooks, no ``autograd.grad`` captures, no anomaly mode)
runs the same steps fused into one loop, in ``autograd/_fast_backward.py``; a test checks
that both give the same gradients.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._broadcast import unbroadcast
from ..ops.elementwise import Clone
from ..ops.primitive import apply
from ..tensor import Tensor, as_tensor
from . import _fast_backward
from .grad_mode import _anomaly, set_mode
from .node import OUTPUT_MODIFIED, Node, version_of

FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you "
    "call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward "
    "through the graph a second time or if you need to access saved tensors after calling backward."
)


# ---------------------------------------------------------------- public entry points


def backward(
    tensors: Sequence[Any] | Tensor, grad_tensors: Sequence[Any] | Tensor | None = None,
    retain_graph: bool | None = None, create_graph: bool = False, inputs: Sequence[Any] | None = None,
) -> None:
    """Accumulate into each leaf's ``.grad`` the gradient of ``tensors`` (weighted by ``grad_tensors``)."""
    roots = _roots(tensors, grad_tensors, create_graph)
    only = None if inputs is None else _targets([inputs] if isinstance(inputs, Tensor) else inputs)
    _run(roots, retain_graph=create_graph if retain_graph is None else retain_graph,
         create_graph=create_graph, capture=None, only=only)


def grad(
    outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
    create_graph: bool = False, allow_unused: bool = False,
) -> tuple[Any, ...]:
    """Return the gradients of ``outputs`` w.r.t. ``inputs`` without touching any ``.grad``."""
    inputs_list = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    for position, tensor in enumerate(inputs_list):
        if not tensor.requires_grad:
            raise RuntimeError(
                f"grad: input {position} (shape {tuple(tensor.shape)}) does not require grad; "
                "set requires_grad=True on the tensors you differentiate with respect to"
            )
    roots = _roots(outputs, grad_outputs, create_graph)
    capture: dict[Any, Any] = {}
    _run(roots, retain_graph=create_graph if retain_graph is None else retain_graph,
         create_graph=create_graph, capture=capture, only=_targets(inputs_list))
    return tuple(_captured(capture, tensor, position, allow_unused) for position, tensor in enumerate(inputs_list))


def _captured(capture: dict, tensor: Tensor, position: int, allow_unused: bool) -> Tensor | None:
    g = capture.get(tensor.grad_fn if tensor.grad_fn is not None else id(tensor))
    if g is None:
        if not allow_unused:
            raise RuntimeError(
                f"grad: input {position} (shape {tuple(tensor.shape)}) was not used in the graph "
                "of the outputs; set allow_unused=True if this is intended"
            )
        return None
    return g if isinstance(g, Tensor) else Tensor._wrap(np.array(g, copy=True))


def _targets(inputs: Sequence[Any]) -> set:
    """How the walk recognises the inputs: a non-leaf by its node, a leaf by its id."""
    return {t.grad_fn if t.grad_fn is not None else id(t) for t in inputs}


def _roots(outputs: Any, gradients: Any, create_graph: bool) -> list:
    """Pair each output with its seed gradient (ones for a scalar), checking both."""
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    if gradients is None:
        gradients = [None] * len(outputs)
    elif isinstance(gradients, Tensor):
        gradients = [gradients]
    roots = []
    for index, (tensor, gradient) in enumerate(zip(outputs, gradients)):
        if not tensor.requires_grad:
            raise RuntimeError(
                f"element {index} of tensors does not require grad and does not have a grad_fn: "
                "nothing it was computed from has requires_grad=True"
            )
        roots.append((tensor, _seed(tensor, gradient, create_graph)))
    return roots


def _seed(tensor: Tensor, gradient: Any, create_graph: bool) -> Any:
    """The gradient that backward starts from: ones for a scalar, else the one given."""
    if gradient is None:
        if tensor._data.size != 1:
            raise RuntimeError(
                f"grad can be implicitly created only for scalar outputs; this output has shape "
                f"{tuple(tensor.shape)}: pass `gradient=` (a tensor of that shape) to backward()"
            )
        ones = np.ones_like(np.asarray(tensor._data))
        return Tensor._wrap(ones) if create_graph else ones
    gradient = as_tensor(gradient)
    if gradient.dtype != tensor.dtype and tensor.dtype.kind == "f":
        gradient = gradient.to(tensor.dtype)  # as PyTorch: the seed takes the output's dtype
    if tuple(gradient.shape) != tuple(tensor.shape):
        raise RuntimeError(
            f"backward: gradient has shape {tuple(gradient.shape)} but the output has shape "
            f"{tuple(tensor.shape)}; they must match"
        )
    return gradient if create_graph else gradient._data


# ---------------------------------------------------------------- the walk


class LeafGrad:
    """The gradient summed so far for one leaf, and whether the engine owns its array.

    An array the engine made itself (a sum of two gradients, an unbroadcast, a dtype
    conversion, or a VJP's fresh result) can become the leaf's ``.grad`` as it is; one that
    someone else can still see (the caller's seed, the upstream gradient passed through by
    an identity VJP, a view) is copied first.
    """

    __slots__ = ("leaf", "grad", "owned")

    def __init__(self, leaf: Any, grad: Any, owned: bool) -> None:
        self.leaf = leaf
        self.grad = grad
        self.owned = owned

    def add(self, g: Any) -> None:
        self.grad = self.grad + g
        self.owned = True


def _run(
    roots: list, retain_graph: bool, create_graph: bool, capture: dict | None, only: set | None,
    stop: set | None = None, fast: bool = True,
) -> None:
    """Backpropagate each root's gradient through the graph, then deliver the leaves' sums.

    ``fast=False`` forces the step-by-step walk below even in the plain case (tests use it).
    """
    leaf_grads: dict[int, LeafGrad] = {}
    start = _seed_nodes(roots, leaf_grads)
    if fast and not (create_graph or capture is not None or stop is not None or _anomaly[0]):
        try:
            _fast_backward.run(start, leaf_grads, retain_graph, _STEPS)
        except BaseException:
            reset_marks(start)
            raise
        finish_leaves(leaf_grads, create_graph, capture, only)
        return
    previous_mode = set_mode(create_graph)
    try:
        count_dependencies(start, stop)
        ready = [node for node in start if node.pending == 0]
        while ready:
            node = ready.pop()
            g = take_gradient(node, create_graph, capture, only)
            if stop is not None and node in stop:
                continue  # a boundary of a nested walk: its gradient is all we wanted
            grads = input_gradients(node, g, create_graph)
            made_ready = pass_on(node, grads, g, leaf_grads, create_graph)
            if made_ready:  # the first parent made ready runs next (a chain needs no stack)
                ready.extend(made_ready[:0:-1])
                ready.append(made_ready[0])
            if not retain_graph:
                release(node)
        finish_leaves(leaf_grads, create_graph, capture, only)
    except BaseException:
        reset_marks(start)
        raise
    finally:
        set_mode(previous_mode)


def _seed_nodes(roots: list, leaf_grads: dict) -> list:
    """Put each root's gradient in its node's ``acc`` (a leaf root goes to the leaf table)."""
    start = []
    for tensor, g in roots:
        node = tensor.grad_fn
        if node is None:
            add_to_leaf(leaf_grads, tensor, g, owned=False)
        elif node.arrays is None:
            raise RuntimeError(FREED)
        elif node.acc is not None:
            node.acc = node.acc + g  # the same output given twice
        else:
            node.acc = g
            start.append(node)
    return start


def count_dependencies(start: list, stop: set | None = None) -> None:
    """Set ``node.pending`` to the number of gradients each reachable node will receive.

    Outside a backward pass every node has ``pending == 0``, so a positive count marks a node
    already reached. The roots are counted as if fed by one virtual node, whose share is
    taken back at the end: a root that is also inside another root's graph keeps its count.
    A node in ``stop`` is a boundary: the walk does not look past it.
    """
    stack = []
    for node in start:
        node.pending += 1
        if node.pending == 1:
            stack.append(node)
    while stack:
        node = stack.pop()
        if stop is not None and node in stop:
            continue
        for parent in node.parents:
            if type(parent) is Node:
                parent.pending += 1
                if parent.pending == 1:
                    stack.append(parent)
    for node in start:
        node.pending -= 1


def take_gradient(node: Node, create_graph: bool, capture: dict | None, only: set | None) -> Any:
    """The summed gradient of ``node``'s output, after its tensor hooks and ``retain_grad``."""
    g = node.acc
    node.acc = None  # the gradient it held is passed on
    if node.hooks:
        g = run_hooks(node.hooks, g, create_graph)
    if node.retained is not None:
        _retain(node, g)
    if capture is not None and node in only:  # type: ignore[operator]
        capture[node] = g
    return g


def input_gradients(node: Node, grad_out: Any, create_graph: bool = False) -> list:
    """One node's step: the gradient for each of its inputs (``None`` where none is needed),
    summed back over broadcast dimensions and cast to the input's dtype."""
    grads = vjp_outputs(node, grad_out, create_graph)
    return [None if g is None else fit_to_input(node, position, g) for position, g in enumerate(grads)]


def vjp_outputs(node: Node, grad_out: Any, create_graph: bool = False) -> list:
    """The VJPs' results for one node, as its primitive returns them.

    They run on the saved arrays, or on Tensors with ``create_graph`` (a fused primitive then
    goes through its composite), after checking that no saved value was changed in place.
    """
    if node.arrays is None:
        raise RuntimeError(FREED)
    check_versions(node)
    prim = node.prim
    if create_graph and prim.composite is not None:
        return composite_gradients(node, grad_out)
    if create_graph:
        inputs = saved_inputs(node)
        out = apply(prim, inputs, node.attrs) if prim.saves_out else None
    else:
        inputs, out = node.arrays, node.out
    return prim.vjp(grad_out, out, inputs, node.attrs, [parent is not None for parent in node.parents])


def fit_to_input(node: Node, position: int, g: Any) -> Any:
    """``g`` summed over the dimensions the forward broadcast, in the input's dtype."""
    reference = _saved(node)[position]
    if g.shape != reference.shape:
        g = unbroadcast(g, reference.shape)
    if g.dtype != reference.dtype:
        g = g.to(reference.dtype) if isinstance(g, Tensor) else np.asarray(g).astype(reference.dtype)
    if _anomaly[0]:
        check_finite(node, position, g)
    return g


def pass_on(node: Node, grads: list, grad_out: Any, leaf_grads: dict, create_graph: bool) -> list:
    """Add each input gradient to its parent; return the parent nodes that became ready."""
    made_ready = []
    for position, parent in enumerate(node.parents):
        g = grads[position]
        if type(parent) is Node:
            if g is not None:
                parent.acc = g if parent.acc is None else parent.acc + g
            parent.pending -= 1
            if parent.pending == 0:
                if parent.acc is None:  # no gradient actually reached it: its subgraph gets zeros
                    parent.acc = zeros_like(_saved(node)[position], create_graph)
                made_ready.append(parent)
        elif parent is not None and g is not None:
            add_to_leaf(leaf_grads, parent, g, owned=is_private(g, grad_out, node))
    return made_ready


def release(node: Node) -> None:
    """Free what the node saved for backward (``retain_graph=False``)."""
    node.inputs = None
    node.arrays = None
    node.out = None


def finish_leaves(leaf_grads: dict, create_graph: bool, capture: dict | None, only: set | None) -> None:
    """Run each leaf's hooks, then capture its gradient (autograd.grad) or add it to ``.grad``."""
    for entry in leaf_grads.values():
        leaf, g = entry.leaf, entry.grad
        hooks = leaf._meta.hooks if leaf._meta is not None else None
        if hooks:
            g = run_hooks(hooks, g, create_graph)
            entry.owned = False
        if capture is not None:
            if id(leaf) in only:  # type: ignore[operator]
                capture[id(leaf)] = g
        elif only is None or id(leaf) in only:
            accumulate(leaf, g, entry.owned, create_graph)


def reset_marks(start: list) -> None:
    """After a failed backward, clear the scratch slots of every node reachable from the roots."""
    stack = list(start)
    seen = set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        node.acc = None
        node.pending = 0
        stack.extend(parent for parent in node.parents if type(parent) is Node and parent not in seen)


# ---------------------------------------------------------------- the pieces of a step


def check_versions(node: Node) -> None:
    """Refuse to run a node whose saved values were changed in place after it was recorded."""
    if node.out is OUTPUT_MODIFIED:
        raise RuntimeError(
            f"one of the variables needed for gradient computation has been modified by an in-place "
            f"operation: the output of {node.prim.backward_name}, which its backward reads, was changed "
            "in place. Use .clone() before the in-place op."
        )
    if not node.prim.reads_inputs and not node.prim.is_view:
        return  # its backward needs only shapes: changing the values cannot hurt it
    for position, parent in enumerate(node.parents):
        item = node.inputs[position] if node.inputs is not None else parent
        if parent is None and not isinstance(item, Tensor):
            continue  # a number or an array: nothing can change it behind our back
        current = version_of(item, parent)
        expected = node.versions[position] if node.versions is not None else 0
        if current != expected:
            raise _version_error(node, position, current, expected)


def _version_error(node: Node, position: int, current: int, expected: int) -> RuntimeError:
    if node.prim.is_view:
        return RuntimeError(
            f"the base of a view ({node.prim.name}) was modified by an in-place operation after the "
            f"view was taken (version {current}, expected {expected}), so backward through the "
            "view would miss that change; take the view again after the in-place op"
        )
    reference = _saved(node)[position]
    return RuntimeError(
        f"one of the variables needed for gradient computation has been modified by an "
        f"in-place operation: input {position} (shape {tuple(np.shape(reference))}, dtype "
        f"{np.asarray(reference).dtype}) of {node.prim.backward_name} is at version {current}; "
        f"expected version {expected} instead. Use .clone() before the in-place op, or avoid "
        "modifying it until backward has run."
    )


def _saved(node: Node) -> tuple:
    """The node's saved input arrays (an error once backward has freed them)."""
    if node.arrays is None:
        raise RuntimeError(FREED)
    return node.arrays


def saved_inputs(node: Node) -> tuple:
    """The node's inputs as Tensors (or numbers), for VJPs that are themselves recorded.

    When the node did not keep the input tensors, they are rebuilt from the saved arrays: a
    non-leaf input becomes a tensor whose ``grad_fn`` is its parent node, so the rebuilt
    inputs are connected to the graph exactly as the originals were.
    """
    if node.inputs is not None:
        return node.inputs
    items: list = []
    for array, parent in zip(_saved(node), node.parents):
        if type(parent) is Node:
            tensor = Tensor._wrap(array)
            tensor.requires_grad = True
            tensor.grad_fn = parent
            items.append(tensor)
        else:
            items.append(array if parent is None else parent)  # a constant, or the leaf itself
    return tuple(items)


def composite_gradients(node: Node, grad_out: Any) -> list:
    """The input gradients of a fused node, by backpropagating through its plain composite.

    Each input that needs a gradient enters the composite through a recorded copy; the nested
    walk stops at those copies, so it never runs the rest of the graph.
    """
    args = []
    boundary = []
    for item, parent in zip(saved_inputs(node), node.parents):
        if parent is None:
            args.append(item)
            continue
        copy = apply(Clone, (item,))
        boundary.append(copy)
        args.append(copy)
    out = node.prim.composite(*args, **node.attrs)
    stops = {copy.grad_fn for copy in boundary}
    capture: dict = {}
    _run([(out, grad_out)], retain_graph=True, create_graph=True, capture=capture, only=stops, stop=stops)
    grads = iter([capture.get(copy.grad_fn) for copy in boundary])
    return [None if parent is None else next(grads) for parent in node.parents]


def is_private(g: Any, grad_out: Any, node: Node) -> bool:
    """Whether the VJP result ``g`` is a fresh array nobody else holds (see :class:`LeafGrad`)."""
    if type(g) is not np.ndarray or g is grad_out or g.base is not None or not g.flags.writeable:
        return False
    if type(node.prim.vjps) is not tuple:
        return False  # a user's backward may hand back an array it keeps (a saved tensor's)
    return all(g is not saved for saved in _saved(node))


def add_to_leaf(leaf_grads: dict, leaf: Any, g: Any, owned: bool) -> None:
    entry = leaf_grads.get(id(leaf))
    if entry is None:
        leaf_grads[id(leaf)] = LeafGrad(leaf, g, owned)
    else:
        entry.add(g)


def accumulate(leaf: Any, g: Any, owned: bool, create_graph: bool) -> None:
    """Add ``g`` to ``leaf.grad`` (the first gradient becomes ``.grad``)."""
    if create_graph:
        if not isinstance(g, Tensor):
            g = Tensor._wrap(g)
        leaf.grad = g if leaf.grad is None else leaf.grad + g
    elif leaf.grad is None:
        if g.dtype != leaf._data.dtype:
            g, owned = g.astype(leaf._data.dtype), True
        leaf.grad = Tensor._wrap(g if owned else np.array(g, copy=True))
    elif leaf.grad.requires_grad:
        leaf.grad = Tensor._wrap(leaf.grad._data + g)
    else:
        leaf.grad._data += g


def zeros_like(reference: Any, create_graph: bool) -> Any:
    zeros = np.zeros(np.shape(reference), dtype=np.asarray(reference).dtype)
    return Tensor._wrap(zeros) if create_graph else zeros


def _retain(node: Node, g: Any) -> None:
    tensor = node.retained()
    if tensor is None:
        return
    value = g if isinstance(g, Tensor) else Tensor._wrap(np.array(g, copy=True))
    tensor.grad = value if tensor.grad is None else tensor.grad + value


def run_hooks(hooks: list, g: Any, create_graph: bool) -> Any:
    """Call each hook with the gradient (as a Tensor); a returned value replaces it."""
    for hook in list(hooks):
        result = hook(g if isinstance(g, Tensor) else Tensor._wrap(g))
        if result is not None:
            g = result if create_graph else np.asarray(result._data if isinstance(result, Tensor) else result)
    return g


def check_finite(node: Node, position: int, g: Any) -> None:
    """Anomaly mode: a NaN or inf gradient is an error that names the op and where it was made."""
    data = g._data if isinstance(g, Tensor) else g
    if np.all(np.isfinite(data)):
        return
    where = ""
    trace = getattr(node, "trace", None)
    if trace:
        where = "\nThe forward op was created at:\n" + "".join(traceback.format_list(trace[-6:]))
    raise RuntimeError(
        f"Function '{node.prim.backward_name}' returned nan or inf values in its gradient for input "
        f"{position} (shape {tuple(np.shape(data))}).{where}"
    )


#: what the fast walk (autograd/_fast_backward.py) calls back for the rare steps
_STEPS = _fast_backward.EngineSteps(
    take_gradient=lambda node: take_gradient(node, False, None, None),
    check_versions=check_versions,
    add_to_leaf=add_to_leaf,
    is_private=is_private,
    freed=FREED,
)
