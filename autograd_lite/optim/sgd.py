"""Stochastic gradient descent with optional momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent (PyTorch's update rule).

    For each parameter :math:`\theta` with gradient :math:`g_t` at step :math:`t`
    (learning rate :math:`\gamma`, momentum :math:`\mu`, dampening :math:`\tau`,
    weight decay :math:`\lambda`):

    .. math::

        g_t &\leftarrow -g_t \quad \text{if maximize} \\
        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        b_1 &= g_1, \qquad b_t = \mu b_{t-1} + (1 - \tau) g_t \quad (t > 1) \\
        g_t &\leftarrow g_t + \mu b_t \ \text{(nesterov)} \quad\text{or}\quad g_t \leftarrow b_t \\
        \theta_t &= \theta_{t-1} - \gamma g_t

    With ``momentum=0`` this is plain gradient descent, :math:`\theta \leftarrow \theta - \gamma g`.
    Whether it is stochastic, mini-batch or full-batch gradient descent depends only on how
    many samples the loss averages over (the DataLoader's ``batch_size``).

    >>> import autograd_lite as ag
    >>> w = ag.tensor([1.0, -2.0], dtype=ag.float64, requires_grad=True)
    >>> opt = ag.optim.SGD([w], lr=0.1)
    >>> (w * w).sum().backward()      # gradient 2w = [2, -4]
    >>> opt.step()
    >>> w.tolist()
    [0.8, -1.6]
    """

    _ranges = (("lr", 0.0), ("momentum", 0.0), ("dampening", 0.0), ("weight_decay", 0.0))

    def __init__(
        self, params: Any, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
        weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
        foreach: bool | None = None, differentiable: bool = False, fused: bool | None = None,
    ) -> None:
        defaults = {
            "lr": lr, "momentum": momentum, "dampening": dampening,
            "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
            "foreach": foreach, "differentiable": differentiable, "fused": fused,
        }
        self._init_checked(params, defaults)

    def _validate_group(self, group: dict[str, Any]) -> None:
        super()._validate_group(group)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"SGD: Nesterov momentum requires a momentum > 0 and zero dampening, got "
                f"momentum={group['momentum']}, dampening={group['dampening']}"
            )

    def _step_group(self, group: dict[str, Any]) -> None:
        lr = group["lr"]
        momentum = group["momentum"]
        weight_decay = group["weight_decay"]
        maximize = group["maximize"]
        # Scalars go into NumPy as 0-d arrays of the parameter's dtype: the same numbers NumPy
        # would cast a Python float to, but a ufunc takes them much faster on small arrays.
        dtype = None
        if momentum == 0 and weight_decay == 0 and not maximize:
            # The common case, kept as short as possible: theta -= lr * g.
            for p, data, g, _ in self._params_with_grad(group, with_state=False):
                if data.dtype is not dtype:
                    dtype = data.dtype
                    lr_c = np.array(lr, dtype)
                data -= lr_c * g
                p._bump_version()
            return
        dampening = group["dampening"]
        nesterov = group["nesterov"]
        # only with momentum is there state (a momentum buffer), as in PyTorch
        for p, data, g, st in self._params_with_grad(group, with_state=momentum != 0):
            if data.dtype is not dtype:
                dtype = data.dtype
                lr_c, momentum_c, weight_decay_c = (np.array(v, dtype) for v in (lr, momentum, weight_decay))
                damp_c = np.array(1 - dampening, dtype)
            if maximize:
                g = -g
            if weight_decay != 0:
                g = g + weight_decay_c * data
            if momentum != 0:
                buf = st.get("momentum_buffer")
                if buf is None:
                    b = np.array(g, dtype=data.dtype, copy=True)
                    st["momentum_buffer"] = Tensor._wrap(b)
                else:
                    b = buf._data
                    b *= momentum_c
                    if dampening == 0:
                        b += g
                    else:
                        b += damp_c * g
                g = g + momentum_c * b if nesterov else b
            data -= lr_c * g
            p._bump_version()
