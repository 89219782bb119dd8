"""RMSprop: divide the gradient by a running root mean square of recent gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from .adam import _lerp_, _lerp_const
from .optimizer import Optimizer

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture notes), with PyTorch's update rule.

    For each parameter :math:`\theta` with gradient :math:`g_t` (learning rate
    :math:`\gamma`, smoothing constant :math:`\alpha`, momentum :math:`\mu`, weight decay
    :math:`\lambda`), starting from :math:`v_0 = \bar g_0 = b_0 = 0`:

    .. math::

        g_t &\leftarrow -g_t \quad \text{if maximize} \\
        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        v_t &= \alpha v_{t-1} + (1 - \alpha) g_t^2 \\
        \bar g_t &= \alpha \bar g_{t-1} + (1 - \alpha) g_t \quad \text{(centered only)} \\
        d_t &= \sqrt{v_t - \bar g_t^2} + \epsilon \ \text{(centered)}, \quad
            \text{else } d_t = \sqrt{v_t} + \epsilon \\
        b_t &= \mu b_{t-1} + g_t / d_t, \qquad \theta_t = \theta_{t-1} - \gamma b_t
            \quad (\mu > 0) \\
        \theta_t &= \theta_{t-1} - \gamma\, g_t / d_t \quad (\mu = 0)
    """

    _ranges = (("lr", 0.0), ("eps", 0.0), ("momentum", 0.0), ("weight_decay", 0.0), ("alpha", 0.0, 1.0, True))

    def __init__(
        self, params: Any, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
        weight_decay: float = 0, momentum: float = 0, centered: bool = False,
        capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = {
            "lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps, "centered": centered,
            "weight_decay": weight_decay, "capturable": capturable, "foreach": foreach,
            "maximize": maximize, "differentiable": differentiable,
        }
        self._init_checked(params, defaults)

    def _init_state(self, p: Tensor, data: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        st = self.state[p]
        st["step"] = 0.0
        st["square_avg"] = Tensor._wrap(np.zeros_like(data))
        return st

    def _step_group(self, group: dict[str, Any]) -> None:
        lr = group["lr"]
        alpha = group["alpha"]
        eps = group["eps"]
        weight_decay = group["weight_decay"]
        momentum = group["momentum"]
        centered = group["centered"]
        maximize = group["maximize"]
        one_minus_alpha = 1 - alpha
        dtype = None
        for p, data, g, st in self._params_with_grad(group):
            # momentum and centered may be switched on after the state was made
            if momentum > 0 and "momentum_buffer" not in st:
                st["momentum_buffer"] = Tensor._wrap(np.zeros_like(data))
            if centered and "grad_avg" not in st:
                st["grad_avg"] = Tensor._wrap(np.zeros_like(data))
            st["step"] += 1.0
            if data.dtype is not dtype:
                # 0-d arrays of the parameter's dtype: fast for ufuncs on small arrays
                dtype = data.dtype
                alpha_c, one_minus_alpha_c, eps_c, lr_c, momentum_c, weight_decay_c = (
                    np.array(v, dtype) for v in (alpha, one_minus_alpha, eps, lr, momentum, weight_decay)
                )
                lerp_c = _lerp_const(one_minus_alpha, dtype)
            if maximize:
                g = -g
            if weight_decay != 0:
                g = g + weight_decay_c * data
            square_avg = st["square_avg"]._data
            scratch = np.empty_like(data)
            square_avg *= alpha_c
            np.multiply(g, one_minus_alpha_c, scratch)
            scratch *= g
            square_avg += scratch
            if centered:
                grad_avg = st["grad_avg"]._data
                _lerp_(grad_avg, g, one_minus_alpha, lerp_c, scratch)
                np.multiply(grad_avg, grad_avg, scratch)
                np.subtract(square_avg, scratch, scratch)
                np.sqrt(scratch, scratch)
            else:
                np.sqrt(square_avg, scratch)
            scratch += eps_c
            np.divide(g, scratch, scratch)
            if momentum > 0:
                buf = st["momentum_buffer"]._data
                buf *= momentum_c
                buf += scratch
                np.multiply(buf, lr_c, scratch)
                data -= scratch
            else:
                scratch *= lr_c
                data -= scratch
            p._bump_version()
