"""The fast path of the backward walk: the engine's steps fused into one loop.

Nothing here is needed to understand autograd: this is ``engine._run`` for the plain case
(first order: arrays, not Tensors; no ``autograd.grad`` captures; no anomaly mode), with
the per-node steps (``take_gradient``, ``input_gradients``, ``pass_on``, ``release``)
written inline, because on small tensors the Python calls between them cost as much as the
arithmetic. ``tests/test_fastpath.py`` runs both walks over the same graphs and checks that
they give the same gradients. What it skips, and why that is safe:

* version checks, when no in-place write happened anywhere since the node was recorded
  (``node.epoch`` equals the global in-place epoch);
* unbroadcasting and dtype checks, when the recording path knew they cannot be needed
  (``node.fit`` is False: a one-input op whose VJP keeps shape and dtype, or a binary op
  on two arrays of one shape and dtype);
* the generic ``prim.vjp`` protocol, for primitives whose VJPs are a plain tuple: it calls
  them positionally (a user's ``autograd.Function`` still goes through ``prim.vjp``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .._broadcast import unbroadcast
from .node import Node, inplace_epoch


class EngineSteps(NamedTuple):
    """The engine's own steps, which the fast walk calls for the rare cases."""

    take_gradient: Callable[[Node], Any]  # a node with tensor hooks or retain_grad
    check_versions: Callable[[Node], None]  # after an in-place write somewhere
    add_to_leaf: Callable[[dict, Any, Any, bool], None]
    is_private: Callable[[Any, Any, Node], bool]
    freed: str  # the error for a graph already freed


def run(start: list, leaf_grads: dict, retain_graph: bool, steps: EngineSteps) -> None:
    """Walk the graph from ``start`` (nodes whose ``acc`` holds their seed gradient).

    On an error the caller (``engine._run``) clears the nodes' scratch slots."""
    _count(start)
    _walk(start, leaf_grads, retain_graph, steps)


def _count(start: list) -> None:
    """``engine.count_dependencies`` without boundaries."""
    stack: list = []
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
        for parent in pop().parents:
            if type(parent) is node_type:
                if parent.pending:
                    parent.pending += 1
                else:
                    parent.pending = 1
                    push(parent)
    for node in start:
        node.pending -= 1


def _walk(start: list, leaf_grads: dict, retain_graph: bool, steps: EngineSteps) -> None:
    take_gradient, check_versions, add_to_leaf, is_private, freed = steps
    ready = [node for node in start if node.pending == 0]
    pop = ready.pop
    push = ready.append
    epoch = inplace_epoch[0]
    node_type = Node
    node = pop() if ready else None
    while node is not None:
        if node.hooks is not None:  # tensor hooks or retain_grad
            g = take_gradient(node)
        else:
            g = node.acc
            node.acc = None
        arrays = node.arrays
        if arrays is None:
            raise RuntimeError(freed)
        if node.epoch != epoch:
            check_versions(node)
        grads = _vjps(node, g, arrays)
        fit = node.fit
        follow = None  # the first parent made ready runs next, without the stack (chains)
        position = -1
        for parent in node.parents:
            position += 1
            if parent is None:
                continue
            gi = grads[position]
            if fit and gi is not None:
                gi = _fit(gi, arrays[position])
            if type(parent) is node_type:
                previous = parent.acc
                parent.acc = gi if previous is None else (previous if gi is None else previous + gi)
                remaining = parent.pending - 1
                parent.pending = remaining
                if not remaining:
                    if parent.acc is None:  # no gradient actually reached it: its subgraph gets zeros
                        parent.acc = np.zeros(np.shape(arrays[position]), dtype=np.asarray(arrays[position]).dtype)
                    if follow is None:
                        follow = parent
                    else:
                        push(parent)
            elif gi is not None:
                add_to_leaf(leaf_grads, parent, gi, is_private(gi, g, node))
        if not retain_graph:
            node.inputs = None
            node.arrays = None
            node.out = None
        node = follow if follow is not None else (pop() if ready else None)


def _fit(g: Any, reference: Any) -> Any:
    """``engine.fit_to_input``: summed over broadcast dimensions, in the input's dtype."""
    if g.shape != reference.shape:
        g = unbroadcast(g, reference.shape)
    if g.dtype != reference.dtype:
        g = np.asarray(g).astype(reference.dtype)
    return g


def _vjps(node: Node, g: Any, arrays: tuple) -> Any:
    """The VJP results, positionally (``None`` for inputs that need no gradient)."""
    prim = node.prim
    vjps = prim.vjps
    if type(vjps) is not tuple:  # a variadic table or a user's Function: the generic protocol
        return prim.vjp(g, node.out, arrays, node.attrs, [parent is not None for parent in node.parents])
    parents = node.parents
    attrs = node.attrs
    out = node.out
    if attrs:
        return [None if p is None else vjps[i](g, out, *arrays, **attrs) for i, p in enumerate(parents)]
    if len(arrays) == 1:
        return (vjps[0](g, out, arrays[0]),)
    if len(arrays) == 2:
        x, y = arrays
        return (
            None if parents[0] is None else vjps[0](g, out, x, y),
            None if parents[1] is None else vjps[1](g, out, x, y),
        )
    return [None if p is None else vjps[i](g, out, *arrays) for i, p in enumerate(parents)]

