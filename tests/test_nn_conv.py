"""Convolution and pooling: values and gradients against PyTorch (float64), finite-difference
checks to second order, the Conv2d / pooling modules, state dicts in both directions, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import autograd_lite as ag
import autograd_lite.nn.functional as F
from autograd_lite.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(1234)


def _compare(torch, ag_fn, torch_fn, *arrays, atol=1e-10):
    """Run both functions on the same float64 inputs; compare outputs and every input gradient."""
    ours = [ag.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = ag_fn(*ours), torch_fn(*theirs)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=atol, rtol=1e-9)
    seed = RNG.standard_normal(tuple(ref.shape))
    ag.autograd.backward([out], [ag.tensor(seed)])
    ref.backward(torch.tensor(seed))
    for position, (a, t) in enumerate(zip(ours, theirs, strict=True)):
        assert a.grad is not None, f"input {position} got no gradient"
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), atol=atol, rtol=1e-9,
                                   err_msg=f"gradient of input {position}")


# ---------------------------------------------------------------- conv2d against torch
CONV_CASES = [
    # (stride, padding, dilation, groups, kernel)
    (1, 0, 1, 1, (3, 3)),
    (1, 1, 1, 1, (3, 3)),
    (2, 1, 1, 1, (3, 3)),
    (1, 2, 2, 1, (3, 2)),
    (2, 0, 1, 2, (2, 2)),
    (3, (1, 2), (2, 1), 4, (3, 2)),
    ((2, 1), 1, 1, 1, (1, 3)),
    ((1, 2), (0, 1), (1, 2), 2, (2, 2)),
    (1, "same", 1, 1, (3, 3)),
    (1, "same", 2, 2, (2, 3)),
    (1, "valid", 1, 4, (1, 1)),
]


@pytest.mark.parametrize("stride, padding, dilation, groups, kernel", CONV_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_matches_torch(torch, stride, padding, dilation, groups, kernel, bias):
    x = RNG.standard_normal((2, 4, 9, 8))
    w = RNG.standard_normal((8, 4 // groups) + kernel)
    arrays = [x, w] + ([RNG.standard_normal(8)] if bias else [])

    def ours(x, w, b=None):
        return F.conv2d(x, w, b, stride, padding, dilation, groups)

    def theirs(x, w, b=None):
        return torch.nn.functional.conv2d(x, w, b, stride, padding, dilation, groups)

    _compare(torch, ours, theirs, *arrays)


def test_conv2d_unbatched_and_conv1d_match_torch(torch):
    x = RNG.standard_normal((3, 7, 6))
    w = RNG.standard_normal((5, 3, 2, 3))
    _compare(torch, lambda x, w: F.conv2d(x, w, padding=1), lambda x, w: torch.nn.functional.conv2d(x, w, padding=1),
             x, w)
    x1, w1, b1 = RNG.standard_normal((2, 4, 11)), RNG.standard_normal((6, 2, 3)), RNG.standard_normal(6)
    _compare(torch, lambda x, w, b: F.conv1d(x, w, b, 2, 1, 2, 2),
             lambda x, w, b: torch.nn.functional.conv1d(x, w, b, 2, 1, 2, 2), x1, w1, b1)
    _compare(torch, lambda x, w: F.conv1d(x, w, padding="same"),
             lambda x, w: torch.nn.functional.conv1d(x, w, padding="same"), x1, RNG.standard_normal((3, 4, 5)))


def test_conv2d_float32_close_to_torch(torch):
    x = RNG.standard_normal((4, 3, 10, 10)).astype(np.float32)
    w = RNG.standard_normal((6, 3, 3, 3)).astype(np.float32)
    out = F.conv2d(ag.tensor(x), ag.tensor(w), padding=1)
    assert out.dtype == ag.float32
    ref = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), padding=1)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), atol=1e-5)


def test_unfold_and_fold_match_torch(torch):
    x = RNG.standard_normal((2, 3, 9, 8))
    _compare(torch, lambda x: F.unfold(x, (2, 3), 2, 1, (1, 2)),
             lambda x: torch.nn.functional.unfold(x, (2, 3), 2, 1, (1, 2)), x)
    cols = RNG.standard_normal((2, 3 * 6, 20))
    _compare(torch, lambda c: F.fold(c, (9, 8), (2, 3), 1, 1, (2, 2)),
             lambda c: torch.nn.functional.fold(c, (9, 8), (2, 3), 1, 1, (2, 2)), cols)


# ---------------------------------------------------------------- pooling against torch
MAX_POOL_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(3, 2), stride=1, padding=(1, 0), dilation=(1, 2)),
    dict(kernel_size=2, stride=2, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=True),
    dict(kernel_size=2, stride=1),
]


@pytest.mark.parametrize("kwargs", MAX_POOL_CASES)
def test_max_pool2d_matches_torch(torch, kwargs):
    x = RNG.standard_normal((2, 3, 9, 8))
    _compare(torch, lambda x: F.max_pool2d(x, **kwargs), lambda x: torch.nn.functional.max_pool2d(x, **kwargs), x)
    out, idx = F.max_pool2d(ag.tensor(x), return_indices=True, **kwargs)
    ref, ref_idx = torch.nn.functional.max_pool2d(torch.tensor(x), return_indices=True, **kwargs)
    np.testing.assert_array_equal(idx.numpy(), ref_idx.numpy())
    assert idx.dtype == ag.int64


@pytest.mark.parametrize("kwargs", [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1)])
def test_max_pool2d_ties_send_the_gradient_to_one_position_like_torch(torch, kwargs):
    # ReLU outputs are full of ties at 0; PyTorch gives each window's gradient to one maximum
    x = np.maximum(np.round(RNG.standard_normal((2, 2, 6, 6))), 0.0)
    _compare(torch, lambda x: F.max_pool2d(x, **kwargs), lambda x: torch.nn.functional.max_pool2d(x, **kwargs), x)
    _, idx = F.max_pool2d(ag.tensor(x), return_indices=True, **kwargs)
    _, ref_idx = torch.nn.functional.max_pool2d(torch.tensor(x), return_indices=True, **kwargs)
    np.testing.assert_array_equal(idx.numpy(), ref_idx.numpy())


def test_max_pool2d_nan_and_all_minus_inf_windows_match_torch(torch):
    x = RNG.standard_normal((1, 1, 4, 4))
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = np.nan
    x[0, 0, 2:, 2:] = -np.inf
    for kwargs in (dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)):
        out, idx = F.max_pool2d(ag.tensor(x), return_indices=True, **kwargs)
        ref, ref_idx = torch.nn.functional.max_pool2d(torch.tensor(x), return_indices=True, **kwargs)
        np.testing.assert_array_equal(out.numpy(), ref.numpy())
        np.testing.assert_array_equal(idx.numpy(), ref_idx.numpy())


@pytest.mark.parametrize("shape, kernel", [((2, 3, 6, 6), 2), ((1, 2, 7, 8), 3), ((2, 1, 5, 9), (2, 3))])
def test_max_pool2d_gradient_matches_torch_with_ties_nan_and_a_remainder(torch, shape, kernel):
    # non-overlapping windows: ties (rounded values), a NaN window and rows/columns past the
    # last window must all route the gradient as torch does
    x = np.round(RNG.standard_normal(shape))
    _compare(torch, lambda x: F.max_pool2d(x, kernel), lambda x: torch.nn.functional.max_pool2d(x, kernel), x)
    x[0, 0, 0, 0] = np.nan
    ours = ag.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    seed = RNG.standard_normal(tuple(torch.nn.functional.max_pool2d(theirs, kernel).shape))
    F.max_pool2d(ours, kernel).backward(ag.tensor(seed))
    torch.nn.functional.max_pool2d(theirs, kernel).backward(torch.tensor(seed))
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


AVG_POOL_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(3, 2), stride=1, padding=(1, 1)),
    dict(kernel_size=2, stride=2, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=2, stride=1, divisor_override=3),
]


@pytest.mark.parametrize("kwargs", AVG_POOL_CASES)
def test_avg_pool2d_matches_torch(torch, kwargs):
    x = RNG.standard_normal((2, 3, 9, 8))
    _compare(torch, lambda x: F.avg_pool2d(x, **kwargs), lambda x: torch.nn.functional.avg_pool2d(x, **kwargs), x)


@pytest.mark.parametrize("size", [1, (3, 4), (4, 3), (5, 7), (None, 3), 9])
def test_adaptive_avg_pool2d_matches_torch(torch, size):
    x = RNG.standard_normal((2, 3, 9, 8))
    _compare(torch, lambda x: F.adaptive_avg_pool2d(x, size),
             lambda x: torch.nn.functional.adaptive_avg_pool2d(x, size), x)


def test_pool1d_functions_match_torch(torch):
    x = RNG.standard_normal((2, 3, 11))
    tf = torch.nn.functional
    _compare(torch, lambda x: F.max_pool1d(x, 3, 2, 1), lambda x: tf.max_pool1d(x, 3, 2, 1), x)
    _compare(torch, lambda x: F.avg_pool1d(x, 3, 2, 1), lambda x: tf.avg_pool1d(x, 3, 2, 1), x)
    _compare(torch, lambda x: F.adaptive_avg_pool1d(x, 4), lambda x: tf.adaptive_avg_pool1d(x, 4), x)


# ---------------------------------------------------------------- finite differences
def test_gradcheck_conv_and_pools():
    x = ag.tensor(RNG.standard_normal((2, 2, 5, 4)), requires_grad=True)
    w = ag.tensor(RNG.standard_normal((4, 1, 2, 3)), requires_grad=True)
    b = ag.tensor(RNG.standard_normal(4), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=(1, 2), padding=1, groups=2), (x, w, b))
    assert gradcheck(lambda x, w: F.conv2d(x, w, padding="same", dilation=2, groups=2), (x, w))
    assert gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), (x,))
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, (3, 3)), (x,))
    distinct = ag.tensor(RNG.permutation(80).reshape(2, 2, 5, 4) * 0.1, requires_grad=True)
    assert gradcheck(lambda x: F.max_pool2d(x, 2, 1, 1), (distinct,))


def test_gradgradcheck_conv2d_unfold_and_fold():
    x = ag.tensor(RNG.standard_normal((1, 2, 4, 4)), requires_grad=True)
    w = ag.tensor(RNG.standard_normal((2, 2, 2, 2)), requires_grad=True)
    assert gradgradcheck(lambda x, w: F.conv2d(x, w, padding=1), (x, w))
    assert gradgradcheck(lambda x, w: F.conv2d(x, w, stride=2, dilation=(1, 2), padding=(1, 2)), (x, w))
    assert gradgradcheck(lambda x: F.unfold(x, 2, 1, 1, 2) ** 2, (x,))
    cols = ag.tensor(RNG.standard_normal((1, 8, 9)), requires_grad=True)
    assert gradgradcheck(lambda c: F.fold(c, (4, 4), 2, 1, 1, 2) ** 2, (cols,))


def test_second_derivative_of_max_and_avg_pool_is_a_gather():
    x = ag.tensor(RNG.permutation(32).reshape(1, 2, 4, 4) * 0.1, requires_grad=True)
    assert gradgradcheck(lambda x: F.max_pool2d(x, 2) ** 2, (x,))
    assert gradgradcheck(lambda x: F.avg_pool2d(x, 3, 1, 1) ** 2, (x,))


# ---------------------------------------------------------------- modules
def test_conv2d_module_parameters_init_and_repr(torch):
    ag.manual_seed(0)
    conv = ag.nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, groups=2)
    assert [(n, tuple(p.shape)) for n, p in conv.named_parameters()] == [
        ("weight", (6, 2, 3, 2)), ("bias", (6,))]
    bound = 1 / math.sqrt(2 * 3 * 2)  # kaiming_uniform_(a=sqrt(5)) on fan_in = 12
    assert np.abs(conv.weight.detach().numpy()).max() <= bound and np.abs(conv.bias.detach().numpy()).max() <= bound
    assert np.abs(conv.weight.detach().numpy()).max() > 0.5 * bound  # the range is used, not a constant
    reference = torch.nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, groups=2)
    assert repr(conv) == repr(reference)
    assert repr(ag.nn.Conv2d(1, 2, 3, bias=False, dilation=2)) == repr(torch.nn.Conv2d(1, 2, 3, bias=False, dilation=2))
    assert repr(ag.nn.Conv2d(1, 2, 3, padding="same")) == repr(torch.nn.Conv2d(1, 2, 3, padding="same"))
    assert conv(ag.zeros(2, 4, 9, 9)).shape == (2, 6, 5, 5)


def _cnn(lib, bn=True):
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4) if bn else nn.Identity(), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 8, 3, stride=2, padding="valid" if not bn else 1, groups=2), nn.ReLU(),
        nn.AvgPool2d(2, ceil_mode=True), nn.AdaptiveAvgPool2d((2, 2)), nn.Flatten(), nn.Linear(32, 3),
    )


def test_cnn_state_dict_loads_into_torch_and_back(torch):
    ag.manual_seed(3)
    ours = _cnn(ag).to(ag.float64)
    theirs = _cnn(torch).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = RNG.standard_normal((5, 1, 12, 12))
    ours.train()
    ours(ag.tensor(x))  # one training step moves the running statistics
    theirs.load_state_dict({k: torch.from_numpy(np.array(v.numpy())) for k, v in ours.state_dict().items()})
    ours.eval()
    theirs.eval()
    expected = theirs(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(ours(ag.tensor(x)).detach().numpy(), expected, atol=1e-12)
    # torch -> ours, into a fresh model with other weights
    torch.manual_seed(5)
    theirs = _cnn(torch).double()
    theirs.train()
    theirs(torch.tensor(x))
    fresh = _cnn(ag).to(ag.float64)
    fresh.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    fresh.eval()
    theirs.eval()
    expected = theirs(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(fresh(ag.tensor(x)).detach().numpy(), expected, atol=1e-12)


def test_cnn_training_step_matches_torch(torch):
    ours = _cnn(ag, bn=False).to(ag.float64)
    theirs = _cnn(torch, bn=False).double()
    theirs.load_state_dict({k: torch.from_numpy(np.array(v.numpy())) for k, v in ours.state_dict().items()})
    x, y = RNG.standard_normal((6, 1, 12, 12)), RNG.integers(0, 3, 6)
    loss = F.cross_entropy(ours(ag.tensor(x)), ag.tensor(y))
    loss.backward()
    ref = torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y))
    ref.backward()
    assert abs(loss.item() - ref.item()) < 1e-12
    grads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads[name].grad.numpy(), atol=1e-12, err_msg=name)


def test_pooling_modules_repr_and_return_indices(torch):
    assert repr(ag.nn.MaxPool2d(2)) == repr(torch.nn.MaxPool2d(2))
    assert repr(ag.nn.MaxPool2d(3, 2, 1, ceil_mode=True)) == repr(torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True))
    assert repr(ag.nn.AvgPool2d(2)) == repr(torch.nn.AvgPool2d(2))
    assert repr(ag.nn.AdaptiveAvgPool2d((2, 3))) == repr(torch.nn.AdaptiveAvgPool2d((2, 3)))
    out, idx = ag.nn.MaxPool2d(2, return_indices=True)(ag.arange(16.0).reshape(1, 1, 4, 4))
    assert out.tolist() == [[[[5.0, 7.0], [13.0, 15.0]]]]
    assert idx.tolist() == [[[[5, 7], [13, 15]]]]


def test_conv_output_is_usable_in_place_free_chain():
    # the conv output is a cropped view (stride-1 layout); later ops and in-place edits must see values
    x = ag.randn(2, 1, 5, 5, requires_grad=True)
    conv = ag.nn.Conv2d(1, 2, 3, padding=1, bias=False)
    out = conv(x)
    expected = F.conv2d(x.detach(), conv.weight.detach(), padding=1).numpy().copy()
    y = out * 1.0
    y.sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), expected)
    assert x.grad.shape == x.shape


# ---------------------------------------------------------------- errors
def test_conv2d_errors_name_the_problem():
    x = ag.zeros(1, 3, 5, 5)
    with pytest.raises(RuntimeError, match="3 channels.*expects 4"):
        F.conv2d(x, ag.zeros(2, 4, 3, 3))
    with pytest.raises(RuntimeError, match="divisible by groups"):
        F.conv2d(ag.zeros(1, 4, 5, 5), ag.zeros(3, 2, 3, 3), groups=2)
    with pytest.raises(ValueError, match="strided"):
        F.conv2d(x, ag.zeros(2, 3, 3, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match="padding string"):
        F.conv2d(x, ag.zeros(2, 3, 3, 3), padding="full")
    with pytest.raises(RuntimeError, match="smaller than the dilated kernel"):
        F.conv2d(x, ag.zeros(2, 3, 3, 3), dilation=3)
    with pytest.raises(RuntimeError, match="4-D or|3-D or 4-D"):
        F.conv2d(ag.zeros(5, 5), ag.zeros(2, 3, 3, 3))
    with pytest.raises(RuntimeError, match="dtype"):
        F.conv2d(x.double(), ag.zeros(2, 3, 3, 3))
    with pytest.raises(RuntimeError, match="bias must have shape"):
        F.conv2d(x, ag.zeros(2, 3, 3, 3), ag.zeros(3))
    with pytest.raises(ValueError, match="half of effective kernel"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match="divisible by groups"):
        ag.nn.Conv2d(3, 4, 3, groups=2)


def test_max_pool_window_of_padding_only_matches_torch_forward_and_sends_no_gradient(torch):
    # dilation 2 with padding 1 on a width-1 image: the window (-1, 1) holds only padding
    x = RNG.standard_normal((1, 2, 3, 1))
    kwargs = dict(kernel_size=(1, 2), stride=1, padding=(0, 1), dilation=(1, 2))
    xa = ag.tensor(x, requires_grad=True)
    out = F.max_pool2d(xa, **kwargs)
    ref = torch.nn.functional.max_pool2d(torch.tensor(x), **kwargs)
    np.testing.assert_array_equal(out.detach().numpy(), ref.numpy())
    assert np.isneginf(out.detach().numpy()).all()
    out.sum().backward()
    assert np.array_equal(xa.grad.numpy(), np.zeros_like(x))  # -inf outputs are constants


def test_conv1d_module_matches_torch_both_ways(torch):
    ours = ag.nn.Conv1d(4, 6, 3, stride=2, padding=1, groups=2).to(ag.float64)
    theirs = torch.nn.Conv1d(4, 6, 3, stride=2, padding=1, groups=2).double()
    assert repr(ours) == repr(theirs)
    theirs.load_state_dict({k: torch.from_numpy(np.array(v.numpy())) for k, v in ours.state_dict().items()})
    x = RNG.standard_normal((3, 4, 9))
    np.testing.assert_allclose(ours(ag.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               atol=1e-12)
    same = ag.nn.Conv1d(4, 4, 4, padding="same").to(ag.float64)
    reference = torch.nn.Conv1d(4, 4, 4, padding="same").double()
    same.load_state_dict({k: v.detach().numpy() for k, v in reference.state_dict().items()})
    with pytest.warns(UserWarning):  # torch warns about the asymmetric 'same' padding
        expected = reference(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(same(ag.tensor(x)).detach().numpy(), expected, atol=1e-12)
