"""nn.init (scales and statistics against PyTorch's formulas) and nn.utils (clipping, vectors)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import nn
from autograd_lite.nn import init
from autograd_lite.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    get_total_norm,
    parameters_to_vector,
    vector_to_parameters,
)


# ---------------------------------------------------------------- init
def test_calculate_gain_and_fans_match_torch(torch):
    for name in ["linear", "conv2d", "sigmoid", "tanh", "relu", "selu"]:
        assert init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name), rel=1e-15)
    for slope in (None, 0.2, 3):
        assert init.calculate_gain("leaky_relu", slope) == pytest.approx(
            torch.nn.init.calculate_gain("leaky_relu", slope), rel=1e-15
        )
    for shape in [(4, 3), (8, 3, 5, 5), (6, 2, 7)]:
        ours = init._calculate_fan_in_and_fan_out(ag.empty(*shape))
        assert ours == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(ag.empty(3))
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="fan_in"):
        init.kaiming_uniform_(ag.empty(3, 3), mode="fan_middle")


def _bound_and_std(values, bound):
    assert np.abs(values).max() <= bound
    assert np.abs(values).max() > 0.95 * bound  # the range is really used
    assert values.std() == pytest.approx(bound / math.sqrt(3), rel=0.05)


def test_uniform_initialisers_use_torchs_bounds():
    w = ag.empty(300, 200)
    # kaiming_uniform_: bound = gain * sqrt(3 / fan); for leaky_relu with slope a, gain^2 = 2 / (1 + a^2)
    for a, mode, fan in [(0, "fan_in", 200), (math.sqrt(5), "fan_in", 200), (0.1, "fan_out", 300)]:
        init.kaiming_uniform_(w, a=a, mode=mode)
        _bound_and_std(w.numpy(), math.sqrt(6.0 / ((1 + a * a) * fan)))
    init.kaiming_uniform_(w, nonlinearity="relu")
    _bound_and_std(w.numpy(), math.sqrt(6.0 / 200))
    # xavier_uniform_: bound = gain * sqrt(6 / (fan_in + fan_out))
    init.xavier_uniform_(w, gain=2.0)
    _bound_and_std(w.numpy(), 2.0 * math.sqrt(6.0 / 500))
    init.uniform_(w, -0.5, 1.5)
    assert (
        w.numpy().min() >= -0.5
        and w.numpy().max() <= 1.5
        and w.numpy().mean() == pytest.approx(0.5, abs=0.01)
    )


def test_normal_initialisers_use_torchs_standard_deviations():
    w = ag.empty(400, 250, dtype=ag.float64)
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert w.numpy().std() == pytest.approx(math.sqrt(2.0 / 400), rel=0.02)
    init.xavier_normal_(w)
    assert w.numpy().std() == pytest.approx(math.sqrt(2.0 / 650), rel=0.02)
    init.normal_(w, mean=3.0, std=0.5)
    assert w.numpy().mean() == pytest.approx(3.0, abs=0.01) and w.numpy().std() == pytest.approx(
        0.5, rel=0.02
    )
    init.trunc_normal_(w, std=1.0, a=-0.5, b=1.0)
    assert w.numpy().min() >= -0.5 and w.numpy().max() <= 1.0


def test_constant_initialisers_and_in_place_semantics():
    p = nn.Parameter(ag.empty(2, 3))
    array = p._data
    assert init.zeros_(p) is p and not p.detach().numpy().any()
    assert p._data is array  # filled in place: optimizers holding p see the values
    init.ones_(p)
    assert (p.detach().numpy() == 1).all()
    init.constant_(p, 2.5)
    assert (p.detach().numpy() == 2.5).all()
    init.eye_(p)
    assert np.array_equal(p.detach().numpy(), np.eye(2, 3))
    assert p.is_leaf and p.grad_fn is None  # nothing was recorded
    version = p._version
    init.normal_(p)
    assert p._version > version


def test_init_is_reproducible_with_manual_seed_and_generators():
    ag.manual_seed(3)
    a = init.kaiming_uniform_(ag.empty(4, 4)).numpy()
    ag.manual_seed(3)
    assert np.array_equal(a, init.kaiming_uniform_(ag.empty(4, 4)).numpy())
    g1, g2 = ag.Generator(7), ag.Generator(7)
    assert np.array_equal(
        init.normal_(ag.empty(5), generator=g1).numpy(), init.normal_(ag.empty(5), generator=g2).numpy()
    )


# ---------------------------------------------------------------- clipping
def _twin_params(torch, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (4,), (2, 2, 2)]
    grads = [rng.standard_normal(s) * 3 for s in shapes]
    ours, theirs = [], []
    for g in grads:
        p = nn.Parameter(ag.zeros(*g.shape, dtype=ag.float64))
        p.grad = ag.tensor(g.copy())
        t = torch.nn.Parameter(torch.zeros(*g.shape, dtype=torch.float64))
        t.grad = torch.tensor(g.copy())
        ours.append(p)
        theirs.append(t)
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(torch, norm_type, max_norm):
    ours, theirs = _twin_params(torch)
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, ag.Tensor) and total.ndim == 0
    assert total.item() == pytest.approx(expected.item(), rel=1e-12)
    for p, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_clip_grad_norm_edge_cases():
    p = nn.Parameter(ag.ones(2))
    assert clip_grad_norm_(p, 1.0).item() == 0.0  # no gradients: norm 0
    p.grad = ag.tensor([3.0, 4.0])
    assert clip_grad_norm_(p, 1.0).item() == pytest.approx(5.0)
    assert np.linalg.norm(p.grad.numpy()) == pytest.approx(1.0, rel=1e-5)
    p.grad = ag.tensor([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    assert get_total_norm([ag.tensor([3.0, -4.0])], norm_type=1).item() == 7.0


def test_clip_grad_value_matches_torch(torch):
    ours, theirs = _twin_params(torch, seed=1)
    clip_grad_value_(ours, 1.5)
    torch.nn.utils.clip_grad_value_(theirs, 1.5)
    for p, t in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())


def test_parameters_to_vector_and_back(torch):
    model = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    twin = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1))
    twin.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in model.state_dict().items()})
    vec = parameters_to_vector(model.parameters())
    assert vec.shape == (11,) and vec.requires_grad  # differentiable, as in PyTorch
    np.testing.assert_array_equal(
        vec.detach().numpy(), torch.nn.utils.parameters_to_vector(twin.parameters()).detach().numpy()
    )
    new = ag.arange(11, dtype=ag.float32)
    vector_to_parameters(new, model.parameters())
    assert model[0].weight.detach().numpy().ravel().tolist() == [0, 1, 2, 3, 4, 5]
    assert model[1].bias.item() == 10
    with pytest.raises(RuntimeError, match="11 parameter elements"):
        vector_to_parameters(ag.zeros(5), model.parameters())
