"""Functional forms of every layer and loss (PyTorch's ``torch.nn.functional``, imported as F)."""

from ._functional_basic import *  # noqa: F401,F403
from ._functional_layers import *  # noqa: F401,F403
