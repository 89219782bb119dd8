"""autograd_lite: a small automatic-differentiation library on NumPy with PyTorch's API.

>>> import autograd_lite as ag
>>> w = ag.tensor([[0.5, -1.0]], requires_grad=True)
>>> loss = (w @ ag.tensor([[2.0], [1.0]])).sigmoid().sum()
>>> loss.backward()
>>> w.grad.shape
(1, 2)
"""

from __future__ import annotations

# The layers, each importing only the ones before it: dtypes and grad mode, graph nodes;
# the Tensor (what a tensor is); the primitives and ``apply``; the engine and Function (the
# ``autograd`` package); the functional API; the Tensor's methods (attached from those);
# then nn, optim, utils, serialization. Importing changes nothing outside the library.
from . import autograd  # noqa: I001
from .tensor import Tensor
from . import _tensor_methods  # noqa: F401  (attaches the methods to Tensor)
from ._dtype import (
    as_dtype, float16, float32, float64, get_default_dtype, int8, int16, int32, int64,
    set_default_dtype, uint8,
)
from ._dtype import bool_ as bool  # noqa: A004
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .factories import (
    arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like, linspace, normal,
    ones, ones_like, rand, rand_like, randint, randn, randn_like, randperm, tensor, zeros,
    zeros_like,
)
from .functional import (
    abs, add, all, allclose, amax, amin, any, argmax, argmin, broadcast_to, cat, chunk, clamp,
    clip, clone, concat, concatenate, cos, div, dot, einsum, eq, equal, exp, expand, flatten, gather, ge,
    gt, is_floating_point, is_tensor, isfinite, isinf, isnan, le, log, log1p, log_softmax,
    logsumexp, lt, masked_fill, matmul, max, maximum, mean, min, minimum, mm, mul, ne, neg,
    numel, outer, permute, pow, prod, relu, reshape, rsqrt, sigmoid, sign, sin, softmax,
    softplus, split, sqrt, square, squeeze, stack, std, sub, sum, swapaxes, t, tanh, transpose,
    tril, triu, true_divide, unbind, unflatten, unsqueeze, var, where,
)
from .random import Generator, initial_seed, manual_seed, seed
from . import nn, optim, utils  # noqa: E402
from .serialization import load, load_safetensors, save, save_safetensors  # noqa: E402

__version__ = "0.1.0"

float = float32  # noqa: A001
double = float64
half = float16
long = int64
int = int32  # noqa: A001
short = int16


def __getattr__(name: str) -> object:
    """Load the heavier optional parts (graph drawing, test strategies) on first use."""
    if name in ("viz", "testing"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'autograd_lite' has no attribute {name!r}")
