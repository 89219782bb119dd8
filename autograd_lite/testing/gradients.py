"""Check any function's gradients against central finite differences in float64.

Two checks, as HIPS/autograd's ``check_grads`` and PyTorch's ``gradcheck`` do (the
finite differences are those of :mod:`autograd_lite.autograd.gradcheck`:
``central_difference`` and ``numerical_jacobian``, shared with ``ag.autograd.gradcheck``):

* **Elementwise.** Pick a random vector ``v`` for the outputs. For every element ``x_j``
  of every input, the numeric derivative of ``s(x) = <v, f(x)>``,
  ``(s(x + eps e_j) - s(x - eps e_j)) / (2 eps)``, must equal ``(J^T v)_j`` from backward.
  A mismatch points at the input and the index that is wrong.
* **Random direction.** For a random input direction ``u``, the numeric ``<v, J u>`` (one
  central difference along ``u``) must equal the analytic ``<J^T v, u>``: one scalar
  that sees every element at once.

Both run on the two backward paths: plain arrays (the fast path) and
``create_graph=True`` (VJPs recorded as Tensors), which must also agree with each other.
With ``order=2`` the same checks are repeated on the function ``(x, v) -> J(x)^T v``
built with ``create_graph=True``, so the VJPs themselves are differentiated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..autograd.gradcheck import central_difference, numerical_jacobian
from ..tensor import Tensor

__all__ = ["GradientCheckError", "check_gradients"]


class GradientCheckError(AssertionError):
    """A gradient disagrees with its finite-difference estimate (or the two backward paths disagree)."""


def _float_outputs(result: Any) -> list:
    """The floating-point Tensors among a function's outputs (a Tensor or a sequence of them)."""

    items = (result,) if isinstance(result, Tensor) else tuple(result)
    return [o for o in items if isinstance(o, Tensor) and o.dtype.kind == "f"]


def _index(shape: tuple, flat: int) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()


class _Checker:
    """One order of the check: a function, its arguments, and which arguments are variables."""

    def __init__(
        self, fn: Callable, args: list, variables: list[int], label: str, names: list[str],
        eps: float, atol: float, rtol: float, rng: np.random.Generator, max_elements: int | None,
        grad_inside: bool,
    ) -> None:
        self.fn = fn
        self.args = args
        self.variables = variables
        self.label = label
        self.names = names
        self.eps = eps
        self.atol = atol
        self.rtol = rtol
        self.rng = rng
        self.max_elements = max_elements
        # the function differentiates internally (order >= 2): its variables must require grad
        self.grad_inside = grad_inside
        self.values = [np.array(args[p]._data, dtype=np.float64, copy=True) for p in variables]

    def call(self, values: Sequence[np.ndarray], requires_grad: bool) -> tuple[list, list]:
        """Run fn with the variables set to ``values``; return (float outputs, leaf tensors)."""
        from ..autograd.grad_mode import no_grad, set_grad_enabled

        call_args = list(self.args)
        leaves = []
        for position, value in zip(self.variables, values):
            leaf = Tensor._wrap(np.array(value, copy=True))
            if requires_grad or self.grad_inside:
                leaf.requires_grad_(True)
            call_args[position] = leaf
            leaves.append(leaf)
        if requires_grad or self.grad_inside:
            with set_grad_enabled(True):
                outputs = _float_outputs(self.fn(*call_args))
        else:
            with no_grad():
                outputs = _float_outputs(self.fn(*call_args))
        return outputs, leaves

    def scalar(self, values: Sequence[np.ndarray], directions: Sequence[np.ndarray]) -> float:
        outputs, _ = self.call(values, requires_grad=False)
        return float(sum(np.sum(np.asarray(o._data, dtype=np.float64) * v) for o, v in zip(outputs, directions)))

    def analytic(self, directions: list[np.ndarray], create_graph: bool) -> list[np.ndarray]:
        """J^T v for every variable, through backward with or without ``create_graph``."""
        from ..autograd.engine import grad

        outputs, leaves = self.call(self.values, requires_grad=True)
        pairs = [(o, v) for o, v in zip(outputs, directions) if o.requires_grad]
        if not pairs:
            return [np.zeros_like(x) for x in self.values]
        grads = grad(
            [o for o, _ in pairs], leaves,
            [Tensor._wrap(np.asarray(v, dtype=o.dtype)) for o, v in pairs],
            create_graph=create_graph, allow_unused=True,
        )
        result = []
        for g, x in zip(grads, self.values):
            if g is None:
                result.append(np.zeros_like(x))
                continue
            if create_graph and not isinstance(g, Tensor):
                raise GradientCheckError(
                    f"check_gradients: {self.label}: autograd.grad(create_graph=True) returned "
                    f"{type(g).__name__}, not a Tensor"
                )
            if tuple(g.shape) != x.shape:
                raise GradientCheckError(
                    f"check_gradients: {self.label}: the gradient has shape {tuple(g.shape)} but its "
                    f"input has shape {x.shape}"
                )
            result.append(np.array(g._data, dtype=np.float64))
        return result

    def fail(self, path: str, k: int, flat: int, numeric: float, analytic: float, bad: int, total: int) -> None:
        x = self.values[k]
        where = _index(x.shape, flat)
        raise GradientCheckError(
            f"check_gradients: {self.label} ({path}): d/d {self.names[k]} (shape {x.shape}) at index "
            f"{where} (value {float(x.reshape(-1)[flat])!r}): numeric {numeric!r} vs analytic "
            f"{analytic!r}; {bad} of {total} checked elements differ "
            f"(eps={self.eps}, atol={self.atol}, rtol={self.rtol})"
        )

    def run(self) -> None:
        outputs, _ = self.call(self.values, requires_grad=False)
        directions = [self.rng.standard_normal(np.shape(o._data)) for o in outputs]
        paths = {
            "array path": self.analytic(directions, create_graph=False),
            "create_graph path": self.analytic(directions, create_graph=True),
        }
        fast, graph = paths["array path"], paths["create_graph path"]
        for k, (a, b) in enumerate(zip(fast, graph)):
            if not np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True):
                flat = int(np.argmax(np.abs(a - b)))
                raise GradientCheckError(
                    f"check_gradients: {self.label}: the array path and the create_graph path disagree "
                    f"for {self.names[k]} (shape {self.values[k].shape}) at index "
                    f"{_index(self.values[k].shape, flat)}: {float(a.reshape(-1)[flat])!r} vs "
                    f"{float(b.reshape(-1)[flat])!r}"
                )
        self.elementwise(directions, paths)
        self.random_direction(directions, paths)

    def elementwise(self, directions: list, paths: dict) -> None:
        for k, x in enumerate(self.values):
            flat_indices = np.arange(x.size)
            if self.max_elements is not None and x.size > self.max_elements:
                flat_indices = np.sort(self.rng.choice(x.size, self.max_elements, replace=False))
            # d<v, f>/dx_j for every chosen element: a copy of x, perturbed in place element by element
            point = list(self.values)
            point[k] = x.copy()

            def evaluate(point: list[np.ndarray] = point) -> float:
                return self.scalar(point, directions)

            numeric = numerical_jacobian(evaluate, point[k], self.eps, flat_indices)[0]
            for path, grads in paths.items():
                analytic = grads[k].reshape(-1)[flat_indices]
                bad = ~np.isclose(analytic, numeric, rtol=self.rtol, atol=self.atol)
                if bad.any():
                    worst = int(np.argmax(np.where(bad, np.abs(analytic - numeric), -1.0)))
                    self.fail(path, k, int(flat_indices[worst]), float(numeric[worst]),
                              float(analytic[worst]), int(bad.sum()), len(flat_indices))

    def random_direction(self, directions: list, paths: dict) -> None:
        if not self.values:
            return
        eps = self.eps
        us = [self.rng.standard_normal(x.shape) for x in self.values]
        numeric = float(central_difference(
            lambda step: self.scalar([x + step * u for x, u in zip(self.values, us)], directions), eps))
        for path, grads in paths.items():
            terms = [g * u for g, u in zip(grads, us)]
            analytic = float(sum(np.sum(t) for t in terms))
            scale = float(sum(np.sum(np.abs(t)) for t in terms))
            if not abs(numeric - analytic) <= self.atol + self.rtol * max(scale, abs(numeric)):
                names = ", ".join(f"{n} {x.shape}" for n, x in zip(self.names, self.values))
                raise GradientCheckError(
                    f"check_gradients: {self.label} ({path}): along a random direction u of the inputs "
                    f"({names}), numeric <v, J u> = {numeric!r} vs analytic <J^T v, u> = {analytic!r} "
                    f"(eps={eps}, atol={self.atol}, rtol={self.rtol})"
                )


def check_gradients(
    fn: Callable[..., Any], *inputs: Any, order: int = 1, eps: float = 1e-6, atol: float = 1e-5,
    rtol: float = 1e-3, seed: int = 0, max_elements: int | None = None, name: str | None = None,
) -> bool:
    """Check ``fn``'s gradients (and, with ``order=2``, second derivatives) by finite differences.

    ``fn(*inputs)`` returns a Tensor or a sequence of Tensors. The variables are the inputs
    that are Tensors with ``requires_grad=True`` and the floating NumPy arrays; everything
    else (integer indices, masks, Tensors that don't require grad) is passed through
    unchanged. Each variable is replaced by a float64 copy, so write ``fn`` so that it
    computes in float64 for the inputs it is given (finite differences in float32 are too
    coarse for these tolerances).

    For a random output weighting ``v``, it compares ``J^T v`` from backward, on the plain
    array path and on the ``create_graph=True`` path, with central differences for every
    input element (at most ``max_elements`` random ones per input, if given) and along a
    random input direction. With ``order=2`` it then checks the function
    ``(x, v) -> J(x)^T v`` the same way; ``order=n`` recurses further.

    Returns True; raises :class:`GradientCheckError` (an ``AssertionError``) naming the
    function, the input, the index, the numeric and the analytic values otherwise.

    Example:

    >>> import autograd_lite as ag
    >>> from autograd_lite.testing import check_gradients
    >>> x = ag.tensor([0.5, -1.0, 2.0], dtype=ag.float64, requires_grad=True)
    >>> check_gradients(lambda t: (t.sin() * t).sum(), x, order=2)
    True
    """

    if order < 1:
        raise ValueError(f"check_gradients: order must be 1 or more, got {order}")
    label = name or getattr(fn, "__name__", None) or repr(fn)
    args = list(inputs)
    variables = []
    for position, item in enumerate(args):
        if isinstance(item, np.ndarray) and item.dtype.kind == "f":
            args[position] = Tensor._wrap(np.array(item, dtype=np.float64)).requires_grad_(True)
            variables.append(position)
        elif isinstance(item, Tensor) and item.requires_grad:
            if item.dtype.kind != "f":
                raise TypeError(f"check_gradients: input {position} requires grad but has dtype {item.dtype}")
            args[position] = Tensor._wrap(np.array(item._data, dtype=np.float64)).requires_grad_(True)
            variables.append(position)
    if not variables:
        raise ValueError(
            "check_gradients: no input to differentiate; pass Tensors with requires_grad=True "
            "or floating NumPy arrays"
        )
    rng = np.random.default_rng(seed)
    names = [f"input {p}" for p in variables]
    _check(fn, args, variables, names, f"`{label}`", 1, order, eps, atol, rtol, rng, max_elements, False)
    return True


_ORDINALS = {1: "first", 2: "second", 3: "third"}


def _check(
    fn: Callable, args: list, variables: list[int], names: list[str], label: str, depth: int, order: int,
    eps: float, atol: float, rtol: float, rng: np.random.Generator, max_elements: int | None,
    grad_inside: bool,
) -> None:
    title = f"{_ORDINALS.get(depth, f'order-{depth}')} derivative of {label}"
    if depth > 1:
        title += " (the derivative of its J^T v built with create_graph=True)"
    checker = _Checker(fn, args, variables, title, names, eps, atol, rtol, rng, max_elements, grad_inside)
    checker.run()
    if depth == order:
        return
    # The next order: differentiate (x, v) -> J(x)^T v, recorded with create_graph=True.
    from ..autograd.engine import grad

    outputs, _ = checker.call(checker.values, requires_grad=False)
    directions = [
        Tensor._wrap(rng.standard_normal(np.shape(o._data)).astype(o.dtype)).requires_grad_(True)
        for o in outputs
    ]
    n_args = len(args)

    def vjp(*all_args: Any) -> tuple:
        call_args, vs = all_args[:n_args], all_args[n_args:]
        leaves = [call_args[p] for p in variables]
        outs = _float_outputs(fn(*call_args))
        pairs = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
        if not pairs:
            return tuple(Tensor._wrap(np.zeros(leaf.shape, dtype=leaf.dtype)) for leaf in leaves)
        grads = grad([o for o, _ in pairs], leaves, [v for _, v in pairs], create_graph=True, allow_unused=True)
        return tuple(
            g if g is not None else Tensor._wrap(np.zeros(leaf.shape, dtype=leaf.dtype))
            for g, leaf in zip(grads, leaves)
        )

    next_args = list(args) + directions
    next_variables = list(variables) + list(range(n_args, n_args + len(directions)))
    next_names = names + [f"grad_output {k} (the v of J^T v)" for k in range(len(directions))]
    _check(vjp, next_args, next_variables, next_names, label, depth + 1, order, eps, atol, rtol, rng,
           max_elements, True)
