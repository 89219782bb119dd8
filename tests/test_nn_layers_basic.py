"""Basic layers against PyTorch: Linear, activations, Dropout, shape layers, containers, F helpers."""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest

import autograd_lite as ag
import autograd_lite.nn.functional as F
from autograd_lite import nn

TOL = {"rtol": 1e-12, "atol": 1e-12}


def _pair(torch, array):
    array = np.array(array, dtype=np.float64)
    return ag.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)


def _compare(ours, theirs, a, t, tol=TOL):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **tol)
    direction = np.random.default_rng(1).standard_normal(theirs.shape)
    (ours * ag.tensor(direction)).sum().backward()
    (theirs * theirs.new_tensor(direction)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), **tol)


# ---------------------------------------------------------------- activations
ACTIVATIONS = [
    ("ReLU", {}),
    ("ReLU6", {}),
    ("Sigmoid", {}),
    ("Tanh", {}),
    ("LeakyReLU", {}),
    ("LeakyReLU", {"negative_slope": 0.2}),
    ("GELU", {}),
    ("GELU", {"approximate": "tanh"}),
    ("ELU", {}),
    ("ELU", {"alpha": 0.5}),
    ("CELU", {"alpha": 2.0}),
    ("SELU", {}),
    ("Softplus", {}),
    ("Softplus", {"beta": 2.0, "threshold": 5.0}),
    ("SiLU", {}),
    ("Mish", {}),
    ("Hardtanh", {"min_val": -0.5, "max_val": 2.0}),
    ("LogSigmoid", {}),
    ("Softsign", {}),
    ("Softmax", {"dim": 1}),
    ("Softmax", {"dim": 0}),
    ("LogSoftmax", {"dim": -1}),
    ("Softmin", {"dim": 1}),
]


@pytest.mark.parametrize("name, kwargs", ACTIVATIONS, ids=lambda v: str(v))
def test_activation_modules_match_torch(torch, name, kwargs):
    rng = np.random.default_rng(0)
    values = rng.standard_normal((4, 6)) * 4
    values[0, :4] = [60.0, -60.0, 7.0, -7.0]  # saturation, and both sides of Softplus's threshold
    values[1, 0] = 3.0  # 2 * 3 > threshold 5 exactly on the linear side
    x, tx = _pair(torch, values)
    ours, theirs = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    assert repr(ours) == repr(theirs)
    _compare(ours(x), theirs(tx), x, tx)


def test_inplace_activation_reprs_match_torch(torch):
    for name in ["ReLU", "ReLU6", "LeakyReLU", "ELU", "SiLU", "Hardtanh", "SELU", "Mish", "CELU"]:
        assert repr(getattr(nn, name)(inplace=True)) == repr(getattr(torch.nn, name)(inplace=True))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_relu_of_large_arrays_matches_torch(torch, dtype):
    # from 1024 elements on, relu compares with a read-only view of shared zeros (NumPy's
    # vectorised loop) instead of the scalar 0: same values, a fresh writeable result
    rng = np.random.default_rng(3)
    values = rng.standard_normal((40, 64)) * 5
    if dtype.startswith("float"):
        values[0, :4] = [np.nan, np.inf, -np.inf, -0.0]
    array = values.astype(dtype)
    for source in (array, array[:, ::2], array.T):  # contiguous, strided, transposed
        ours = F.relu(ag.tensor(source)).numpy()
        theirs = torch.relu(torch.from_numpy(np.ascontiguousarray(source))).numpy()
        np.testing.assert_array_equal(ours, theirs)
        assert ours.flags.writeable and ours.dtype == source.dtype
        ours[...] = 7  # the result owns its memory: the shared zeros stay zeros
    assert F.relu(ag.tensor(-np.ones((40, 64), dtype=dtype))).numpy().max() == 0
    x = ag.tensor(array.astype("float64"), requires_grad=True)
    F.relu(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), (array.astype("float64") > 0).astype("float64"))


def test_inplace_activation_writes_into_its_input():
    x = ag.tensor([-1.0, 2.0, -3.0])
    y = F.relu(x, inplace=True)
    assert y is x and x.tolist() == [0.0, 2.0, 0.0]
    leaf = ag.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        F.relu(leaf, inplace=True)
    # on a non-leaf, the in-place result stays differentiable
    w = ag.tensor([-1.0, 2.0], requires_grad=True)
    h = w * 3.0
    nn.ReLU(inplace=True)(h).sum().backward()
    assert w.grad.tolist() == [0.0, 3.0]


def test_gelu_exact_uses_an_accurate_erf(torch):
    grid = np.concatenate([np.linspace(-8, 8, 4001), [0.0, -0.0, 1e-300, 6.0, -6.0, 5.999, 40.0]])
    ours = F.erf(ag.tensor(grid)).numpy()
    theirs = torch.erf(torch.tensor(grid)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=4e-16, atol=2.3e-16)
    assert np.isnan(F.erf(ag.tensor([np.nan])).item())
    assert F.erf(ag.tensor([np.inf, -np.inf])).tolist() == [1.0, -1.0]
    assert F.erf(ag.tensor([0.5], dtype=ag.float32)).dtype == ag.float32


def test_activation_functionals_float32_keep_dtype():
    x = ag.randn(3, 4)
    for fn in [F.relu, F.gelu, F.elu, F.softplus, F.silu, F.leaky_relu, F.mish, F.logsigmoid]:
        assert fn(x).dtype == ag.float32, fn.__name__


def test_elu_gradient_is_finite_for_huge_inputs():
    x = ag.tensor([1000.0, -1000.0, 0.5], dtype=ag.float64, requires_grad=True)
    F.elu(x).sum().backward()
    assert x.grad.tolist() == pytest.approx([1.0, 0.0, 1.0])


def test_softmax_default_dim_follows_torch(torch):
    for shape in [(5,), (2, 3), (2, 3, 4), (2, 3, 4, 5)]:
        values = np.random.default_rng(1).standard_normal(shape)
        with pytest.warns(UserWarning):
            theirs = torch.nn.functional.softmax(torch.tensor(values)).numpy()
        np.testing.assert_allclose(F.softmax(ag.tensor(values)).numpy(), theirs, **TOL)


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")


# ---------------------------------------------------------------- Linear and shape layers
def test_linear_shapes_names_and_forward_match_torch(torch):
    ours = nn.Linear(3, 2, dtype=ag.float64)
    theirs = torch.nn.Linear(3, 2, dtype=torch.float64)
    assert [(k, tuple(v.shape)) for k, v in ours.named_parameters()] == [
        (k, tuple(v.shape)) for k, v in theirs.named_parameters()
    ]
    assert repr(ours) == repr(theirs) and repr(nn.Linear(3, 2, bias=False)) == repr(
        torch.nn.Linear(3, 2, False)
    )
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.detach().numpy()))
        theirs.bias.copy_(torch.from_numpy(ours.bias.detach().numpy()))
    x, tx = _pair(torch, np.random.default_rng(2).standard_normal((2, 5, 3)))  # batch dims broadcast
    _compare(ours(x), theirs(tx), x, tx)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), **TOL)
    np.testing.assert_allclose(ours.bias.grad.numpy(), theirs.bias.grad.numpy(), **TOL)


def test_linear_default_dtype_init_bounds_and_no_bias():
    layer = nn.Linear(50, 40)
    assert layer.weight.dtype == ag.float32 and layer.weight.requires_grad
    bound = 1 / math.sqrt(50)
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.1 * bound  # U(-b, b) has std b / sqrt(3)
    no_bias = nn.Linear(4, 3, bias=False)
    assert no_bias.bias is None and [n for n, _ in no_bias.named_parameters()] == ["weight"]
    assert no_bias(ag.ones(2, 4)).shape == (2, 3)
    ag.manual_seed(5)
    first = nn.Linear(3, 3).weight.detach().numpy().copy()
    ag.manual_seed(5)
    assert np.array_equal(first, nn.Linear(3, 3).weight.detach().numpy())


def test_linear_forward_reads_the_weight_and_bias_attributes(torch):
    """Linear.forward uses ``self.weight`` / ``self.bias`` as they are now (as PyTorch's does)."""
    layer = nn.Linear(3, 2, dtype=ag.float64)
    theirs = torch.nn.Linear(3, 2, dtype=torch.float64)
    x = np.random.default_rng(3).standard_normal((4, 3))
    w1, b1 = np.arange(6.0).reshape(2, 3) / 10, np.array([0.5, -0.5])
    # a new Parameter in place of the old one
    layer.weight = nn.Parameter(ag.tensor(w1))
    theirs.weight = torch.nn.Parameter(torch.tensor(w1))
    with torch.no_grad():
        theirs.bias.copy_(torch.from_numpy(layer.bias.detach().numpy()))
    np.testing.assert_allclose(layer(ag.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), **TOL)
    # a plain tensor after the parameter is deleted (how torch.func and weight norm swap weights)
    del layer.weight, theirs.weight
    w2 = ag.tensor(w1 * 3, requires_grad=True)
    tw2 = torch.tensor(w1 * 3, requires_grad=True)
    layer.weight, theirs.weight = w2, tw2
    _compare(layer(ag.tensor(x)), theirs(torch.tensor(x)), w2, tw2)
    assert [n for n, _ in layer.named_parameters()] == ["bias"]
    # the bias replaced, then removed
    layer.bias = nn.Parameter(ag.tensor(b1))
    np.testing.assert_allclose(layer(ag.tensor(x)).detach().numpy(), x @ (w1 * 3).T + b1, **TOL)
    layer.bias = None
    np.testing.assert_allclose(layer(ag.tensor(x)).detach().numpy(), x @ (w1 * 3).T, **TOL)


def test_linear_forward_sees_a_weight_computed_by_a_subclass():
    class Scaled(nn.Linear):
        """weight as a property: a parametrisation computed from a raw parameter at each call."""

        def __init__(self):
            super().__init__(2, 2, bias=False, dtype=ag.float64)
            self.raw = nn.Parameter(ag.eye(2, dtype=ag.float64))
            del self.weight

        @property
        def weight(self):
            return self.raw * 2.0

    layer = Scaled()
    out = layer(ag.tensor([[1.0, 2.0]], dtype=ag.float64))
    np.testing.assert_allclose(out.detach().numpy(), [[2.0, 4.0]], **TOL)
    out.sum().backward()
    np.testing.assert_allclose(layer.raw.grad.numpy(), [[2.0, 4.0], [2.0, 4.0]], **TOL)


def test_linear_bad_input_names_shapes():
    with pytest.raises(RuntimeError, match=r"input of shape \(2, 4\) and weight of shape \(3, 5\)"):
        nn.Linear(5, 3)(ag.ones(2, 4))


def test_flatten_unflatten_identity_match_torch(torch):
    values = np.random.default_rng(3).standard_normal((2, 3, 4, 5))
    for ours, theirs in [
        (nn.Flatten(), torch.nn.Flatten()),
        (nn.Flatten(0, 2), torch.nn.Flatten(0, 2)),
        (nn.Unflatten(1, (3, 1)), torch.nn.Unflatten(1, (3, 1))),
        (nn.Identity(54, unused=True), torch.nn.Identity(54, unused=True)),
    ]:
        assert repr(ours) == repr(theirs)
        x, tx = _pair(torch, values)
        _compare(ours(x), theirs(tx), x, tx)


# ---------------------------------------------------------------- Dropout
def test_dropout_scales_kept_values_and_is_identity_in_eval(torch):
    layer = nn.Dropout(0.25)
    assert repr(layer) == repr(torch.nn.Dropout(0.25))
    x = ag.ones(200, 100, requires_grad=True)
    y = layer(x)
    kept = y.detach().numpy() != 0
    assert set(np.unique(y.detach().numpy())) <= {0.0, np.float32(1 / 0.75)}
    assert abs(kept.mean() - 0.75) < 0.01
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), kept / np.float32(0.75))
    layer.eval()
    assert layer(x) is x
    assert nn.Dropout(0.0)(x) is x
    assert (nn.Dropout(1.0)(x).detach().numpy() == 0).all()


def test_dropout_is_reproducible_with_manual_seed_and_validates_p():
    ag.manual_seed(11)
    first = F.dropout(ag.ones(50)).numpy()
    ag.manual_seed(11)
    assert np.array_equal(first, F.dropout(ag.ones(50)).numpy())
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            nn.Dropout(p)


# ---------------------------------------------------------------- containers
def _mlp(lib):
    return lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.Tanh(), lib.nn.Linear(3, 1))


def test_sequential_indexing_slicing_and_mutation(torch):
    seq = _mlp(ag)
    assert len(seq) == 3 and isinstance(seq[0], nn.Linear) and seq[-1] is seq[2]
    assert [type(m).__name__ for m in seq] == ["Linear", "Tanh", "Linear"]
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and list(head._modules) == ["0", "1"]
    assert head[0] is seq[0]  # slicing shares the modules
    tail = seq[1:]
    assert list(tail._modules) == ["1", "2"]  # PyTorch keeps the names of a slice
    seq.append(nn.Sigmoid())
    assert list(seq._modules) == ["0", "1", "2", "3"]
    del seq[1]
    assert list(seq._modules) == ["0", "1", "2"] and isinstance(seq[1], nn.Linear)
    seq[2] = nn.ReLU()
    assert isinstance(seq[2], nn.ReLU)
    seq.insert(0, nn.Identity())
    assert isinstance(seq[0], nn.Identity) and len(seq) == 4
    with pytest.raises(IndexError, match="out of range"):
        seq[10]
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert [n for n, _ in named.named_parameters()] == ["fc.weight", "fc.bias"]
    assert named.fc is named[0]
    t_named = torch.nn.Sequential(OrderedDict([("fc", torch.nn.Linear(2, 2)), ("act", torch.nn.ReLU())]))
    assert repr(named) == repr(t_named)


def test_module_list_and_dict(torch):
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    layers.append(nn.ReLU())
    layers += [nn.Tanh()]
    assert len(layers) == 5 and isinstance(layers[-1], nn.Tanh)
    assert len(list(layers.parameters())) == 6
    assert [n for n, _ in layers.named_parameters()][:2] == ["0.weight", "0.bias"]
    assert isinstance(layers[1:3], nn.ModuleList) and len(layers[1:3]) == 2
    del layers[0]
    assert list(layers._modules) == ["0", "1", "2", "3"]
    t_layers = torch.nn.ModuleList(
        [torch.nn.Linear(2, 2) for _ in range(3)] + [torch.nn.ReLU(), torch.nn.Tanh()]
    )
    ours = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU(), nn.Tanh()])
    assert repr(ours) == repr(t_layers)  # consecutive equal entries are grouped as "(0-2): 3 x ..."
    assert repr(nn.ModuleList()) == repr(torch.nn.ModuleList())
    with pytest.raises(NotImplementedError, match="container"):
        ours(ag.ones(1))

    heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 3)})
    heads["c"] = nn.Identity()
    assert list(heads) == ["a", "b", "c"] and "b" in heads and len(heads) == 3
    assert [n for n, _ in heads.named_parameters()] == ["a.weight", "a.bias", "b.weight", "b.bias"]
    assert isinstance(heads.pop("c"), nn.Identity) and list(heads.keys()) == ["a", "b"]
    t_heads = torch.nn.ModuleDict({"a": torch.nn.Linear(2, 1), "b": torch.nn.Linear(2, 3)})
    assert repr(heads) == repr(t_heads)


# ---------------------------------------------------------------- functional helpers
def test_one_hot_matches_torch(torch):
    labels = np.array([[0, 2], [1, 3]])
    ours = F.one_hot(ag.tensor(labels))
    assert ours.dtype == ag.int64
    assert np.array_equal(ours.numpy(), torch.nn.functional.one_hot(torch.from_numpy(labels)).numpy())
    assert F.one_hot(ag.tensor([1]), num_classes=4).tolist() == [[0, 1, 0, 0]]
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(ag.tensor([5]), 3)


@pytest.mark.parametrize(
    "pad, mode, value",
    [
        ((1, 2), "constant", 0.0),
        ((1, 0, 2, 1), "constant", -3.5),
        ((-1, 2, 0, 1), "constant", 1.0),
        ((2, 1, 1, 2), "reflect", None),
        ((1, 2, 2, 1), "replicate", None),
        ((1, 2, 1, 0), "circular", None),
    ],
)
def test_pad_matches_torch(torch, pad, mode, value):
    values = np.random.default_rng(4).standard_normal((2, 3, 4, 5))
    x, tx = _pair(torch, values)
    kwargs = {} if value is None else {"value": value}
    _compare(F.pad(x, pad, mode=mode, **kwargs), torch.nn.functional.pad(tx, pad, mode=mode, **kwargs), x, tx)


def test_normalize_matches_torch_including_zero_rows(torch):
    values = np.random.default_rng(5).standard_normal((3, 4))
    values[1] = 0.0
    for p in (2.0, 1.0, 3.0):
        x, tx = _pair(torch, values)
        _compare(F.normalize(x, p=p, dim=1), torch.nn.functional.normalize(tx, p=p, dim=1), x, tx)


def test_kinks_get_torchs_gradients(torch):
    points = [-1.0, 0.0, 1.0, 6.0, 2.0]
    for ours, theirs in [
        (nn.ReLU(), torch.nn.ReLU()),
        (nn.ReLU6(), torch.nn.ReLU6()),
        (nn.Hardtanh(), torch.nn.Hardtanh()),
        (nn.LeakyReLU(0.1), torch.nn.LeakyReLU(0.1)),
        (nn.ELU(0.7), torch.nn.ELU(0.7)),
        (nn.Softplus(2.0, 4.0), torch.nn.Softplus(2.0, 4.0)),
    ]:
        x, tx = _pair(torch, points)
        _compare(ours(x), theirs(tx), x, tx)
