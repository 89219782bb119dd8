"""char_rnn: one epoch of the character-level LSTM example (``examples/char_rnn.py``).

The example's default size and training loop: Embedding(V, 32) -> LSTM(32, 128,
batch_first=True) -> Linear(128, V) on the first 90% of the corpus shipped with
autograd_lite (``autograd_lite/corpora/tiny_corpus.txt``), cut into 16 parallel streams read
in chunks of 48 characters; the hidden state is carried from chunk to chunk, detached
(truncated BPTT); cross-entropy, ``clip_grad_norm_(max_norm=1.0)``, Adam at lr 5e-3.
One difference: float64 (the issue's rule for its workloads), where the example uses the
default float32. Reported in tokens (characters) per second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .. import numpy_reference
from . import Workload
from .common import Runner, linear_weights, load_weights, tensor_norm, uniform

CORPUS = Path(__file__).resolve().parents[2] / "autograd_lite" / "corpora" / "tiny_corpus.txt"


def config(quick: bool) -> dict[str, Any]:
    cfg = {"batch": 16, "seq_len": 48, "embed": 32, "hidden": 128, "max_steps": None, "lr": 5e-3,
           "max_norm": 1.0}
    if quick:
        cfg.update(batch=4, seq_len=8, embed=8, hidden=16, max_steps=3)
    return cfg


def _streams(cfg: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Inputs and next-character targets as (batch, length) streams, the vocabulary size and
    the number of chunks (steps) in one epoch, as the example cuts them."""
    text = CORPUS.read_text(encoding="utf-8")
    chars = sorted(set(text))
    ids = np.array([chars.index(ch) for ch in text], dtype=np.int64)
    train = ids[:int(0.9 * len(ids))]
    b, t = cfg["batch"], cfg["seq_len"]
    length = (len(train) - 1) // b
    inputs = train[:b * length].reshape(b, length)
    targets = train[1:b * length + 1].reshape(b, length)
    steps = (length - t) // t + 1
    if cfg["max_steps"] is not None:
        steps = min(steps, cfg["max_steps"])
    return inputs, targets, len(chars), steps


def make_data(cfg: dict[str, Any]) -> dict[str, Any]:
    inputs, targets, vocab, steps = _streams(cfg)
    rng = np.random.default_rng(4)
    e, h = cfg["embed"], cfg["hidden"]
    bound = 1.0 / np.sqrt(h)
    weights = {
        "embed.weight": rng.standard_normal((vocab, e)),
        "rnn.weight_ih_l0": uniform(rng, (4 * h, e), bound, np.float64),
        "rnn.weight_hh_l0": uniform(rng, (4 * h, h), bound, np.float64),
        "rnn.bias_ih_l0": uniform(rng, (4 * h,), bound, np.float64),
        "rnn.bias_hh_l0": uniform(rng, (4 * h,), bound, np.float64),
    }
    weights.update(linear_weights(rng, "head", h, vocab, np.float64))
    return {"inputs": inputs, "targets": targets, "vocab": vocab, "steps": steps, "weights": weights}


def tokens(cfg: dict[str, Any]) -> int:
    _, _, _, steps = _streams(cfg)
    return steps * cfg["batch"] * cfg["seq_len"]


def build(lib: Any, cfg: dict[str, Any], data: dict[str, Any]) -> Runner:
    nn = lib.nn
    vocab, t, steps = data["vocab"], cfg["seq_len"], data["steps"]

    class CharModel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(vocab, cfg["embed"])
            self.rnn = nn.LSTM(cfg["embed"], cfg["hidden"], batch_first=True)
            self.head = nn.Linear(cfg["hidden"], vocab)

        def forward(self, ids: Any, state: Any = None) -> Any:
            out, state = self.rnn(self.embed(ids), state)
            return self.head(out), state

    model = CharModel().to(lib.float64)
    criterion = nn.CrossEntropyLoss()
    inputs, targets = data["inputs"], data["targets"]
    opt_state: dict[str, Any] = {}

    def reset() -> None:
        load_weights(lib, model, data["weights"])
        opt_state["opt"] = lib.optim.Adam(model.parameters(), lr=cfg["lr"])

    def run() -> dict[str, float]:
        optimizer = opt_state["opt"]
        state = None
        for step in range(steps):
            xb = lib.from_numpy(inputs[:, step * t:(step + 1) * t])
            yb = lib.from_numpy(targets[:, step * t:(step + 1) * t])
            if state is not None:
                state = tuple(s.detach() for s in state)
            logits, state = model(xb, state)
            loss = criterion(logits.reshape(-1, vocab), yb.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=cfg["max_norm"])
            optimizer.step()
        return {"loss": loss.item(), "weight_norm": tensor_norm(model.parameters())}

    return Runner(reset, run)


WORKLOAD = Workload(
    name="char_rnn",
    description="examples/char_rnn.py, 1 epoch: Embedding+LSTM(32,128)+Linear, 16x48 chars, Adam, f64",
    unit="tokens/s", scale=1.0, target=1.0, reps=5, rtol=1e-9,
    config=config, make_data=make_data, units=tokens,
    build=build, numpy=numpy_reference.char_rnn,
    blas_threads=True,
)
