"""The backward pass: an iterative reverse topological walk over the graph.

1. Count, for every node reachable from the roots, how many consumers send it a gradient
   (an explicit stack, never recursion, so 100,000-op chains are fine).
2. Start from the roots; a node runs its VJPs only when its counter reaches zero, that is,
   after every gradient flowing into it has been summed.
3. Gradients for leaves are summed too, then hooks run and ``.grad`` is accumulated.
4. Unless ``retain_graph``, each node drops its saved arrays as soon as it has run.

With ``create_graph=True`` the same walk hands Tensors (not arrays) to the VJPs, so the
gradient computation is itself recorded and can be differentiated again.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._broadcast import unbroadcast
from .grad_mode import _anomaly, set_mode
from .node import OUTPUT_MODIFIED, Node, inplace_epoch, version_of

_FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you "
    "call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward "
    "through the graph a second time or if you need to access saved tensors after calling backward."
)


def _as_grad_array(tensor: Any, gradient: Any, create_graph: bool) -> Any:
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


def _owned(g: Any) -> Any:
    """Let a leaf keep ``g`` as its ``.grad`` only if nothing else can see that array."""
    # Unshared, it is referenced exactly 5 times: the leaf table entry, _run's loop variable,
    # _accumulate's and this function's parameters, and getrefcount's own argument. A sixth
    # reference means another leaf (or the caller) holds the same array: copy it then.
    if type(g) is np.ndarray and g.base is None and g.flags.writeable and sys.getrefcount(g) <= 5:
        return g
    return np.array(g, copy=True)


def backward(
    tensors: Sequence[Any], grad_tensors: Sequence[Any] | None = None, retain_graph: bool | None = None,
    create_graph: bool = False, inputs: Sequence[Any] | None = None,
) -> None:
    """Accumulate into each leaf's ``.grad`` the gradient of ``tensors`` (weighted by ``grad_tensors``)."""
    roots = _roots(tensors, grad_tensors, create_graph)
    targets = None if inputs is None else _targets(inputs)
    _run(roots, retain_graph=create_graph if retain_graph is None else retain_graph,
         create_graph=create_graph, capture=None, only=targets)


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
        roots.append((tensor, _as_grad_array(tensor, gradient, create_graph)))
    return roots


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
    results = []
    for position, tensor in enumerate(inputs_list):
        key = tensor.grad_fn if tensor.grad_fn is not None else id(tensor)
        g = capture.get(key)
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad: input {position} (shape {tuple(tensor.shape)}) was not used in the graph "
                    "of the outputs; set allow_unused=True if this is intended"
                )
            results.append(None)
            continue
        if not isinstance(g, Tensor):
            g = Tensor._wrap(np.array(g, copy=True))
        results.append(g)
    return tuple(results)


def _targets(inputs: Sequence[Any]) -> set:
    return {t.grad_fn if t.grad_fn is not None else id(t) for t in inputs}


def _count_dependencies(start: list, stop: set | None = None) -> None:
    """Set ``node.pending`` to the number of gradients each reachable node will receive.

    Outside a backward pass every node has ``pending == 0``, so a positive count marks a node
    already reached. The roots are counted as if fed by one virtual node, whose share is
    taken back at the end: a root that is also inside another root's graph keeps its count.
    """
    stack = []
    push = stack.append
    for node in start:
        if node.pending:
            node.pending += 1
        else:
            node.pending = 1
            push(node)
    pop = stack.pop
    node_type = Node
    while stack:
        node = pop()
        if stop is not None and node in stop:
            continue  # a boundary: what lies beyond it is not part of this walk
        for parent in node.parents:
            if type(parent) is node_type:
                if parent.pending:
                    parent.pending += 1
                else:
                    parent.pending = 1
                    push(parent)
    for node in start:
        node.pending -= 1


def _check_versions(node: Node) -> None:
    if node.out is OUTPUT_MODIFIED:
        raise RuntimeError(
            f"one of the variables needed for gradient computation has been modified by an in-place "
            f"operation: the output of {node.prim.backward_name}, which its backward reads, was changed "
            "in place. Use .clone() before the in-place op."
        )
    if not node.prim.reads_inputs and not node.prim.is_view:
        return  # its backward needs only shapes: changing the values cannot hurt it
    versions = node.versions
    inputs = node.inputs
    for position, parent in enumerate(node.parents):
        item = inputs[position] if inputs is not None else parent
        if parent is None and not hasattr(item, "_vc"):
            continue  # a number or an array: nothing can change it behind our back
        current = version_of(item, parent)
        expected = versions[position] if versions is not None else 0
        if current == expected:
            continue
        if node.prim.is_view:
            raise RuntimeError(
                f"the base of a view ({node.prim.name}) was modified by an in-place operation after the "
                f"view was taken (version {current}, expected {expected}), so backward through the "
                "view would miss that change; take the view again after the in-place op"
            )
        reference = node.arrays[position]
        raise RuntimeError(
            f"one of the variables needed for gradient computation has been modified by an "
            f"in-place operation: input {position} (shape {tuple(np.shape(reference))}, dtype "
            f"{np.asarray(reference).dtype}) of {node.prim.backward_name} is at version {current}; "
            f"expected version {expected} instead. Use .clone() before the in-place op, or avoid "
            "modifying it until backward has run."
        )


def _run(
    roots: list, retain_graph: bool, create_graph: bool, capture: dict | None, only: set | None,
    stop: set | None = None,
) -> None:
    leaf_grads: dict = {}
    start = []
    seeds: dict = {}
    for tensor, g in roots:
        node = tensor.grad_fn
        if node is None:
            _add_leaf(leaf_grads, tensor, g)
            continue
        if node.arrays is None:
            raise RuntimeError(_FREED)
        if node in seeds:
            seeds[node] = seeds[node] + g
        else:
            seeds[node] = g
            start.append(node)
    previous_mode = set_mode(create_graph)
    anomaly = _anomaly[0]
    epoch = inplace_epoch[0]
    careful = create_graph or anomaly  # always check gradient shapes/dtypes (and finiteness)
    node_type = Node  # locals are the fastest names in the loop below
    plain = capture is None
    try:
        _count_dependencies(start, stop)
        # Each node's incoming gradients are summed in its ``acc`` slot (None: none arrived yet).
        for node in start:
            node.acc = seeds[node]
        ready = [node for node in start if node.pending == 0]
        pop = ready.pop
        push = ready.append
        node = pop() if ready else None
        while node is not None:
            g = node.acc
            node.acc = None  # the gradient it held is passed on below
            if node.hooks is not None or not plain:  # retain_grad also sets hooks
                g = _visit_extras(node, g, create_graph, capture, only)
            if stop is not None and node in stop:
                node = pop() if ready else None
                continue
            arrays = node.arrays
            if arrays is None:
                raise RuntimeError(_FREED)
            prim = node.prim
            vjps = prim.vjps
            attrs = node.attrs
            if create_graph and prim.composite is not None:
                # A fused primitive: differentiate its plain composite instead (recorded).
                vjps = _constant_vjps(_composite_grads(node, g))
                attrs = None
                inputs = ()
                out = None
            elif vjps is None:
                # A user-defined autograd.Function: its backward gives all input gradients at once.
                vjps = _constant_vjps(prim._node_backward(node, g, create_graph))
                attrs = None
                inputs = ()
                out = None
            else:
                if node.epoch != epoch:
                    _check_versions(node)
                if create_graph:
                    inputs = node.input_tensors()
                    out = apply(prim, inputs, attrs) if prim.saves_out else None
                else:
                    inputs = arrays
                    out = node.out
            fit = node.fit or careful
            arity = len(inputs)
            follow = None  # a parent made ready here runs next, without the stack (chains)
            position = -1
            for parent in node.parents:
                position += 1
                if parent is None:
                    continue
                if attrs:
                    gi = vjps[position](g, out, *inputs, **attrs)
                elif arity == 1:  # positional calls: cheaper than unpacking *inputs
                    gi = vjps[0](g, out, inputs[0])
                elif arity == 2:
                    gi = vjps[position](g, out, inputs[0], inputs[1])
                else:
                    gi = vjps[position](g, out, *inputs)
                if fit and gi is not None:
                    reference = arrays[position]
                    if gi.shape != reference.shape:
                        gi = unbroadcast(gi, reference.shape)
                    if gi.dtype != reference.dtype:
                        gi = gi.to(reference.dtype) if create_graph else np.asarray(gi).astype(reference.dtype)
                    if anomaly:
                        _check_finite(node, position, gi)
                if type(parent) is node_type:
                    previous = parent.acc
                    if previous is None:
                        parent.acc = gi
                    elif gi is not None:
                        parent.acc = previous + gi
                    remaining = parent.pending - 1
                    parent.pending = remaining
                    if not remaining:
                        if parent.acc is None:
                            # No gradient actually reached it: its subgraph receives zeros.
                            parent.acc = _zeros_like(arrays[position], create_graph)
                        if follow is None:
                            follow = parent
                        else:
                            push(parent)
                elif gi is not None:
                    _add_leaf(leaf_grads, parent, gi)
            if not retain_graph:
                node.inputs = None
                node.arrays = None
                node.out = None
            node = follow if follow is not None else (pop() if ready else None)
        gi = None  # drop the last VJP result: _owned must see only the leaf table's reference
        for leaf, g in leaf_grads.values():
            hooks = leaf._extra.get("hooks") if leaf._extra is not None else None
            if hooks:
                g = _run_hooks(hooks, g, create_graph)
            if capture is not None:
                if id(leaf) in only:  # type: ignore[operator]
                    capture[id(leaf)] = g
                continue
            if only is not None and id(leaf) not in only:
                continue
            _accumulate(leaf, g, create_graph)
    except BaseException:
        _reset_marks(start)
        raise
    finally:
        set_mode(previous_mode)


def _composite_grads(node: Node, g: Any) -> list:
    """The input gradients of a fused node, by backpropagating ``g`` through its composite.

    Each input that needs a gradient enters the composite through a recorded copy; the nested
    walk stops at those copies, so it never runs the rest of the graph."""
    args = []
    boundary = []
    for item, parent in zip(node.input_tensors(), node.parents):
        if parent is None:
            args.append(item)
            continue
        copy = apply(Clone, (item,))
        boundary.append(copy)
        args.append(copy)
    out = node.prim.composite(*args, **(node.attrs or {}))
    stops = {copy.grad_fn for copy in boundary}
    capture: dict = {}
    _run([(out, g)], retain_graph=True, create_graph=True, capture=capture, only=stops, stop=stops)
    grads = iter([capture.get(copy.grad_fn) for copy in boundary])
    return [None if parent is None else next(grads) for parent in node.parents]


def _reset_marks(start: list) -> None:
    """After a failed backward, clear the bookkeeping left in the nodes' slots: every node
    reachable from the roots, whatever state the walk left it in."""
    stack = list(start)
    seen = set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        node.acc = None
        node.pending = 0
        for parent in node.parents:
            if type(parent) is Node and parent not in seen:
                stack.append(parent)


def _constant_vjps(grads: list) -> list:
    """VJP stand-ins that hand out gradients already computed (for autograd.Function nodes)."""
    return [lambda *_, value=value: value for value in grads]


def _visit_extras(node: Node, g: Any, create_graph: bool, capture: dict | None, only: set | None) -> Any:
    """Tensor hooks, retain_grad and autograd.grad's captures for a node about to run."""
    if node.hooks:
        g = _run_hooks(node.hooks, g, create_graph)
    if node.retained is not None:
        _retain(node, g, create_graph)
    if capture is not None and node in only:  # type: ignore[operator]
        capture[node] = g
    return g


def _zeros_like(reference: Any, create_graph: bool) -> Any:
    zeros = np.zeros(np.shape(reference), dtype=np.asarray(reference).dtype)
    return Tensor._wrap(zeros) if create_graph else zeros


def _add_leaf(leaf_grads: dict, leaf: Any, g: Any) -> None:
    key = id(leaf)
    entry = leaf_grads.get(key)
    if entry is None:
        leaf_grads[key] = [leaf, g]
    else:
        entry[1] = entry[1] + g


def _accumulate(leaf: Any, g: Any, create_graph: bool) -> None:
    if create_graph:
        if not isinstance(g, Tensor):
            g = Tensor._wrap(g)
        leaf.grad = g if leaf.grad is None else leaf.grad + g
        return
    if leaf.grad is None:
        if g.dtype != leaf._data.dtype:
            g = g.astype(leaf._data.dtype)
        leaf.grad = Tensor._wrap(_owned(g))
    elif leaf.grad.requires_grad:
        leaf.grad = Tensor._wrap(leaf.grad._data + g)
    else:
        leaf.grad._data += g


def _retain(node: Node, g: Any, create_graph: bool) -> None:
    tensor = node.retained()
    if tensor is None:
        return
    value = g if isinstance(g, Tensor) else Tensor._wrap(np.array(g, copy=True))
    tensor.grad = value if tensor.grad is None else tensor.grad + value


def _run_hooks(hooks: list, g: Any, create_graph: bool) -> Any:
    for hook in list(hooks):
        wrapped = g if isinstance(g, Tensor) else Tensor._wrap(g)
        result = hook(wrapped)
        if result is not None:
            g = result if create_graph else np.asarray(result._data if isinstance(result, Tensor) else result)
    return g


def _check_finite(node: Node, position: int, g: Any) -> None:
    data = g._data if hasattr(g, "_data") else g
    if np.all(np.isfinite(data)):
        return
    import traceback

    where = ""
    trace = getattr(node, "trace", None)
    if trace:
        where = "\nThe forward op was created at:\n" + "".join(traceback.format_list(trace[-6:]))
    raise RuntimeError(
        f"Function '{node.prim.backward_name}' returned nan or inf values in its gradient for input "
        f"{position} (shape {tuple(np.shape(data))}).{where}"
    )


def _late_imports() -> None:
    """Bind the names this module needs from modules that import the autograd package.

    Called once by ``autograd_lite/__init__.py`` after everything is loaded (importing
    them at the top would be circular, and importing inside functions costs on every call).
    """
    global Tensor, apply, as_tensor, Clone
    from ..ops.elementwise import Clone
    from ..ops.primitive import apply
    from ..tensor import Tensor, as_tensor


Tensor: Any = None
apply: Any = None
as_tensor: Any = None
Clone: Any = None
