"""Reverse-mode automatic differentiation: the engine, grad mode, custom Functions, checks."""

from .anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .engine import backward, grad
from .function import Function, FunctionCtx
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .node import Node

__all__ = [
    "Function", "FunctionCtx", "GradcheckError", "Node", "backward", "detect_anomaly",
    "enable_grad", "grad", "gradcheck", "gradgradcheck", "is_anomaly_enabled", "is_grad_enabled",
    "no_grad", "set_detect_anomaly", "set_grad_enabled",
]
