"""Adagrad: per-coordinate step sizes that shrink with the sum of squared gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, _writable_data

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011), with PyTorch's update rule.

    For each parameter :math:`\theta` with gradient :math:`g_t` at step :math:`t` (learning
    rate :math:`\gamma`, learning-rate decay :math:`\eta`, weight decay :math:`\lambda`),
    starting from :math:`s_0` = ``initial_accumulator_value``:

    .. math::

        g_t &\leftarrow -g_t \quad \text{if maximize} \\
        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        \tilde\gamma_t &= \gamma / (1 + (t - 1)\eta) \\
        s_t &= s_{t-1} + g_t^2 \\
        \theta_t &= \theta_{t-1} - \tilde\gamma_t \, \frac{g_t}{\sqrt{s_t} + \epsilon}

    As in PyTorch, the state (``step`` and ``sum``) is created for every parameter when the
    optimizer is built.
    """

    _ranges = (("lr", 0.0), ("lr_decay", 0.0), ("weight_decay", 0.0), ("initial_accumulator_value", 0.0),
               ("eps", 0.0))

    def __init__(
        self, params: Any, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
        initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: bool | None = None, *,
        maximize: bool = False, differentiable: bool = False, fused: bool | None = None,
    ) -> None:
        defaults = {
            "lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value, "foreach": foreach,
            "maximize": maximize, "differentiable": differentiable, "fused": fused,
        }
        self._init_checked(params, defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for p in group["params"]:
            self._init_state(p, _writable_data(p), group)

    def _init_state(self, p: Tensor, data: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        st = self.state[p]
        st["step"] = 0.0
        st["sum"] = Tensor._wrap(np.full_like(data, group["initial_accumulator_value"]))
        return st

    def _step_group(self, group: dict[str, Any]) -> None:
        lr = group["lr"]
        lr_decay = group["lr_decay"]
        eps = group["eps"]
        weight_decay = group["weight_decay"]
        maximize = group["maximize"]
        dtype = None
        for p, data, g, st in self._params_with_grad(group):
            step = st["step"] + 1.0
            st["step"] = step
            if data.dtype is not dtype:
                # 0-d arrays of the parameter's dtype: fast for ufuncs on small arrays
                dtype = data.dtype
                eps_c = np.array(eps, dtype)
                weight_decay_c = np.array(weight_decay, dtype)
            if maximize:
                g = -g
            if weight_decay != 0:
                g = g + weight_decay_c * data
            clr = lr / (1 + (step - 1) * lr_decay)
            state_sum = st["sum"]._data
            scratch = np.empty_like(data)
            np.multiply(g, g, scratch)
            state_sum += scratch
            np.sqrt(state_sum, scratch)
            scratch += eps_c
            np.divide(g, scratch, scratch)
            scratch *= np.array(-clr, dtype)
            data += scratch
            p._bump_version()
