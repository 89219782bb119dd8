"""Recording what a computation did, so that a picture can show intermediate values.

A node in the graph never keeps its output tensor (that would make reference cycles), and
after ``backward()`` it forgets its inputs too. To draw the values and gradients of the
intermediate tensors we therefore watch the computation while it runs: a
:class:`Recording` registers an observer with the primitives (``ops.primitive.observers``)
and remembers, for every node created, its output tensor, its inputs and the
``nn.Module`` whose ``forward`` was running. During ``backward`` it can also catch the
gradient arriving at every node (through node hooks), without setting ``.grad`` on any
intermediate tensor.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..autograd.engine import saved_inputs
from ..autograd.node import Node
from ..ops import primitive as _primitive


def _module_stack() -> list | None:
    """The list of running modules kept by ``nn.Module.__call__`` (None if nn has none)."""
    from ..nn import module as nn_module

    return getattr(nn_module, "module_stack", None)


class Recording:
    """Watches a computation: ``with Recording() as rec: loss = model(x) ...``.

    After the block, ``rec.order`` lists the recorded nodes in the order they were created,
    ``rec.outputs[node]`` is the tensor each produced, ``rec.inputs[node]`` its inputs,
    ``rec.modules[node]`` the innermost ``nn.Module`` running at the time (if any).
    ``rec.grads[node]`` holds the gradient of the output of ``node`` once a backward pass
    ran inside :meth:`capture_grads`.
    """

    def __init__(self) -> None:
        self.order: list[Node] = []
        self.outputs: dict[Node, Any] = {}
        self.inputs: dict[Node, tuple] = {}
        self.modules: dict[Node, Any] = {}
        self.grads: dict[Node, np.ndarray] = {}
        #: copies of node output values taken by :meth:`snapshot` (the live tensors may change)
        self.values: dict[Node, np.ndarray] = {}
        #: copies of leaf values and gradients keyed by ``id(tensor)``, from :meth:`snapshot`
        self.leaf_values: dict[int, np.ndarray] = {}
        self.leaf_grads: dict[int, np.ndarray | None] = {}
        self._stack: list | None = None

    # ------------------------------------------------------------------ recording
    def _observe(self, node: Node, result: Any) -> None:
        self.order.append(node)
        self.outputs[node] = result
        self.inputs[node] = saved_inputs(node)
        stack = self._stack
        if stack:
            self.modules[node] = stack[-1]

    def __enter__(self) -> Recording:
        self._stack = _module_stack()
        _primitive.observers.append(self._observe)
        return self

    def __exit__(self, *exc: Any) -> None:
        observers = _primitive.observers
        if self._observe in observers:
            observers.remove(self._observe)

    # ------------------------------------------------------------------ gradients
    @contextmanager
    def capture_grads(self) -> Iterator[Recording]:
        """While active, the gradient reaching each recorded node is copied into ``grads``."""
        installed = []
        for node in self.order:
            hook = _grad_catcher(self.grads, node)
            node.register_hook(hook)
            installed.append((node, hook))
        try:
            yield self
        finally:
            for node, hook in installed:
                hooks = node.hooks
                if hooks is not None and hook in hooks:
                    hooks.remove(hook)
                    if not hooks:
                        node.hooks = None

    # ------------------------------------------------------------------ snapshots
    def snapshot(self, leaves: Any = ()) -> None:
        """Copy the current values of recorded outputs and of ``leaves`` (with their grads).

        Taken after backward and before an optimizer step, the pictures then show the
        values that the step actually used, even though parameters (and views of them)
        change afterwards.
        """
        for node, tensor in self.outputs.items():
            self.values[node] = np.array(tensor._data, copy=True)
        for leaf in leaves:
            self.leaf_values[id(leaf)] = np.array(leaf._data, copy=True)
            grad = leaf.grad
            self.leaf_grads[id(leaf)] = None if grad is None else np.array(grad._data, copy=True)


def _grad_catcher(store: dict, node: Node) -> Any:
    def hook(grad: Any) -> None:
        store[node] = np.array(grad._data, copy=True)

    return hook


def graph_leaves(root_node: Node | None) -> list:
    """The leaf tensors (requiring grad) reachable from ``root_node``, without recursion."""
    if root_node is None:
        return []
    leaves: dict[int, Any] = {}
    seen = {root_node}
    stack = [root_node]
    while stack:
        node = stack.pop()
        for parent in node.parents or ():
            if parent is None:
                continue
            if type(parent) is Node or isinstance(parent, Node):
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
            else:
                leaves.setdefault(id(parent), parent)
    return list(leaves.values())
