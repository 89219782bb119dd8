"""Adagrad: per-coordinate step sizes that shrink with the sum of squared gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, _check_range, _scalar, _writable_data

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

    def __init__(
        self, params: Any, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
        initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: bool | None = None, *,
        maximize: bool = False, differentiable: bool = False, fused: bool | None = None,
    ) -> None:
        if differentiable:
            raise ValueError("Adagrad: differentiable=True is not supported; updates run on the raw arrays")
        defaults = {
            "lr": _scalar(lr), "lr_decay": lr_decay, "eps": eps, "weight_decay": _scalar(weight_decay),
            "initial_accumulator_value": initial_accumulator_value, "foreach": foreach,
            "maximize": maximize, "differentiable": False, "fused": fused,
        }
        self._validate_group(defaults)
        super().__init__(params, defaults)

    def _validate_group(self, group: dict[str, Any]) -> None:
        _check_range("Adagrad", "learning rate (lr)", group["lr"], 0.0)
        _check_range("Adagrad", "lr_decay", group["lr_decay"], 0.0)
        _check_range("Adagrad", "weight_decay", group["weight_decay"], 0.0)
        _check_range("Adagrad", "initial_accumulator_value", group["initial_accumulator_value"], 0.0)
        _check_range("Adagrad", "epsilon (eps)", group["eps"], 0.0)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for p in group["params"]:
            self._init_param_state(p, group)

    def _init_param_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        st = self.state[p]
        st["step"] = 0.0
        st["sum"] = Tensor._wrap(np.full_like(_writable_data(p), group["initial_accumulator_value"]))
        return st

    def _step_group(self, group: dict[str, Any]) -> None:
        lr = group["lr"]
        lr_decay = group["lr_decay"]
        eps = group["eps"]
        weight_decay = group["weight_decay"]
        maximize = group["maximize"]
        state = self.state
        dtype = None
        for p in group["params"]:
            grad = p.grad
            if grad is None:
                continue
            data = p._data
            if type(data) is not np.ndarray:
                data = _writable_data(p)
            st = state[p]
            if not st:
                st = self._init_param_state(p, group)
            step = st["step"] + 1.0
            st["step"] = step
            if data.dtype is not dtype:
                # 0-d arrays of the parameter's dtype: fast for ufuncs on small arrays
                dtype = data.dtype
                eps_c = np.array(eps, dtype)
                weight_decay_c = np.array(weight_decay, dtype)
            g = grad._data
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
