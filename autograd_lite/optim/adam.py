"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay, and AMSGrad."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, _check_range, _scalar

__all__ = ["Adam", "AdamW"]


def _lerp_(target: np.ndarray, end: Any, weight: float, weight_c: Any, scratch: np.ndarray) -> None:
    """``target += weight * (end - target)`` in place, rounded as PyTorch's ``lerp_``.

    PyTorch uses ``self + w (end - self)`` for ``|w| < 0.5`` and ``end - (end - self)(1 - w)``
    otherwise; both are the same number up to rounding, and we follow the same branch.
    ``weight_c`` is ``w`` (or ``1 - w`` on the second branch) as a 0-d array of the dtype.
    """
    np.subtract(end, target, scratch)
    if abs(weight) < 0.5:
        scratch *= weight_c
        target += scratch
    else:
        scratch *= weight_c
        np.subtract(end, scratch, target)


def _lerp_const(weight: float, dtype: Any) -> np.ndarray:
    """The multiplier ``_lerp_`` needs for ``weight``: ``w`` or ``1 - w`` (PyTorch's two branches)."""
    return np.array(weight if abs(weight) < 0.5 else 1 - weight, dtype)


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), with PyTorch's update rule and bias correction.

    For each parameter :math:`\theta` with gradient :math:`g_t` at step :math:`t`
    (learning rate :math:`\gamma`, betas :math:`\beta_1, \beta_2`, weight decay
    :math:`\lambda`, :math:`\epsilon`), starting from :math:`m_0 = v_0 = 0`:

    .. math::

        g_t &\leftarrow -g_t \quad \text{if maximize} \\
        g_t &\leftarrow g_t + \lambda \theta_{t-1}
            \quad \text{(L2 penalty; AdamW instead decays }
            \theta_{t-1} \leftarrow (1 - \gamma\lambda)\,\theta_{t-1}) \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        \hat v_t &= \max(\hat v_{t-1}, v_t) \ \text{(amsgrad)}, \quad \text{else } \hat v_t = v_t \\
        \theta_t &= \theta_{t-1} - \frac{\gamma}{1 - \beta_1^t} \,
            \frac{m_t}{\sqrt{\hat v_t} / \sqrt{1 - \beta_2^t} + \epsilon}

    Note where :math:`\epsilon` sits: it is added after the second-moment bias correction,
    exactly as PyTorch does, so results agree to rounding.
    """

    _ranges = (("lr", 0.0), ("eps", 0.0), ("weight_decay", 0.0))

    def __init__(
        self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
        foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
        differentiable: bool = False, fused: bool | None = None, decoupled_weight_decay: bool = False,
    ) -> None:
        defaults = {
            "lr": lr, "betas": betas, "eps": eps,
            "weight_decay": weight_decay, "amsgrad": amsgrad, "maximize": maximize,
            "foreach": foreach, "capturable": capturable, "differentiable": differentiable, "fused": fused,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        self._init_checked(params, defaults)

    def _validate_group(self, group: dict[str, Any]) -> None:
        name = type(self).__name__
        try:
            beta1, beta2 = group["betas"]
        except (TypeError, ValueError):
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {group['betas']!r}") from None
        group["betas"] = (_scalar(beta1), _scalar(beta2))
        super()._validate_group(group)
        for i, beta in enumerate(group["betas"]):
            _check_range(name, f"beta parameter at index {i} (betas[{i}])", beta, 0.0, 1.0)

    def _init_state(self, p: Tensor, data: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        st = self.state[p]
        st["step"] = 0.0
        st["exp_avg"] = Tensor._wrap(np.zeros_like(data))
        st["exp_avg_sq"] = Tensor._wrap(np.zeros_like(data))
        if group["amsgrad"]:
            st["max_exp_avg_sq"] = Tensor._wrap(np.zeros_like(data))
        return st

    def _step_group(self, group: dict[str, Any]) -> None:
        lr = group["lr"]
        beta1, beta2 = group["betas"]
        eps = group["eps"]
        weight_decay = group["weight_decay"]
        amsgrad = group["amsgrad"]
        maximize = group["maximize"]
        decoupled = group["decoupled_weight_decay"]
        one_minus_beta1 = 1 - beta1
        dtype = None
        last_step = None
        for p, data, g, st in self._params_with_grad(group):
            step = st["step"] + 1.0
            st["step"] = step
            if data.dtype is not dtype:
                # Scalars as 0-d arrays of the parameter's dtype: the values NumPy would cast
                # Python floats to, but much faster for a ufunc to take on small arrays.
                dtype = data.dtype
                lerp_c = _lerp_const(one_minus_beta1, dtype)
                beta2_c = np.array(beta2, dtype)
                one_minus_beta2_c = np.array(1 - beta2, dtype)
                eps_c = np.array(eps, dtype)
                weight_decay_c = np.array(weight_decay, dtype)
                decay_c = np.array(1 - lr * weight_decay, dtype)
                last_step = None
            if step != last_step:
                last_step = step
                bias_correction1 = 1 - beta1**step
                bias_correction2_sqrt_c = np.array((1 - beta2**step) ** 0.5, dtype)
                neg_step_size_c = np.array(-(lr / bias_correction1), dtype)
            if maximize:
                g = -g
            if weight_decay != 0:
                if decoupled:
                    data *= decay_c
                else:
                    g = g + weight_decay_c * data
            exp_avg = st["exp_avg"]._data
            exp_avg_sq = st["exp_avg_sq"]._data
            scratch = np.empty_like(data)
            _lerp_(exp_avg, g, one_minus_beta1, lerp_c, scratch)
            exp_avg_sq *= beta2_c
            np.multiply(g, one_minus_beta2_c, scratch)
            scratch *= g
            exp_avg_sq += scratch
            if amsgrad:
                max_sq = st.get("max_exp_avg_sq")
                if max_sq is None:  # amsgrad switched on after the state was created
                    max_sq = st["max_exp_avg_sq"] = Tensor._wrap(exp_avg_sq.copy())
                np.maximum(max_sq._data, exp_avg_sq, out=max_sq._data)
                np.sqrt(max_sq._data, scratch)
            else:
                np.sqrt(exp_avg_sq, scratch)
            scratch /= bias_correction2_sqrt_c
            scratch += eps_c
            np.divide(exp_avg, scratch, scratch)
            scratch *= neg_step_size_c
            data += scratch
            p._bump_version()


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter), PyTorch's rule.

    The same as :class:`Adam`, except that weight decay shrinks the parameter directly
    instead of being added to the gradient (so it does not pass through the moment
    estimates):

    .. math::

        \theta_{t-1} &\leftarrow (1 - \gamma \lambda)\, \theta_{t-1} \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        \theta_t &= \theta_{t-1} - \frac{\gamma}{1 - \beta_1^t} \,
            \frac{m_t}{\sqrt{\hat v_t} / \sqrt{1 - \beta_2^t} + \epsilon}

    The default ``weight_decay`` is ``1e-2``.
    """

    def __init__(
        self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
        maximize: bool = False, foreach: bool | None = None, capturable: bool = False,
        differentiable: bool = False, fused: bool | None = None,
    ) -> None:
        super().__init__(
            params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
            capturable=capturable, differentiable=differentiable, fused=fused,
            decoupled_weight_decay=True,
        )

    def _validate_group(self, group: dict[str, Any]) -> None:
        group["decoupled_weight_decay"] = True
        super()._validate_group(group)
