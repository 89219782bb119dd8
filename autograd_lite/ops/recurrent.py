"""One recurrent layer over a whole sequence as a single primitive (RNN, LSTM, GRU).

Recorded step by step, an LSTM costs about sixteen nodes per time step, and the engine's
per-node overhead then dominates small models. :class:`Recurrent` runs the whole time loop
inside its forward on NumPy arrays, and its VJP is backpropagation through time, in two
versions that the tests hold equal: :func:`_backward`, written only with operators,
indexing and other primitives' ``call``, which on Tensors (``create_graph=True``) records
itself, so the layer differentiates to any order; and :func:`_backward_numpy`, the same
recurrence with in-place NumPy operations, for the ordinary first-order backward. All five
input gradients come out of one BPTT pass (the VJPs share it through a one-entry memo).

Inputs: ``x_proj`` ``(T, B, G*H)`` = x W_ih^T + b_ih for every step (one matmul outside),
``w_hh`` ``(G*H, H)``, ``b_hh`` ``(G*H,)`` or None, ``h0`` ``(B, H)``, ``c0`` ``(B, H)``
(LSTM) or None. Attributes: ``mode`` (``'RNN_TANH'``, ``'RNN_RELU'``, ``'LSTM'``, ``'GRU'``),
``reverse`` (run from the last step to the first) and, for the LSTM only, ``gates`` (default
True; False leaves the gates out of ``out``, see below). With hp = h W_hh^T + b_hh:

* RNN:  h' = act(x_proj + hp);  out[t] = [h]
* LSTM: i, f, g, o = sigma, sigma, tanh, sigma of the four blocks of x_proj + hp;
  c' = f * c + i * g;  h' = o * tanh(c');  out[t] = [h, c, i, f, g, o] ([h, c] if not gates)
* GRU:  r, z = sigma of the first two blocks of x_proj + hp;  hn = third block of hp;
  n = tanh(x_proj_n + r * hn);  h' = n + z * (h - n);  out[t] = [h, r, z, n, hn]

The gates are part of the output so that the backward pass need not recompute them; the
layer reads only the h (and c) columns. The LSTM keeps them (and tanh(c)) in the workspace
that ``out`` is a view of, so ``nn.LSTM`` asks for ``gates=False``: ``out`` and its gradient
are a third of the size, and the first-order backward still reads the gates from the
workspace; the graph version (``create_graph=True``) recomputes them from h with primitives.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .elementwise import Sigmoid, Tanh
from .primitive import Primitive
from .shape import Cat, Reshape

#: width of one step's output, in units of the hidden size
WIDTH = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 6, "GRU": 5}


def _forward(x_proj, w_hh, b_hh, h0, c0, mode, reverse, gates=True):  # type: ignore[no-untyped-def]
    if mode == "LSTM":  # see "LSTM on a feature-major workspace" below
        workspace = _lstm_forward(x_proj, w_hh, b_hh, h0, c0, reverse)
        return workspace[:, :(6 if gates else 2) * w_hh.shape[1]].transpose(0, 2, 1)
    # Only ``out`` is allocated at full size: a fresh large array costs page faults on first
    # write, which outweigh the arithmetic at these sizes, so per-step work uses small arrays.
    steps, batch, _ = x_proj.shape
    hidden = w_hh.shape[1]
    dtype = np.result_type(x_proj, w_hh)
    out = np.empty((steps, batch, WIDTH[mode] * hidden), dtype=dtype)
    order = range(steps - 1, -1, -1) if reverse else range(steps)
    w_t = np.ascontiguousarray(w_hh.T)  # BLAS is about twice as fast on C-ordered operands here
    h = h0
    if mode == "GRU":
        # r, z = sigma(pre) = tanh(pre / 2) / 2 + 1/2: one tanh over both, the halving folded in
        w_scaled = np.ascontiguousarray(w_t[:, :2 * hidden] * 0.5)
        bias = None if b_hh is None else b_hh[:2 * hidden] * 0.5
        w_n = np.ascontiguousarray(w_t[:, 2 * hidden:])
        b_n = None if b_hh is None else b_hh[2 * hidden:]
        for t in order:
            row = out[t]
            rz = row[:, hidden:3 * hidden]
            np.matmul(h, w_scaled, out=rz)
            rz += x_proj[t, :, :2 * hidden] * 0.5
            if bias is not None:
                rz += bias
            np.tanh(rz, out=rz)
            rz *= 0.5
            rz += 0.5
            hn = row[:, 4 * hidden:]
            np.matmul(h, w_n, out=hn)
            if b_n is not None:
                hn += b_n
            n = row[:, 3 * hidden:4 * hidden]
            np.multiply(rz[:, :hidden], hn, out=n)
            n += x_proj[t, :, 2 * hidden:]
            np.tanh(n, out=n)
            h_new = row[:, :hidden]
            np.subtract(h, n, out=h_new)
            h_new *= rz[:, hidden:]
            h_new += n
            h = h_new
    else:
        for t in order:
            h = out[t]
            np.matmul(_previous(out, h0, t, reverse, steps), w_t, out=h)
            h += x_proj[t]
            if b_hh is not None:
                h += b_hh
            if mode == "RNN_TANH":
                np.tanh(h, out=h)
            else:
                np.maximum(h, 0, out=h)
    return out


# ---------------------------------------------------------------- LSTM on a feature-major workspace
# The LSTM's per-step work is a dozen elementwise operations on (batch, hidden) blocks. In the
# documented layout (steps, batch, 6 * hidden) every gate block is a strided column slice, and
# NumPy's ufuncs take several times longer on those than on contiguous arrays of the same size.
# So the LSTM runs on a feature-major workspace ``ws`` of shape (steps, 7 * hidden, batch):
# rows [h, c, i, f, g, o, tanh(c)] of each step, every block one contiguous (hidden, batch)
# array. ``out`` is the view ``ws[:, :6 * hidden].transpose(0, 2, 1)`` (``:2 * hidden`` without
# the gates): the documented layout without a copy. The first-order backward finds the
# workspace, gates and tanh(c) included, as ``out.base`` (or rebuilds it if ``out`` is not
# such a view). The price is a transposing read of x_proj[t] per step (none when x_proj is a
# view of a (4H, T*B) array, as ``nn.LSTM`` passes it) and two transposing copies after the
# backward loop, which leave grad x_proj in that same (4H, T*B) layout.


#: OpenBLAS, NumPy's BLAS, runs a matrix product of at most a million multiply-adds (m n k) with
#: its "small matrix" kernel where it has one (the AVX-512 builds): no packing of the operands and
#: no threads, about 30% faster at the size of a recurrent step's product than the packed kernel
#: just above that bound, and immune to busy cores. So a per-step product a little above it (up
#: to twice) is done as two row blocks that each fit under it; elsewhere that costs one more call.
_SMALL_GEMM = 1_000_000


def _row_blocks(rows: int, per_row: int) -> tuple[slice, ...]:
    """Row blocks for a matrix product with ``rows`` output rows of ``per_row`` multiply-adds each."""
    half = -(-rows // 2)
    if rows * per_row <= _SMALL_GEMM or half * per_row > _SMALL_GEMM:
        return (slice(None),)
    return (slice(0, half), slice(half, rows))


def _lstm_forward(x_proj, w_hh, b_hh, h0, c0, reverse):  # type: ignore[no-untyped-def]
    steps, batch, _ = x_proj.shape
    hidden = w_hh.shape[1]
    dtype = np.result_type(x_proj, w_hh)
    ws = np.empty((steps, 7 * hidden, batch), dtype=dtype)
    # the bias as a full (4H, batch) block: a contiguous add per step instead of a broadcast one
    bias = None if b_hh is None else np.repeat(b_hh[:, None].astype(dtype), batch, axis=1)
    blocks = _row_blocks(4 * hidden, hidden * batch)
    product = np.empty((hidden, batch), dtype=dtype)
    h, c = h0.T, c0.T
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        block = ws[t]
        gates = block[2 * hidden:6 * hidden]
        for rows in blocks:
            np.matmul(w_hh[rows], h, gates[rows])
        np.add(gates, x_proj[t].T, gates)  # transposing, unless x_proj is a view of (4H, T*B) rows
        if bias is not None:
            gates += bias
        # sigma(x) = tanh(x / 2) / 2 + 1/2: one tanh over all four gates, halved around it on i, f, o
        i_f, o = block[2 * hidden:4 * hidden], block[5 * hidden:6 * hidden]
        i_f *= 0.5
        o *= 0.5
        np.tanh(gates, gates)
        i_f *= 0.5
        i_f += 0.5
        o *= 0.5
        o += 0.5
        c_new = block[hidden:2 * hidden]
        np.multiply(block[3 * hidden:4 * hidden], c, c_new)
        np.multiply(block[2 * hidden:3 * hidden], block[4 * hidden:5 * hidden], product)
        c_new += product
        tanh_c = block[6 * hidden:]
        np.tanh(c_new, tanh_c)
        h = block[:hidden]
        np.multiply(o, tanh_c, h)
        c = c_new
    return ws


def _lstm_workspace(out, x_proj, w_hh, b_hh, h0, reverse):  # type: ignore[no-untyped-def]
    """The workspace behind ``out`` (from :func:`_forward`), or one rebuilt from ``out``."""
    steps, batch, width = out.shape
    hidden = w_hh.shape[1]
    ws = out.base
    if (isinstance(ws, np.ndarray) and ws.shape == (steps, 7 * hidden, batch) and ws.dtype == out.dtype
            and ws.flags.c_contiguous and out.ctypes.data == ws.ctypes.data
            and out.strides == (ws.strides[0], ws.strides[2], ws.strides[1])):
        return ws
    ws = np.empty((steps, 7 * hidden, batch), dtype=out.dtype)
    np.copyto(ws[:, :width], out.transpose(0, 2, 1))
    if width == 2 * hidden:  # the gates are not in ``out``: recompute them
        np.copyto(ws[:, 2 * hidden:6 * hidden], _lstm_gates(out, x_proj, w_hh, b_hh, h0, reverse).transpose(0, 2, 1))
    np.tanh(ws[:, hidden:2 * hidden], out=ws[:, 6 * hidden:])
    return ws


def _lstm_gates(out, x_proj, w_hh, b_hh, h0, reverse):  # type: ignore[no-untyped-def]
    """The LSTM's gate activations (i, f, g, o) for every step, ``(T, B, 4H)``, recomputed from
    its h outputs; with primitives' ``call``, so on Tensors they are differentiable."""
    hidden = w_hh.shape[1]
    pre = x_proj + _previous_h(out, h0, reverse) @ w_hh.mT
    if b_hh is not None:
        pre = pre + b_hh
    sig = Sigmoid.call(pre)  # over all four blocks: one call; the g block's is not used
    return Cat.call(sig[..., :2 * hidden], Tanh.call(pre[..., 2 * hidden:3 * hidden]), sig[..., 3 * hidden:], axis=2)


def _previous_h(out, h0, reverse):  # type: ignore[no-untyped-def]
    """h[t-1] for every step (h0 for the first in the direction of travel), ``(T, B, H)``."""
    steps, hidden = out.shape[0], h0.shape[-1]
    previous = Reshape.call(h0, shape=(1,) + tuple(h0.shape))
    if steps > 1:
        rest = out[1:, :, :hidden] if reverse else out[:-1, :, :hidden]
        previous = Cat.call(rest, previous, axis=0) if reverse else Cat.call(previous, rest, axis=0)
    return previous


def _lstm_backward_numpy(g, out, x_proj, w_hh, b_hh, h0, c0, reverse):  # type: ignore[no-untyped-def]
    """:func:`_backward_numpy` for the LSTM, on the feature-major workspace (see above)."""
    steps, batch, _ = out.shape
    hidden = w_hh.shape[1]
    dtype = out.dtype
    ws = _lstm_workspace(out, x_proj, w_hh, b_hh, h0, reverse)
    order = list(range(steps)) if reverse else list(range(steps - 1, -1, -1))  # backwards in time
    # The gradient reaching h from out, feature-major. Those reaching c and the gates are
    # usually zero (the layer reads only h and the last c): they are read only if not.
    g_h = np.empty((steps, hidden, batch), dtype=dtype)
    np.copyto(g_h.transpose(0, 2, 1), g[:, :, :hidden])
    g_rest = g[:, :, hidden:] if g[:, :, hidden:].any() else None  # (T, B, H or 5H)
    # d(pre-activations), step by step into contiguous blocks, then stored as (4H, steps, batch):
    # its (steps, batch) axes merge, so grad_w is one matmul and grad_x a view.
    d_steps = np.empty((steps, 4 * hidden, batch), dtype=dtype)
    dh = np.empty((hidden, batch), dtype=dtype)
    dc = np.empty((hidden, batch), dtype=dtype)
    h_to_c = np.empty((hidden, batch), dtype=dtype)
    squares = np.empty((4 * hidden, batch), dtype=dtype)
    deriv = np.empty((4 * hidden, batch), dtype=dtype)
    dh_next = np.zeros((hidden, batch), dtype=dtype)
    dc_next = np.zeros((hidden, batch), dtype=dtype)
    w_t = w_hh.T  # (a transposed view: as fast as a copy in the row blocks below)
    blocks = _row_blocks(hidden, 4 * hidden * batch)
    for position, t in enumerate(order):
        prev = order[position + 1] if position + 1 < steps else None
        block = ws[t]
        act = block[2 * hidden:6 * hidden]
        np.add(g_h[t], dh_next, out=dh)
        # dc = dh * o * (1 - tanh(c)^2) + dc_out + dc_next, with o (1 - tanh(c)^2) = o - h tanh(c)
        np.multiply(block[:hidden], block[6 * hidden:], out=h_to_c)
        np.subtract(block[5 * hidden:6 * hidden], h_to_c, out=h_to_c)
        np.multiply(dh, h_to_c, out=dc)
        if g_rest is not None:
            dc += g_rest[t, :, :hidden].T
        if position:
            dc += dc_next
        # d(i, f, g, o) = (dc g, dc c_prev, dc i, dh tanh(c)) + their out gradients
        d = d_steps[t]
        np.multiply(dc, block[4 * hidden:5 * hidden], out=d[:hidden])
        np.multiply(dc, c0.T if prev is None else ws[prev, hidden:2 * hidden], out=d[hidden:2 * hidden])
        np.multiply(dc, block[2 * hidden:3 * hidden], out=d[2 * hidden:3 * hidden])
        np.multiply(dh, block[6 * hidden:], out=d[3 * hidden:])
        if g_rest is not None and g_rest.shape[2] > hidden:
            d += g_rest[t, :, hidden:].T
        # times the activations' derivatives: s - s^2 for the sigmoids, 1 - g^2 for g
        np.multiply(act, act, out=squares)
        np.subtract(act, squares, out=deriv)
        np.subtract(1, squares[2 * hidden:3 * hidden], out=deriv[2 * hidden:3 * hidden])
        d *= deriv
        # (the previous step's dh_next and dc_next were read above: their buffers are free)
        for rows in blocks:
            np.matmul(w_t[rows], d, dh_next[rows])
        np.multiply(dc, block[3 * hidden:4 * hidden], out=dc_next)
    d_pre = np.empty((4 * hidden, steps, batch), dtype=dtype)
    np.copyto(d_pre.transpose(1, 0, 2), d_steps)
    d_flat = d_pre.reshape(4 * hidden, steps * batch)
    # h[t-1] for every step in the same (hidden, steps, batch) layout
    h_prev = np.empty((hidden, steps, batch), dtype=dtype)
    if steps:
        later, earlier = slice(1, None), slice(0, -1)
        first, rest, source = (steps - 1, earlier, later) if reverse else (0, later, earlier)
        h_prev[:, first] = h0.T
        np.copyto(h_prev[:, rest].transpose(1, 0, 2), ws[source, :hidden])
    grad_w = d_flat @ h_prev.reshape(hidden, steps * batch).T
    grad_b = None if b_hh is None else d_flat @ np.ones(steps * batch, dtype=dtype)  # a GEMV: the fastest sum
    grad_x = d_flat.T.reshape(steps, batch, 4 * hidden)
    return grad_x, grad_w, grad_b, np.ascontiguousarray(dh_next.T), np.ascontiguousarray(dc_next.T)


def _previous(out: np.ndarray, h0: np.ndarray, t: int, reverse: bool, steps: int) -> np.ndarray:
    """h[t-1] in the direction of travel (h0 before the first step)."""
    if reverse:
        return h0 if t == steps - 1 else out[t + 1]
    return h0 if t == 0 else out[t - 1]


def _stack(pieces: list) -> Any:
    """Stack equal-shaped arrays or Tensors along a new first axis (works on both)."""
    return Cat.call(*[Reshape.call(p, shape=(1,) + tuple(p.shape)) for p in pieces], axis=0)


def _backward(g, out, x_proj, w_hh, b_hh, h0, c0, mode, reverse):  # type: ignore[no-untyped-def]
    """Backpropagation through time: (grad x_proj, grad w_hh, grad b_hh, grad h0, grad c0).

    Written only with operators, indexing, ``@``, ``.mT`` and primitives' ``call``, so the
    same code runs on arrays and (for higher-order gradients) on Tensors.
    """
    steps = x_proj.shape[0]
    hidden = w_hh.shape[1]
    order = list(range(steps - 1, -1, -1)) if reverse else list(range(steps))
    if mode == "LSTM":
        # the gates: out's columns 2H: onwards, or (out = [h, c] only) recomputed
        gates_out = out.shape[2] > 2 * hidden
        acts, first = (out, 2 * hidden) if gates_out else (_lstm_gates(out, x_proj, w_hh, b_hh, h0, reverse), 0)
    d_x: list = [None] * steps
    d_hp: list = [None] * steps
    dh_next: Any = 0
    dc_next: Any = 0
    for position in range(steps - 1, -1, -1):  # walk the steps backwards in time
        t = order[position]
        prev = order[position - 1] if position else None
        gt = g[t]
        dh = gt[:, :hidden] + dh_next
        if mode == "LSTM":
            c_prev = c0 if prev is None else out[prev, :, hidden:2 * hidden]
            i, f = acts[t, :, first:first + hidden], acts[t, :, first + hidden:first + 2 * hidden]
            gg, o = acts[t, :, first + 2 * hidden:first + 3 * hidden], acts[t, :, first + 3 * hidden:first + 4 * hidden]
            tc = Tanh.call(out[t, :, hidden:2 * hidden])
            dc = gt[:, hidden:2 * hidden] + dc_next + dh * o * (1 - tc * tc)
            d_i, d_f, d_g, d_o = dc * gg, dc * c_prev, dc * i, dh * tc
            if gates_out:
                d_i = d_i + gt[:, 2 * hidden:3 * hidden]
                d_f = d_f + gt[:, 3 * hidden:4 * hidden]
                d_g = d_g + gt[:, 4 * hidden:5 * hidden]
                d_o = d_o + gt[:, 5 * hidden:]
            dpre = Cat.call(d_i * i * (1 - i), d_f * f * (1 - f), d_g * (1 - gg * gg), d_o * o * (1 - o), axis=1)
            d_x[t] = d_hp[t] = dpre
            dh_next = dpre @ w_hh
            dc_next = dc * f
        elif mode == "GRU":
            h_prev = h0 if prev is None else out[prev, :, :hidden]
            r, z = out[t, :, hidden:2 * hidden], out[t, :, 2 * hidden:3 * hidden]
            n, hn = out[t, :, 3 * hidden:4 * hidden], out[t, :, 4 * hidden:]
            dn = dh * (1 - z) + gt[:, 3 * hidden:4 * hidden]
            dz = dh * (h_prev - n) + gt[:, 2 * hidden:3 * hidden]
            dn_pre = dn * (1 - n * n)
            dr = dn_pre * hn + gt[:, hidden:2 * hidden]
            d_hn = dn_pre * r + gt[:, 4 * hidden:]
            d_r_pre, d_z_pre = dr * r * (1 - r), dz * z * (1 - z)
            d_x[t] = Cat.call(d_r_pre, d_z_pre, dn_pre, axis=1)
            d_hp[t] = Cat.call(d_r_pre, d_z_pre, d_hn, axis=1)
            dh_next = dh * z + d_hp[t] @ w_hh
        else:
            h = out[t]
            if mode == "RNN_TANH":
                dpre = dh * (1 - h * h)
            else:  # the ReLU mask is a constant
                dpre = dh * (np.asarray(h) > 0)
            d_x[t] = d_hp[t] = dpre
            dh_next = dpre @ w_hh
    grad_x = _stack(d_x)
    grad_hp = grad_x if d_hp[0] is d_x[0] else _stack(d_hp)
    # h_prev for every step, in time order; then all steps' weight gradients in one matmul
    previous = _previous_h(out, h0, reverse)
    flat_hp = Reshape.call(grad_hp, shape=(-1, grad_hp.shape[2]))
    grad_w = flat_hp.mT @ Reshape.call(previous, shape=(-1, hidden))
    grad_b = None if b_hh is None else flat_hp.sum(axis=0)
    return grad_x, grad_w, grad_b, dh_next, (dc_next if mode == "LSTM" else None)


def _weight_grad(grad_hp: np.ndarray, out: np.ndarray, h0: np.ndarray, hidden: int, reverse: bool) -> np.ndarray:
    """sum_t grad_hp[t]^T h[t-1] as two matmuls over strided views (no stacked copy of h)."""
    steps, _, width = grad_hp.shape
    first = steps - 1 if reverse else 0
    grad_w = grad_hp[first].T @ h0
    if steps > 1:
        later = grad_hp[:-1] if reverse else grad_hp[1:]
        earlier = out[1:, :, :hidden] if reverse else out[:-1, :, :hidden]
        grad_w += later.reshape(-1, width).T @ earlier.reshape(-1, hidden)
    return grad_w


def _backward_numpy(g, out, x_proj, w_hh, b_hh, h0, c0, mode, reverse):  # type: ignore[no-untyped-def]
    """The same BPTT as :func:`_backward` on plain arrays (first order): in-place operations on
    small per-step arrays, and only the results allocated at full size."""
    g = np.asarray(g)
    if mode == "LSTM":
        return _lstm_backward_numpy(g, out, x_proj, w_hh, b_hh, h0, c0, reverse)
    steps, batch, _ = out.shape
    hidden = w_hh.shape[1]
    order = list(range(steps)) if reverse else list(range(steps - 1, -1, -1))  # backwards in time
    dh_next = np.zeros((batch, hidden), dtype=out.dtype)
    width = (3 if mode == "GRU" else 1) * hidden
    grad_x = np.empty((steps, batch, width), dtype=out.dtype)
    grad_hp = np.empty_like(grad_x) if mode == "GRU" else grad_x
    dh = np.empty((batch, hidden), dtype=out.dtype)  # rewritten every step
    for position, t in enumerate(order):
        prev = order[position + 1] if position + 1 < steps else None
        gt = g[t]
        np.add(gt[:, :hidden], dh_next, out=dh)
        d = grad_x[t]
        if mode == "GRU":
            r, z = out[t, :, hidden:2 * hidden], out[t, :, 2 * hidden:3 * hidden]
            n, hn = out[t, :, 3 * hidden:4 * hidden], out[t, :, 4 * hidden:]
            h_prev = h0 if prev is None else out[prev, :, :hidden]
            dn_pre = d[:, 2 * hidden:]
            np.multiply(dh, 1 - z, out=dn_pre)
            dn_pre += gt[:, 3 * hidden:4 * hidden]
            dn_pre *= 1 - n * n
            d_rz = d[:, :2 * hidden]
            np.multiply(dn_pre, hn, out=d_rz[:, :hidden])
            np.multiply(dh, h_prev - n, out=d_rz[:, hidden:])
            d_rz += gt[:, hidden:3 * hidden]
            rz = out[t, :, hidden:3 * hidden]
            d_rz *= rz
            d_rz *= 1 - rz
            dhp = grad_hp[t]
            dhp[:, :2 * hidden] = d_rz
            np.multiply(dn_pre, r, out=dhp[:, 2 * hidden:])
            dhp[:, 2 * hidden:] += gt[:, 4 * hidden:]
            dh_next = dh * z
            dh_next += dhp @ w_hh
        else:
            h = out[t]
            if mode == "RNN_TANH":
                np.multiply(dh, 1 - h * h, out=d)
            else:
                np.multiply(dh, h > 0, out=d)
            dh_next = d @ w_hh
    grad_w = _weight_grad(grad_hp, out, h0, hidden, reverse)
    grad_b = None if b_hh is None else grad_hp.sum(axis=(0, 1))
    return grad_x, grad_w, grad_b, dh_next, None


#: the last backward computed: every input's VJP reads it, so BPTT runs once per node
_MEMO: list = [None]


def _grads(grad_out, out, *inputs, mode, reverse, gates=True):  # type: ignore[no-untyped-def]
    memo = _MEMO[0]
    if memo is not None and memo[0] is grad_out and memo[1] is out:
        return memo[2]
    on_arrays = not any(hasattr(x, "_data") for x in (grad_out, out) + inputs)  # Tensors: create_graph
    backward = _backward_numpy if on_arrays else _backward
    grads = backward(grad_out, out, *inputs, mode=mode, reverse=reverse)
    _MEMO[0] = (grad_out, out, grads)
    return grads


def _vjp(position: int) -> Any:
    def vjp(grad_out, out, x_proj, w_hh, b_hh, h0, c0, *, mode, reverse, gates=True):  # type: ignore[no-untyped-def]
        return _grads(grad_out, out, x_proj, w_hh, b_hh, h0, c0, mode=mode, reverse=reverse)[position]

    return vjp


def _recurrent(x_proj, w_hh, b_hh, h0, c0, mode, reverse=False, gates=True):  # type: ignore[no-untyped-def]
    if not gates and mode != "LSTM":
        raise ValueError(f"Recurrent: gates=False (out without the gate columns) is for mode 'LSTM', got {mode!r}")
    _MEMO[0] = None  # a new forward: drop the last backward's arrays
    return _forward(x_proj, w_hh, b_hh, h0, c0, mode, reverse, gates)


class Recurrent(Primitive):
    """The module docstring has each mode's equations and the layout of out. The VJPs are
    backpropagation through time: walking the steps backwards, with dh, dc the gradients
    reaching h[t], c[t] (from out and from step t+1), e.g. for the LSTM:
    dc = dc_out + dc_next + dh * o * (1 - tanh(c)^2);  d(i, f, g, o) = (dc g, dc c_prev,
    dc i, dh tanh(c)) + their out gradients;  dpre = d(i, f, g, o) * activation';
    dh_next = dpre W_hh;  dc_next = dc * f.
    """

    formula = (
        "out = [h[t], ...] for every step t, with h[t] = cell(x_proj[t], h[t-1] @ w_hh^T + b_hh) and h[-1] = h0"
    )
    grad_formulas = (
        "grad_x_proj = dpre, the gradient of every step's pre-activations (backpropagation through time)",
        "grad_w_hh = sum over t of dpre[t]^T @ h[t-1]",
        "grad_b_hh = sum over t of dpre[t]",
        "grad_h0 = dh_next after the first step",
        "grad_c0 = dc_next after the first step (LSTM only)",
    )

    saves_out = True
    forward = staticmethod(_recurrent)
    vjps = tuple(_vjp(k) for k in range(5))
