"""``autograd.Function``: user-defined ops with a hand-written backward.

A Function is a kind of primitive: its node goes through the same engine, pictures and
``explain`` as the built-in ones, which all ask a node's primitive for its input gradients
through one protocol, ``prim.vjp(grad_out, out, inputs, attrs, needed)``. A built-in
primitive answers with its table of VJPs; a Function with its ``backward(ctx, grad_out)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from ..ops.primitive import Primitive, record
from ..tensor import Tensor
from .grad_mode import set_mode


class FunctionCtx:
    """The ``ctx`` handed to ``forward`` and ``backward``: saves tensors between them."""

    def __init__(self) -> None:
        self._saved: tuple = ()
        self._saved_versions: tuple = ()
        self.needs_input_grad: tuple[bool, ...] = ()

    def save_for_backward(self, *tensors: Any) -> None:
        """Keep tensors for ``backward``; modifying one in place afterwards is an error."""
        self._saved = tensors
        self._saved_versions = tuple(getattr(t, "_version", 0) for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
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


class Function(Primitive):
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

    registered: ClassVar[bool] = False  # user Functions are not part of the library's registry
    reads_inputs = False  # the backward reads what ctx saved, and ctx checks those versions
    vjps = None  # no table of VJPs: ``vjp`` below calls the user's backward
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
        """Run ``forward`` with gradients off, and record one node whose backward is ``backward``."""
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        previous = set_mode(False)
        try:
            out = cls.forward(ctx, *args, **kwargs)
        finally:
            set_mode(previous)
        if isinstance(out, np.ndarray):
            out = Tensor._wrap(out)
        if not isinstance(out, Tensor):
            raise TypeError(f"{cls.__name__}.forward must return a single Tensor, got {type(out).__name__}")
        result = Tensor._wrap(out._data)
        if previous and any(ctx.needs_input_grad):
            arrays = tuple(a._data if isinstance(a, Tensor) else a for a in args)
            record(cls, result, args, arrays, {"ctx": ctx}, None)
        return result

    @classmethod
    def vjp(cls, grad_out: Any, out: Any, inputs: Sequence[Any], attrs: dict, needed: Sequence[bool]) -> list:
        """The backward protocol: the user's ``backward``, one gradient (or None) per input.

        Arrays in, arrays out; Tensors in (``create_graph=True``), Tensors out.
        """
        as_tensors = isinstance(grad_out, Tensor)
        grads = cls.backward(attrs["ctx"], grad_out if as_tensors else Tensor._wrap(grad_out))
        if not isinstance(grads, tuple):
            grads = (grads,)
        if len(grads) < len(needed):
            raise RuntimeError(
                f"{cls.__name__}.backward returned {len(grads)} gradients but forward took {len(needed)} inputs; "
                "return one gradient (or None) per input"
            )
        results: list = []
        for g, need in zip(grads, needed):
            if g is None or not need:
                results.append(None)
            elif as_tensors:
                results.append(g if isinstance(g, Tensor) else Tensor._wrap(np.asarray(g)))
            else:
                results.append(g._data if isinstance(g, Tensor) else np.asarray(g))
        return results
