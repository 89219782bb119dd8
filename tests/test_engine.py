"""The autograd engine (issue 2, points 7-12): in-place checks, the walk, hooks, grad mode,
higher-order gradients, custom Functions, gradcheck, anomaly detection and memory."""

from __future__ import annotations

import gc
import inspect
import sys
import threading
import tracemalloc
import weakref

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite.autograd import Function, GradcheckError, gradcheck, gradgradcheck


def leaf(values, dtype=ag.float64):  # type: ignore[no-untyped-def]
    return ag.tensor(values, dtype=dtype, requires_grad=True)


# ---------------------------------------------------------------- in-place ops (point 7)
def test_modifying_a_saved_input_makes_backward_raise_naming_the_op() -> None:
    a = leaf([1.0, 2.0])
    b = a * 2
    c = b * b  # MulBackward saves b
    b.add_(1.0)
    with pytest.raises(RuntimeError, match=r"modified by an in-place operation.*of MulBackward is at version 1; "
                       r"expected version 0"):
        c.sum().backward()


@pytest.mark.parametrize("modify", [
    lambda t: t.mul_(2.0), lambda t: t.zero_(), lambda t: t.fill_(1.0), lambda t: t.copy_(ag.ones(2)),
    lambda t: t.clamp_(0, 1), lambda t: t.sub_(1.0), lambda t: t.div_(2.0), lambda t: t.__setitem__(0, 5.0),
])
def test_every_inplace_op_bumps_the_version(modify) -> None:  # type: ignore[no-untyped-def]
    a = leaf([1.0, 2.0])
    b = a.sin()
    c = b.exp() * b  # saves b
    with ag.no_grad():
        modify(b)
    with pytest.raises(RuntimeError, match="MulBackward"):
        c.sum().backward()


def test_inplace_through_a_view_is_detected() -> None:
    a = leaf([1.0, 2.0, 3.0])
    b = a * 1
    row = b[1:]
    c = (b * b).sum()
    row.mul_(3.0)  # modifies b's memory
    with pytest.raises(RuntimeError, match="MulBackward"):
        c.backward()


def test_inplace_on_a_detached_alias_is_detected() -> None:
    a = leaf([1.0, 2.0])
    b = a.exp()
    c = (b * b).sum()
    b.detach().mul_(2.0)  # detach shares memory and the version counter
    with pytest.raises(RuntimeError, match="MulBackward"):
        c.backward()


def test_inplace_on_unsaved_values_is_fine_and_recorded() -> None:
    a = leaf([1.0, 2.0])
    b = a + 1  # AddBackward saves nothing
    b.mul_(3.0)  # recorded: b's grad_fn becomes MulBackward
    b += a
    assert b.grad_fn is not None and not b.is_leaf
    b.sum().backward()
    assert a.grad.tolist() == [4.0, 4.0]  # d/da (3(a+1) + a)


def test_modifying_a_saved_output_makes_backward_raise() -> None:
    a = leaf([1.0, 2.0])
    b = a.exp()  # ExpBackward's VJP reads b itself
    with ag.no_grad():
        b.mul_(2.0)
    with pytest.raises(RuntimeError, match="ExpBackward"):
        b.sum().backward()


def test_inplace_on_a_view_of_a_tracked_tensor_updates_the_base() -> None:
    x = leaf([1.0, 2.0, 3.0])
    y = x * 1
    y[1:].mul_(2.0)
    assert y.tolist() == [1.0, 4.0, 6.0]
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 2.0, 2.0]


def test_inplace_on_a_view_of_a_leaf_raises() -> None:
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(RuntimeError, match="leaf"):
        x.T[0, 1] = 10.0


def test_inplace_on_a_leaf_that_requires_grad_raises_at_once() -> None:
    w = leaf([1.0, 2.0])
    for op in (lambda: w.add_(1.0), lambda: w.mul_(2.0), lambda: w.zero_(), lambda: w.fill_(0.0),
               lambda: w.__setitem__(0, 3.0)):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an "
                           "in-place operation"):
            op()
    with pytest.raises(RuntimeError, match=r"add_: a leaf Variable"):
        w += 1.0
    assert w.tolist() == [1.0, 2.0] and w._version == 0  # nothing half-changed
    with ag.no_grad():  # the optimizer's way
        w -= 0.5
        w[0] = 7.0
    assert w.tolist() == [7.0, 1.5] and w.is_leaf and w.requires_grad


# ---------------------------------------------------------------- the walk (point 8)
def test_backward_through_a_100000_op_chain_does_not_recurse() -> None:
    x = leaf(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.0000001
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # far below the chain length: any recursion would fail
    try:
        y.backward()
        assert x.grad.item() == pytest.approx(1.0000001 ** 100_000, rel=1e-9)
        del y  # freeing the chain must not recurse either
    finally:
        sys.setrecursionlimit(limit)


class _Counted(Function):
    """Identity whose backward counts its calls and records the gradient it receives."""

    calls: list = []

    @staticmethod
    def forward(ctx, x):  # type: ignore[no-untyped-def]
        return x.clone()

    @staticmethod
    def backward(ctx, g):  # type: ignore[no-untyped-def]
        _Counted.calls.append(g.tolist())
        return g


def test_each_node_runs_once_after_all_gradients_are_summed() -> None:
    _Counted.calls = []
    x = leaf([0.5, -1.0])
    shared = _Counted.apply(x)
    # a diamond plus a longer path: shared feeds four consumers at different depths
    out = (shared * 3 + shared.exp() + shared.sin().sin() + (shared * shared).sum()).sum()
    out.backward()
    assert len(_Counted.calls) == 1
    s = np.array([0.5, -1.0])
    # the scalar (shared * shared).sum() is broadcast over both elements, so it counts twice: 2 * 2s
    expected = 3 + np.exp(s) + np.cos(np.sin(s)) * np.cos(s) + 4 * s
    np.testing.assert_allclose(_Counted.calls[0], expected, rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)


def test_a_hook_on_a_shared_intermediate_sees_the_summed_gradient_once() -> None:
    seen = []
    x = leaf([2.0])
    a = x * 1
    a.register_hook(lambda g: seen.append(g.item()))
    (a * 3 + a * a).sum().backward()
    assert seen == [3.0 + 2 * 2.0]


# ---------------------------------------------------------------- accumulation, freeing (point 9)
def test_gradients_accumulate_across_backward_calls() -> None:
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [2.0 + 3.0, 4.0 + 3.0]
    x.grad = None
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]
    x.grad.zero_()
    (x * 5).sum().backward()
    assert x.grad.tolist() == [5.0, 5.0]


def test_retain_graph_and_the_freed_graph_error() -> None:
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()  # allowed once more: the graph was retained
    assert x.grad.tolist() == [4.0, 8.0]
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time.*retain_graph=True"):
        y.backward()
    z = (x.exp() * 2).sum()
    ag.autograd.grad(z, x)  # autograd.grad frees too
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        z.backward()


def test_backward_frees_saved_arrays() -> None:
    x = leaf([1.0, 2.0])
    hidden = x.exp()
    node = (hidden * hidden).grad_fn
    out = (hidden * hidden).sum()
    mul_node = out.grad_fn.next_functions[0][0]
    out.backward()
    assert mul_node.arrays is None and mul_node.inputs is None  # buffers dropped
    assert node is not None


def test_non_scalar_backward_needs_a_gradient() -> None:
    x = leaf([1.0, 2.0])
    y = x * 2
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        y.backward()
    y.backward(gradient=ag.tensor([1.0, 10.0], dtype=ag.float64))
    assert x.grad.tolist() == [2.0, 20.0]
    with pytest.raises(RuntimeError, match=r"gradient has shape \(3,\) but the output has shape \(2,\)"):
        (x * 2).backward(ag.ones(3))
    ag.autograd.backward([x * 3], [ag.ones(2, dtype=ag.float64)])
    assert x.grad.tolist() == [5.0, 23.0]


def test_backward_of_a_tensor_without_grad_raises() -> None:
    with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
        ag.ones(2).sum().backward()


def test_hooks() -> None:
    x = leaf([1.0, 2.0])
    y = x * 2
    handle = y.register_hook(lambda g: g * 10)  # replaces the gradient flowing on
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()))  # observes, returns None
    (y * y).sum().backward()
    assert x.grad.tolist() == [80.0, 160.0] and seen == [[80.0, 160.0]]
    handle.remove()
    x.grad = None
    (x * 2 * (x * 2)).sum().backward()
    assert x.grad.tolist() == [8.0, 16.0]
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
        ag.ones(2).register_hook(lambda g: g)


def test_retain_grad() -> None:
    x = leaf([1.0, 2.0])
    y = x * 3
    z = x * 4
    y.retain_grad()
    (y * y + z).sum().backward()
    assert y.grad.tolist() == [6.0, 12.0] and y.retains_grad
    assert z.grad is None  # non-leaf grads are not kept by default
    x.retain_grad()  # a no-op on leaves
    with pytest.raises(RuntimeError, match="can't retain_grad on a Tensor that has requires_grad=False"):
        ag.ones(1).retain_grad()


def test_detach() -> None:
    x = leaf([1.0, 2.0])
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    assert np.shares_memory(d._data, y._data)
    e = x.detach()
    e[0] = 9.0  # same memory as x
    assert x.tolist() == [9.0, 2.0]
    (d * x).sum().backward()  # no gradient flows through d
    assert x.grad.tolist() == [2.0, 4.0]
    assert not x.data.requires_grad and x.data.is_leaf


def test_requires_grad_() -> None:
    t = ag.tensor([1.0])
    assert t.requires_grad_() is t and t.requires_grad
    t.requires_grad_(False)
    assert not t.requires_grad and not (t * 2).requires_grad
    y = leaf([1.0]) * 2
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf variables"):
        y.requires_grad_(False)


def test_grad_mode_context_managers() -> None:
    x = leaf([1.0])
    assert ag.is_grad_enabled()
    with ag.no_grad():
        assert not ag.is_grad_enabled()
        y = x * 2
        with ag.enable_grad():
            z = x * 2
        with ag.set_grad_enabled(True):
            w = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and w.requires_grad
    with ag.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert ag.is_grad_enabled()
    ag.set_grad_enabled(False)  # a plain call takes effect at once
    try:
        assert not ag.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        ag.set_grad_enabled(True)
    assert ag.is_grad_enabled()
    with pytest.raises(ValueError), ag.no_grad():
        raise ValueError  # the mode is restored after an exception
    assert ag.is_grad_enabled()


def test_grad_mode_decorators() -> None:
    x = leaf([1.0])

    @ag.no_grad()
    def frozen(t):  # type: ignore[no-untyped-def]
        return t * 2

    @ag.enable_grad()
    def tracked(t):  # type: ignore[no-untyped-def]
        return t * 2

    @ag.set_grad_enabled(False)
    def off(t):  # type: ignore[no-untyped-def]
        return t * 2

    assert ag.is_grad_enabled()  # decorating does not switch the mode
    assert not frozen(x).requires_grad and not off(x).requires_grad
    with ag.no_grad():
        assert tracked(x).requires_grad
    assert frozen.__name__ == "frozen" and ag.is_grad_enabled()


def test_grad_mode_is_thread_local() -> None:
    seen = {}

    def worker() -> None:
        seen["worker"] = ag.is_grad_enabled()
        with ag.no_grad():
            seen["worker_inside"] = ag.is_grad_enabled()

    with ag.no_grad():
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        seen["main"] = ag.is_grad_enabled()
    assert seen == {"worker": True, "worker_inside": False, "main": False}
    assert ag.is_grad_enabled()


def test_ops_follow_each_threads_own_grad_mode_while_another_thread_has_it_off() -> None:
    # The hot paths skip the thread-local flag while no thread has grad off; once one has,
    # every thread must read its own flag again, and the count must come back to zero.
    from autograd_lite.autograd.grad_mode import _threads_disabled

    x = leaf([1.0, 2.0])
    assert _threads_disabled[0] == 0
    inside, resume, seen = threading.Event(), threading.Event(), {}

    def worker() -> None:
        with ag.no_grad():
            seen["worker"] = (x * 2).requires_grad, (x + 1).requires_grad, x.tanh().requires_grad
            inside.set()
            resume.wait(5)

    thread = threading.Thread(target=worker)
    thread.start()
    assert inside.wait(5)
    assert _threads_disabled[0] == 1
    recorded = ((x * 2).requires_grad, (x + 1).requires_grad, x.tanh().requires_grad,
                ag.nn.functional.linear(x, x.reshape(1, 2)).requires_grad)
    resume.set()
    thread.join()
    assert seen["worker"] == (False, False, False)
    assert recorded == (True, True, True, True)
    # backward, custom Functions, in-place ops and failures inside no_grad all restore the count
    (x * x).sum().backward()
    with pytest.raises(ZeroDivisionError), ag.no_grad():
        raise ZeroDivisionError
    ag.tensor([1.0]).mul_(2)
    assert _threads_disabled[0] == 0 and ag.is_grad_enabled()


# ---------------------------------------------------------------- higher order (point 10)
def test_autograd_grad_does_not_touch_grad_and_handles_unused() -> None:
    x, z = leaf([1.0, 2.0]), leaf([1.0])
    y = (x * x).sum()
    (g,) = ag.autograd.grad(y, x, retain_graph=True)
    assert g.tolist() == [2.0, 4.0] and x.grad is None and not g.requires_grad
    with pytest.raises(RuntimeError, match="input 1 .* was not used in the graph"):
        ag.autograd.grad(y, [x, z], retain_graph=True)
    g, unused = ag.autograd.grad(y, [x, z], allow_unused=True)
    assert unused is None
    with pytest.raises(RuntimeError, match="input 0 .* does not require grad"):
        ag.autograd.grad((x * 2).sum(), ag.ones(1))


def test_third_derivatives() -> None:
    x = leaf([0.7, -1.3])
    y = (x ** 4 + x.sin()).sum()
    (g1,) = ag.autograd.grad(y, x, create_graph=True)
    (g2,) = ag.autograd.grad(g1.sum(), x, create_graph=True)
    (g3,) = ag.autograd.grad(g2.sum(), x)
    v = np.array([0.7, -1.3])
    np.testing.assert_allclose(g1.detach().numpy(), 4 * v ** 3 + np.cos(v), rtol=1e-12)
    np.testing.assert_allclose(g2.detach().numpy(), 12 * v ** 2 - np.sin(v), rtol=1e-12)
    np.testing.assert_allclose(g3.numpy(), 24 * v - np.cos(v), rtol=1e-12)


def test_backward_with_create_graph_gives_differentiable_grad() -> None:
    x = leaf([1.5])
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (g2,) = ag.autograd.grad(x.grad.sum(), x)
    assert g2.item() == pytest.approx(6 * 1.5)


def _mlp_hvp(lib, params, x, v):  # type: ignore[no-untyped-def]
    """A Hessian-vector product of a small MLP's loss, written once for ag and torch."""
    w1, b1, w2, b2 = params
    hidden = (x @ w1 + b1).tanh()
    logits = hidden @ w2 + b2
    loss = (logits.sigmoid() - 0.5).pow(2).sum() + (hidden * hidden).mean()
    grads = lib.autograd.grad(loss, params, create_graph=True)
    dot = sum((g * u).sum() for g, u in zip(grads, v))
    return lib.autograd.grad(dot, params)


def test_hessian_vector_product_of_an_mlp_matches_torch(torch) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    shapes = [(3, 5), (5,), (5, 2), (2,)]
    values = [rng.standard_normal(s) for s in shapes]
    direction = [rng.standard_normal(s) for s in shapes]
    x = rng.standard_normal((4, 3))
    ours = _mlp_hvp(ag, [ag.tensor(p, requires_grad=True) for p in values], ag.tensor(x),
                    [ag.tensor(u) for u in direction])
    theirs = _mlp_hvp(torch, [torch.tensor(p, requires_grad=True) for p in values], torch.tensor(x),
                      [torch.tensor(u) for u in direction])
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- Function, gradcheck, anomaly (point 11)
class _ScaledProduct(Function):
    """out = factor * x * y, with a Python number among the arguments."""

    @staticmethod
    def forward(ctx, x, factor, y):  # type: ignore[no-untyped-def]
        ctx.save_for_backward(x, y)
        ctx.factor = factor
        ctx.seen_needs = ctx.needs_input_grad
        return x * y * factor

    @staticmethod
    def backward(ctx, g):  # type: ignore[no-untyped-def]
        x, y = ctx.saved_tensors
        _ScaledProduct.last_needs = ctx.needs_input_grad
        gx = g * y * ctx.factor if ctx.needs_input_grad[0] else None
        gy = g * x * ctx.factor if ctx.needs_input_grad[2] else None
        return gx, None, gy


def test_function_save_for_backward_and_needs_input_grad() -> None:
    x, y = leaf([1.0, 2.0]), ag.tensor([3.0, 4.0], dtype=ag.float64)
    out = _ScaledProduct.apply(x, 2.0, y)
    assert out.requires_grad and out.grad_fn is not None and "_ScaledProduct" in repr(out.grad_fn)
    out.sum().backward()
    assert _ScaledProduct.last_needs == (True, False, False)
    assert x.grad.tolist() == [6.0, 8.0] and y.grad is None
    y.requires_grad_()
    _ScaledProduct.apply(x, 2.0, y).sum().backward()
    assert _ScaledProduct.last_needs == (True, False, True) and y.grad.tolist() == [2.0, 4.0]
    with ag.no_grad():
        assert not _ScaledProduct.apply(x, 2.0, y).requires_grad


def test_function_saved_tensors_check_versions_and_freeing() -> None:
    x = leaf([1.0, 2.0])
    y = x * 1
    out = _ScaledProduct.apply(y, 1.0, ag.ones(2, dtype=ag.float64))
    with ag.no_grad():
        y.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        out.sum().backward()


def test_function_is_differentiable_twice() -> None:
    x = leaf([1.5, -0.5])

    class Cube(Function):
        @staticmethod
        def forward(ctx, t):  # type: ignore[no-untyped-def]
            ctx.save_for_backward(t)
            return t * t * t

        @staticmethod
        def backward(ctx, g):  # type: ignore[no-untyped-def]
            (t,) = ctx.saved_tensors
            return g * 3 * t * t

    (g,) = ag.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    (h,) = ag.autograd.grad(g.sum(), x)
    assert h.tolist() == [6 * 1.5, 6 * -0.5]
    assert gradcheck(Cube.apply, (leaf([0.3, 1.2]),)) and gradgradcheck(Cube.apply, (leaf([0.3, 1.2]),))


def test_gradcheck_and_gradgradcheck_pass_on_correct_functions() -> None:
    a, b = leaf([[0.5, -1.0], [2.0, 0.3]]), leaf([0.7, 1.1])
    functions = [lambda p, q: (p @ q).tanh(), lambda p, q: ag.softmax(p * q, dim=1),
                 lambda p, q: p.max(dim=0).values * q]
    for fn in functions:
        assert gradcheck(fn, (a, b))
        assert gradgradcheck(fn, (a, b))


class _WrongBackward(Function):
    @staticmethod
    def forward(ctx, x):  # type: ignore[no-untyped-def]
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):  # type: ignore[no-untyped-def]
        (x,) = ctx.saved_tensors
        return g * 2 * x + (x > 1.5) * 1.0  # wrong at the elements above 1.5


def test_gradcheck_failure_report_names_input_index_and_values() -> None:
    x = leaf([[1.0, 2.0], [0.5, 1.0]])
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda c, t: c * _WrongBackward.apply(t), (ag.ones(1, dtype=ag.float64), x))
    message = str(info.value)
    assert "with respect to input 1 (shape (2, 2))" in message
    # the wrong backward adds 1 at x = 2.0 (element (0, 1)) whatever the output seed is: the first
    # wrong Jacobian entry is d out[0] / d x[0, 1], numerically 0 but analytically 1
    assert "at input element (0, 1), output element 0: numerical 0.0 vs analytical 1.0" in message
    assert "(4 of 16 entries differ)" in message
    assert not gradcheck(_WrongBackward.apply, (x,), raise_exception=False)


class _WrongSecondDerivative(Function):
    @staticmethod
    def forward(ctx, x):  # type: ignore[no-untyped-def]
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):  # type: ignore[no-untyped-def]
        (x,) = ctx.saved_tensors
        return g * 3 * (x * x).detach()  # right values, but not differentiable


def test_gradgradcheck_catches_a_wrong_second_derivative() -> None:
    x = leaf([0.5, 1.5])
    assert gradcheck(_WrongSecondDerivative.apply, (x,))
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        gradgradcheck(_WrongSecondDerivative.apply, (x,))


def test_detect_anomaly_names_the_op_and_the_forward_line() -> None:
    x = leaf([0.0, 4.0])
    with ag.autograd.detect_anomaly():
        root = ag.sqrt(x)  # the forward op whose VJP divides by zero
        forward_line = inspect.currentframe().f_lineno - 1  # type: ignore[union-attr]
        loss = (root * 2).sum()
        with pytest.raises(RuntimeError) as info:
            loss.backward()
    message = str(info.value)
    assert "SqrtBackward" in message and "nan or inf" in message
    assert f"test_engine.py\", line {forward_line}" in message
    assert "root = ag.sqrt(x)" in message
    # without anomaly mode the same backward quietly yields inf, as in PyTorch
    x.grad = None
    (ag.sqrt(x) * 2).sum().backward()
    assert x.grad.tolist()[0] == float("inf")
    assert not ag.autograd.is_anomaly_enabled()


def test_set_detect_anomaly() -> None:
    ag.autograd.set_detect_anomaly(True)
    try:
        assert ag.autograd.is_anomaly_enabled()
        with pytest.raises(RuntimeError, match="LogBackward"):
            ag.log(leaf([0.0])).sum().backward()
    finally:
        ag.autograd.set_detect_anomaly(False)
    assert not ag.autograd.is_anomaly_enabled()


# ---------------------------------------------------------------- memory (point 12)
def _training_step(params, x, target):  # type: ignore[no-untyped-def]
    w1, b1, w2 = params
    hidden = (x @ w1 + b1).relu()
    output = (hidden @ w2).sigmoid()
    loss = ((output - target) ** 2).mean()
    loss.backward()
    with ag.no_grad():
        for p in params:
            p -= 0.1 * p.grad
            p.grad = None
    return loss, hidden, output


def test_ten_thousand_steps_keep_nothing_alive_and_make_no_cycles() -> None:
    rng = np.random.default_rng(0)
    params = [ag.tensor(rng.standard_normal(s) * 0.5, requires_grad=True) for s in [(4, 8), (8,), (8, 1)]]
    x, target = ag.tensor(rng.standard_normal((16, 4))), ag.tensor(rng.random((16, 1)))
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()  # reference counting alone must free each step's graph
    try:
        dead_checks = 0
        for step in range(10_000):
            loss, hidden, output = _training_step(params, x, target)
            if step % 500 == 0:
                refs = [weakref.ref(t) for t in (loss, hidden, output)]
                refs += [weakref.ref(t.grad_fn) for t in (loss, hidden, output)]
                refs += [weakref.ref(t._data) for t in (hidden, output) if isinstance(t._data, np.ndarray)]
                del loss, hidden, output
                assert all(r() is None for r in refs), f"step {step}: its graph or arrays are still alive"
                dead_checks += 1
            if step == 6_000:  # tracing is slow: watch the last 4,000 steps, after a 1,000-step warm-up
                tracemalloc.start()
            if step == 7_000:
                baseline, _ = tracemalloc.get_traced_memory()
        current, _ = tracemalloc.get_traced_memory()
        assert dead_checks == 20
        assert current - baseline < 32 * 1024, f"memory grew by {current - baseline} bytes over 3,000 steps"
        assert gc.collect() == 0, "the training loop created reference cycles"
    finally:
        tracemalloc.stop()
        if was_enabled:
            gc.enable()


def test_a_backward_that_fails_midway_leaves_the_graph_ready_for_the_next_one() -> None:
    # h feeds two consumers; a hook raising on one of them stops the walk while h still waits
    # for the other. The next backward over the same graph must count from scratch.
    x = leaf([1.0, 2.0])
    h = x * 2
    a, b = h * 3, h * 4
    loss = (a + b).sum()
    calls = []

    def fail_once(g):
        calls.append(g)
        if len(calls) == 1:
            raise ValueError("hook failed")

    a.register_hook(fail_once)
    with pytest.raises(ValueError, match="hook failed"):
        loss.backward(retain_graph=True)
    assert x.grad is None
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [14.0, 14.0])  # d/dx (6x + 8x)
