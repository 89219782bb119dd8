"""Hand-derived NumPy versions of every workload: the forward pass and its gradients by hand.

These are the "how fast could it be without a framework" baselines, and an independent
check of the frameworks' numbers: each function here derives its gradients on paper
(comments give the chain rule), shares no code with autograd_lite or torch, and must
reach the same final loss from the same data and initial weights.

Every function takes the workload's ``cfg`` and ``data`` and returns a
:class:`~benchmarks.workloads.common.Runner`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.workloads.common import Runner, tensor_norm


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # exp of a non-positive number only, so no overflow for large |z|
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _copy_weights(data: dict[str, Any]) -> dict[str, np.ndarray]:
    return {name: array.copy() for name, array in data["weights"].items()}


def _cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy and its gradient: d loss / d logits = (softmax - onehot) / N."""
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = float(np.mean(np.log(total[:, 0]) - shifted[rows, labels]))
    grad = exp / total
    grad[rows, labels] -= 1
    grad /= n
    return loss, grad


# ---------------------------------------------------------------------------------- xor
def xor(cfg: dict[str, Any], data: dict[str, Any]) -> Runner:
    """The seed's delta rule: o = s(h W2^T + b2), h = s(x W1^T + b1), E = 0.5 sum (o - t)^2.

    delta_o = (o - t) o (1 - o);  dW2 = delta_o^T h;  db2 = sum delta_o
    delta_h = (delta_o W2) h (1 - h);  dW1 = delta_h^T x;  db1 = sum delta_h
    """
    x, t = data["x"], data["t"]
    steps, lr = cfg["steps"], cfg["lr"]
    params: dict[str, np.ndarray] = {}

    def reset() -> None:
        params.update(_copy_weights(data))

    def run() -> dict[str, float]:
        w1, b1, w2, b2 = params["0.weight"], params["0.bias"], params["2.weight"], params["2.bias"]
        for _ in range(steps):
            h = _sigmoid(x @ w1.T + b1)
            o = _sigmoid(h @ w2.T + b2)
            err = o - t
            loss = 0.5 * float(np.sum(err * err))
            delta_o = err * o * (1.0 - o)
            delta_h = (delta_o @ w2) * h * (1.0 - h)
            w2 -= lr * (delta_o.T @ h)
            b2 -= lr * delta_o.sum(axis=0)
            w1 -= lr * (delta_h.T @ x)
            b1 -= lr * delta_h.sum(axis=0)
        return {"loss": loss, "weight_norm": tensor_norm(params.values())}

    return Runner(reset, run)


# ---------------------------------------------------------------------------------- tiny_ops
def tiny_ops(cfg: dict[str, Any], data: dict[str, Any]) -> Runner:
    """y_k = tanh(1.01 y_{k-1} + 0.1);  dL/dy_{k-1} = dL/dy_k (1 - y_k^2) 1.01;  dL/dy_K = 1."""
    x = data["x"]
    repeats, blocks = cfg["repeats"], cfg["blocks"]

    def run() -> dict[str, float]:
        for _ in range(repeats):
            outs = []
            y = x
            for _ in range(blocks):
                y = y * 1.01
                y = y + 0.1
                y = np.tanh(y)
                outs.append(y)
            loss = float(y.sum())
            g = np.ones_like(x)
            for y in reversed(outs):
                g = g * (1.0 - y * y)
                g = g * 1.01
        return {"loss": loss, "grad_norm": float(np.linalg.norm(g))}

    return Runner(lambda: None, run)


# ---------------------------------------------------------------------------------- deep_chain
def deep_chain(cfg: dict[str, Any], data: dict[str, Any]) -> Runner:
    """y <- y * c, y <- y + d, repeated; backward: d(y c)/dy = c, d(y + d)/dy = 1, op by op."""
    from benchmarks.workloads.deep_chain import ADD, MUL

    pairs = cfg["depth"] // 2
    x0 = np.float64(cfg["x0"])

    def run() -> dict[str, float]:
        y = x0
        for _ in range(pairs):
            y = y * MUL
            y = y + ADD
        g = np.float64(1.0)
        for _ in range(pairs):  # the add passes g through unchanged; the multiply scales it
            g = g * MUL
        return {"loss": float(y), "grad": float(g)}

    return Runner(lambda: None, run)


# ---------------------------------------------------------------------------------- mlp
def _sgd_momentum(params: dict[str, np.ndarray], grads: dict[str, np.ndarray], bufs: dict[str, np.ndarray],
                  lr: float, momentum: float) -> None:
    """PyTorch's SGD: b = g on the first step, else b = momentum b + g;  p -= lr b."""
    for name, g in grads.items():
        buf = bufs.get(name)
        if buf is None:
            bufs[name] = buf = g.copy()
        else:
            buf *= momentum
            buf += g
        params[name] -= lr * buf


def mlp(cfg: dict[str, Any], data: dict[str, Any]) -> Runner:
    """z1 = x W1^T + b1, a1 = relu(z1), z2 = a1 W2^T + b2, a2 = relu(z2), z3 = a2 W3^T + b3.

    dz3 = (softmax(z3) - onehot) / N;  dW3 = dz3^T a2;  db3 = sum dz3
    dz2 = (dz3 W3) [z2 > 0];  dW2 = dz2^T a1 ...;  dz1 = (dz2 W2) [z1 > 0];  dW1 = dz1^T x
    """
    x, y = data["x"], data["y"]
    steps, batch, samples = cfg["steps"], cfg["batch"], cfg["samples"]
    lr, momentum = np.float32(cfg["lr"]), np.float32(cfg["momentum"])
    params: dict[str, np.ndarray] = {}
    bufs: dict[str, np.ndarray] = {}

    def reset() -> None:
        params.update(_copy_weights(data))
        bufs.clear()

    def run() -> dict[str, float]:
        p = params
        for step in range(steps):
            start = (step * batch) % samples
            xb, yb = x[start:start + batch], y[start:start + batch]
            z1 = xb @ p["0.weight"].T + p["0.bias"]
            a1 = np.maximum(z1, 0)
            z2 = a1 @ p["2.weight"].T + p["2.bias"]
            a2 = np.maximum(z2, 0)
            z3 = a2 @ p["4.weight"].T + p["4.bias"]
            loss, dz3 = _cross_entropy(z3, yb)
            dz2 = (dz3 @ p["4.weight"]) * (z2 > 0)
            dz1 = (dz2 @ p["2.weight"]) * (z1 > 0)
            grads = {
                "4.weight": dz3.T @ a2, "4.bias": dz3.sum(axis=0),
                "2.weight": dz2.T @ a1, "2.bias": dz2.sum(axis=0),
                "0.weight": dz1.T @ xb, "0.bias": dz1.sum(axis=0),
            }
            _sgd_momentum(p, grads, bufs, lr, momentum)
        return {"loss": loss, "weight_norm": tensor_norm(p.values())}

    return Runner(reset, run)


# ---------------------------------------------------------------------------------- cnn
def _conv3x3_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """3x3 convolution, stride 1, padding 1, as one batched matmul over im2col columns.

    cols[n, (c, ki, kj), (i, j)] = xpad[n, c, i + ki, j + kj];  out[n] = W cols[n] + b
    The columns are filled with 9 slice copies (one per kernel offset), not per pixel.
    """
    n, c, h, wd = x.shape
    xpad = np.zeros((n, c, h + 2, wd + 2), dtype=x.dtype)
    xpad[:, :, 1:-1, 1:-1] = x
    cols = np.empty((n, c, 3, 3, h, wd), dtype=x.dtype)
    for ki in range(3):
        for kj in range(3):
            cols[:, :, ki, kj] = xpad[:, :, ki:ki + h, kj:kj + wd]
    cols = cols.reshape(n, c * 9, h * wd)
    out = w.reshape(w.shape[0], -1) @ cols + b[:, None]
    return out.reshape(n, -1, h, wd), cols


def _conv3x3_backward(
    dout: np.ndarray, cols: np.ndarray, w: np.ndarray, need_dx: bool
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """dW = sum_n dout[n] cols[n]^T;  db = sum dout;  dcols = W^T dout, added back at the 9 offsets."""
    n, o, h, wd = dout.shape
    d2 = dout.reshape(n, o, h * wd)
    dw = (d2 @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    db = d2.sum(axis=(0, 2))
    if not need_dx:
        return None, dw, db
    c = w.shape[1]
    dcols = (w.reshape(o, -1).T @ d2).reshape(n, c, 3, 3, h, wd)
    dxpad = np.zeros((n, c, h + 2, wd + 2), dtype=dout.dtype)
    for ki in range(3):
        for kj in range(3):
            dxpad[:, :, ki:ki + h, kj:kj + wd] += dcols[:, :, ki, kj]
    return dxpad[:, :, 1:-1, 1:-1], dw, db


def _maxpool2_forward(x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """2x2 max pooling over the four strided views of the window corners.

    Returns the output and one mask per corner marking the window's winner; a tie goes to
    the first corner in row-major order, as in PyTorch.
    """
    corners = [x[:, :, 0::2, 0::2], x[:, :, 0::2, 1::2], x[:, :, 1::2, 0::2], x[:, :, 1::2, 1::2]]
    out = np.maximum(np.maximum(corners[0], corners[1]), np.maximum(corners[2], corners[3]))
    taken = np.zeros(out.shape, dtype=bool)
    masks = []
    for corner in corners:
        mask = (corner == out) & ~taken
        taken |= mask
        masks.append(mask)
    return out, masks


def _maxpool2_backward(dout: np.ndarray, masks: list[np.ndarray]) -> np.ndarray:
    """The gradient goes to each window's winner only."""
    n, c, h2, w2 = dout.shape
    dx = np.empty((n, c, 2 * h2, 2 * w2), dtype=dout.dtype)
    for (di, dj), mask in zip(((0, 0), (0, 1), (1, 0), (1, 1)), masks, strict=True):
        np.multiply(dout, mask, out=dx[:, :, di::2, dj::2])
    return dx


def cnn(cfg: dict[str, Any], data: dict[str, Any]) -> Runner:
    """Conv-ReLU-Pool twice, Flatten, Linear, cross-entropy, plain SGD; gradients by hand."""
    x, y = data["x"], data["y"]
    steps, lr = cfg["steps"], np.float32(cfg["lr"])
    params: dict[str, np.ndarray] = {}

    def reset() -> None:
        params.update(_copy_weights(data))

    def run() -> dict[str, float]:
        p = params
        n = x.shape[0]
        for _ in range(steps):
            z1, cols1 = _conv3x3_forward(x, p["0.weight"], p["0.bias"])
            a1 = np.maximum(z1, 0)
            m1, idx1 = _maxpool2_forward(a1)
            z2, cols2 = _conv3x3_forward(m1, p["3.weight"], p["3.bias"])
            a2 = np.maximum(z2, 0)
            m2, idx2 = _maxpool2_forward(a2)
            flat = m2.reshape(n, -1)
            logits = flat @ p["7.weight"].T + p["7.bias"]
            loss, dlogits = _cross_entropy(logits, y)
            grads = {"7.weight": dlogits.T @ flat, "7.bias": dlogits.sum(axis=0)}
            dm2 = (dlogits @ p["7.weight"]).reshape(m2.shape)
            dz2 = _maxpool2_backward(dm2, idx2) * (z2 > 0)
            dm1, grads["3.weight"], grads["3.bias"] = _conv3x3_backward(dz2, cols2, p["3.weight"], True)
            dz1 = _maxpool2_backward(dm1, idx1) * (z1 > 0)
            _, grads["0.weight"], grads["0.bias"] = _conv3x3_backward(dz1, cols1, p["0.weight"], False)
            for name, g in grads.items():
                p[name] -= lr * g
        return {"loss": loss, "weight_norm": tensor_norm(p.values())}

    return Runner(reset, run)


# ---------------------------------------------------------------------------------- char_rnn
def _clip_grad_norm(grads: dict[str, np.ndarray], max_norm: float) -> None:
    """PyTorch's clip_grad_norm_: scale all gradients by min(1, max_norm / (||g|| + 1e-6))."""
    total = np.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
    scale = min(max_norm / (total + 1e-6), 1.0)
    for g in grads.values():
        g *= scale


def _adam(params: dict[str, np.ndarray], grads: dict[str, np.ndarray], state: dict[str, Any], lr: float,
          beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
    """Adam as PyTorch writes it: m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2,
    p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)."""
    state["t"] = t = state.get("t", 0) + 1
    step_size = lr / (1 - beta1**t)
    root_correction = np.sqrt(1 - beta2**t)
    for name, g in grads.items():
        m = state.setdefault("m_" + name, np.zeros_like(g))
        v = state.setdefault("v_" + name, np.zeros_like(g))
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        params[name] -= step_size * m / (np.sqrt(v) / root_correction + eps)


def char_rnn(cfg: dict[str, Any], data: dict[str, Any]) -> Runner:
    """Embedding, one LSTM layer (PyTorch's gate order i, f, g, o), Linear, cross-entropy.

    Forward per time step:  z = x_t W_ih^T + b_ih + h W_hh^T + b_hh;  i, f, o = s(z_i, z_f, z_o),
    g = tanh(z_g);  c' = f c + i g;  h' = o tanh(c').
    Backward through time:  dc = dc_next + dh o (1 - tanh(c')^2);  dz = (dc g i(1-i),
    dc c f(1-f), dc i (1-g^2), dh tanh(c') o(1-o));  dc_next = dc f;  dh_next = dz W_hh;
    dW_hh = sum_t dz_t^T h_t;  dW_ih = sum_t dz_t^T x_t;  the embedding rows add up dz W_ih.
    The state entering a chunk is a constant (truncated BPTT), so no gradient flows into it.
    Then clip_grad_norm_ and Adam, as in the example.
    """
    inputs, targets, steps = data["inputs"], data["targets"], data["steps"]
    t_len, hd = cfg["seq_len"], cfg["hidden"]
    b = inputs.shape[0]
    params: dict[str, np.ndarray] = {}
    adam: dict[str, Any] = {}

    def reset() -> None:
        params.update(_copy_weights(data))
        adam.clear()

    def step(ids: np.ndarray, labels: np.ndarray, h: np.ndarray, c: np.ndarray) -> tuple:
        p = params
        emb_w, w_ih, w_hh, w_out = p["embed.weight"], p["rnn.weight_ih_l0"], p["rnn.weight_hh_l0"], p["head.weight"]
        emb = emb_w[ids]  # (b, T, E)
        xz = emb @ w_ih.T + (p["rnn.bias_ih_l0"] + p["rnn.bias_hh_l0"])  # (b, T, 4H)
        gates = np.empty((b, t_len, 4 * hd))  # activated i, f, g, o
        cs = np.empty((b, t_len + 1, hd))  # cs[:, t] is the cell state entering step t
        hs = np.empty((b, t_len + 1, hd))
        tcs = np.empty((b, t_len, hd))
        cs[:, 0], hs[:, 0] = c, h
        for t in range(t_len):
            z = xz[:, t] + h @ w_hh.T
            a = gates[:, t]
            a[:, :2 * hd] = _sigmoid(z[:, :2 * hd])
            a[:, 2 * hd:3 * hd] = np.tanh(z[:, 2 * hd:3 * hd])
            a[:, 3 * hd:] = _sigmoid(z[:, 3 * hd:])
            c = a[:, hd:2 * hd] * c + a[:, :hd] * a[:, 2 * hd:3 * hd]
            tc = np.tanh(c)
            h = a[:, 3 * hd:] * tc
            cs[:, t + 1], hs[:, t + 1], tcs[:, t] = c, h, tc
        out = hs[:, 1:].reshape(b * t_len, hd)
        logits = out @ w_out.T + p["head.bias"]
        loss, dlogits = _cross_entropy(logits, labels.reshape(-1))
        grads = {"head.weight": dlogits.T @ out, "head.bias": dlogits.sum(axis=0)}
        dhs = (dlogits @ w_out).reshape(b, t_len, hd)
        dz_all = np.empty((b, t_len, 4 * hd))
        dh_next = np.zeros((b, hd))
        dc_next = np.zeros((b, hd))
        for t in reversed(range(t_len)):
            a = gates[:, t]
            i, f, g, o = a[:, :hd], a[:, hd:2 * hd], a[:, 2 * hd:3 * hd], a[:, 3 * hd:]
            tc = tcs[:, t]
            dh = dhs[:, t] + dh_next
            dc = dc_next + dh * o * (1.0 - tc * tc)
            dz = dz_all[:, t]
            dz[:, :hd] = dc * g * i * (1.0 - i)
            dz[:, hd:2 * hd] = dc * cs[:, t] * f * (1.0 - f)
            dz[:, 2 * hd:3 * hd] = dc * i * (1.0 - g * g)
            dz[:, 3 * hd:] = dh * tc * o * (1.0 - o)
            dc_next = dc * f
            dh_next = dz @ w_hh
        dz_flat = dz_all.reshape(b * t_len, 4 * hd)
        grads["rnn.weight_hh_l0"] = dz_flat.T @ hs[:, :-1].reshape(b * t_len, hd)
        grads["rnn.weight_ih_l0"] = dz_flat.T @ emb.reshape(b * t_len, -1)
        grads["rnn.bias_ih_l0"] = dz_flat.sum(axis=0)
        grads["rnn.bias_hh_l0"] = grads["rnn.bias_ih_l0"].copy()
        demb = np.zeros_like(emb_w)
        np.add.at(demb, ids.reshape(-1), dz_flat @ w_ih)
        grads["embed.weight"] = demb
        _clip_grad_norm(grads, cfg["max_norm"])
        _adam(p, grads, adam, cfg["lr"])
        return loss, h, c

    def run() -> dict[str, float]:
        h = np.zeros((b, hd))
        c = np.zeros((b, hd))
        for j in range(steps):
            window = slice(j * t_len, (j + 1) * t_len)
            loss, h, c = step(inputs[:, window], targets[:, window], h, c)
        return {"loss": loss, "weight_norm": tensor_norm(params.values())}

    return Runner(reset, run)
