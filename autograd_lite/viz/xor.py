"""The seed article's XOR network, bundled so that pictures need no code of your own.

The article trains a 2-3-1 network with sigmoid hidden and output units, weights drawn
uniformly from [0, 1), zero biases, on the four XOR cases, with full-batch gradient
descent at learning rate 0.1. Its hand-derived "delta rule" is the gradient of
``0.5 * sum((target - output)^2)``, which is the loss used here, so every gradient in
the pictures is one the article derives by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import nn
from ..factories import tensor
from ..functional import sigmoid
from ..random import manual_seed
from ..tensor import Tensor

__all__ = ["XorNet", "XorProblem", "seed_xor_loss", "xor_problem"]

#: the four XOR cases and their answers
XOR_INPUTS = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
XOR_TARGETS = [[0.0], [1.0], [1.0], [0.0]]
#: the article's learning rate
SEED_LR = 0.1


class XorNet(nn.Module):
    """The article's 2-3-1 network: ``output = sigmoid(W2 sigmoid(W1 x + b1) + b2)``."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Linear(2, 3)
        self.output = nn.Linear(3, 1)
        for layer in (self.hidden, self.output):
            nn.init.uniform_(layer.weight, 0.0, 1.0)  # the article: np.random.rand
            nn.init.zeros_(layer.bias)

    def forward(self, x: Tensor) -> Tensor:
        h = sigmoid(self.hidden(x))
        return sigmoid(self.output(h))


def seed_xor_loss(output: Tensor, target: Tensor) -> Tensor:
    """0.5 * sum((target - output)^2): the error whose gradient is the article's delta rule."""
    return 0.5 * ((target - output) ** 2).sum()


@dataclass
class XorProblem:
    """The network, the data and a ``step_fn`` returning the loss, ready for tracing."""

    model: XorNet
    x: Tensor
    target: Tensor

    def loss(self) -> Tensor:
        return seed_xor_loss(self.model(self.x), self.target)

    @property
    def names(self) -> list[Any]:
        """What to pass as ``params``: the model, plus names for the input and target."""
        return [self.model, ("x", self.x), ("target", self.target)]


def xor_problem(seed: int = 0) -> XorProblem:
    """A fresh seed XOR network (weights from ``manual_seed(seed)``) and its data."""
    manual_seed(seed)
    model = XorNet()
    return XorProblem(model, tensor(XOR_INPUTS), tensor(XOR_TARGETS))
