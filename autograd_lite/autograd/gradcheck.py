"""Check analytic gradients against central finite differences in float64."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor


class GradcheckError(RuntimeError):
    """Raised by gradcheck when an analytic and a numerical derivative disagree."""


def _as_tuple(x: Any) -> tuple:

    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def _outputs(fn: Callable, inputs: tuple) -> tuple:

    out = fn(*inputs)
    outs = _as_tuple(out) if not isinstance(out, Tensor) else (out,)
    return tuple(o for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f")


def central_difference(evaluate: Callable[[float], Any], eps: float) -> np.ndarray:
    """``(evaluate(eps) - evaluate(-eps)) / (2 eps)`` in float64: the one central-difference formula.

    ``evaluate(step)`` returns the function's value (a number or an array) at the point
    moved by ``step`` along some direction: one element (a Jacobian column), or a random
    direction of all the inputs. Both gradient checkers, :func:`gradcheck` and
    :func:`autograd_lite.testing.check_gradients`, take their numerical derivatives here.
    """
    plus = np.asarray(evaluate(eps), dtype=np.float64)
    minus = np.asarray(evaluate(-eps), dtype=np.float64)
    return (plus - minus) / (2 * eps)


def numerical_jacobian(
    evaluate: Callable[[], Any], values: np.ndarray, eps: float, indices: Sequence[int] | np.ndarray | None = None,
) -> np.ndarray:
    """The columns of d evaluate() / d values by central differences, one per element of ``values``.

    ``values`` (a writable array) is perturbed in place, one element at a time (to
    ``original + step`` for ``step = eps``, then ``-eps``) and restored; ``evaluate()``
    reads it and returns the outputs as an array or a number. ``indices`` limits the
    columns to those flat (C-order) positions. Returns a float64 array of shape
    ``(number of outputs, number of columns)``.
    """
    columns = range(values.size) if indices is None else indices

    def along(flat_index: int) -> Callable[[float], np.ndarray]:
        position = np.unravel_index(flat_index, values.shape)
        original = values[position]

        def shifted(step: float) -> np.ndarray:
            values[position] = original + step
            try:
                return np.asarray(evaluate(), dtype=np.float64).reshape(-1)
            finally:
                values[position] = original

        return shifted

    derivatives = [central_difference(along(int(j)), eps) for j in columns]
    if not derivatives:
        return np.zeros((np.size(evaluate()), 0))
    return np.stack(derivatives, axis=1)


def _numerical_jacobian(fn: Callable, inputs: tuple, position: int, eps: float) -> list[np.ndarray]:
    """d(output_k)/d(input[position]) by central differences: one column per input element."""
    from .grad_mode import no_grad

    def outputs() -> list[np.ndarray]:
        with no_grad():
            return [np.asarray(o._data, dtype=np.float64).reshape(-1) for o in _outputs(fn, inputs)]

    sizes = [out.size for out in outputs()]

    def evaluate() -> np.ndarray:
        flat = outputs()
        return np.concatenate(flat) if flat else np.zeros(0)

    target = inputs[position]
    if type(target._data) is not np.ndarray:  # a NumPy scalar (0-d result): make it writable
        target._data = np.array(target._data)
    # perturbing the input's own array perturbs the input, as fn sees it
    jacobian = numerical_jacobian(evaluate, target._data, eps)
    return np.split(jacobian, np.cumsum(sizes)[:-1], axis=0) if sizes else []


def _analytical_jacobian(fn: Callable, inputs: tuple, position: int) -> list[np.ndarray]:
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
