"""Optimizers: parity with torch.optim (20 float64 steps to 1e-10), state dicts, validation, mechanics."""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest

import autograd_lite as ag

STEPS = 20
SHAPES = [(3, 4), (4,), (4, 2), ()]  # a tiny MLP: W1, b1, W2 and a 0-d output bias


def _problem(seed: int = 0):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=s) for s in SHAPES]
    x = rng.normal(size=(5, 3))
    y = rng.normal(size=(5, 2))
    return weights, x, y


def _ag_params(weights):
    return [ag.tensor(w.copy(), dtype=ag.float64, requires_grad=True) for w in weights]


def _ag_loss(params, x, y):
    w1, b1, w2, b2 = params[:4]
    out = (ag.tensor(x, dtype=ag.float64) @ w1 + b1).tanh() @ w2 + b2
    return ((out - ag.tensor(y, dtype=ag.float64)) ** 2).mean()


def _torch_loss(torch, params, x, y):
    w1, b1, w2, b2 = params[:4]
    out = torch.tanh(torch.from_numpy(x) @ w1 + b1) @ w2 + b2
    return ((out - torch.from_numpy(y)) ** 2).mean()


def _run_ag(cls, kwargs, weights, x, y, steps=STEPS, groups=None, unused=False):
    params = _ag_params(weights)
    if unused:  # a parameter that never gets a gradient must be skipped
        params.append(ag.tensor([1.0, 2.0], dtype=ag.float64, requires_grad=True))
    opt = cls(groups(params) if groups else params, **kwargs)
    for _ in range(steps):
        opt.zero_grad()
        _ag_loss(params, x, y).backward()
        opt.step()
    return [p.detach().numpy() for p in params], opt


def _run_torch(torch, cls, kwargs, weights, x, y, steps=STEPS, groups=None, unused=False):
    params = [torch.tensor(w.copy(), dtype=torch.float64, requires_grad=True) for w in weights]
    if unused:
        params.append(torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True))
    opt = cls(groups(params) if groups else params, **kwargs)
    for _ in range(steps):
        opt.zero_grad()
        _torch_loss(torch, params, x, y).backward()
        opt.step()
    return [p.detach().numpy() for p in params], opt


def _assert_same_trajectory(ours, theirs, label):
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        assert a.shape == b.shape and a.dtype == b.dtype == np.float64, label
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10, err_msg=f"{label}: parameter {i}")


def _sgd_configs():
    configs = []
    for momentum, dampening, nesterov, weight_decay, maximize in itertools.product(
        [0.0, 0.9], [0.0, 0.3], [False, True], [0.0, 0.05], [False, True]
    ):
        if nesterov and (momentum == 0 or dampening != 0):
            continue
        if momentum == 0 and dampening != 0:
            continue  # dampening only acts on the momentum buffer
        configs.append(dict(lr=0.05 if maximize else 0.1, momentum=momentum, dampening=dampening,
                            nesterov=nesterov, weight_decay=weight_decay, maximize=maximize))
    return configs


def _adam_configs():
    return [
        dict(lr=0.05, betas=betas, weight_decay=wd, amsgrad=amsgrad, maximize=maximize)
        for betas, wd, amsgrad, maximize in itertools.product(
            [(0.9, 0.999), (0.3, 0.7)], [0.0, 0.1], [False, True], [False, True]
        )
    ]


def _rmsprop_configs():
    return [
        dict(lr=0.01, alpha=alpha, momentum=momentum, centered=centered, weight_decay=wd, maximize=maximize)
        for alpha, momentum, centered, wd, maximize in itertools.product(
            [0.99, 0.4], [0.0, 0.5], [False, True], [0.0, 0.1], [False, True]
        )
        if not (maximize and alpha == 0.4)
    ]


def _adagrad_configs():
    return [
        dict(lr=0.1, lr_decay=lr_decay, weight_decay=wd, initial_accumulator_value=init, maximize=maximize)
        for lr_decay, wd, init, maximize in itertools.product(
            [0.0, 0.01], [0.0, 0.1], [0.0, 0.1], [False, True]
        )
    ]


PARITY_CASES = (
    [("SGD", c) for c in _sgd_configs()]
    + [("Adam", c) for c in _adam_configs()]
    + [("AdamW", {**c}) for c in _adam_configs() if c["weight_decay"] != 0 or c["amsgrad"]]
    + [("RMSprop", c) for c in _rmsprop_configs()]
    + [("Adagrad", c) for c in _adagrad_configs()]
)


@pytest.mark.parametrize(
    "name,kwargs", PARITY_CASES,
    ids=[f"{n}-{'-'.join(f'{k}={v}' for k, v in c.items())}" for n, c in PARITY_CASES],
)
def test_parity_with_torch(torch, name, kwargs):
    weights, x, y = _problem()
    ours, _ = _run_ag(getattr(ag.optim, name), kwargs, weights, x, y, unused=True)
    theirs, _ = _run_torch(torch, getattr(torch.optim, name), kwargs, weights, x, y, unused=True)
    # the parameters moved (so the comparison is not trivially true) ...
    assert max(np.abs(a - w).max() for a, w in zip(ours, weights, strict=False)) > 1e-3
    # ... the unused one did not, and both libraries agree on every parameter
    np.testing.assert_array_equal(ours[-1], [1.0, 2.0])
    _assert_same_trajectory(ours, theirs, f"{name}({kwargs})")


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_parity_with_param_groups(torch, name):
    """Per-group hyperparameters override the defaults, as in torch."""
    weights, x, y = _problem(1)
    extra = {"SGD": {"momentum": 0.9}, "RMSprop": {"momentum": 0.2}}.get(name, {})

    def groups(params):
        return [{"params": params[:2]}, {"params": params[2:], "lr": 0.003, "weight_decay": 0.2}]

    ours, opt = _run_ag(getattr(ag.optim, name), {"lr": 0.02, **extra}, weights, x, y, groups=groups)
    theirs, topt = _run_torch(torch, getattr(torch.optim, name), {"lr": 0.02, **extra}, weights, x, y,
                              groups=groups)
    _assert_same_trajectory(ours, theirs, name)
    assert opt.param_groups[1]["lr"] == 0.003 and opt.param_groups[0]["weight_decay"] == topt.param_groups[0][
        "weight_decay"]


def test_sgd_one_step_by_hand():
    w = ag.tensor([1.0, -2.0, 0.5], dtype=ag.float64, requires_grad=True)
    opt = ag.optim.SGD([w], lr=0.1)
    (w * w).sum().backward()  # gradient 2w
    opt.step()
    np.testing.assert_allclose(w.detach().numpy(), [1.0 - 0.2, -2.0 + 0.4, 0.5 - 0.1], rtol=0, atol=1e-15)


def test_sgd_momentum_by_hand():
    """b1 = g1; b2 = mu b1 + g2; theta2 = theta1 - lr b2, with the gradient of 0.5 w^2 being w."""
    w = ag.tensor([2.0], dtype=ag.float64, requires_grad=True)
    opt = ag.optim.SGD([w], lr=0.5, momentum=0.5)
    for _ in range(2):
        opt.zero_grad()
        (0.5 * w * w).sum().backward()
        opt.step()
    # step 1: g=2, b=2, w=1; step 2: g=1, b=0.5*2+1=2, w=1-0.5*2=0
    assert w.item() == 0.0
    np.testing.assert_array_equal(opt.state[w]["momentum_buffer"].numpy(), [2.0])


def test_float32_parameters_stay_float32(torch):
    weights, x, y = _problem(2)
    p32 = [ag.tensor(w, dtype=ag.float32, requires_grad=True) for w in weights]
    t32 = [torch.tensor(w, dtype=torch.float32, requires_grad=True) for w in weights]
    opt = ag.optim.Adam(p32, lr=0.01, weight_decay=0.1)
    topt = torch.optim.Adam(t32, lr=0.01, weight_decay=0.1)
    for _ in range(5):
        for o in (opt, topt):
            o.zero_grad()
        x32, y32 = x.astype(np.float32), y.astype(np.float32)
        out = (ag.tensor(x32) @ p32[0] + p32[1]).tanh() @ p32[2] + p32[3]
        ((out - ag.tensor(y32)) ** 2).mean().backward()
        tout = torch.tanh(torch.from_numpy(x32) @ t32[0] + t32[1]) @ t32[2] + t32[3]
        ((tout - torch.from_numpy(y32)) ** 2).mean().backward()
        opt.step()
        topt.step()
    for p, t in zip(p32, t32, strict=False):
        assert p.dtype == ag.float32
        assert opt.state[p]["exp_avg"].dtype == ag.float32
        np.testing.assert_allclose(p.detach().numpy(), t.detach().numpy(), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------- mechanics
def test_step_updates_in_place_and_bumps_version():
    w = ag.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    array, view = w._data, w._data[0]
    version = w._version
    opt = ag.optim.SGD([w], lr=0.5)
    saved = w * w  # Mul saves w for its backward
    saved.sum().backward(retain_graph=True)
    opt.step()
    assert w._data is array
    np.testing.assert_allclose(view, [0.0, 0.0])  # 1 - 0.5 * 2, 2 - 0.5 * 4
    assert w._version == version + 1
    with pytest.raises(RuntimeError):
        saved.sum().backward()  # the graph saw the old value of w


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_every_optimizer_keeps_memory_and_handles_0d(name):
    w = ag.tensor(3.0, requires_grad=True)
    v = ag.tensor([1.0, -1.0], requires_grad=True)
    opt = getattr(ag.optim, name)([w, v], lr=0.1)
    arrays = (w._data, v._data)
    for _ in range(3):
        opt.zero_grad()
        (w * w + (v * v).sum()).backward()
        opt.step()
    assert v._data is arrays[1]
    assert isinstance(w._data, np.ndarray) and w._data.shape == ()
    assert abs(w.item()) < 3.0 and np.all(np.abs(v.detach().numpy()) < 1.0)


def test_zero_grad_set_to_none_and_in_place():
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    opt = ag.optim.SGD([w], lr=0.1)
    (w * 3).sum().backward()
    grad_array = w.grad._data
    opt.zero_grad(set_to_none=False)
    assert w.grad is not None and w.grad._data is grad_array
    np.testing.assert_array_equal(w.grad.numpy(), [0.0, 0.0])
    (w * 3).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 3.0])
    opt.zero_grad()
    assert w.grad is None


def test_step_with_closure_runs_under_enable_grad_and_returns_loss():
    w = ag.tensor([1.0, 2.0], dtype=ag.float64, requires_grad=True)
    opt = ag.optim.SGD([w], lr=0.1)
    calls = []

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        calls.append(ag.is_grad_enabled())
        loss.backward()
        return loss

    with ag.no_grad():
        loss = opt.step(closure)
    assert calls == [True]
    assert loss.item() == 5.0
    np.testing.assert_allclose(w.detach().numpy(), [0.8, 1.6])


def test_params_without_grad_are_skipped_and_get_no_state():
    a = ag.tensor([1.0], requires_grad=True)
    b = ag.tensor([1.0], requires_grad=True)
    opt = ag.optim.Adam([a, b], lr=0.1)
    (a * 2).sum().backward()
    opt.step()
    assert b.item() == 1.0 and a.item() != 1.0
    assert b not in opt.state and opt.state[a]["step"] == 1.0


@pytest.mark.parametrize("name, kwargs", [("SGD", {}), ("SGD", {"weight_decay": 0.1}), ("SGD", {"momentum": 0.9}),
                                          ("Adam", {}), ("RMSprop", {}), ("Adagrad", {})])
def test_which_parameters_get_state_matches_torch(torch, name, kwargs):
    """The shared step set-up (``_params_with_grad``) skips parameters without a gradient and
    creates state exactly where PyTorch does (SGD keeps none without momentum)."""
    ours = [ag.tensor([1.0, 2.0], requires_grad=True), ag.tensor([3.0], requires_grad=True)]
    theirs = [torch.tensor([1.0, 2.0], requires_grad=True), torch.tensor([3.0], requires_grad=True)]
    opt = getattr(ag.optim, name)(ours, lr=0.1, **kwargs)
    topt = getattr(torch.optim, name)(theirs, lr=0.1, **kwargs)
    (ours[0] * ours[0]).sum().backward()
    (theirs[0] * theirs[0]).sum().backward()
    opt.step()
    topt.step()
    assert sorted(opt.state_dict()["state"]) == sorted(topt.state_dict()["state"])
    assert {k: sorted(v) for k, v in opt.state_dict()["state"].items()} == {
        k: sorted(v) for k, v in topt.state_dict()["state"].items()
    }
    assert sum(bool(opt.state.get(p)) for p in ours) == sum(bool(topt.state.get(p)) for p in theirs)
    np.testing.assert_array_equal(ours[1].detach().numpy(), [3.0])


def test_params_with_grad_yields_arrays_and_state():
    a = ag.tensor([1.0, 2.0], requires_grad=True)
    b = ag.tensor([3.0], requires_grad=True)
    c = ag.tensor(4.0, requires_grad=True)
    opt = ag.optim.Adam([a, b, c], lr=0.1)
    a.grad = ag.tensor([0.5, 0.5])
    c.grad = ag.tensor(1.0)
    c._data = np.float32(4.0)  # a NumPy scalar (as a 0-d result may be): made a writable array first
    seen = list(opt._params_with_grad(opt.param_groups[0]))
    assert [p for p, *_ in seen] == [a, c]
    for p, data, grad, state in seen:
        assert data is p._data and type(data) is np.ndarray and grad is p.grad._data
        assert state is opt.state[p] and state["step"] == 0.0 and set(state) == {"step", "exp_avg", "exp_avg_sq"}
    assert b not in opt.state
    assert [st for *_, st in opt._params_with_grad(opt.param_groups[0], with_state=False)] == [None, None]


def test_add_param_group_fills_defaults_and_trains_new_group():
    a = ag.tensor([1.0], requires_grad=True)
    b = ag.tensor([1.0], requires_grad=True)
    opt = ag.optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.5})
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["lr"] == 0.5
    assert len(opt.param_groups[1]["params"]) == 1 and opt.param_groups[1]["params"][0] is b
    (a + b).sum().backward()
    opt.step()
    assert a.item() == pytest.approx(0.9) and b.item() == pytest.approx(0.5)


def test_adagrad_initialises_state_eagerly_like_torch(torch):
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    tw = torch.tensor([1.0, 2.0], requires_grad=True)
    opt = ag.optim.Adagrad([w], initial_accumulator_value=0.25)
    topt = torch.optim.Adagrad([tw], initial_accumulator_value=0.25)
    np.testing.assert_array_equal(opt.state[w]["sum"].numpy(), topt.state[tw]["sum"].numpy())
    assert set(opt.state_dict()["state"][0]) == set(topt.state_dict()["state"][0]) == {"step", "sum"}


def test_repr_lists_groups():
    opt = ag.optim.Adam([ag.tensor([1.0], requires_grad=True)], lr=0.01)
    text = repr(opt)
    assert text.startswith("Adam (") and "Parameter Group 0" in text and "lr: 0.01" in text


# ---------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "factory,match",
    [
        (lambda p: ag.optim.SGD(p, lr=-0.1), "learning rate"),
        (lambda p: ag.optim.SGD(p, lr=0.1, momentum=-0.5), "momentum"),
        (lambda p: ag.optim.SGD(p, lr=0.1, weight_decay=-1), "weight_decay"),
        (lambda p: ag.optim.SGD(p, lr=0.1, nesterov=True), "Nesterov"),
        (lambda p: ag.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov"),
        (lambda p: ag.optim.Adam(p, betas=(1.0, 0.999)), r"betas\[0\]"),
        (lambda p: ag.optim.Adam(p, betas=(0.9, -0.1)), r"betas\[1\]"),
        (lambda p: ag.optim.Adam(p, betas=(0.9,)), "pair"),
        (lambda p: ag.optim.Adam(p, eps=-1e-8), "eps"),
        (lambda p: ag.optim.AdamW(p, lr=float("nan")), "learning rate"),
        (lambda p: ag.optim.RMSprop(p, alpha=-0.1), "alpha"),
        (lambda p: ag.optim.Adagrad(p, lr_decay=-1), "lr_decay"),
        (lambda p: ag.optim.Adagrad(p, initial_accumulator_value=-1), "initial_accumulator_value"),
    ],
)
def test_invalid_hyperparameters_raise_clear_errors(factory, match):
    with pytest.raises(ValueError, match=match):
        factory([ag.tensor([1.0], requires_grad=True)])


def test_invalid_group_hyperparameter_is_rejected_and_nothing_added():
    a = ag.tensor([1.0], requires_grad=True)
    opt = ag.optim.Adam([a])
    with pytest.raises(ValueError, match="learning rate"):
        opt.add_param_group({"params": [ag.tensor([2.0], requires_grad=True)], "lr": -1.0})
    assert len(opt.param_groups) == 1


def test_parameter_errors():
    a = ag.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        ag.optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        ag.optim.SGD(a, lr=0.1)
    with pytest.raises(TypeError, match="ordered collection"):
        ag.optim.SGD({a}, lr=0.1)
    with pytest.raises(ValueError, match="appears twice"):
        ag.optim.SGD([a, a], lr=0.1)
    with pytest.raises(TypeError, match="only optimize Tensors"):
        ag.optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        ag.optim.SGD([a * 2], lr=0.1)
    with pytest.raises(ValueError, match="dtype int64"):
        ag.optim.SGD([ag.tensor([1, 2])], lr=0.1)
    opt = ag.optim.SGD([a], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    assert len(opt.param_groups) == 1


# ---------------------------------------------------------------------- state dicts
def _train(opt, params, x, y, steps):
    for _ in range(steps):
        opt.zero_grad()
        _ag_loss(params, x, y).backward()
        opt.step()


STATEFUL = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("AdamW", dict(lr=0.05)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
]


@pytest.mark.parametrize("name,kwargs", STATEFUL, ids=[n for n, _ in STATEFUL])
def test_state_dict_layout_matches_torch(torch, name, kwargs):
    weights, x, y = _problem(3)
    _, opt = _run_ag(getattr(ag.optim, name), kwargs, weights, x, y, steps=3)
    _, topt = _run_torch(torch, getattr(torch.optim, name), kwargs, weights, x, y, steps=3)
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert set(sd) == set(tsd) == {"state", "param_groups"}
    assert [g["params"] for g in sd["param_groups"]] == [g["params"] for g in tsd["param_groups"]]
    assert set(sd["param_groups"][0]) == set(tsd["param_groups"][0])
    for key, value in tsd["param_groups"][0].items():
        if key != "params":
            assert sd["param_groups"][0][key] == value, key
    assert set(sd["state"]) == set(tsd["state"]) == {0, 1, 2, 3}
    for index, entries in tsd["state"].items():
        assert set(sd["state"][index]) == set(entries)
        for key, value in entries.items():
            ours = sd["state"][index][key]
            assert isinstance(ours, ag.Tensor)
            assert ours.shape == tuple(value.shape)
            np.testing.assert_allclose(ours.numpy(), value.numpy(), rtol=1e-10, atol=1e-12, err_msg=key)
    assert sd["state"][0]["step" if name != "SGD" else "momentum_buffer"].dtype in (ag.float32, ag.float64)
    if name != "SGD":
        assert sd["state"][0]["step"].dtype == ag.float32 and sd["state"][0]["step"].item() == 3.0


@pytest.mark.parametrize("name,kwargs", STATEFUL, ids=[n for n, _ in STATEFUL])
def test_load_state_dict_reproduces_the_trajectory(name, kwargs):
    weights, x, y = _problem(4)
    cls = getattr(ag.optim, name)
    params = _ag_params(weights)
    opt = cls(params, **kwargs)
    _train(opt, params, x, y, 10)
    saved_weights = [p.detach().numpy().copy() for p in params]
    sd = copy.deepcopy(opt.state_dict())
    _train(opt, params, x, y, 10)

    resumed = _ag_params(saved_weights)
    opt2 = cls(resumed, lr=123.0)  # the loaded hyperparameters must win
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == kwargs["lr"]
    _train(opt2, resumed, x, y, 10)
    for a, b in zip(params, resumed, strict=False):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_state_dict_is_a_snapshot():
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    opt = ag.optim.SGD([w], lr=0.1, momentum=0.9)
    (w * w).sum().backward()
    opt.step()
    sd = opt.state_dict()
    before = sd["state"][0]["momentum_buffer"].numpy().copy()
    opt.step()
    np.testing.assert_array_equal(sd["state"][0]["momentum_buffer"].numpy(), before)


def test_load_torch_state_dict_and_continue_in_step(torch):
    """A torch Adam state (converted to autograd_lite tensors) resumes exactly where torch is."""
    weights, x, y = _problem(5)
    tparams = [torch.tensor(w.copy(), requires_grad=True) for w in weights]
    topt = torch.optim.Adam(tparams, lr=0.05, amsgrad=True)
    for _ in range(7):
        topt.zero_grad()
        _torch_loss(torch, tparams, x, y).backward()
        topt.step()
    tsd = topt.state_dict()
    converted = {
        "state": {i: {k: ag.tensor(v.numpy()) for k, v in s.items()} for i, s in tsd["state"].items()},
        "param_groups": copy.deepcopy(tsd["param_groups"]),
    }
    params = _ag_params([p.detach().numpy() for p in tparams])
    opt = ag.optim.Adam(params)
    opt.load_state_dict(converted)
    for _ in range(5):
        topt.zero_grad()
        _torch_loss(torch, tparams, x, y).backward()
        topt.step()
    _train(opt, params, x, y, 5)
    ours = [p.detach().numpy() for p in params]
    _assert_same_trajectory(ours, [p.detach().numpy() for p in tparams], "resume")


def test_load_state_dict_errors_leave_optimizer_unchanged():
    a = ag.tensor([1.0, 2.0], requires_grad=True)
    b = ag.tensor([3.0], requires_grad=True)
    opt = ag.optim.Adam([a, b], lr=0.1)
    (a.sum() + b.sum()).backward()
    opt.step()
    good = opt.state_dict()
    groups_before = opt.param_groups
    state_before = opt.state

    bad_groups = copy.deepcopy(good)
    bad_groups["param_groups"].append(dict(bad_groups["param_groups"][0]))
    with pytest.raises(ValueError, match="2 parameter groups"):
        opt.load_state_dict(bad_groups)

    bad_size = copy.deepcopy(good)
    bad_size["param_groups"][0]["params"] = [0]
    with pytest.raises(ValueError, match="1 parameters in the state dict but 2"):
        opt.load_state_dict(bad_size)

    bad_shape = copy.deepcopy(good)
    bad_shape["state"][1]["exp_avg"] = ag.zeros(5)
    bad_shape["param_groups"][0]["lr"] = 0.5
    with pytest.raises(ValueError, match=r"shape \(5,\).*shape \(1,\)"):
        opt.load_state_dict(bad_shape)

    bad_lr = copy.deepcopy(good)
    bad_lr["param_groups"][0]["lr"] = -1.0
    with pytest.raises(ValueError, match="learning rate"):
        opt.load_state_dict(bad_lr)

    assert opt.param_groups is groups_before and opt.state is state_before
    assert opt.param_groups[0]["lr"] == 0.1


def test_load_state_dict_accepts_string_keys_and_casts_dtype():
    a = ag.tensor([1.0, 2.0], dtype=ag.float32, requires_grad=True)
    opt = ag.optim.SGD([a], lr=0.1, momentum=0.9)
    sd = {
        "state": {"0": {"momentum_buffer": ag.tensor([0.5, 0.25], dtype=ag.float64)}},
        "param_groups": [{**{k: v for k, v in opt.param_groups[0].items() if k != "params"}, "params": [0]}],
    }
    opt.load_state_dict(sd)
    buf = opt.state[a]["momentum_buffer"]
    assert buf.dtype == ag.float32
    np.testing.assert_array_equal(buf.numpy(), [0.5, 0.25])
