"""Test domains: how to generate valid inputs for EVERY primitive in ``ops.primitive.REGISTRY``.

tests/test_gradients.py (finite differences, first and second order, both backward paths)
and tests/test_torch_parity.py (values and gradients against PyTorch) are parametrized over
the registry and read this table. A registered primitive without an entry here FAILS
those tests, so a new primitive cannot go untested.

Adding an entry
---------------
Write one function decorated with ``@domain(name, torch=...)``. It receives Hypothesis's
``draw`` and returns ``Case(inputs, attrs)``:

* ``inputs``: the primitive's positional inputs, in order. Every float64 NumPy array at a
  position whose VJP is not ``None`` is differentiated; anything else (bool masks, integer
  arrays, Python numbers) is passed through as a constant.
* ``attrs``: the keyword attributes (axes, shapes, indices), exactly as ``apply`` takes them.

Keep values inside the op's domain and away from kinks, poles and ties, so that central
differences with eps = 1e-6 are accurate (``floats(0.5, 3)`` for log, ``avoid=[0]`` for abs,
well separated values for max). Keep shapes small (sides up to 3 or 4): the checks cost a
few forward passes per element.

``torch`` is the PyTorch reference: ``torch(torch_module, *inputs, **attrs)`` receives the
inputs as float64 torch tensors (constant arrays as torch tensors, numbers as numbers) and
the attrs unchanged, and returns the torch result. If PyTorch has no equivalent, pass
``torch=None`` and explain why in ``no_torch``. ``tol`` overrides the gradient check's
``eps``/``atol``/``rtol`` (a float32 cast needs a coarser eps).

Example::

    @domain("exp", torch=lambda torch, x: torch.exp(x))
    def _exp(draw):
        return Case((draw(arrays(min_value=-3, max_value=3)),), {})
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd_lite  # noqa: F401  (registers every primitive)
from autograd_lite.testing import arrays, broadcastable_shapes, floats, matmul_shapes, shapes


class Case(NamedTuple):
    """One generated call of a primitive: ``apply(Prim, inputs, attrs)``."""

    inputs: tuple
    attrs: dict


@dataclass(frozen=True)
class Domain:
    """How to test one primitive; see the module docstring."""

    name: str
    cases: Any  # a Hypothesis strategy of Case
    torch: Callable[..., Any] | None
    no_torch: str = ""
    second_order: bool = True
    tol: dict = field(default_factory=dict)


DOMAINS: dict[str, Domain] = {}


def domain(
    name: str, *, torch: Callable[..., Any] | None, no_torch: str = "", second_order: bool = True,
    tol: dict | None = None,
) -> Callable[[Callable[..., Case]], Callable[..., Case]]:
    """Register ``fn(draw) -> Case`` as the test domain of the primitive ``name``."""

    def register(fn: Callable[..., Case]) -> Callable[..., Case]:
        if name in DOMAINS:
            raise ValueError(f"op_domains: the primitive {name!r} has two domain entries")
        if torch is None and not no_torch:
            raise ValueError(f"op_domains: {name!r} has torch=None; say why in no_torch=")
        DOMAINS[name] = Domain(name, st.composite(fn)(), torch, no_torch, second_order, tol or {})
        return fn

    return register


# ---------------------------------------------------------------- shared helpers
def broadcast_pair(draw: Any, x_kw: dict | None = None, y_kw: dict | None = None, max_side: int = 3) -> tuple:
    """Two float64 arrays of mutually broadcastable shapes (ranks 0-3)."""
    shape_x, shape_y = draw(broadcastable_shapes(2, max_side=max_side)).input_shapes
    return draw(arrays(shape_x, **(x_kw or {}))), draw(arrays(shape_y, **(y_kw or {})))


def reduction_attrs(draw: Any, ndim: int) -> dict:
    """axis: None or a tuple of distinct non-negative dims (as functional passes it); keepdims."""
    if ndim == 0:
        axis = None
    else:
        axis = draw(st.none() | st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True)
                    .map(tuple))
    return {"axis": axis, "keepdims": draw(st.booleans())}


def distinct_values(draw: Any, shape: tuple, spacing: float = 0.25) -> np.ndarray:
    """float64 values pairwise at least ``spacing`` apart (no ties for max/min)."""
    size = int(np.prod(shape))
    ranks = np.asarray(draw(st.permutations(list(range(size)))), dtype=np.float64)
    jitter = draw(arrays((size,), min_value=0.0, max_value=spacing / 4))
    return ((ranks - size / 2) * spacing + jitter).reshape(shape)


def shape_broadcasting_to(draw: Any, target: tuple) -> tuple:
    """A shape that broadcasts to ``target`` (some dims set to 1, some leading dims dropped)."""
    kept = draw(st.integers(0, len(target)))
    return tuple(n if draw(st.booleans()) else 1 for n in target[len(target) - kept:])


def torch_dims(x: Any, axis: tuple | None) -> tuple:
    return tuple(range(x.ndim)) if axis is None else tuple(axis)


def torch_reduce(fn: Callable, x: Any, axis: tuple | None, keepdims: bool) -> Any:
    """Call a torch reduction with our (axis, keepdims) attributes; 0-d inputs reduce to themselves."""
    if x.ndim == 0:
        return fn(x, dim=0, keepdim=keepdims)
    return fn(x, dim=torch_dims(x, axis), keepdim=keepdims)


def torch_index(torch: Any, index: Any) -> Any:
    """A NumPy-style index with NumPy arrays turned into torch tensors."""
    def part(p: Any) -> Any:
        return torch.from_numpy(p) if isinstance(p, np.ndarray) else p

    return tuple(part(p) for p in index) if isinstance(index, tuple) else part(index)


# ---------------------------------------------------------------- indices
def slice_for(draw: Any, n: int) -> slice:
    start = draw(st.none() | st.integers(-n, n - 1))
    stop = draw(st.none() | st.integers(-n, n))
    step = draw(st.sampled_from([None, 1, 2]))  # PyTorch has no negative steps
    return slice(start, stop, step)


def index_for(draw: Any, shape: tuple, repeats: bool = True) -> Any:
    """A valid NumPy/PyTorch index of an array of ``shape``: basic, integer arrays, mixed or a mask."""
    ndim = len(shape)
    if ndim == 0:
        return draw(st.sampled_from([(), Ellipsis, None, (None, Ellipsis)]))
    kind = draw(st.sampled_from(["basic", "int_array", "mixed", "mask"]))
    if kind == "basic":
        k = draw(st.integers(1, ndim))
        ellipsis = k < ndim and draw(st.booleans())  # (..., parts) indexes the last k dims
        parts: list = []
        for n in shape[ndim - k:] if ellipsis else shape[:k]:
            parts.append(draw(st.integers(-n, n - 1)) if draw(st.booleans()) else slice_for(draw, n))
        if draw(st.booleans()):
            parts.insert(draw(st.integers(0, len(parts))), None)
        return (Ellipsis, *parts) if ellipsis else tuple(parts)
    if kind == "mask":
        k = draw(st.integers(1, ndim))
        mask = draw(hnp.arrays(np.bool_, shape[:k]))
        return mask if k == 1 or draw(st.booleans()) else (mask,)
    if kind == "int_array" or ndim == 1:
        k = draw(st.integers(1, ndim)) if repeats else 1
        length = draw(st.integers(1, 4 if repeats else shape[0]))
        if repeats:
            arrays_ = [np.asarray(draw(st.lists(st.integers(-n, n - 1), min_size=length, max_size=length)),
                                  dtype=np.int64) for n in shape[:k]]
        else:
            values = draw(st.permutations(list(range(shape[0]))))[:length]
            arrays_ = [np.asarray(values, dtype=np.int64)]
        return tuple(arrays_) if k > 1 or draw(st.booleans()) else arrays_[0]
    # mixed: a slice or int, then an integer array on the next dim
    first = slice_for(draw, shape[0]) if draw(st.booleans()) else draw(st.integers(-shape[0], shape[0] - 1))
    n = shape[1]
    if repeats:
        values = draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=4))
    else:
        values = draw(st.permutations(list(range(n))))[: draw(st.integers(1, n))]
    return (first, np.asarray(values, dtype=np.int64))


# ---------------------------------------------------------------- elementwise
def _unary(name: str, torch: Callable, **array_kw: Any) -> None:
    @domain(name, torch=torch)
    def _case(draw: Any) -> Case:
        return Case((draw(arrays(shapes(max_side=3), **array_kw)),), {})


_unary("neg", lambda torch, x: -x)
_unary("exp", lambda torch, x: torch.exp(x))
_unary("log", lambda torch, x: torch.log(x), min_value=0.2, max_value=5.0)
_unary("sqrt", lambda torch, x: torch.sqrt(x), min_value=0.2, max_value=5.0)
_unary("abs", lambda torch, x: torch.abs(x), avoid=[0.0])
_unary("sign", lambda torch, x: torch.sign(x), avoid=[0.0])
_unary("sin", lambda torch, x: torch.sin(x))
_unary("cos", lambda torch, x: torch.cos(x))
_unary("tanh", lambda torch, x: torch.tanh(x))
_unary("sigmoid", lambda torch, x: torch.sigmoid(x), min_value=-6.0, max_value=6.0)
_unary("softplus", lambda torch, x: torch.nn.functional.softplus(x), min_value=-6.0, max_value=6.0)
_unary("relu", lambda torch, x: torch.relu(x), avoid=[0.0])
_unary("clone", lambda torch, x: x.clone())


@domain("add", torch=lambda torch, x, y: x + y)
def _add(draw: Any) -> Case:
    return Case(broadcast_pair(draw), {})


@domain("sub", torch=lambda torch, x, y: x - y)
def _sub(draw: Any) -> Case:
    return Case(broadcast_pair(draw), {})


@domain("mul", torch=lambda torch, x, y: x * y)
def _mul(draw: Any) -> Case:
    return Case(broadcast_pair(draw), {})


@domain("div", torch=lambda torch, x, y: x / y)
def _div(draw: Any) -> Case:
    return Case(broadcast_pair(draw, y_kw={"avoid": [0.0], "margin": 0.5}), {})


@domain("pow", torch=lambda torch, x, y: torch.pow(x, y))
def _pow(draw: Any) -> Case:
    if draw(st.booleans()):  # a constant Python exponent, as in x ** 2
        x = draw(arrays(shapes(max_side=3), min_value=0.3, max_value=3.0))
        return Case((x, draw(st.sampled_from([2.0, 3.0, 0.5, -1.0, -2.5]))), {})
    return Case(broadcast_pair(draw, {"min_value": 0.3, "max_value": 3.0}, {"min_value": -2.0, "max_value": 2.0}), {})


def _lattice(offset: float) -> Any:
    # values k/2 + offset + jitter: an x-lattice and a y-lattice 0.25 apart never tie
    return st.builds(lambda k, j: k / 2 + offset + j, st.integers(-6, 6), floats(0.0, 0.1))


@domain("maximum", torch=lambda torch, x, y: torch.maximum(x, y))
def _maximum(draw: Any) -> Case:
    return Case(broadcast_pair(draw, {"elements": _lattice(0.0)}, {"elements": _lattice(0.25)}), {})


@domain("minimum", torch=lambda torch, x, y: torch.minimum(x, y))
def _minimum(draw: Any) -> Case:
    return Case(broadcast_pair(draw, {"elements": _lattice(0.0)}, {"elements": _lattice(0.25)}), {})


@domain("clamp", torch=lambda torch, x, min=None, max=None: torch.clamp(x, min, max))
def _clamp(draw: Any) -> Case:
    low, high = draw(st.sampled_from([(-1.0, 1.0), (-1.0, None), (None, 1.0), (0.5, 2.0)]))
    x = draw(arrays(shapes(max_side=3), avoid=[v for v in (low, high) if v is not None]))
    return Case((x,), {"min": low, "max": high})


@domain("where", torch=lambda torch, cond, x, y: torch.where(cond, x, y))
def _where(draw: Any) -> Case:
    shape_c, shape_x, shape_y = draw(broadcastable_shapes(3, max_side=3)).input_shapes
    cond = draw(hnp.arrays(np.bool_, shape_c))
    x, y = draw(arrays(shape_x)), draw(arrays(shape_y))
    constant = draw(st.sampled_from(["none", "x", "y"]))  # where(mask, 0.0, t) is common
    if constant == "x":
        x = draw(floats())
    elif constant == "y":
        y = draw(floats())
    return Case((cond, x, y), {})


@domain("cast", torch=lambda torch, x, dtype: x.to(getattr(torch, str(dtype))),
        tol={"eps": 1e-2, "atol": 1e-3, "rtol": 1e-3})
def _cast(draw: Any) -> Case:
    # float32 results are rounded to 1e-7, so central differences need a large eps (the op is linear)
    dtype = draw(st.sampled_from([np.dtype(np.float32), np.dtype(np.float64)]))
    return Case((draw(arrays(shapes(max_side=3))),), {"dtype": dtype})


@domain("filllike", torch=lambda torch, x, value: torch.full_like(x, value))
def _filllike(draw: Any) -> Case:
    return Case((draw(arrays(shapes(max_side=3))),), {"value": draw(floats())})


def _torch_copy_from(torch: Any, x: Any, src: Any) -> Any:
    return x.clone().copy_(src)


@domain("copyfrom", torch=_torch_copy_from)
def _copyfrom(draw: Any) -> Case:
    shape = draw(shapes(max_side=3))
    return Case((draw(arrays(shape)), draw(arrays(shape_broadcasting_to(draw, shape)))), {})


# ---------------------------------------------------------------- linear algebra
@domain("matmul", torch=lambda torch, x, y: torch.matmul(x, y))
def _matmul(draw: Any) -> Case:
    shape_x, shape_y = draw(matmul_shapes()).input_shapes
    return Case((draw(arrays(shape_x)), draw(arrays(shape_y))), {})


@domain("einsum", torch=lambda torch, *xs, equation: torch.einsum(equation, *xs))
def _einsum(draw: Any) -> Case:
    # explicit equations with 1-3 operands; no letter repeats inside one operand
    sizes = dict(zip("ijkl", draw(st.lists(st.integers(1, 3), min_size=4, max_size=4))))
    letters = list(sizes)
    terms = [
        "".join(draw(st.permutations(letters))[: draw(st.integers(0, 3))])
        for _ in range(draw(st.integers(1, 3)))
    ]
    used = sorted(set("".join(terms)))
    output = "".join(draw(st.permutations(used))[: draw(st.integers(0, len(used)))])
    xs = tuple(draw(arrays(tuple(sizes[c] for c in term))) for term in terms)
    return Case(xs, {"equation": ",".join(terms) + "->" + output})


@domain("linear", torch=lambda torch, x, w, b: torch.nn.functional.linear(x, w, b))
def _linear(draw: Any) -> Case:
    # x: (..., in) with 0-2 batch dims, w: (out, in), b: (out,) or no bias
    batch = draw(shapes(max_dims=2, max_side=3))
    n_in, n_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    bias = draw(arrays((n_out,))) if draw(st.booleans()) else None
    return Case((draw(arrays(batch + (n_in,))), draw(arrays((n_out, n_in))), bias), {})


# ---------------------------------------------------------------- shapes and indexing
@domain("reshape", torch=lambda torch, x, shape: torch.reshape(x, shape))
def _reshape(draw: Any) -> Case:
    shape = draw(shapes(max_side=3))
    dims = list(draw(st.permutations(list(shape))))
    target: list[int] = []
    for n in dims:  # merge some neighbours, insert some ones
        if target and draw(st.booleans()):
            target[-1] *= n
        else:
            target.append(n)
        if draw(st.integers(0, 3)) == 0:
            target.append(1)
    if target and draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return Case((draw(arrays(shape)),), {"shape": tuple(target)})


@domain("permute", torch=lambda torch, x, axes: x.permute(axes))
def _permute(draw: Any) -> Case:
    shape = draw(shapes(max_side=3))
    return Case((draw(arrays(shape)),), {"axes": tuple(draw(st.permutations(list(range(len(shape))))))})


@domain("expand", torch=lambda torch, x, shape: x.expand(shape))
def _expand(draw: Any) -> Case:
    target = draw(shapes(max_side=3))
    return Case((draw(arrays(shape_broadcasting_to(draw, target))),), {"shape": tuple(target)})


@domain("getitem", torch=lambda torch, x, index: x[torch_index(torch, index)])
def _getitem(draw: Any) -> Case:
    shape = draw(shapes(max_side=4))
    return Case((draw(arrays(shape)),), {"index": index_for(draw, shape)})


def _torch_index_add(torch: Any, g: Any, shape: tuple, index: Any) -> Any:
    # PyTorch's own VJP of indexing, kept differentiable with create_graph
    zeros = torch.zeros(shape, dtype=g.dtype, requires_grad=True)
    (result,) = torch.autograd.grad(zeros[torch_index(torch, index)], zeros, g, create_graph=True)
    return result


@domain("indexadd", torch=_torch_index_add)
def _indexadd(draw: Any) -> Case:
    shape = draw(shapes(max_side=4))
    index = index_for(draw, shape)
    return Case((draw(arrays(np.empty(shape)[index].shape)),), {"shape": shape, "index": index})


def _torch_index_put(torch: Any, x: Any, value: Any, index: Any) -> Any:
    out = x.clone()
    out[torch_index(torch, index)] = value
    return out


@domain("indexput", torch=_torch_index_put)
def _indexput(draw: Any) -> Case:
    # no repeated indices: with repeats the last write wins and the gradient is undefined
    shape = draw(shapes(max_side=4))
    index = index_for(draw, shape, repeats=False)
    target = np.empty(shape)[index].shape
    value_shape = shape_broadcasting_to(draw, target)
    return Case((draw(arrays(shape)), draw(arrays(value_shape))), {"index": index})


def _gather_index(draw: Any, shape: tuple, axis: int) -> np.ndarray:
    index_shape = tuple(draw(st.integers(1, 4)) if d == axis else n for d, n in enumerate(shape))
    return draw(hnp.arrays(np.int64, index_shape, elements=st.integers(0, shape[axis] - 1)))


@domain("gather", torch=lambda torch, x, index, axis: torch.gather(x, axis, torch.from_numpy(index)))
def _gather(draw: Any) -> Case:
    shape = draw(shapes(min_dims=1, max_side=3))
    axis = draw(st.integers(0, len(shape) - 1))
    return Case((draw(arrays(shape)),), {"index": _gather_index(draw, shape, axis), "axis": axis})


@domain("scatteradd", torch=lambda torch, g, index, axis, shape: torch.zeros(shape, dtype=g.dtype)
        .scatter_add(axis, torch.from_numpy(index), g))
def _scatteradd(draw: Any) -> Case:
    shape = draw(shapes(min_dims=1, max_side=3))
    axis = draw(st.integers(0, len(shape) - 1))
    index = _gather_index(draw, shape, axis)
    return Case((draw(arrays(index.shape)),), {"index": index, "axis": axis, "shape": shape})


@domain("cat", torch=lambda torch, *xs, axis: torch.cat(xs, dim=axis))
def _cat(draw: Any) -> Case:
    shape = draw(shapes(min_dims=1, max_side=3))
    axis = draw(st.integers(0, len(shape) - 1))
    count = draw(st.integers(1, 3))
    xs = tuple(
        draw(arrays(shape[:axis] + (draw(st.integers(1, 3)),) + shape[axis + 1:])) for _ in range(count)
    )
    return Case(xs, {"axis": axis})


# ---------------------------------------------------------------- reductions
@domain("sum", torch=lambda torch, x, axis, keepdims: torch_reduce(torch.sum, x, axis, keepdims))
def _sum(draw: Any) -> Case:
    x = draw(arrays(shapes()))
    return Case((x,), reduction_attrs(draw, x.ndim))


@domain("amax", torch=lambda torch, x, axis, keepdims: torch_reduce(torch.amax, x, axis, keepdims))
def _amax(draw: Any) -> Case:
    shape = draw(shapes())
    return Case((distinct_values(draw, shape),), reduction_attrs(draw, len(shape)))


@domain("amin", torch=lambda torch, x, axis, keepdims: torch_reduce(torch.amin, x, axis, keepdims))
def _amin(draw: Any) -> Case:
    shape = draw(shapes())
    return Case((distinct_values(draw, shape),), reduction_attrs(draw, len(shape)))


def _torch_prod(torch: Any, x: Any, axis: tuple | None, keepdims: bool) -> Any:
    # torch.prod reduces one dim at a time
    out = x
    for d in sorted(torch_dims(x, axis), reverse=True):
        out = out.prod(d, keepdim=keepdims)
    return out


def _prod_values(draw: Any, shape: tuple) -> np.ndarray:
    # magnitudes near 1 keep products of up to 64 factors moderate; away from 0 for ProdOthers' VJP
    return draw(arrays(shape, min_value=-1.5, max_value=1.5, avoid=[0.0], margin=0.6))


@domain("prod", torch=_torch_prod)
def _prod(draw: Any) -> Case:
    shape = draw(shapes(max_side=3))
    return Case((_prod_values(draw, shape),), reduction_attrs(draw, len(shape)))


def _torch_prod_others(torch: Any, x: Any, axis: tuple | None) -> Any:
    return _torch_prod(torch, x, axis, True) / x


@domain("prodothers", torch=_torch_prod_others)
def _prodothers(draw: Any) -> Case:
    shape = draw(shapes(max_side=3))
    return Case((_prod_values(draw, shape),), {"axis": reduction_attrs(draw, len(shape))["axis"]})


@domain("logsumexp", torch=lambda torch, x, axis, keepdims: torch_reduce(torch.logsumexp, x, axis, keepdims))
def _logsumexp(draw: Any) -> Case:
    x = draw(arrays(shapes()))
    return Case((x,), reduction_attrs(draw, x.ndim))


@domain("logsoftmax", torch=lambda torch, x, axis: torch.log_softmax(x, dim=axis))
def _logsoftmax(draw: Any) -> Case:
    shape = draw(shapes(min_dims=1))
    return Case((draw(arrays(shape)),), {"axis": draw(st.integers(0, len(shape) - 1))})


def _torch_cross_entropy(torch: Any, x: Any, target: np.ndarray, weight: np.ndarray | None,
                         reduction: str) -> Any:
    """PyTorch's per-target cross-entropy, times the per-target weights, then reduced."""
    losses = torch.nn.functional.cross_entropy(x, torch.from_numpy(target), reduction="none")
    if weight is not None:
        losses = losses * torch.from_numpy(weight)
    if reduction == "none":
        return losses
    total = losses.sum()
    return total if reduction == "sum" else total / (target.size if weight is None else weight.sum())


@domain("crossentropy", torch=_torch_cross_entropy)
def _crossentropy(draw: Any) -> Case:
    shape = draw(shapes(min_dims=1))
    axis = 1 if len(shape) > 1 else 0
    target_shape = shape[:axis] + shape[axis + 1:]
    target = draw(hnp.arrays(np.int64, target_shape, elements=st.integers(0, shape[axis] - 1)))
    weight = draw(st.none() | arrays(target_shape, min_value=0.5, max_value=2.0))
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    return Case((draw(arrays(shape)),), {"target": target, "weight": weight, "reduction": reduction})


# ---------------------------------------------------------------- special (ops/special.py)
@domain("erf", torch=lambda torch, x: torch.erf(x))
def _erf(draw: Any) -> Case:
    return Case((draw(arrays(shapes(), min_value=-4.0, max_value=4.0)),), {})


@domain(
    "binarycrossentropy",
    torch=lambda torch, x, t: torch.nn.functional.binary_cross_entropy(x, t, reduction="none"),
)
def _binarycrossentropy(draw: Any) -> Case:
    shape = draw(shapes())
    x = draw(arrays(shape, min_value=0.05, max_value=0.95))
    t = draw(arrays(shape, min_value=0.0, max_value=1.0))
    return Case((x, t), {})


# ---------------------------------------------------------------- convolution and pooling (ops/conv.py)
def window_geometry(draw: Any, dilate: bool = True, max_pad: int | None = None) -> dict:
    """A tiny (N, C, H, W) image shape and a kernel/stride/dilation/padding that fit it."""
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilate else (1, 1)
    pads = []
    for k, d in zip(kernel, dilation, strict=True):
        limit = (d * (k - 1) + 1) // 2 if max_pad is None else max_pad
        pads.append((draw(st.integers(0, limit)), draw(st.integers(0, limit))))
    span = [d * (k - 1) + 1 - p[0] - p[1] for k, d, p in zip(kernel, dilation, pads, strict=True)]
    image = (draw(st.integers(1, 2)), draw(st.integers(1, 2)),
             max(1, span[0]) + draw(st.integers(0, 2)), max(1, span[1]) + draw(st.integers(0, 2)))
    return {"shape": image, "kernel_size": kernel, "stride": stride, "dilation": dilation,
            "padding": (pads[0], pads[1])}


def _torch_pad(torch: Any, x: Any, padding: tuple, value: float = 0.0) -> Any:
    (top, bottom), (left, right) = padding
    return torch.nn.functional.pad(x, (left, right, top, bottom), value=value)


def _torch_unfold(torch: Any, x: Any, kernel_size: tuple, stride: tuple, dilation: tuple, padding: tuple,
                  pad_value: float = 0.0) -> Any:
    padded = _torch_pad(torch, x, padding, pad_value)
    cols = torch.nn.functional.unfold(padded, kernel_size, dilation=dilation, stride=stride)
    n, c, h, w = x.shape
    (top, bottom), (left, right) = padding
    oh = (h + top + bottom - dilation[0] * (kernel_size[0] - 1) - 1) // stride[0] + 1
    ow = (w + left + right - dilation[1] * (kernel_size[1] - 1) - 1) // stride[1] + 1
    return cols.reshape(n, c, kernel_size[0], kernel_size[1], oh, ow)


def _torch_adjoint(forward: Callable[..., Any]) -> Callable[..., Any]:
    """The torch reference of a VJP primitive: torch's own gradient of ``forward``, differentiable."""
    def reference(torch: Any, g: Any, shape: tuple, **attrs: Any) -> Any:
        x = torch.zeros(shape, dtype=g.dtype, requires_grad=True)
        (result,) = torch.autograd.grad(forward(torch, x, **attrs), x, g, create_graph=True)
        return result
    return reference


@domain("unfold", torch=_torch_unfold)
def _unfold(draw: Any) -> Case:
    geometry = window_geometry(draw, max_pad=2)
    return Case((draw(arrays(geometry.pop("shape"))),), geometry)


@domain("fold", torch=lambda torch, cols, output_size, **attrs: _torch_adjoint(_torch_unfold)(
    torch, cols, (cols.shape[0], cols.shape[1]) + tuple(output_size), **attrs))
def _fold(draw: Any) -> Case:
    geometry = window_geometry(draw, max_pad=2)
    shape = geometry.pop("shape")
    return Case((draw(arrays(_unfold_shape(shape, geometry))),), {"output_size": shape[2:], **geometry})


def _unfold_shape(shape: tuple, geometry: dict) -> tuple:
    from autograd_lite.ops.conv import unfold_view

    return unfold_view(np.empty(shape), geometry["kernel_size"], geometry["stride"], geometry["dilation"],
                       geometry["padding"]).shape


def _torch_im2col(torch: Any, x: Any, kernel_size: tuple, stride: tuple, dilation: tuple, padding: tuple,
                  groups: int, bias_row: float | None = None) -> Any:
    """Im2col's documented layout built from torch ops: flat shifts for stride 1, else F.unfold."""
    n, c, h, w = x.shape
    kh, kw = kernel_size
    if tuple(stride) != (1, 1):
        cols = _torch_unfold(torch, x, kernel_size, stride, dilation, padding)
        cols = cols.reshape(n, groups, -1, cols.shape[4] * cols.shape[5])
    else:
        padded = _torch_pad(torch, x, padding)
        hp, wp = padded.shape[2:]
        oh = hp - dilation[0] * (kh - 1)
        flat = torch.nn.functional.pad(padded.reshape(n, c, hp * wp), (0, (kw - 1) * dilation[1]))
        starts = [i * dilation[0] * wp + j * dilation[1] for i in range(kh) for j in range(kw)]
        runs = [flat[:, :, start:start + oh * wp] for start in starts]
        cols = torch.stack(runs, 2).reshape(n, groups, (c // groups) * kh * kw, oh * wp)
    if bias_row is None:
        return cols
    return torch.cat([cols, torch.full(cols.shape[:2] + (1,) + cols.shape[3:], bias_row, dtype=cols.dtype)], 2)


def _im2col_geometry(draw: Any) -> dict:
    geometry = window_geometry(draw, max_pad=2)
    groups = draw(st.integers(1, 2))
    n, c, h, w = geometry["shape"]
    geometry["shape"] = (n, c * groups, h, w)
    geometry["groups"] = groups
    geometry["bias_row"] = draw(st.sampled_from([None, 1.0, 0.0]))
    return geometry


@domain("im2col", torch=_torch_im2col)
def _im2col(draw: Any) -> Case:
    geometry = _im2col_geometry(draw)
    return Case((draw(arrays(geometry.pop("shape"))),), geometry)


def _torch_col2im(torch: Any, cols: Any, input_size: tuple, bias_row: bool = False, **attrs: Any) -> Any:
    kh, kw = attrs["kernel_size"]
    rows = cols.shape[2] - (1 if bias_row else 0)
    shape = (cols.shape[0], cols.shape[1] * rows // (kh * kw))
    reference = _torch_adjoint(_torch_im2col)
    return reference(torch, cols, shape + tuple(input_size), groups=cols.shape[1],
                     bias_row=0.0 if bias_row else None, **attrs)


@domain("col2im", torch=_torch_col2im)
def _col2im(draw: Any) -> Case:
    from autograd_lite.ops.conv import Im2col

    geometry = _im2col_geometry(draw)
    shape = geometry.pop("shape")
    groups = geometry.pop("groups")
    bias_row = geometry.pop("bias_row")
    cols_shape = Im2col.forward(np.empty(shape), groups=groups, bias_row=bias_row, **geometry).shape
    return Case((draw(arrays(cols_shape)),), {"input_size": shape[2:], "bias_row": bias_row is not None, **geometry})



def _torch_max_pool(torch: Any, x: Any, kernel_size: tuple, stride: tuple, dilation: tuple,
                    padding: tuple) -> Any:
    padded = _torch_pad(torch, x, padding, float("-inf"))
    return torch.nn.functional.max_pool2d(padded, kernel_size, stride, 0, dilation)


@domain("maxpool2d", torch=_torch_max_pool)
def _maxpool2d(draw: Any) -> Case:
    from hypothesis import assume

    from autograd_lite.ops.conv import window_max

    geometry = window_geometry(draw)
    shape = geometry.pop("shape")
    # dilation can make a window of padding only: its output is -inf, a constant
    assume(np.isfinite(window_max(np.zeros(shape), **geometry)).all())
    return Case((distinct_values(draw, shape),), geometry)


def _flat_indices(draw: Any, shape: tuple, unique: bool) -> np.ndarray:
    size = int(np.prod(shape))
    out_shape = tuple(draw(st.integers(1, 3)) for _ in range(len(shape)))
    count = int(np.prod(out_shape))
    if unique:
        count = min(count, size)
        out_shape = (count,)
        return np.asarray(draw(st.permutations(list(range(size)))))[:count].reshape(out_shape)
    index = draw(st.lists(st.integers(0, size - 1), min_size=count, max_size=count))
    return np.asarray(index).reshape(out_shape)


@domain("poolgather", torch=lambda torch, x, index, unique=False: torch.take(x, torch.from_numpy(index)))
def _poolgather(draw: Any) -> Case:
    shape = draw(shapes(min_dims=1, max_side=3))
    unique = draw(st.booleans())
    return Case((draw(arrays(shape)),), {"index": _flat_indices(draw, shape, unique), "unique": unique})


def _torch_pool_scatter(torch: Any, g: Any, index: np.ndarray, shape: tuple, unique: bool = False) -> Any:
    flat = torch.zeros(int(np.prod(shape)), dtype=g.dtype)
    return flat.index_add(0, torch.from_numpy(index.reshape(-1)), g.reshape(-1)).reshape(shape)


@domain("poolscatter", torch=_torch_pool_scatter)
def _poolscatter(draw: Any) -> Case:
    shape = draw(shapes(min_dims=1, max_side=3))
    unique = draw(st.booleans())
    index = _flat_indices(draw, shape, unique)
    return Case((draw(arrays(index.shape)),), {"index": index, "shape": shape, "unique": unique})


def _torch_window_sum(torch: Any, x: Any, kernel_size: tuple, stride: tuple, padding: tuple) -> Any:
    padded = _torch_pad(torch, x, padding)
    return torch.nn.functional.avg_pool2d(padded, kernel_size, stride, divisor_override=1)


@domain("windowsum", torch=_torch_window_sum)
def _windowsum(draw: Any) -> Case:
    geometry = window_geometry(draw, dilate=False, max_pad=2)
    del geometry["dilation"]
    return Case((draw(arrays(geometry.pop("shape"))),), geometry)


@domain("windowspread", torch=lambda torch, g, input_size, **attrs: _torch_adjoint(_torch_window_sum)(
    torch, g, tuple(g.shape[:2]) + tuple(input_size), **attrs))
def _windowspread(draw: Any) -> Case:
    geometry = window_geometry(draw, dilate=False, max_pad=2)
    shape = geometry.pop("shape")
    out_shape = _unfold_shape(shape, geometry)
    del geometry["dilation"]
    return Case((draw(arrays(out_shape[:2] + out_shape[4:])),), {"input_size": shape[2:], **geometry})


# ---------------------------------------------------------------- table lookup (ops/conv.py)
def _lookup_case(draw: Any) -> tuple:
    rows, dim = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    elements = st.integers(0, rows - 1)
    index = np.asarray(draw(hnp.arrays(np.int64, shapes(max_dims=2, max_side=3), elements=elements)))
    return rows, dim, index


@domain("rowgather", torch=lambda torch, weight, index, padding_idx=None: torch.nn.functional.embedding(
    torch.from_numpy(index), weight, padding_idx))
def _rowgather(draw: Any) -> Case:
    # padding_idx is not a derivative (PyTorch's rule: that row gets no gradient), so it is
    # tested against torch in tests/test_nn_norm.py, not against finite differences here
    rows, dim, index = _lookup_case(draw)
    return Case((draw(arrays((rows, dim))),), {"index": index, "padding_idx": None})


@domain("rowscatter", torch=lambda torch, g, index, num_rows: torch.zeros(
    (num_rows,) + tuple(g.shape[index.ndim:]), dtype=g.dtype).index_add(
    0, torch.from_numpy(index.reshape(-1)), g.reshape((-1,) + tuple(g.shape[index.ndim:]))))
def _rowscatter(draw: Any) -> Case:
    rows, dim, index = _lookup_case(draw)
    return Case((draw(arrays(index.shape + (dim,))),), {"index": index, "num_rows": rows})


# ---------------------------------------------------------------- recurrent layers (ops/recurrent.py)
def _torch_recurrent(torch: Any, x_proj: Any, w_hh: Any, b_hh: Any, h0: Any, c0: Any, mode: str,
                     reverse: bool = False) -> Any:
    """PyTorch's documented RNN / LSTM / GRU equations, one step at a time, in Recurrent's layout."""
    hidden = w_hh.shape[1]
    h, c = h0, c0
    rows = {}
    steps = range(x_proj.shape[0] - 1, -1, -1) if reverse else range(x_proj.shape[0])
    for t in steps:
        hp = h @ w_hh.T + (0 if b_hh is None else b_hh)
        if mode == "LSTM":
            gates = x_proj[t] + hp
            i, f, o = (torch.sigmoid(gates[:, k * hidden:(k + 1) * hidden]) for k in (0, 1, 3))
            g = torch.tanh(gates[:, 2 * hidden:3 * hidden])
            c = f * c + i * g
            h = o * torch.tanh(c)
            rows[t] = torch.cat([h, c, i, f, g, o], 1)
        elif mode == "GRU":
            r = torch.sigmoid(x_proj[t][:, :hidden] + hp[:, :hidden])
            z = torch.sigmoid(x_proj[t][:, hidden:2 * hidden] + hp[:, hidden:2 * hidden])
            hn = hp[:, 2 * hidden:]
            n = torch.tanh(x_proj[t][:, 2 * hidden:] + r * hn)
            h = (1 - z) * n + z * h
            rows[t] = torch.cat([h, r, z, n, hn], 1)
        else:
            h = torch.tanh(x_proj[t] + hp) if mode == "RNN_TANH" else torch.relu(x_proj[t] + hp)
            rows[t] = h
    return torch.stack([rows[t] for t in range(x_proj.shape[0])])


@domain("recurrent", torch=_torch_recurrent)
def _recurrent(draw: Any) -> Case:
    mode = draw(st.sampled_from(["RNN_TANH", "RNN_RELU", "LSTM", "GRU"]))
    gates = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    steps, batch, hidden = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    width = gates * hidden
    x_proj = draw(arrays((steps, batch, width), min_value=-2, max_value=2))
    w_hh = draw(arrays((width, hidden), min_value=-0.3, max_value=0.3))
    b_hh = draw(st.none() | arrays((width,), min_value=-0.5, max_value=0.5))
    h0 = draw(arrays((batch, hidden), min_value=-1, max_value=1))
    c0 = draw(arrays((batch, hidden), min_value=-1, max_value=1)) if mode == "LSTM" else None
    reverse = draw(st.booleans())
    if mode == "RNN_RELU":  # a pre-activation near the kink at 0 has no stable finite difference
        from hypothesis import assume

        h = h0
        for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
            pre = x_proj[t] + h @ w_hh.T + (0 if b_hh is None else b_hh)
            assume(np.abs(pre).min() > 0.05)
            h = np.maximum(pre, 0)
    return Case((x_proj, w_hh, b_hh, h0, c0), {"mode": mode, "reverse": reverse})
