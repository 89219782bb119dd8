"""Module and Parameter: registration, traversal, modes, state_dict round trips, hooks, repr."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import nn
from autograd_lite.nn.module import module_stack


class Block(nn.Module):
    """A small nested model used throughout: parameters, a buffer, children at two levels."""

    def __init__(self, lib=ag):
        super().__init__()
        self.fc = lib.nn.Linear(3, 4)
        self.scale = lib.nn.Parameter(lib.ones(4))
        self.register_buffer("offset", lib.zeros(4))
        self.register_buffer("scratch", lib.zeros(2), persistent=False)
        self.head = lib.nn.Sequential(lib.nn.Tanh(), lib.nn.Linear(4, 2))

    def forward(self, x):
        return self.head(self.fc(x) * self.scale + self.offset)


def _torch_block(torch):
    class TorchBlock(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(3, 4)
            self.scale = torch.nn.Parameter(torch.ones(4))
            self.register_buffer("offset", torch.zeros(4))
            self.register_buffer("scratch", torch.zeros(2), persistent=False)
            self.head = torch.nn.Sequential(torch.nn.Tanh(), torch.nn.Linear(4, 2))

        def forward(self, x):
            return self.head(self.fc(x) * self.scale + self.offset)

    return TorchBlock


# ---------------------------------------------------------------- Parameter
def test_parameter_shares_memory_requires_grad_and_repr(torch):
    data = ag.tensor([1.0, 2.0])
    p = nn.Parameter(data)
    assert isinstance(p, ag.Tensor) and p.requires_grad and p.is_leaf
    p.data[0] = 5.0
    assert data[0].item() == 5.0
    assert repr(nn.Parameter(ag.zeros(2))) == "Parameter containing:\ntensor([0., 0.], requires_grad=True)"
    assert repr(nn.Parameter(ag.zeros(2))) == repr(torch.nn.Parameter(torch.zeros(2)))
    assert not nn.Parameter(ag.zeros(2), requires_grad=False).requires_grad
    assert not hasattr(p, "__dict__")  # __slots__ = ()
    assert type(p * 2) is ag.Tensor  # results of ops are plain tensors
    clone = copy.deepcopy(p)
    assert type(clone) is nn.Parameter and clone.requires_grad and clone.tolist() == p.tolist()


# ---------------------------------------------------------------- registration and traversal
def test_attribute_assignment_registers_in_order():
    block = Block()
    assert [n for n, _ in block.named_parameters()] == [
        "scale",
        "fc.weight",
        "fc.bias",
        "head.1.weight",
        "head.1.bias",
    ]
    assert [n for n, _ in block.named_buffers()] == ["offset", "scratch"]
    assert [n for n, _ in block.named_children()] == ["fc", "head"]
    assert [n for n, _ in block.named_modules()] == ["", "fc", "head", "head.0", "head.1"]
    assert [n for n, _ in block.named_parameters(prefix="model", recurse=False)] == ["model.scale"]
    assert len(list(block.parameters())) == 5 and len(list(block.buffers())) == 2
    assert list(block.children())[0] is block.fc
    assert block.get_submodule("head.1") is block.head[1]
    assert block.get_parameter("head.1.bias") is block.head[1].bias
    assert "fc" in dir(block) and "offset" in dir(block)


def test_reassignment_moves_between_registries_and_del_removes():
    block = Block()
    block.fc = nn.Identity()
    assert "fc.weight" not in dict(block.named_parameters())
    block.offset = ag.ones(4)  # a tensor assigned to a buffer name updates the buffer
    assert block.offset.tolist() == [1.0] * 4 and "offset" in block._buffers
    with pytest.raises(TypeError, match="as parameter 'scale'"):
        block.scale = ag.ones(4)
    block.scale = None
    assert "scale" not in dict(block.named_parameters())
    with pytest.raises(TypeError, match="as child module 'head'"):
        block.head = 3
    del block.head
    assert "head" not in block._modules and not hasattr(block, "head")
    with pytest.raises(AttributeError, match="'Block' object has no attribute 'missing'"):
        block.missing


def test_registration_errors():
    class NoInit(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(ag.ones(1))

    with pytest.raises(AttributeError, match=r"before Module.__init__\(\) call"):
        NoInit()
    m = nn.Module()
    with pytest.raises(KeyError, match="contain"):
        m.register_buffer("a.b", ag.zeros(1))
    with pytest.raises(TypeError, match="ag.Tensor or None"):
        m.register_buffer("b", [1, 2])
    with pytest.raises(TypeError, match="Parameter or None"):
        m.register_parameter("w", ag.ones(1))
    m.plain = 3
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("plain", ag.zeros(1))
    with pytest.raises(ValueError, match="non-leaf"):
        m.register_parameter("w", _nonleaf_parameter())
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        m(ag.ones(1))


def _nonleaf_parameter():
    q = nn.Parameter(ag.ones(1))
    q.grad_fn = (nn.Parameter(ag.ones(1)) * 2).grad_fn  # what a Parameter built from a graph would be
    return q


def test_shared_parameters_are_listed_once_but_stored_under_both_keys():
    fc = nn.Linear(2, 2)
    model = nn.Sequential(fc, nn.ReLU(), fc)
    assert len(list(model.parameters())) == 2
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert [n for n, _ in model.named_modules()] == ["", "0", "1"]


# ---------------------------------------------------------------- modes, grads, dtype, apply
def test_train_eval_zero_grad_requires_grad_and_apply():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    assert model.training and model[1].training
    assert model.eval() is model and not model[1].training
    model.train()
    assert model[1].training
    with pytest.raises(ValueError, match="boolean"):
        model.train("yes")
    model(ag.ones(3, 2)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())
    seen = []
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen == ["Linear", "Dropout", "Sequential"]  # children first


def test_to_double_and_float_convert_params_grads_and_float_buffers_in_place():
    block = Block()
    block.register_buffer("count", ag.tensor(3))
    weight = block.fc.weight
    block(ag.ones(1, 3)).sum().backward()
    assert block.double() is block
    assert block.fc.weight is weight and weight.dtype == ag.float64 and weight.grad.dtype == ag.float64
    assert block.offset.dtype == ag.float64 and block.count.dtype == ag.int64
    assert block(ag.ones(1, 3, dtype=ag.float64)).dtype == ag.float64
    block.to(ag.float32)
    assert weight.dtype == ag.float32
    block.to("cpu")
    with pytest.raises(TypeError, match="floating point"):
        block.to(ag.int64)


# ---------------------------------------------------------------- state_dict
def test_state_dict_keys_values_and_persistence():
    block = Block()
    sd = block.state_dict()
    assert list(sd) == ["scale", "offset", "fc.weight", "fc.bias", "head.1.weight", "head.1.bias"]
    assert all(not v.requires_grad and type(v) is ag.Tensor for v in sd.values())
    sd["scale"][0] = 7.0  # detached but sharing memory, as in PyTorch
    assert block.scale[0].item() == 7.0
    assert block.state_dict(keep_vars=True)["scale"] is block.scale


def test_load_state_dict_round_trip_and_cast():
    source, target = Block(), Block()
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    for (name, a), b in zip(source.state_dict().items(), target.state_dict().values(), strict=True):
        assert np.array_equal(a.numpy(), b.numpy()), name
    weight = target.fc.weight
    numpy_sd = {k: v.numpy().astype(np.float64) for k, v in source.state_dict().items()}
    target.load_state_dict(numpy_sd)  # numpy arrays accepted and cast to the parameter dtype
    assert target.fc.weight is weight and weight.dtype == ag.float32


def _snapshot(module):
    return {k: v.numpy().copy() for k, v in module.state_dict().items()}


def _unchanged(module, snapshot):
    return all(np.array_equal(snapshot[k], v.numpy()) for k, v in module.state_dict().items())


def test_load_state_dict_strict_errors_list_keys_and_change_nothing():
    model = Block()
    before = _snapshot(model)
    other = Block().state_dict()
    del other["fc.bias"]
    other["extra.weight"] = ag.zeros(1)
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(other)
    message = str(info.value)
    assert 'Missing key(s) in state_dict: "fc.bias"' in message
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in message
    assert "Error(s) in loading state_dict for Block" in message
    assert _unchanged(model, before)

    result = model.load_state_dict(other, strict=False)
    assert result.missing_keys == ["fc.bias"] and result.unexpected_keys == ["extra.weight"]
    assert np.array_equal(model.fc.weight.detach().numpy(), other["fc.weight"].numpy())
    assert np.array_equal(model.fc.bias.detach().numpy(), before["fc.bias"])


def test_load_state_dict_shape_mismatch_raises_even_when_not_strict_and_changes_nothing():
    model = Block()
    before = _snapshot(model)
    bad = {k: v.numpy() * 0 + 9 for k, v in Block().state_dict().items()}
    bad["head.1.weight"] = np.zeros((3, 4), dtype=np.float32)
    for strict in (True, False):
        with pytest.raises(
            RuntimeError,
            match=r"size mismatch for head.1.weight: copying a param with shape "
            r"torch.Size\(\[3, 4\]\) from checkpoint, the shape in current model is "
            r"torch.Size\(\[2, 4\]\)",
        ):
            model.load_state_dict(bad, strict=strict)
        assert _unchanged(model, before)  # the valid entries before and after were not written either
    with pytest.raises(TypeError, match="dict-like"):
        model.load_state_dict([1, 2])


def test_state_dict_moves_between_autograd_lite_and_torch(torch):
    TorchBlock = _torch_block(torch)
    ours = Block().double()
    theirs = TorchBlock().double()
    with ag.no_grad():
        ours.offset.copy_(ag.tensor([0.1, -0.2, 0.3, 0.4], dtype=ag.float64))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()
    }
    x = np.random.default_rng(0).standard_normal((5, 3))

    # autograd_lite -> torch
    theirs.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in ours.state_dict().items()})
    np.testing.assert_allclose(
        ours(ag.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12, atol=1e-12
    )
    # torch -> autograd_lite (a fresh torch model, so the weights really change)
    fresh = TorchBlock().double()
    with torch.no_grad():
        fresh.offset.uniform_()
    ours.load_state_dict({k: v.numpy() for k, v in fresh.state_dict().items()})
    np.testing.assert_allclose(
        ours(ag.tensor(x)).detach().numpy(), fresh(torch.tensor(x)).detach().numpy(), rtol=1e-12, atol=1e-12
    )
    # a torch tensor straight into load_state_dict works too (read through .detach().numpy())
    ours.load_state_dict(dict(fresh.state_dict()))


# ---------------------------------------------------------------- hooks and the module stack
def test_forward_hooks_and_pre_hooks_modify_and_remove():
    layer = nn.Linear(2, 2)
    calls = []
    pre = layer.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    post = layer.register_forward_hook(lambda m, args, out: calls.append((m, out.shape)) or out + 1)
    out = layer(ag.ones(1, 2))
    np.testing.assert_allclose(out.detach().numpy(), layer.bias.detach().numpy()[None] + 1, rtol=1e-6)
    assert calls == [(layer, (1, 2))]
    pre.remove()
    post.remove()
    post.remove()  # removing twice is harmless
    assert layer._forward_hooks == {} and layer._forward_pre_hooks == {}
    plain = layer(ag.ones(1, 2))
    assert not np.allclose(plain.detach().numpy(), out.detach().numpy())

    order = []
    layer.register_forward_hook(lambda m, a, o: order.append("first"))
    layer.register_forward_hook(lambda m, a, o: order.append("prepended"), prepend=True)
    with layer.register_forward_hook(lambda m, a, kw, o: order.append(("kwargs", kw)), with_kwargs=True):
        layer(ag.ones(1, 2))
    layer(ag.ones(1, 2))
    assert order == ["prepended", "first", ("kwargs", {}), "prepended", "first"]


def test_module_stack_tracks_nested_calls_and_unwinds_on_error():
    seen = []

    class Probe(nn.Module):
        def forward(self, x):
            seen.append(list(module_stack))
            return x

    probe = Probe()
    outer = nn.Sequential(nn.Identity(), probe)
    outer(ag.ones(1))
    assert seen == [[outer, probe]] and module_stack == []

    class Boom(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        nn.Sequential(Boom())(ag.ones(1))
    assert module_stack == []


# ---------------------------------------------------------------- repr
def test_repr_matches_torch_for_nested_models(torch):
    def build(self, lib):
        lib.nn.Module.__init__(self)
        self.features = lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.ReLU(), lib.nn.Dropout(0.1))
        self.blocks = lib.nn.ModuleList([lib.nn.Linear(8, 8) for _ in range(2)])
        self.heads = lib.nn.ModuleDict({"cls": lib.nn.Linear(8, 3), "act": lib.nn.LogSoftmax(dim=1)})
        self.empty = lib.nn.Sequential()
        self.norm_like = lib.nn.Identity()

    Net = type("Net", (nn.Module,), {"__init__": build})
    TorchNet = type("Net", (torch.nn.Module,), {"__init__": build})
    assert repr(Net(ag)) == repr(TorchNet(torch))
    assert repr(Block()) == repr(_torch_block(torch)()).replace("TorchBlock", "Block")


def test_repr_with_multiline_extra_repr_none_children_and_grouped_lists(torch):
    def build(self, lib):
        lib.nn.Module.__init__(self)
        self.a = lib.nn.Linear(2, 2)
        inner = lib.nn.ModuleList([lib.nn.Linear(1, 1)] * 3 + [lib.nn.ReLU()])
        self.b = lib.nn.Sequential(lib.nn.Sequential(lib.nn.ReLU(), inner))
        self.add_module("d", None)

    def extra_repr(self):
        return "k=1,\nj=2"

    ours = type("A", (nn.Module,), {"__init__": build, "extra_repr": extra_repr})(ag)
    theirs = type("A", (torch.nn.Module,), {"__init__": build, "extra_repr": extra_repr})(torch)
    assert repr(ours) == repr(theirs)
    assert "(0-2): 3 x Linear" in repr(ours)
