"""Hypothesis strategies for shapes, arrays and Tensors.

Hypothesis is imported when a strategy is built, not when this module is imported, so
``import autograd_lite`` works without it (``pip install autograd_lite[test]`` adds it).
Defaults are small on purpose: rank 0 to 3, sides 1 to 4, float64 values in [-3, 3], so
that a property test over every op stays fast and its failures shrink to tiny examples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor

__all__ = [
    "arrays", "broadcastable_shapes", "floats", "matmul_shapes", "shapes", "tensors",
]

#: NumPy's gufunc signature of matmul: 1-D operands are vectors, batch dims broadcast.
MATMUL_SIGNATURE = "(m?,n),(n,p?)->(m?,p?)"


def _hypothesis() -> tuple[Any, Any]:
    try:
        import hypothesis.extra.numpy as hnp
        import hypothesis.strategies as st
    except ImportError:  # pragma: no cover - exercised only without hypothesis
        raise ImportError(
            "autograd_lite.testing strategies need Hypothesis: pip install 'autograd_lite[test]' "
            "(or pip install hypothesis)"
        ) from None
    return st, hnp


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4) -> Any:
    """Array shapes of rank ``min_dims``..``max_dims`` with sides ``min_side``..``max_side``.

    >>> from hypothesis import given
    >>> from autograd_lite.testing import shapes
    >>> @given(shapes(max_dims=2))
    ... def test_rank(shape):
    ...     assert len(shape) <= 2
    >>> test_rank()
    """
    _, hnp = _hypothesis()
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def _pieces(low: float, high: float, avoid: Sequence[float], margin: float) -> list[tuple[float, float]]:
    """[low, high] minus an open ``margin`` around every point of ``avoid``, as closed intervals."""
    pieces = [(float(low), float(high))]
    for point in sorted(avoid):
        next_pieces = []
        for a, b in pieces:
            if point + margin <= a or point - margin >= b:
                next_pieces.append((a, b))
                continue
            if a < point - margin:
                next_pieces.append((a, point - margin))
            if point + margin < b:
                next_pieces.append((point + margin, b))
        pieces = next_pieces
    if not pieces:
        raise ValueError(
            f"no values left in [{low}, {high}] once a margin of {margin} around {list(avoid)} is removed"
        )
    return pieces


def floats(
    min_value: float = -3.0, max_value: float = 3.0, *, avoid: Sequence[float] = (), margin: float = 0.1,
    dtype: Any = np.float64,
) -> Any:
    """Finite floats in [min_value, max_value], at least ``margin`` away from each point of ``avoid``.

    Use ``avoid`` to keep inputs off kinks and poles: ``floats(avoid=[0])`` for abs, relu
    and division; ``floats(0.1, 5)`` for log.

    >>> from hypothesis import given
    >>> from autograd_lite.testing import floats
    >>> @given(floats(-1, 1, avoid=[0], margin=0.5))
    ... def test_away_from_zero(value):
    ...     assert 0.5 <= abs(value) <= 1
    >>> test_away_from_zero()
    """
    st, _ = _hypothesis()
    width = 32 if np.dtype(dtype) == np.float32 else 64
    pieces = _pieces(min_value, max_value, avoid, margin)
    strategies = [
        st.floats(a, b, allow_nan=False, allow_infinity=False, allow_subnormal=False, width=width)
        for a, b in pieces
    ]
    return strategies[0] if len(strategies) == 1 else st.one_of(*strategies)


def arrays(
    shape: Any = None, dtype: Any = np.float64, elements: Any = None, *, min_value: float = -3.0,
    max_value: float = 3.0, avoid: Sequence[float] = (), margin: float = 0.1,
) -> Any:
    """NumPy arrays (float64 by default) with bounded, finite elements.

    ``shape`` is a tuple or a strategy of tuples (default :func:`shapes`). Without
    ``elements``, values come from :func:`floats` with ``min_value``, ``max_value``,
    ``avoid`` and ``margin``.

    >>> from hypothesis import given
    >>> from autograd_lite.testing import arrays
    >>> @given(arrays((2, 3), min_value=0.5, max_value=2.0))
    ... def test_positive(a):
    ...     assert a.shape == (2, 3) and (a >= 0.5).all()
    >>> test_positive()
    """
    _, hnp = _hypothesis()
    dtype = np.dtype(dtype)
    if shape is None:
        shape = shapes()
    if elements is None:
        if dtype.kind == "f":
            elements = floats(min_value, max_value, avoid=avoid, margin=margin, dtype=dtype)
        elif dtype.kind == "b":
            elements = None
        else:
            st, _ = _hypothesis()
            elements = st.integers(int(np.ceil(min_value)), int(np.floor(max_value)))
    return hnp.arrays(dtype, shape, elements=elements)


def tensors(
    shape: Any = None, dtype: Any = np.float64, elements: Any = None, *, requires_grad: bool = False,
    min_value: float = -3.0, max_value: float = 3.0, avoid: Sequence[float] = (), margin: float = 0.1,
) -> Any:
    """autograd_lite Tensors built from :func:`arrays`; ``requires_grad`` makes them leaves to differentiate.

    >>> import autograd_lite as ag
    >>> from hypothesis import given
    >>> from autograd_lite.testing import check_gradients, tensors
    >>> @given(tensors(requires_grad=True, min_value=0.5, max_value=3.0))
    ... def test_log_gradient(x):
    ...     check_gradients(ag.log, x)
    >>> test_log_gradient()
    """

    def build(array: np.ndarray) -> Tensor:
        t = Tensor._wrap(array)
        return t.requires_grad_(True) if requires_grad else t

    return arrays(shape, dtype, elements, min_value=min_value, max_value=max_value, avoid=avoid,
                  margin=margin).map(build)


def broadcastable_shapes(
    n: int = 2, min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4,
) -> Any:
    """``n`` shapes that broadcast together, for binary (or n-ary) elementwise ops.

    Draws ``BroadcastableShapes(input_shapes, result_shape)`` from Hypothesis's
    ``mutually_broadcastable_shapes``: shapes differ in rank and have stretched size-1 dims.

    >>> import numpy as np
    >>> from hypothesis import given
    >>> from autograd_lite.testing import broadcastable_shapes
    >>> @given(broadcastable_shapes(3))
    ... def test_broadcast(shapes):
    ...     assert np.broadcast_shapes(*shapes.input_shapes) == shapes.result_shape
    >>> test_broadcast()
    """
    _, hnp = _hypothesis()
    return hnp.mutually_broadcastable_shapes(
        num_shapes=n, min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def matmul_shapes(
    signature: str = MATMUL_SIGNATURE, min_dims: int = 0, max_dims: int = 2, min_side: int = 1,
    max_side: int = 4,
) -> Any:
    """Operand shapes for matmul (or any gufunc ``signature``): 1-D, 2-D and broadcast batch dims.

    ``min_dims``/``max_dims`` bound the batch (loop) dims; the core dims come from the
    signature (``m?`` and ``p?`` are optional, giving the vector cases).

    >>> import numpy as np
    >>> from hypothesis import given
    >>> from autograd_lite.testing import matmul_shapes
    >>> @given(matmul_shapes())
    ... def test_matmul_shape(shapes):
    ...     a, b = (np.ones(s) for s in shapes.input_shapes)
    ...     assert (a @ b).shape == shapes.result_shape
    >>> test_matmul_shape()
    """
    _, hnp = _hypothesis()
    return hnp.mutually_broadcastable_shapes(
        signature=signature, min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )
