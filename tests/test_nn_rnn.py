"""RNN, LSTM, GRU and their cells against PyTorch (float64): parameter names and shapes, outputs,
final states and gradients, state dicts in both directions, finite-difference checks."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(7)


def _to_torch(torch, module):
    return {k: torch.from_numpy(np.array(v.numpy())) for k, v in module.state_dict().items()}


def _flat(result):
    """(output, h_n) or (output, (h_n, c_n)) or a cell's h / (h, c) as a flat list."""
    if not isinstance(result, tuple):
        return [result]
    out = []
    for item in result:
        out.extend(_flat(item))
    return out


def _run_both(torch, ours, theirs, x, hx=None):
    """Forward both models on x (and the initial state), backprop one random projection of every
    output, and compare outputs, the input gradient and every parameter gradient."""
    xa, xt = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    args_a, args_t = [xa], [xt]
    if hx is not None:
        if isinstance(hx, tuple):
            args_a.append(tuple(ag.tensor(h) for h in hx))
            args_t.append(tuple(torch.tensor(h) for h in hx))
        else:
            args_a.append(ag.tensor(hx))
            args_t.append(torch.tensor(hx))
    outs_a, outs_t = _flat(ours(*args_a)), _flat(theirs(*args_t))
    assert len(outs_a) == len(outs_t)
    loss_a, loss_t = 0, 0
    for a, t in zip(outs_a, outs_t, strict=True):
        assert tuple(a.shape) == tuple(t.shape)
        np.testing.assert_allclose(a.detach().numpy(), t.detach().numpy(), atol=1e-12)
        seed = RNG.standard_normal(tuple(t.shape))
        loss_a = loss_a + (a * ag.tensor(seed)).sum()
        loss_t = loss_t + (t * torch.tensor(seed)).sum()
    loss_a.backward()
    loss_t.backward()
    np.testing.assert_allclose(xa.grad.numpy(), xt.grad.numpy(), atol=1e-12)
    grads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads[name].grad.numpy(), atol=1e-12, err_msg=name)


CONFIGS = [
    dict(),
    dict(batch_first=True, num_layers=2),
    dict(num_layers=2, bidirectional=True),
    dict(batch_first=True, bidirectional=True, bias=False),
]


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("kwargs", CONFIGS)
def test_recurrent_layers_match_torch(torch, cls, kwargs):
    ag.manual_seed(1)
    ours = getattr(ag.nn, cls)(3, 4, **kwargs).to(ag.float64)
    theirs = getattr(torch.nn, cls)(3, 4, **kwargs).double()
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    theirs.load_state_dict(_to_torch(torch, ours))
    x = RNG.standard_normal((2, 5, 3) if kwargs.get("batch_first") else (5, 2, 3))
    _run_both(torch, ours, theirs, x)


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_recurrent_layers_with_initial_state_unbatched_and_relu(torch, cls):
    kwargs = dict(num_layers=2, nonlinearity="relu") if cls == "RNN" else dict(num_layers=2)
    ours = getattr(ag.nn, cls)(3, 4, **kwargs).to(ag.float64)
    theirs = getattr(torch.nn, cls)(3, 4, **kwargs).double()
    theirs.load_state_dict(_to_torch(torch, ours))
    h0 = RNG.standard_normal((2, 2, 4))
    hx = (h0, RNG.standard_normal((2, 2, 4))) if cls == "LSTM" else h0
    _run_both(torch, ours, theirs, RNG.standard_normal((5, 2, 3)), hx)
    ours.zero_grad()
    theirs.zero_grad()
    _run_both(torch, ours, theirs, RNG.standard_normal((5, 3)))  # unbatched (T, input_size)
    assert repr(ours) == repr(theirs)


def test_torch_state_dict_loads_into_ours(torch):
    torch.manual_seed(0)
    theirs = torch.nn.LSTM(3, 5, num_layers=2, batch_first=True).double()
    ours = ag.nn.LSTM(3, 5, num_layers=2, batch_first=True).to(ag.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    _run_both(torch, ours, theirs, RNG.standard_normal((2, 6, 3)))


def test_default_initialisation_is_uniform_in_one_over_sqrt_hidden():
    ag.manual_seed(0)
    gru = ag.nn.GRU(10, 16, num_layers=2)
    bound = 1 / math.sqrt(16)
    values = np.concatenate([p.detach().numpy().ravel() for p in gru.parameters()])
    assert np.abs(values).max() <= bound
    assert values.min() < -0.9 * bound and values.max() > 0.9 * bound  # fills the interval
    assert abs(values.mean()) < 0.02 * bound * 10


@pytest.mark.parametrize("cls", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_match_torch(torch, cls):
    ours = getattr(ag.nn, cls)(3, 4).to(ag.float64)
    theirs = getattr(torch.nn, cls)(3, 4).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict(_to_torch(torch, ours))
    h0 = RNG.standard_normal((2, 4))
    hx = (h0, RNG.standard_normal((2, 4))) if cls == "LSTMCell" else h0
    _run_both(torch, ours, theirs, RNG.standard_normal((2, 3)), hx)
    ours.zero_grad()
    theirs.zero_grad()
    _run_both(torch, ours, theirs, RNG.standard_normal((2, 3)))


def test_dropout_between_layers_only_in_training(torch):
    ag.manual_seed(0)
    ours = ag.nn.GRU(3, 4, num_layers=2, dropout=0.5).to(ag.float64)
    theirs = torch.nn.GRU(3, 4, num_layers=2, dropout=0.5).double()
    theirs.load_state_dict(_to_torch(torch, ours))
    x = RNG.standard_normal((5, 2, 3))
    first = ours(ag.tensor(x))[0].detach().numpy()
    second = ours(ag.tensor(x))[0].detach().numpy()
    assert not np.allclose(first, second)  # fresh masks in training mode
    ours.eval()
    theirs.eval()
    _run_both(torch, ours, theirs, x)
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        ag.nn.LSTM(3, 4, dropout=0.2)


def test_gradcheck_small_lstm_and_gru_cell():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lstm = ag.nn.LSTM(2, 3, batch_first=True).to(ag.float64)
    x = ag.tensor(RNG.standard_normal((2, 3, 2)), requires_grad=True)
    assert gradcheck(lambda x: lstm(x)[0], (x,))
    cell = ag.nn.GRUCell(2, 2).to(ag.float64)
    h = ag.tensor(RNG.standard_normal((1, 2)), requires_grad=True)
    assert gradgradcheck(lambda x, h: cell(x, h), (ag.tensor(RNG.standard_normal((1, 2)), requires_grad=True), h))


def test_recurrent_errors():
    lstm = ag.nn.LSTM(3, 4)
    with pytest.raises(RuntimeError, match="input_size. Expected 3, got 2"):
        lstm(ag.zeros(5, 2, 2))
    with pytest.raises(RuntimeError, match="h_0 of shape"):
        lstm(ag.zeros(5, 2, 3), (ag.zeros(1, 3, 4), ag.zeros(1, 2, 4)))
    with pytest.raises(ValueError, match="2D or 3D"):
        lstm(ag.zeros(5))
    with pytest.raises(ValueError, match="nonlinearity"):
        ag.nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size"):
        ag.nn.GRU(3, 0)


@pytest.mark.parametrize("mode", ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"])
@pytest.mark.parametrize("reverse", [False, True])
def test_fast_numpy_bptt_equals_the_graph_path(mode, reverse):
    # Recurrent's VJP has a fast first-order NumPy version and the shared (array/Tensor) one
    from autograd_lite.ops.recurrent import WIDTH, _backward, _backward_numpy, _forward

    gates = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    steps, batch, hidden = 4, 3, 5
    x_proj = RNG.standard_normal((steps, batch, gates * hidden))
    w_hh = RNG.standard_normal((gates * hidden, hidden)) * 0.4
    b_hh = RNG.standard_normal(gates * hidden)
    h0 = RNG.standard_normal((batch, hidden))
    c0 = RNG.standard_normal((batch, hidden)) if mode == "LSTM" else None
    out = _forward(x_proj, w_hh, b_hh, h0, c0, mode, reverse)
    g = RNG.standard_normal((steps, batch, WIDTH[mode] * hidden))  # gradients for every column
    fast = _backward_numpy(g, out, x_proj, w_hh, b_hh, h0, c0, mode, reverse)
    shared = _backward(g, out, x_proj, w_hh, b_hh, h0, c0, mode, reverse)
    for k, (a, b) in enumerate(zip(fast, shared, strict=True)):
        if b is None:
            assert a is None
        else:
            np.testing.assert_allclose(a, np.asarray(b), atol=1e-12, err_msg=f"gradient {k}")


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
def test_recurrent_layers_second_order(cls):
    layer = getattr(ag.nn, cls)(2, 2, batch_first=True, bidirectional=cls == "GRU").to(ag.float64)
    x = ag.tensor(RNG.standard_normal((1, 3, 2)), requires_grad=True)
    weight = layer.weight_hh_l0
    assert gradgradcheck(lambda x, w: _recurrent_with(layer, x, w), (x, weight))


def _recurrent_with(layer, x, weight_hh):
    """The layer's output with weight_hh_l0 replaced by ``weight_hh`` (so it can be an input)."""
    original = layer._parameters["weight_hh_l0"]
    layer._parameters["weight_hh_l0"] = weight_hh
    try:
        return layer(x)[0]
    finally:
        layer._parameters["weight_hh_l0"] = original


@pytest.mark.parametrize("gates", [True, False])
@pytest.mark.parametrize("reverse", [False, True])
def test_lstm_fast_bptt_at_a_size_that_splits_the_step_product(gates, reverse):
    # 4H x H x B = 512 * 128 * 16 multiply-adds per step: just above the size at which the
    # LSTM splits its per-step matrix product into two row blocks; gates=False leaves only
    # [h, c] in ``out``, so the graph path has to recompute the gates.
    from autograd_lite.ops.recurrent import _backward, _backward_numpy, _forward, _row_blocks

    steps, batch, hidden = 2, 16, 128
    assert len(_row_blocks(4 * hidden, hidden * batch)) == 2
    x_proj = RNG.standard_normal((steps, batch, 4 * hidden)) * 0.5
    w_hh = RNG.standard_normal((4 * hidden, hidden)) * 0.1
    b_hh = RNG.standard_normal(4 * hidden) * 0.1
    h0 = RNG.standard_normal((batch, hidden))
    c0 = RNG.standard_normal((batch, hidden))
    out = _forward(x_proj, w_hh, b_hh, h0, c0, "LSTM", reverse, gates)
    assert out.shape == (steps, batch, (6 if gates else 2) * hidden)
    # the same h and c as the unsplit reference: one step by hand from h0, c0
    first = steps - 1 if reverse else 0
    pre = x_proj[first] + h0 @ w_hh.T + b_hh
    i, f, g_, o = (pre[:, k * hidden:(k + 1) * hidden] for k in range(4))
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    c1 = sig(f) * c0 + sig(i) * np.tanh(g_)
    np.testing.assert_allclose(out[first, :, hidden:2 * hidden], c1, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out[first, :, :hidden], sig(o) * np.tanh(c1), rtol=1e-12, atol=1e-12)
    g = RNG.standard_normal(out.shape)
    fast = _backward_numpy(g, out, x_proj, w_hh, b_hh, h0, c0, "LSTM", reverse)
    shared = _backward(g, np.array(out), x_proj, w_hh, b_hh, h0, c0, "LSTM", reverse)
    for k, (a, b) in enumerate(zip(fast, shared, strict=True)):
        if b is None:
            assert a is None
        else:
            np.testing.assert_allclose(a, np.asarray(b), atol=1e-11, err_msg=f"gradient {k}")
