"""BatchNorm, LayerNorm and Embedding against PyTorch (float64): outputs, gradients, running
statistics, eval mode, state dicts; finite-difference checks; padding_idx."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_lite as ag
import autograd_lite.nn.functional as F
from autograd_lite.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(99)


def _to_torch(torch, module):
    return {k: torch.from_numpy(np.array(v.numpy())) for k, v in module.state_dict().items()}


def _params_and_buffers_match(torch, ours, theirs, atol=1e-12):
    reference = theirs.state_dict()
    assert list(ours.state_dict()) == list(reference)
    for key, value in ours.state_dict().items():
        np.testing.assert_allclose(value.numpy(), reference[key].numpy(), atol=atol, err_msg=key)


# ---------------------------------------------------------------- batch norm
BN_CASES = [
    ("BatchNorm1d", (6, 3)),
    ("BatchNorm1d", (4, 3, 5)),
    ("BatchNorm2d", (4, 3, 5, 2)),
]


@pytest.mark.parametrize("cls, shape", BN_CASES)
@pytest.mark.parametrize("kwargs", [dict(), dict(momentum=None), dict(affine=False, momentum=0.3),
                                    dict(track_running_stats=False), dict(bias=False)])
def test_batchnorm_train_and_eval_match_torch(torch, cls, shape, kwargs):
    ours = getattr(ag.nn, cls)(3, **kwargs).to(ag.float64)
    theirs = getattr(torch.nn, cls)(3, **kwargs).double()
    if ours.affine:  # non-trivial affine parameters, shared by both
        with ag.no_grad():
            ours.weight.copy_(ag.tensor(RNG.uniform(0.5, 1.5, 3)))
            if ours.bias is not None:
                ours.bias.copy_(ag.tensor(RNG.standard_normal(3)))
    theirs.load_state_dict(_to_torch(torch, ours))
    for step in range(3):  # running statistics move over several training batches
        x = RNG.standard_normal(shape) * (step + 1) + step
        xa, xt = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, ref = ours(xa), theirs(xt)
        np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-12)
        seed = RNG.standard_normal(shape)
        (out * ag.tensor(seed)).sum().backward()
        (ref * torch.tensor(seed)).sum().backward()
        np.testing.assert_allclose(xa.grad.numpy(), xt.grad.numpy(), atol=1e-12)
    _params_and_buffers_match(torch, ours, theirs)
    if ours.affine:
        for name, p in theirs.named_parameters():
            np.testing.assert_allclose(getattr(ours, name).grad.numpy(), p.grad.numpy(), atol=1e-12)
    ours.eval()
    theirs.eval()
    x = RNG.standard_normal(shape)
    np.testing.assert_allclose(ours(ag.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               atol=1e-12)
    _params_and_buffers_match(torch, ours, theirs)  # eval mode leaves the statistics alone


def test_batchnorm_buffers_names_and_num_batches_tracked(torch):
    bn = ag.nn.BatchNorm2d(4)
    assert list(bn.state_dict()) == list(torch.nn.BatchNorm2d(4).state_dict())
    assert bn.num_batches_tracked.dtype == ag.int64 and bn.num_batches_tracked.item() == 0
    bn(ag.randn(3, 4, 2, 2))
    bn(ag.randn(3, 4, 2, 2))
    assert bn.num_batches_tracked.item() == 2
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert repr(bn) == repr(torch.nn.BatchNorm2d(4))
    assert repr(ag.nn.BatchNorm1d(3, momentum=None, affine=False)) == repr(
        torch.nn.BatchNorm1d(3, momentum=None, affine=False))


def test_batchnorm_state_dict_from_torch_gives_torch_outputs(torch):
    theirs = torch.nn.BatchNorm2d(3).double()
    for _ in range(2):
        theirs(torch.tensor(RNG.standard_normal((4, 3, 3, 3)) * 2 + 1))
    with torch.no_grad():
        theirs.weight.uniform_(0.5, 1.5)
        theirs.bias.normal_()
    ours = ag.nn.BatchNorm2d(3).to(ag.float64)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    ours.eval()
    theirs.eval()
    x = RNG.standard_normal((2, 3, 3, 3))
    np.testing.assert_allclose(ours(ag.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               atol=1e-12)


def test_batchnorm_errors():
    with pytest.raises(ValueError, match="expected 4D input"):
        ag.nn.BatchNorm2d(3)(ag.zeros(2, 3, 4))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        ag.nn.BatchNorm1d(3)(ag.zeros(1, 3))
    with pytest.raises(RuntimeError, match="running_mean should have shape"):
        F.batch_norm(ag.zeros(2, 3), ag.zeros(4), ag.ones(4))


def test_batch_norm_functional_gradcheck():
    x = ag.tensor(RNG.standard_normal((4, 2, 3)), requires_grad=True)
    w = ag.tensor(RNG.uniform(0.5, 1.5, 2), requires_grad=True)
    b = ag.tensor(RNG.standard_normal(2), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), (x, w, b))
    assert gradgradcheck(lambda x, w: F.batch_norm(x, None, None, w, None, training=True), (x, w))


# ---------------------------------------------------------------- layer norm
@pytest.mark.parametrize("normalized_shape, affine", [((5,), True), ((3, 5), True), (5, False)])
def test_layernorm_matches_torch(torch, normalized_shape, affine):
    ours = ag.nn.LayerNorm(normalized_shape, elementwise_affine=affine).to(ag.float64)
    theirs = torch.nn.LayerNorm(normalized_shape, elementwise_affine=affine).double()
    if affine:
        with ag.no_grad():
            ours.weight.copy_(ag.tensor(RNG.uniform(0.5, 1.5, ours.weight.shape)))
            ours.bias.copy_(ag.tensor(RNG.standard_normal(ours.bias.shape)))
        theirs.load_state_dict(_to_torch(torch, ours))
    x = RNG.standard_normal((2, 3, 5)) * 3
    xa, xt = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = ours(xa), theirs(xt)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-12)
    seed = RNG.standard_normal(x.shape)
    (out * ag.tensor(seed)).sum().backward()
    (ref * torch.tensor(seed)).sum().backward()
    np.testing.assert_allclose(xa.grad.numpy(), xt.grad.numpy(), atol=1e-12)
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(getattr(ours, name).grad.numpy(), p.grad.numpy(), atol=1e-12)
    assert repr(ours) == repr(theirs)


def test_layer_norm_gradcheck_and_errors():
    x = ag.tensor(RNG.standard_normal((2, 4)), requires_grad=True)
    w = ag.tensor(RNG.standard_normal(4), requires_grad=True)
    assert gradcheck(lambda x, w: F.layer_norm(x, (4,), w), (x, w))
    assert gradgradcheck(lambda x: F.layer_norm(x, 4), (x,))
    with pytest.raises(RuntimeError, match="does not end with normalized_shape"):
        F.layer_norm(x, (3,))


# ---------------------------------------------------------------- embedding
@pytest.mark.parametrize("padding_idx", [None, 0, 3, -1])
def test_embedding_matches_torch_including_padding_idx(torch, padding_idx):
    ours = ag.nn.Embedding(6, 3, padding_idx=padding_idx).to(ag.float64)
    theirs = torch.nn.Embedding(6, 3, padding_idx=padding_idx).double()
    if padding_idx is not None:  # the padding row starts at zero, as in torch
        assert not ours.weight.detach().numpy()[padding_idx].any()
    theirs.load_state_dict(_to_torch(torch, ours))
    ids = np.array([[0, 3, 3, 5], [1, 0, 5, 3]])  # repeats must accumulate
    out, ref = ours(ag.tensor(ids)), theirs(torch.tensor(ids))
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy())
    seed = RNG.standard_normal(out.shape)
    (out * ag.tensor(seed)).sum().backward()
    (ref * torch.tensor(seed)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), atol=1e-12)
    if padding_idx is not None:
        assert not ours.weight.grad.numpy()[padding_idx].any()
    assert repr(ours) == repr(theirs)


def test_embedding_init_from_pretrained_and_max_norm(torch):
    ag.manual_seed(0)
    emb = ag.nn.Embedding(1000, 4)
    values = emb.weight.detach().numpy()
    assert abs(values.mean()) < 0.1 and abs(values.std() - 1) < 0.1  # N(0, 1) as in torch
    table = RNG.standard_normal((5, 3))
    frozen = ag.nn.Embedding.from_pretrained(ag.tensor(table))
    assert not frozen.weight.requires_grad
    np.testing.assert_array_equal(frozen(ag.tensor([4, 1])).numpy(), table[[4, 1]])
    assert ag.nn.Embedding.from_pretrained(ag.tensor(table), freeze=False).weight.requires_grad
    ours = ag.nn.Embedding(5, 3, max_norm=1.0).to(ag.float64)
    theirs = torch.nn.Embedding(5, 3, max_norm=1.0).double()
    theirs.load_state_dict(_to_torch(torch, ours))
    ids = np.array([0, 2, 2, 4])
    np.testing.assert_allclose(ours(ag.tensor(ids)).detach().numpy(), theirs(torch.tensor(ids)).detach().numpy(),
                               atol=1e-7)
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(), atol=1e-7)


def test_embedding_errors_and_second_order():
    emb = ag.nn.Embedding(4, 2)
    with pytest.raises(IndexError, match="out of range"):
        emb(ag.tensor([0, 4]))
    with pytest.raises(TypeError, match="integer"):
        emb(ag.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="padding_idx"):
        ag.nn.Embedding(4, 2, padding_idx=4)
    weight = ag.tensor(RNG.standard_normal((4, 2)), requires_grad=True)
    ids = ag.tensor([[1, 1], [3, 0]])
    assert gradgradcheck(lambda w: F.embedding(ids, w) ** 3, (weight,))
