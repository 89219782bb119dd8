"""Losses (functional and modules) against PyTorch: values and gradients, every reduction."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_lite as ag
import autograd_lite.nn.functional as F
from autograd_lite import nn

REDUCTIONS = ["mean", "sum", "none"]
TOL = {"rtol": 1e-12, "atol": 1e-12}


def _pair(torch, array, requires_grad=True):
    """The same float64 values as an ag tensor and a torch tensor (both leaves)."""
    array = np.array(array, dtype=np.float64)
    a = ag.tensor(array, requires_grad=requires_grad)
    t = torch.tensor(array, requires_grad=requires_grad)
    return a, t


def _check(ours, theirs, leaves):
    """Compare values, then the gradients of sum(out * r) w.r.t. every (ag, torch) leaf pair."""
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **TOL)
    direction = np.random.default_rng(1).standard_normal(theirs.shape)
    (ours * ag.tensor(direction)).sum().backward()
    (theirs * theirs.new_tensor(direction)).sum().backward()
    for a, t in leaves:
        assert a.grad is not None, "no gradient reached an input"
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), **TOL)


# ---------------------------------------------------------------- regression losses
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("mse_loss", {}),
        ("l1_loss", {}),
        ("huber_loss", {"delta": 1.0}),
        ("huber_loss", {"delta": 0.3}),
        ("smooth_l1_loss", {"beta": 1.0}),
        ("smooth_l1_loss", {"beta": 0.4}),
        ("smooth_l1_loss", {"beta": 0.0}),
    ],
)
def test_regression_losses_match_torch(torch, name, kwargs, reduction):
    rng = np.random.default_rng(0)
    x, tx = _pair(torch, rng.standard_normal((4, 5)) * 2)
    y, ty = _pair(torch, rng.standard_normal((4, 5)))
    ours = getattr(F, name)(x, y, reduction=reduction, **kwargs)
    theirs = getattr(torch.nn.functional, name)(tx, ty, reduction=reduction, **kwargs)
    _check(ours, theirs, [(x, tx), (y, ty)])


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_elementwise_weight_matches_torch(torch, name):
    rng = np.random.default_rng(2)
    x, tx = _pair(torch, rng.standard_normal((3, 4)))
    y, ty = _pair(torch, rng.standard_normal((3, 4)), requires_grad=False)
    w = rng.uniform(0.1, 2.0, (3, 4))
    ours = getattr(F, name)(x, y, weight=ag.tensor(w))
    theirs = getattr(torch.nn.functional, name)(tx, ty, weight=torch.tensor(w))
    _check(ours, theirs, [(x, tx)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "module, kwargs",
    [("MSELoss", {}), ("L1Loss", {}), ("HuberLoss", {"delta": 0.5}), ("SmoothL1Loss", {"beta": 0.5})],
)
def test_regression_loss_modules_match_torch(torch, module, kwargs, reduction):
    rng = np.random.default_rng(3)
    x, tx = _pair(torch, rng.standard_normal(7))
    y, ty = _pair(torch, rng.standard_normal(7), requires_grad=False)
    ours = getattr(nn, module)(reduction=reduction, **kwargs)
    theirs = getattr(torch.nn, module)(reduction=reduction, **kwargs)
    assert repr(ours) == repr(theirs)
    _check(ours(x, y), theirs(tx, ty), [(x, tx)])


def test_legacy_size_average_and_reduce_arguments(torch):
    x, tx = _pair(torch, [1.0, -2.0, 3.0])
    y, ty = _pair(torch, [0.0, 0.0, 0.0], requires_grad=False)
    for size_average, reduce in [(False, None), (None, False), (True, True)]:
        ours = nn.MSELoss(size_average, reduce)(x, y)
        with pytest.warns(UserWarning):
            theirs = torch.nn.MSELoss(size_average, reduce)(tx, ty)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **TOL)


# ---------------------------------------------------------------- cross-entropy and NLL
def _logits_and_targets(rng, shape, ignore=False):
    n_classes = shape[1] if len(shape) > 1 else shape[0]
    logits = rng.standard_normal(shape) * 3
    target_shape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    labels = rng.integers(0, n_classes, size=target_shape)
    if ignore and labels.ndim:
        labels.reshape(-1)[::3] = 1  # ignore_index=1 below: some targets are ignored
    return logits, labels, n_classes


CE_SHAPES = [(6, 4), (3, 4, 2, 3), (5,)]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", CE_SHAPES, ids=str)
@pytest.mark.parametrize("use_weight", [False, True])
@pytest.mark.parametrize("ignore", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
def test_cross_entropy_class_indices_match_torch(
    torch, reduction, shape, use_weight, ignore, label_smoothing
):
    rng = np.random.default_rng(4)
    logits, labels, n_classes = _logits_and_targets(rng, shape, ignore)
    x, tx = _pair(torch, logits)
    weight = rng.uniform(0.2, 2.0, n_classes) if use_weight else None
    kwargs = {"reduction": reduction, "label_smoothing": label_smoothing}
    if ignore:
        kwargs["ignore_index"] = 1
    ours = F.cross_entropy(
        x, ag.tensor(labels), weight=None if weight is None else ag.tensor(weight), **kwargs
    )
    theirs = torch.nn.functional.cross_entropy(
        tx, torch.from_numpy(labels), weight=None if weight is None else torch.tensor(weight), **kwargs
    )
    _check(ours, theirs, [(x, tx)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(6, 4), (2, 4, 3)], ids=str)
@pytest.mark.parametrize("use_weight", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_cross_entropy_probability_targets_match_torch(torch, reduction, shape, use_weight, label_smoothing):
    rng = np.random.default_rng(5)
    logits = rng.standard_normal(shape) * 2
    probs = rng.dirichlet(np.ones(shape[1]), size=(shape[0],) + shape[2:])
    probs = np.moveaxis(probs, -1, 1)
    x, tx = _pair(torch, logits)
    p, tp = _pair(torch, probs)
    weight = rng.uniform(0.2, 2.0, shape[1]) if use_weight else None
    ours = F.cross_entropy(
        x,
        p,
        weight=None if weight is None else ag.tensor(weight),
        reduction=reduction,
        label_smoothing=label_smoothing,
    )
    theirs = torch.nn.functional.cross_entropy(
        tx,
        tp,
        weight=None if weight is None else torch.tensor(weight),
        reduction=reduction,
        label_smoothing=label_smoothing,
    )
    _check(ours, theirs, [(x, tx), (p, tp)])


def test_cross_entropy_is_stable_for_huge_logits(torch):
    logits = np.array([[1000.0, -1000.0, 0.0], [-5e4, 5e4, 1.0]])
    x, tx = _pair(torch, logits)
    labels = np.array([1, 0])
    ours = F.cross_entropy(x, ag.tensor(labels))
    theirs = torch.nn.functional.cross_entropy(tx, torch.from_numpy(labels))
    assert np.isfinite(ours.item())
    _check(ours, theirs, [(x, tx)])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_many_rows_of_few_classes_match_torch(torch, dtype, reduction):
    # 40 rows of 10 classes take the transposed-copy row max; one row holds a NaN, one -inf
    # and one huge logits, so that path must propagate and shift exactly like the plain max.
    rng = np.random.default_rng(11)
    logits = rng.standard_normal((40, 10)) * 3
    logits[3, 4] = np.nan
    logits[5, 2] = -np.inf
    logits[7] += 1e4
    labels = rng.integers(0, 10, 40)
    x = ag.tensor(logits.astype(dtype), requires_grad=True)
    tx = torch.tensor(logits.astype(dtype), requires_grad=True)
    ours = F.cross_entropy(x, ag.tensor(labels), reduction=reduction)
    theirs = torch.nn.functional.cross_entropy(tx, torch.from_numpy(labels), reduction=reduction)
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == "float32" else TOL
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **tol)
    direction = rng.standard_normal(tuple(theirs.shape))
    (ours * ag.tensor(direction.astype(dtype))).sum().backward()
    (theirs * torch.tensor(direction.astype(dtype))).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **tol)
    assert np.isnan(x.grad.numpy()[3]).all() and np.isfinite(x.grad.numpy()[5]).all()


def test_cross_entropy_backward_reuses_the_forward_softmax_once():
    # The first backward takes the softmax the forward kept; a second one (retain_graph)
    # finds it gone and recomputes it: both must give (softmax - onehot) * 2 / N.
    rng = np.random.default_rng(12)
    x = ag.tensor(rng.standard_normal((20, 5)), requires_grad=True)
    labels = rng.integers(0, 5, 20)
    loss = F.cross_entropy(x * 2.0, ag.tensor(labels))
    logits = x.detach().numpy() * 2.0
    softmax = np.exp(logits - logits.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    expected = (softmax - np.eye(5)[labels]) * 2.0 / 20
    loss.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12, atol=1e-15)
    x.grad = None
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", ["int8", "int32", "int64", "uint8"])
def test_cross_entropy_checks_targets_of_every_integer_dtype(torch, dtype):
    x = ag.randn(3, 4)
    bad = -1 if dtype[0] == "i" else 4
    with pytest.raises(IndexError, match="out of bounds for 4 classes"):
        F.cross_entropy(x, ag.tensor(np.array([0, bad, 1], dtype=dtype)))
    labels = np.array([0, 3, 1], dtype=dtype)
    ours = F.cross_entropy(x, ag.tensor(labels))
    theirs = torch.nn.functional.cross_entropy(torch.from_numpy(x.numpy()), torch.from_numpy(labels.astype(np.int64)))
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", CE_SHAPES, ids=str)
@pytest.mark.parametrize("use_weight", [False, True])
def test_nll_loss_matches_torch(torch, reduction, shape, use_weight):
    rng = np.random.default_rng(6)
    logits, labels, n_classes = _logits_and_targets(rng, shape, ignore=True)
    x, tx = _pair(torch, logits)
    weight = rng.uniform(0.2, 2.0, n_classes) if use_weight else None
    ours = F.nll_loss(
        F.log_softmax(x, dim=0 if x.ndim == 1 else 1),
        ag.tensor(labels),
        weight=None if weight is None else ag.tensor(weight),
        ignore_index=1,
        reduction=reduction,
    )
    theirs = torch.nn.functional.nll_loss(
        torch.log_softmax(tx, dim=0 if tx.ndim == 1 else 1),
        torch.from_numpy(labels),
        weight=None if weight is None else torch.tensor(weight),
        ignore_index=1,
        reduction=reduction,
    )
    _check(ours, theirs, [(x, tx)])


def test_mean_over_only_ignored_targets_is_nan_like_torch(torch):
    x, tx = _pair(torch, [[0.1, 0.2], [0.3, 0.4]])
    labels = np.array([-100, -100])
    ours = F.cross_entropy(x, ag.tensor(labels))
    theirs = torch.nn.functional.cross_entropy(tx, torch.from_numpy(labels))
    assert np.isnan(ours.item()) and np.isnan(theirs.item())


def test_cross_entropy_module_registers_weight_buffer_and_matches(torch):
    w = np.array([0.5, 1.0, 2.0])
    ours = nn.CrossEntropyLoss(weight=ag.tensor(w), ignore_index=0, label_smoothing=0.1)
    theirs = torch.nn.CrossEntropyLoss(weight=torch.tensor(w), ignore_index=0, label_smoothing=0.1)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    assert repr(ours) == repr(theirs) == "CrossEntropyLoss()"
    rng = np.random.default_rng(7)
    x, tx = _pair(torch, rng.standard_normal((5, 3)))
    labels = np.array([0, 1, 2, 2, 1])
    _check(ours(x, ag.tensor(labels)), theirs(tx, torch.from_numpy(labels)), [(x, tx)])
    assert nn.NLLLoss().state_dict() == {}


def test_cross_entropy_bad_inputs_raise_clear_errors():
    x = ag.randn(3, 4)
    with pytest.raises(IndexError, match="out of bounds for 4 classes"):
        F.cross_entropy(x, ag.tensor([0, 4, 1]))
    with pytest.raises(RuntimeError, match=r"expected target shape \(3,\)"):
        F.cross_entropy(x, ag.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="integer class indices"):
        F.cross_entropy(x, ag.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.cross_entropy(x, ag.tensor([0, 1, 2]), reduction="avg")
    with pytest.raises(RuntimeError, match="weight of shape"):
        F.cross_entropy(x, ag.tensor([0, 1, 2]), weight=ag.ones(3))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        nn.MSELoss(reduction="total")


# ---------------------------------------------------------------- binary cross-entropy
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("use_weight", [False, True])
def test_bce_matches_torch(torch, reduction, use_weight):
    rng = np.random.default_rng(8)
    x, tx = _pair(torch, rng.uniform(0.02, 0.98, (4, 3)))
    y, ty = _pair(torch, rng.uniform(0, 1, (4, 3)))
    weight = rng.uniform(0.5, 2.0, (3,)) if use_weight else None
    ours = F.binary_cross_entropy(
        x, y, weight=None if weight is None else ag.tensor(weight), reduction=reduction
    )
    theirs = torch.nn.functional.binary_cross_entropy(
        tx, ty, weight=None if weight is None else torch.tensor(weight), reduction=reduction
    )
    _check(ours, theirs, [(x, tx), (y, ty)])


def test_bce_at_exact_zero_and_one_is_finite_like_torch(torch):
    x, tx = _pair(torch, [0.0, 1.0, 0.0, 1.0, 0.5])
    y, ty = _pair(torch, [1.0, 0.0, 0.0, 1.0, 0.3], requires_grad=False)
    ours = F.binary_cross_entropy(x, y, reduction="none")
    theirs = torch.nn.functional.binary_cross_entropy(tx, ty, reduction="none")
    assert ours[0].item() == 100.0  # the log is clamped at -100
    _check(ours, theirs, [(x, tx)])
    assert np.isfinite(x.grad.numpy()).all()


def test_bce_module_and_errors(torch):
    assert repr(nn.BCELoss()) == repr(torch.nn.BCELoss())
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(ag.tensor([1.5]), ag.tensor([1.0]))
    with pytest.raises(ValueError, match="different to the input size"):
        F.binary_cross_entropy(ag.tensor([0.5, 0.5]), ag.tensor([1.0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("use_weight", [False, True])
@pytest.mark.parametrize("use_pos_weight", [False, True])
def test_bce_with_logits_matches_torch(torch, reduction, use_weight, use_pos_weight):
    rng = np.random.default_rng(9)
    logits = rng.standard_normal((4, 3)) * 3
    logits[0] = [800.0, -800.0, 40.0]  # huge logits: exp would overflow in a naive formula
    logits[1] = [-60.0, 1e4, -1e4]
    x, tx = _pair(torch, logits)
    y, ty = _pair(torch, rng.uniform(0, 1, (4, 3)))
    weight = rng.uniform(0.5, 2.0, (4, 1)) if use_weight else None
    pos_weight = rng.uniform(0.5, 3.0, (3,)) if use_pos_weight else None
    ours = F.binary_cross_entropy_with_logits(
        x,
        y,
        weight=None if weight is None else ag.tensor(weight),
        reduction=reduction,
        pos_weight=None if pos_weight is None else ag.tensor(pos_weight),
    )
    theirs = torch.nn.functional.binary_cross_entropy_with_logits(
        tx,
        ty,
        weight=None if weight is None else torch.tensor(weight),
        reduction=reduction,
        pos_weight=None if pos_weight is None else torch.tensor(pos_weight),
    )
    assert np.isfinite(ours.detach().numpy()).all()
    _check(ours, theirs, [(x, tx), (y, ty)])


def test_bce_with_logits_module_buffers(torch):
    pw = np.array([1.0, 2.0])
    ours = nn.BCEWithLogitsLoss(pos_weight=ag.tensor(pw))
    theirs = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pw))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["pos_weight"]
    x, tx = _pair(torch, [[0.3, -2.0], [50.0, -50.0]])
    y, ty = _pair(torch, [[1.0, 0.0], [0.0, 1.0]], requires_grad=False)
    _check(ours(x, y), theirs(tx, ty), [(x, tx)])


def test_bce_float32_saturated_sigmoid_trains_without_nan():
    # sigmoid(20) is exactly 1.0 in float32: BCE must still give finite loss and gradient
    z = ag.tensor([20.0, -20.0, 0.0], requires_grad=True)
    loss = F.binary_cross_entropy(z.sigmoid(), ag.tensor([0.0, 1.0, 1.0]))
    loss.backward()
    assert np.isfinite(loss.item())
    assert np.isfinite(z.grad.numpy()).all()


# ---------------------------------------------------------------- gradcheck of the composites
def _gradcheck(fn, *arrays):
    inputs = [ag.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    assert ag.autograd.gradcheck(fn, inputs)
    assert ag.autograd.gradgradcheck(fn, inputs)


def test_losses_pass_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((3, 4))
    y = rng.standard_normal((3, 4)) + 3.0  # |x - y| stays away from the kinks
    labels = ag.tensor([0, 3, 1])
    w = ag.tensor([0.5, 1.0, 1.5, 2.0], dtype=ag.float64)
    probs = rng.dirichlet(np.ones(4), size=3)
    _gradcheck(lambda a, b: F.mse_loss(a, b), x, y)
    _gradcheck(lambda a, b: F.l1_loss(a, b, reduction="sum"), x, y)
    _gradcheck(lambda a, b: F.huber_loss(a, b, delta=5.0), x, y)
    _gradcheck(lambda a, b: F.smooth_l1_loss(a, b, beta=0.5), x, y)
    _gradcheck(lambda a: F.cross_entropy(a, labels, weight=w, label_smoothing=0.2), x)
    _gradcheck(lambda a, p: F.cross_entropy(a, p, reduction="sum"), x, probs)
    _gradcheck(lambda a: F.nll_loss(F.log_softmax(a, 1), labels, reduction="none"), x)
    _gradcheck(
        lambda a, b: F.binary_cross_entropy(a, b), rng.uniform(0.1, 0.9, (2, 3)), rng.uniform(0, 1, (2, 3))
    )
    _gradcheck(
        lambda a, b: F.binary_cross_entropy_with_logits(a, b, pos_weight=ag.tensor([2.0, 0.5, 1.0])),
        rng.standard_normal((2, 3)),
        rng.uniform(0, 1, (2, 3)),
    )
