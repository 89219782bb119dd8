"""Tools for testing differentiable code: Hypothesis strategies and a gradient checker.

Users who write their own ops (an ``autograd.Function`` or a composite) need the same
checks as the library's own tests, so they are public:

* :func:`check_gradients` compares backward with central finite differences in float64,
  elementwise and along a random direction, on both backward paths (plain arrays and
  ``create_graph=True``), optionally at second order. It needs only NumPy.
* Strategies (need Hypothesis, imported only when a strategy is built):
  :func:`shapes`, :func:`floats`, :func:`arrays`, :func:`tensors`,
  :func:`broadcastable_shapes` and :func:`matmul_shapes`.

Example, a property test of a user-defined function:

>>> import numpy as np
>>> import autograd_lite as ag
>>> from hypothesis import given, settings, strategies as st
>>> from autograd_lite.testing import arrays, broadcastable_shapes, check_gradients
>>> def smooth_max(x, y):
...     return ag.log(ag.exp(x) + ag.exp(y))
>>> @settings(max_examples=5)
... @given(st.data(), broadcastable_shapes(2))
... def test_smooth_max(data, shapes):
...     x = data.draw(arrays(shapes.input_shapes[0]))
...     y = data.draw(arrays(shapes.input_shapes[1]))
...     check_gradients(smooth_max, x, y, order=2)
>>> test_smooth_max()
"""

from __future__ import annotations

from .gradients import GradientCheckError, check_gradients
from .strategies import (
    MATMUL_SIGNATURE,
    arrays,
    broadcastable_shapes,
    floats,
    matmul_shapes,
    shapes,
    tensors,
)

__all__ = [
    "MATMUL_SIGNATURE", "GradientCheckError", "arrays", "broadcastable_shapes", "check_gradients",
    "floats", "matmul_shapes", "shapes", "tensors",
]
