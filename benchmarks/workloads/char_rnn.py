"""char_rnn: one epoch of a character-level LSTM language model, reported in tokens/s.

Embedding(V, 32) -> LSTM(32, 128, batch_first=True) -> Linear(128, V), float64,
cross-entropy on the next character, plain SGD at lr 0.5. The text (``char_rnn.txt``,
written for this benchmark) is cut into 8 parallel streams read in windows of 32
characters; each window starts from a zero state (no truncated-BPTT carry-over).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .. import numpy_reference
from . import Workload
from .common import Runner, linear_weights, load_weights, tensor_norm, uniform

TEXT_PATH = Path(__file__).with_name("char_rnn.txt")


def config(quick: bool) -> dict[str, Any]:
    if quick:
        return {"batch": 4, "seq_len": 8, "embed": 8, "hidden": 16, "max_steps": 3, "lr": 0.5}
    return {"batch": 8, "seq_len": 32, "embed": 32, "hidden": 128, "max_steps": None, "lr": 0.5}


def _batches(cfg: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, int]:
    text = TEXT_PATH.read_text(encoding="utf-8")
    vocab = sorted(set(text))
    ids = np.array([vocab.index(ch) for ch in text], dtype=np.int64)
    b, t = cfg["batch"], cfg["seq_len"]
    steps = (len(ids) - 1) // (b * t)
    if cfg["max_steps"] is not None:
        steps = min(steps, cfg["max_steps"])
    n = steps * b * t
    # stream k holds characters [k*L, (k+1)*L) with L = steps * t; window j is [:, j*t:(j+1)*t]
    inputs = ids[:n].reshape(b, steps * t)
    targets = ids[1:n + 1].reshape(b, steps * t)
    return inputs, targets, len(vocab)


def make_data(cfg: dict[str, Any]) -> dict[str, Any]:
    inputs, targets, vocab = _batches(cfg)
    rng = np.random.default_rng(4)
    e, h = cfg["embed"], cfg["hidden"]
    bound = 1.0 / np.sqrt(h)
    weights = {
        "embed.weight": rng.standard_normal((vocab, e)),
        "lstm.weight_ih_l0": uniform(rng, (4 * h, e), bound, np.float64),
        "lstm.weight_hh_l0": uniform(rng, (4 * h, h), bound, np.float64),
        "lstm.bias_ih_l0": uniform(rng, (4 * h,), bound, np.float64),
        "lstm.bias_hh_l0": uniform(rng, (4 * h,), bound, np.float64),
    }
    weights.update(linear_weights(rng, "head", h, vocab, np.float64))
    return {"inputs": inputs, "targets": targets, "vocab": vocab, "weights": weights}


def tokens(cfg: dict[str, Any]) -> int:
    inputs, _, _ = _batches(cfg)
    return int(inputs.size)


def build(lib: Any, cfg: dict[str, Any], data: dict[str, Any]) -> Runner:
    nn, F = lib.nn, lib.nn.functional
    vocab, t = data["vocab"], cfg["seq_len"]

    class CharLSTM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(vocab, cfg["embed"])
            self.lstm = nn.LSTM(cfg["embed"], cfg["hidden"], batch_first=True)
            self.head = nn.Linear(cfg["hidden"], vocab)

        def forward(self, ids: Any) -> Any:
            out, _ = self.lstm(self.embed(ids))
            return self.head(out)

    model = CharLSTM().to(lib.float64)
    inputs, targets = lib.from_numpy(data["inputs"]), lib.from_numpy(data["targets"])
    steps = data["inputs"].shape[1] // t
    state: dict[str, Any] = {}

    def reset() -> None:
        load_weights(lib, model, data["weights"])
        state["opt"] = lib.optim.SGD(model.parameters(), lr=cfg["lr"])

    def run() -> dict[str, float]:
        opt = state["opt"]
        for j in range(steps):
            opt.zero_grad()
            logits = model(inputs[:, j * t:(j + 1) * t])
            loss = F.cross_entropy(logits.reshape(-1, vocab), targets[:, j * t:(j + 1) * t].reshape(-1))
            loss.backward()
            opt.step()
        return {"loss": loss.item(), "weight_norm": tensor_norm(model.parameters())}

    return Runner(reset, run)


WORKLOAD = Workload(
    name="char_rnn",
    description="Embedding(V,32) + LSTM(32,128) + Linear(128,V), f64, batch 8 x 32 chars, SGD, one epoch",
    unit="tokens/s", scale=1.0, target=1.0, reps=3, rtol=1e-9,
    config=config, make_data=make_data, units=tokens,
    build=build, numpy=numpy_reference.char_rnn,
)
