"""Learning-rate schedulers: the lr sequence equals torch's exactly, plus state and validation."""

from __future__ import annotations

import math
import warnings

import pytest

import autograd_lite as ag
from autograd_lite.optim import lr_scheduler as sched

EPOCHS = 30
BASE_LRS = (0.1, 0.03)


def _ag_optimizer():
    a = ag.tensor([1.0], requires_grad=True)
    b = ag.tensor([1.0], requires_grad=True)
    return ag.optim.SGD([{"params": [a]}, {"params": [b], "lr": BASE_LRS[1]}], lr=BASE_LRS[0], momentum=0.9)


def _torch_optimizer(torch):
    a = torch.tensor([1.0], requires_grad=True)
    b = torch.tensor([1.0], requires_grad=True)
    groups = [{"params": [a]}, {"params": [b], "lr": BASE_LRS[1]}]
    return torch.optim.SGD(groups, lr=BASE_LRS[0], momentum=0.9)


def _sequence(opt, scheduler, epochs=EPOCHS, metrics=None):
    lrs = [[g["lr"] for g in opt.param_groups]]
    for epoch in range(epochs):
        opt.step()
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[epoch])
        lrs.append([g["lr"] for g in opt.param_groups])
        assert scheduler.get_last_lr() == lrs[-1]
    return lrs


def _lambda(epoch):
    return 0.95**epoch if epoch % 7 else 1.0 / (epoch + 1)


SCHEDULERS = {
    "StepLR": lambda m, opt: m.StepLR(opt, step_size=4, gamma=0.5),
    "MultiStepLR": lambda m, opt: m.MultiStepLR(opt, milestones=[3, 8, 8, 20], gamma=0.3),
    "ExponentialLR": lambda m, opt: m.ExponentialLR(opt, gamma=0.87),
    "CosineAnnealingLR": lambda m, opt: m.CosineAnnealingLR(opt, T_max=9, eta_min=0.001),
    "CosineAnnealingLR-no-min": lambda m, opt: m.CosineAnnealingLR(opt, T_max=10),
    "LambdaLR": lambda m, opt: m.LambdaLR(opt, lr_lambda=_lambda),
    "LambdaLR-per-group": lambda m, opt: m.LambdaLR(opt, lr_lambda=[_lambda, lambda e: 1.0 + e]),
}


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_lr_sequence_equals_torch(torch, name):
    opt = _ag_optimizer()
    ours = _sequence(opt, SCHEDULERS[name](sched, opt))
    topt = _torch_optimizer(torch)
    theirs = _sequence(topt, SCHEDULERS[name](torch.optim.lr_scheduler, topt))
    assert ours == theirs  # exact: the same float operations in the same order
    assert len({tuple(lr) for lr in ours}) > 2  # the schedule actually changes the rate


def test_cosine_annealing_follows_the_closed_form():
    opt = _ag_optimizer()
    scheduler = sched.CosineAnnealingLR(opt, T_max=12, eta_min=0.002)
    for epoch, lrs in enumerate(_sequence(opt, scheduler, epochs=12)):
        expected = 0.002 + (0.1 - 0.002) * (1 + math.cos(math.pi * epoch / 12)) / 2
        assert lrs[0] == pytest.approx(expected, rel=1e-12, abs=1e-15)


METRICS = [1.0, 0.9, 0.95, 0.95, 0.96, 0.97, 0.85, 0.8501, 0.86, 0.87, 0.88, 0.89, 0.7, 0.7, 0.7,
           0.71, 0.72, 0.73, 0.74, 0.75, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]

PLATEAU = [
    dict(),
    dict(patience=1),
    dict(patience=0, factor=0.5, cooldown=2),
    dict(patience=1, threshold=0.05, threshold_mode="abs"),
    dict(patience=2, threshold=0.02, threshold_mode="rel", min_lr=0.01),
    dict(patience=1, min_lr=[0.02, 0.005], factor=0.2),
    dict(mode="max", patience=1, factor=0.5),
    dict(mode="max", patience=0, threshold_mode="abs", threshold=0.01, cooldown=1),
]


@pytest.mark.parametrize("kwargs", PLATEAU, ids=[str(k) for k in PLATEAU])
def test_reduce_on_plateau_equals_torch(torch, kwargs):
    opt = _ag_optimizer()
    ours = _sequence(opt, sched.ReduceLROnPlateau(opt, **kwargs), metrics=METRICS)
    topt = _torch_optimizer(torch)
    theirs = _sequence(topt, torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kwargs), metrics=METRICS)
    assert ours == theirs


def test_reduce_on_plateau_reduces_after_patience_by_hand():
    opt = _ag_optimizer()
    scheduler = sched.ReduceLROnPlateau(opt, patience=2, factor=0.5)
    for metric in [1.0, 1.0, 1.0]:  # the first sets the best; two bad epochs are tolerated
        scheduler.step(metric)
    assert opt.param_groups[0]["lr"] == 0.1
    scheduler.step(ag.tensor(1.0))  # the third bad epoch (a tensor metric works too)
    assert opt.param_groups[0]["lr"] == 0.05 and opt.param_groups[1]["lr"] == 0.015


def test_scheduler_state_dict_round_trip(tmp_path):
    opt = _ag_optimizer()
    scheduler = sched.MultiStepLR(opt, milestones=[2, 5], gamma=0.5)
    for _ in range(3):
        opt.step()
        scheduler.step()
    path = tmp_path / "sched.pt"
    ag.save({"optimizer": opt.state_dict(), "scheduler": scheduler.state_dict()}, path)
    checkpoint = ag.load(path)

    opt2 = _ag_optimizer()
    scheduler2 = sched.MultiStepLR(opt2, milestones=[100], gamma=0.9)
    opt2.load_state_dict(checkpoint["optimizer"])
    scheduler2.load_state_dict(checkpoint["scheduler"])
    assert scheduler2.last_epoch == 3 and scheduler2.get_last_lr() == scheduler.get_last_lr()
    for _ in range(4):
        for o, s in ((opt, scheduler), (opt2, scheduler2)):
            o.step()
            s.step()
        assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in opt2.param_groups]
    assert opt2.param_groups[0]["lr"] == 0.1 * 0.25


def test_resume_with_last_epoch_needs_initial_lr():
    opt = _ag_optimizer()
    with pytest.raises(KeyError, match="initial_lr"):
        sched.StepLR(opt, step_size=2, last_epoch=4)
    sched.StepLR(opt, step_size=2)
    assert opt.param_groups[0]["initial_lr"] == 0.1
    resumed = sched.StepLR(opt, step_size=2, gamma=0.5, last_epoch=4)
    assert resumed.last_epoch == 5


def test_step_with_epoch_uses_closed_form_and_warns():
    opt = _ag_optimizer()
    scheduler = sched.ExponentialLR(opt, gamma=0.5)
    with pytest.warns(UserWarning, match="deprecated"):
        scheduler.step(3)
    assert opt.param_groups[0]["lr"] == 0.1 * 0.5**3


def test_lambda_state_dict_keeps_callable_objects_state():
    class Warmup:
        def __init__(self, steps):
            self.steps = steps

        def __call__(self, epoch):
            return min(1.0, (epoch + 1) / self.steps)

    opt = _ag_optimizer()
    scheduler = sched.LambdaLR(opt, lr_lambda=[Warmup(4), lambda e: 1.0])
    state = scheduler.state_dict()
    assert state["lr_lambdas"] == [{"steps": 4}, None]
    other = sched.LambdaLR(_ag_optimizer(), lr_lambda=[Warmup(10), lambda e: 1.0])
    other.load_state_dict(state)
    assert other.lr_lambdas[0].steps == 4


@pytest.mark.parametrize(
    "factory,error,match",
    [
        (lambda opt: sched.StepLR(opt, step_size=0), ValueError, "step_size"),
        (lambda opt: sched.CosineAnnealingLR(opt, T_max=0), ValueError, "T_max"),
        (lambda opt: sched.MultiStepLR(opt, milestones=[1.5]), ValueError, "milestones"),
        (lambda opt: sched.LambdaLR(opt, lr_lambda=[lambda e: 1.0]), ValueError, "2 lr_lambdas"),
        (lambda opt: sched.ReduceLROnPlateau(opt, factor=1.0), ValueError, "factor"),
        (lambda opt: sched.ReduceLROnPlateau(opt, mode="up"), ValueError, "mode"),
        (lambda opt: sched.ReduceLROnPlateau(opt, threshold_mode="x"), ValueError, "threshold_mode"),
        (lambda opt: sched.ReduceLROnPlateau(opt, min_lr=[0.1]), ValueError, "min_lr"),
        (lambda opt: sched.StepLR(object(), step_size=1), TypeError, "Optimizer"),
    ],
)
def test_invalid_scheduler_arguments(factory, error, match):
    opt = _ag_optimizer()
    with pytest.raises(error, match=match):
        factory(opt)
    assert opt.param_groups[0]["lr"] == 0.1


def test_no_warnings_in_normal_use():
    opt = _ag_optimizer()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scheduler = sched.StepLR(opt, step_size=1)
        opt.step()
        scheduler.step()
