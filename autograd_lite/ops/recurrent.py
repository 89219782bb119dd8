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
(LSTM) or None. Attributes: ``mode`` (``'RNN_TANH'``, ``'RNN_RELU'``, ``'LSTM'``, ``'GRU'``)
and ``reverse`` (run from the last step to the first). With hp = h W_hh^T + b_hh:

* RNN:  h' = act(x_proj + hp);  out[t] = [h]
* LSTM: i, f, g, o = sigma, sigma, tanh, sigma of the four blocks of x_proj + hp;
  c' = f * c + i * g;  h' = o * tanh(c');  out[t] = [h, c, i, f, g, o]
* GRU:  r, z = sigma of the first two blocks of x_proj + hp;  hn = third block of hp;
  n = tanh(x_proj_n + r * hn);  h' = n + z * (h - n);  out[t] = [h, r, z, n, hn]

The gates are part of the output so that the backward pass need not recompute them; the
layer reads only the h (and c) columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .elementwise import Tanh
from .primitive import Primitive
from .shape import Cat, Reshape

#: width of one step's output, in units of the hidden size
WIDTH = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 6, "GRU": 5}


def _gate_scales(mode: str, hidden: int, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per-column (inner scale, outer scale) turning tanh into each gate's activation.

    sigma(x) = tanh(x / 2) / 2 + 1/2, so with s = 1/2 on sigmoid columns and 1 on tanh
    columns, act = tanh(s * pre) * s + (1/2 - s/2 ... ) is one tanh over all gates at once:
    sigmoid columns get tanh(pre / 2) / 2 + 1/2, tanh columns tanh(pre).
    """
    blocks = {"LSTM": (0.5, 0.5, 1.0, 0.5), "GRU": (0.5, 0.5)}[mode]
    scale = np.repeat(np.asarray(blocks, dtype=dtype), hidden)
    return scale, np.where(scale == 0.5, 0.5, 0.0).astype(dtype)


def _forward(x_proj, w_hh, b_hh, h0, c0, mode, reverse):  # type: ignore[no-untyped-def]
    # Only ``out`` is allocated at full size: a fresh large array costs page faults on first
    # write, which outweigh the arithmetic at these sizes, so per-step work uses small arrays.
    steps, batch, _ = x_proj.shape
    hidden = w_hh.shape[1]
    dtype = np.result_type(x_proj, w_hh)
    out = np.empty((steps, batch, WIDTH[mode] * hidden), dtype=dtype)
    order = range(steps - 1, -1, -1) if reverse else range(steps)
    w_t = np.ascontiguousarray(w_hh.T)  # BLAS is about twice as fast on C-ordered operands here
    h, c = h0, c0
    if mode in ("LSTM", "GRU"):
        gated = 4 * hidden if mode == "LSTM" else 2 * hidden
        scale, shift = _gate_scales(mode, hidden, dtype)
        w_scaled = np.ascontiguousarray(w_t[:, :gated] * scale)
        bias = None if b_hh is None else b_hh[:gated] * scale
    if mode == "LSTM":
        # The input projections, scaled and with the recurrent bias, in one pass up front.
        x_scaled = x_proj * scale
        if bias is not None:
            x_scaled += bias
        product = np.empty((batch, hidden), dtype=dtype)
        for t in order:
            row = out[t]
            gates = row[:, 2 * hidden:]
            np.matmul(h, w_scaled, out=gates)
            gates += x_scaled[t]
            np.tanh(gates, out=gates)
            gates *= scale
            gates += shift
            i, f = gates[:, :hidden], gates[:, hidden:2 * hidden]
            g, o = gates[:, 2 * hidden:3 * hidden], gates[:, 3 * hidden:]
            c_new = row[:, hidden:2 * hidden]
            np.multiply(f, c, out=c_new)
            np.multiply(i, g, out=product)
            c_new += product
            c = c_new
            h = row[:, :hidden]
            np.tanh(c, out=h)
            h *= o
    elif mode == "GRU":
        w_n = np.ascontiguousarray(w_t[:, 2 * hidden:])
        b_n = None if b_hh is None else b_hh[2 * hidden:]
        for t in order:
            row = out[t]
            rz = row[:, hidden:3 * hidden]
            np.matmul(h, w_scaled, out=rz)
            rz += x_proj[t, :, :2 * hidden] * scale
            if bias is not None:
                rz += bias
            np.tanh(rz, out=rz)
            rz *= scale
            rz += shift
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
            i, f = out[t, :, 2 * hidden:3 * hidden], out[t, :, 3 * hidden:4 * hidden]
            gg, o = out[t, :, 4 * hidden:5 * hidden], out[t, :, 5 * hidden:]
            tc = Tanh.call(out[t, :, hidden:2 * hidden])
            dc = gt[:, hidden:2 * hidden] + dc_next + dh * o * (1 - tc * tc)
            d_i = dc * gg + gt[:, 2 * hidden:3 * hidden]
            d_f = dc * c_prev + gt[:, 3 * hidden:4 * hidden]
            d_g = dc * i + gt[:, 4 * hidden:5 * hidden]
            d_o = dh * tc + gt[:, 5 * hidden:]
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
    previous = Reshape.call(h0, shape=(1,) + tuple(h0.shape))
    if steps > 1:
        rest = out[1:, :, :hidden] if reverse else out[:-1, :, :hidden]
        previous = Cat.call(rest, previous, axis=0) if reverse else Cat.call(previous, rest, axis=0)
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
    steps, batch, _ = out.shape
    hidden = w_hh.shape[1]
    order = list(range(steps)) if reverse else list(range(steps - 1, -1, -1))  # backwards in time
    dh_next = np.zeros((batch, hidden), dtype=out.dtype)
    dc_next = np.zeros((batch, hidden), dtype=out.dtype)
    width = {"LSTM": 4, "GRU": 3}.get(mode, 1) * hidden
    grad_x = np.empty((steps, batch, width), dtype=out.dtype)
    grad_hp = np.empty_like(grad_x) if mode == "GRU" else grad_x
    if mode == "LSTM":
        # Per-step scratch arrays, allocated once: the loop below only writes into them.
        tc, dc, scratch = (np.empty((batch, hidden), dtype=out.dtype) for _ in range(3))
        deriv = np.empty((batch, 4 * hidden), dtype=out.dtype)
        dh_buffer, dc_buffer = np.empty_like(dh_next), np.empty_like(dc_next)
    dh = np.empty((batch, hidden), dtype=out.dtype)  # rewritten every step
    for position, t in enumerate(order):
        prev = order[position + 1] if position + 1 < steps else None
        gt = g[t]
        np.add(gt[:, :hidden], dh_next, out=dh)
        d = grad_x[t]
        if mode == "LSTM":
            act = out[t, :, 2 * hidden:]
            i, f = act[:, :hidden], act[:, hidden:2 * hidden]
            gg, o = act[:, 2 * hidden:3 * hidden], act[:, 3 * hidden:]
            np.tanh(out[t, :, hidden:2 * hidden], out=tc)
            np.multiply(dh, o, out=dc)
            np.multiply(tc, tc, out=scratch)
            np.subtract(1, scratch, out=scratch)
            dc *= scratch
            dc += gt[:, hidden:2 * hidden]
            dc += dc_next
            np.multiply(dc, gg, out=d[:, :hidden])
            np.multiply(dc, c0 if prev is None else out[prev, :, hidden:2 * hidden], out=d[:, hidden:2 * hidden])
            np.multiply(dc, i, out=d[:, 2 * hidden:3 * hidden])
            np.multiply(dh, tc, out=d[:, 3 * hidden:])
            d += gt[:, 2 * hidden:]
            np.subtract(1, act, out=deriv)
            deriv *= act
            np.multiply(gg, gg, out=scratch)
            np.subtract(1, scratch, out=deriv[:, 2 * hidden:3 * hidden])
            d *= deriv
            # (the previous step's dh_next and dc_next were read above: their buffers are free)
            dh_next = np.matmul(d, w_hh, out=dh_buffer)
            dc_next = np.multiply(dc, f, out=dc_buffer)
        elif mode == "GRU":
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
    return grad_x, grad_w, grad_b, dh_next, (dc_next if mode == "LSTM" else None)


#: the last backward computed: every input's VJP reads it, so BPTT runs once per node
_MEMO: list = [None]


def _grads(g, out, *inputs, mode, reverse):  # type: ignore[no-untyped-def]
    memo = _MEMO[0]
    if memo is not None and memo[0] is g and memo[1] is out:
        return memo[2]
    on_arrays = not any(hasattr(x, "_data") for x in (g, out) + inputs)  # Tensors: create_graph
    backward = _backward_numpy if on_arrays else _backward
    grads = backward(g, out, *inputs, mode=mode, reverse=reverse)
    _MEMO[0] = (g, out, grads)
    return grads


def _vjp(position: int) -> Any:
    def vjp(g, out, *inputs, mode, reverse):  # type: ignore[no-untyped-def]
        return _grads(g, out, *inputs, mode=mode, reverse=reverse)[position]

    return vjp


def _recurrent(x_proj, w_hh, b_hh, h0, c0, mode, reverse=False):  # type: ignore[no-untyped-def]
    _MEMO[0] = None  # a new forward: drop the last backward's arrays
    return _forward(x_proj, w_hh, b_hh, h0, c0, mode, reverse)


class Recurrent(Primitive):
    """out[t] = one RNN / LSTM / GRU step from h[t-1] (see the module docstring for the
    equations and the layout of out)

    VJPs: backpropagation through time. Walking the steps backwards, with dh, dc the
    gradients reaching h[t], c[t] (from out and from step t+1), e.g. for the LSTM:
    dc = dc_out + dc_next + dh * o * (1 - tanh(c)^2);  d(i, f, g, o) = (dc g, dc c_prev,
    dc i, dh tanh(c)) + their out gradients;  dpre = d(i, f, g, o) * activation';
    grad_x_proj[t] = dpre;  dh_next = dpre W_hh;  dc_next = dc * f;
    grad_w_hh = sum_t dpre[t]^T h[t-1];  grad_b_hh = sum_t dpre[t];  grad_h0 = dh_next.
    """

    saves_out = True
    forward = staticmethod(_recurrent)
    vjps = tuple(_vjp(k) for k in range(5))
