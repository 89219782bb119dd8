"""Differentiable primitives: each declared once, forward and VJPs side by side.

Importing this package registers every primitive in :data:`REGISTRY`, which the graph
drawings, the compatibility table and the gradient tests read.
"""

from . import conv, elementwise, linalg, recurrent, reduction, shape, special  # noqa: F401
from .primitive import REGISTRY, Primitive, apply

__all__ = ["REGISTRY", "Primitive", "apply"]
