"""Graph nodes: one per recorded operation.

A node remembers which primitive produced a tensor, the input arrays its VJPs read, the
primitive's attributes, and where each input's gradient must go next (``parents``):
another node, a leaf tensor that accumulates ``.grad``, or ``None`` when no gradient is
needed. A node never refers to the tensor it produced, so a graph has no reference cycles
and is freed by reference counting as soon as nothing points at it.

Besides, a node counts the in-place writes to its output (``out_version``), so that the
engine can refuse a backward that would read overwritten values, and it has two scratch
slots that only a running backward pass uses (``pending``, ``acc``: see the engine).
"""

from __future__ import annotations

from typing import Any


class Node:
    """The ``grad_fn`` of a tensor: how it was computed and how to send gradients back."""

    __slots__ = (
        "prim", "inputs", "arrays", "attrs", "out", "parents", "versions", "epoch", "fit",
        "out_version", "hooks", "retained", "trace", "pending", "acc", "__weakref__",
    )
    prim: Any  # the primitive (a Primitive subclass, or a user's autograd.Function)
    inputs: tuple | None  # the input tensors, kept only when one is outside the graph
    arrays: tuple | None  # the input arrays the VJPs read (None once freed)
    attrs: dict
    out: Any  # the forward's result, when the VJPs read it
    parents: tuple  # per input: its producing Node, the leaf tensor itself, or None
    versions: list | None  # per input: its version when recorded (None: all 0)
    epoch: int
    fit: bool
    out_version: int  # in-place writes to this node's output since it was recorded
    hooks: list | None
    retained: Any  # a weakref to the tensor that called retain_grad()
    trace: Any  # anomaly mode: where the forward op was created
    pending: int  # during backward: gradients still to arrive
    acc: Any  # during backward: the sum of the gradients that arrived

    def __init__(
        self, prim: Any, inputs: tuple | None, arrays: tuple, attrs: dict, out: Any,
        parents: tuple | None = None, versions: list | None = None, fit: bool = True,
    ) -> None:
        self.prim = prim
        self.inputs = inputs
        self.arrays = arrays
        self.attrs = attrs
        self.out = out
        if parents is None:
            _, parents, versions, _ = link_inputs(inputs or ())
        self.parents = parents
        self.versions = versions
        self.epoch = inplace_epoch[0]
        # fit: the engine must check each input gradient's shape and dtype (broadcasting or
        # mixed dtypes happened in the forward); False lets it skip the check.
        self.fit = fit
        self.out_version = 0
        self.pending = 0
        self.acc = None
        self.hooks = None
        self.retained = None

    def name(self) -> str:
        """The op's name as PyTorch would print it, e.g. ``MulBackward``."""
        return self.prim.name

    def __repr__(self) -> str:
        return f"<{self.prim.backward_name} object>"

    # PyTorch's public view of the graph: grad_fn.next_functions
    @property
    def next_functions(self) -> tuple:
        if self.parents is None:
            return ()
        return tuple((p, 0) for p in self.parents)

    def register_hook(self, hook: Any) -> None:
        if self.hooks is None:
            self.hooks = []
        self.hooks.append(hook)


class _OutputModified:
    def __repr__(self) -> str:
        return "<output modified in place>"


#: stands in ``Node.out`` once the saved output was overwritten by an in-place op
OUTPUT_MODIFIED = _OutputModified()

#: bumped by every in-place write anywhere; a node created in the current epoch can skip
#: checking its inputs' versions, because nothing has been modified since it was recorded.
inplace_epoch = [0]


def version_of(item: Any, parent: Any) -> int:
    """The version an input is at: its producing node's count of in-place writes for a
    non-leaf tensor, the tensor's own version counter otherwise (0 for numbers)."""
    if type(parent) is Node:
        return parent.out_version
    counter = getattr(item, "_vc", None)
    return 0 if counter is None else counter.value


def link_inputs(inputs: tuple) -> tuple[tuple, tuple, list | None, bool]:
    """One pass over a node's inputs: their arrays, where each input's gradient goes (its
    grad_fn, itself if a leaf, or None), the input versions at record time (None when every
    input is at version 0), and whether some tensor input is outside the graph (then the node
    must keep the inputs to check that tensor's version later)."""
    arrays: list = []
    parents: list = []
    versions: list | None = None
    outside = False
    position = -1
    for item in inputs:
        position += 1
        requires_grad = getattr(item, "requires_grad", None)
        if requires_grad is None:  # a number or an array: no gradient, no version
            arrays.append(item)
            parents.append(None)
            continue
        arrays.append(item._data)
        counter = item._vc
        if requires_grad:
            parent = item.grad_fn or item
            version = parent.out_version if type(parent) is Node else (0 if counter is None else counter.value)
        else:
            parent = None
            outside = True
            version = 0 if counter is None else counter.value
        parents.append(parent)
        if version:
            if versions is None:
                versions = [0] * len(inputs)
            versions[position] = version
    return tuple(arrays), tuple(parents), versions, outside


class VersionCounter:
    """Counts in-place writes to a tensor's memory; shared by a tensor and its views."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0
