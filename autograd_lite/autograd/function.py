"""``autograd.Function``: user-defined ops with a hand-written backward.

A Function's node goes through the same engine as the built-in primitives: the engine
asks it for input gradients via ``_node_backward`` instead of a table of VJPs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .grad_mode import set_mode
from .node import Node


class FunctionCtx:
    """The ``ctx`` handed to ``forward`` and ``backward``: saves tensors between them."""

    def __init__(self) -> None:
        self._saved: tuple = ()
        self._saved_versions: tuple = ()
        self._freed = False
        self.needs_input_grad: tuple[bool, ...] = ()

    def save_for_backward(self, *tensors: Any) -> None:
        """Keep tensors for ``backward``; modifying one in place afterwards is an error."""
        self._saved = tensors
        self._saved_versions = tuple(getattr(t, "_version", 0) for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        if self._freed:
            from .engine import _FREED

            raise RuntimeError(_FREED)
        for position, (tensor, version) in enumerate(zip(self._saved, self._saved_versions)):
            if tensor is not None and getattr(tensor, "_version", 0) != version:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified by an "
                    f"in-place operation: saved tensor {position} (shape {tuple(tensor.shape)}) is at "
                    f"version {tensor._version}; expected version {version} instead"
                )
        return self._saved

    def mark_non_differentiable(self, *tensors: Any) -> None:
        """Accepted for compatibility; outputs of a Function are differentiable by default."""


class Function:
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``; call ``apply``.

    >>> import autograd_lite as ag
    >>> class Cube(ag.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x ** 3
    ...     @staticmethod
    ...     def backward(ctx, grad_out):
    ...         (x,) = ctx.saved_tensors
    ...         return grad_out * 3 * x ** 2
    >>> x = ag.tensor(2.0, requires_grad=True)
    >>> Cube.apply(x).backward()
    >>> x.grad
    tensor(12.)
    """

    vjps = None  # tells the engine to call _node_backward
    composite = None
    saves_out = False
    reads_inputs = False
    name = "function"
    backward_name = "FunctionBackward"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.name = cls.__name__
        cls.backward_name = cls.__name__ + "Backward"

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("Function subclasses must implement a static forward(ctx, *args)")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Any) -> Any:
        raise NotImplementedError("Function subclasses must implement a static backward(ctx, *grads)")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        from ..tensor import Tensor

        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        previous = set_mode(False)
        try:
            out = cls.forward(ctx, *args, **kwargs)
        finally:
            set_mode(previous)
        if not isinstance(out, Tensor):
            if isinstance(out, np.ndarray):
                out = Tensor._wrap(out)
            else:
                raise TypeError(
                    f"{cls.__name__}.forward must return a single Tensor, got {type(out).__name__}"
                )
        result = Tensor._wrap(out._data)
        if previous and any(ctx.needs_input_grad):
            arrays = tuple(a._data if isinstance(a, Tensor) else a for a in args)
            node = Node(cls, args, arrays, {"ctx": ctx}, None)
            result.requires_grad = True
            result.grad_fn = node
            from ..ops.primitive import observers

            for observer in observers:
                observer(node, result)
        return result

    @classmethod
    def _node_backward(cls, node: Node, grad_out: Any, create_graph: bool) -> list:
        from ..tensor import Tensor

        ctx = node.attrs["ctx"]
        grad_tensor = grad_out if isinstance(grad_out, Tensor) else Tensor._wrap(grad_out)
        grads = cls.backward(ctx, grad_tensor)
        if not isinstance(grads, tuple):
            grads = (grads,)
        count = len(node.parents)
        if len(grads) < count:
            raise RuntimeError(
                f"{cls.__name__}.backward returned {len(grads)} gradients but forward took {count} inputs; "
                "return one gradient (or None) per input"
            )
        results = []
        for position, g in enumerate(grads[:count]):
            if g is None or node.parents[position] is None:
                results.append(None)
            elif create_graph:
                results.append(g if isinstance(g, Tensor) else Tensor._wrap(np.asarray(g)))
            else:
                results.append(g._data if isinstance(g, Tensor) else np.asarray(g))
        return results
