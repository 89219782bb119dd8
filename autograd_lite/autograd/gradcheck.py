"""Check analytic gradients against central finite differences in float64."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


class GradcheckError(RuntimeError):
    """Raised by gradcheck when an analytic and a numerical derivative disagree."""


def _as_tuple(x: Any) -> tuple:
    from ..tensor import Tensor

    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def _outputs(fn: Callable, inputs: tuple) -> tuple:
    from ..tensor import Tensor

    out = fn(*inputs)
    outs = _as_tuple(out) if not isinstance(out, Tensor) else (out,)
    return tuple(o for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f")


def _numerical_jacobian(fn: Callable, inputs: tuple, position: int, eps: float) -> list[np.ndarray]:
    """d(output_k)/d(input[position]) by central differences: one column per input element."""
    from .grad_mode import no_grad

    target = inputs[position]
    flat = target._data.reshape(-1)  # a view: perturbing it perturbs the input
    with no_grad():
        n_out = [o.numel() for o in _outputs(fn, inputs)]
    jacobians = [np.zeros((n, flat.size)) for n in n_out]
    for j in range(flat.size):
        original = flat[j]
        flat[j] = original + eps
        with no_grad():
            plus = [np.asarray(o._data, dtype=np.float64).reshape(-1) for o in _outputs(fn, inputs)]
        flat[j] = original - eps
        with no_grad():
            minus = [np.asarray(o._data, dtype=np.float64).reshape(-1) for o in _outputs(fn, inputs)]
        flat[j] = original
        for k, (p, m) in enumerate(zip(plus, minus)):
            jacobians[k][:, j] = (p - m) / (2 * eps)
    return jacobians


def _analytical_jacobian(fn: Callable, inputs: tuple, position: int) -> list[np.ndarray]:
    from ..tensor import Tensor
    from .engine import grad

    outputs = _outputs(fn, inputs)
    target = inputs[position]
    jacobians = []
    for out in outputs:
        jac = np.zeros((out.numel(), target.numel()))
        if out.requires_grad:
            for k in range(out.numel()):
                seed = np.zeros(out.numel(), dtype=out.dtype)
                seed[k] = 1
                (g,) = grad(out, target, Tensor._wrap(seed.reshape(out.shape)), retain_graph=True,
                            allow_unused=True)
                if g is not None:
                    jac[k] = np.asarray(g._data, dtype=np.float64).reshape(-1)
        jacobians.append(jac)
    return jacobians


def gradcheck(
    fn: Callable, inputs: Any, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
    raise_exception: bool = True, **_: Any,
) -> bool:
    """Compare the Jacobian from backward with central differences for every input that requires grad.

    Inputs should be float64. On a mismatch the report names the input, the output, the
    flat index and both values.
    """
    inputs = _as_tuple(inputs)
    for position, x in enumerate(inputs):
        if not getattr(x, "requires_grad", False):
            continue
        numerical = _numerical_jacobian(fn, inputs, position, eps)
        analytical = _analytical_jacobian(fn, inputs, position)
        for k, (num, ana) in enumerate(zip(numerical, analytical)):
            bad = ~np.isclose(ana, num, rtol=rtol, atol=atol)
            if bad.any():
                row, col = np.argwhere(bad)[0]
                message = (
                    f"gradcheck: Jacobian mismatch for output {k} with respect to input {position} "
                    f"(shape {tuple(x.shape)}) at input element "
                    f"{tuple(int(i) for i in np.unravel_index(col, x.shape))}, output element {int(row)}: "
                    f"numerical {float(num[row, col])!r} vs analytical {float(ana[row, col])!r} "
                    f"({int(bad.sum())} of {bad.size} entries differ)"
                )
                if raise_exception:
                    raise GradcheckError(message)
                return False
    return True


def gradgradcheck(
    fn: Callable, inputs: Any, grad_outputs: Sequence[Any] | None = None, eps: float = 1e-6,
    atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True, **_: Any,
) -> bool:
    """gradcheck of the gradient itself: checks second derivatives via ``create_graph=True``."""
    from ..tensor import Tensor
    from .engine import grad
    from .grad_mode import enable_grad

    inputs = _as_tuple(inputs)
    outputs = _outputs(fn, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(
            Tensor._wrap(rng.standard_normal(o.shape).astype(o.dtype)).requires_grad_() for o in outputs
        )
    grad_outputs = tuple(grad_outputs)
    differentiable = [i for i, x in enumerate(inputs) if getattr(x, "requires_grad", False)]
    n_inputs = len(inputs)

    def first_derivative(*args: Any) -> tuple:
        xs, vs = args[:n_inputs], args[n_inputs:]
        # grad mode on even inside gradcheck's no_grad finite differences: this function differentiates
        with enable_grad():
            outs = _outputs(fn, xs)
            used = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
            targets = [xs[i] for i in differentiable]
            if not used:
                return tuple(Tensor._wrap(np.zeros(t.shape, dtype=t.dtype)) for t in targets)
            grads = grad([o for o, _ in used], targets, [v for _, v in used], create_graph=True,
                         allow_unused=True)
        # an unused input has a zero gradient (not a missing output, which would skip the check)
        return tuple(g if g is not None else Tensor._wrap(np.zeros(t.shape, dtype=t.dtype))
                     for g, t in zip(grads, targets))

    return gradcheck(first_derivative, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
