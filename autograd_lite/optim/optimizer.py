"""The Optimizer base class: parameter groups, per-parameter state, checkpoints.

An optimizer holds ``param_groups``: a list of dicts, each with a ``"params"`` list and
the hyperparameters (``lr``, ``momentum``, ...) that apply to those parameters. Every key
missing from a group is filled from the optimizer's ``defaults``, so a group can override
just the learning rate. ``state`` maps each parameter (the Tensor itself) to a dict of
its running buffers (momentum, moment estimates, step count).

The built-in optimizers update the NumPy arrays behind the parameters in place
(``p._data``), with NumPy ufuncs and ``out=``: no graph is recorded, no Tensor is created
during a step, the parameter keeps its memory (views of it see the new values), and its
version counter goes up, so a graph that saved the old value refuses to run backward.
A custom optimizer that updates parameters with Tensor ops should decorate its
``step`` with ``@ag.no_grad()``, as in PyTorch.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..autograd.grad_mode import enable_grad
from ..tensor import Tensor

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Marks a hyperparameter that every parameter group must give (it has no default)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required: Any = _RequiredParameter()


def _writable_data(p: Tensor) -> np.ndarray:
    """The parameter's array, made an ndarray first if it is a NumPy scalar (0-d results)."""
    data = p._data
    if type(data) is not np.ndarray:
        data = p._data = np.array(data)
    return data


def _state_value_to_export(key: str, value: Any) -> Any:
    """A copy of one state entry for ``state_dict``: arrays become Tensors, 'step' a 0-d tensor."""
    if key == "step" and isinstance(value, (int, float)):
        # PyTorch keeps the step count as a 0-d float32 tensor in its state dicts.
        return Tensor._wrap(np.array(value, dtype=np.float32))
    if isinstance(value, Tensor):
        return Tensor._wrap(np.array(value._data, copy=True))
    if isinstance(value, np.ndarray):
        return Tensor._wrap(value.copy())
    return copy.deepcopy(value)


class Optimizer:
    """Base class of all optimizers.

    Args:
        params: an iterable of Tensors, or of dicts that each define a parameter group
            (``{"params": [...], "lr": 0.01}``).
        defaults: the default hyperparameters, used for every key a group leaves out.

    Subclasses implement ``_step_group(group)``, which updates the parameters of one
    group, and may override ``_validate_group`` (hyperparameter checks that run before a
    group is added) and ``_init_state`` (the state a parameter starts with).

    The built-in optimizers share ``_ranges`` (a table of hyperparameter ranges that
    ``_validate_group`` checks), ``_init_checked`` (their common constructor) and
    ``_params_with_grad`` (the set-up of their step loops: the parameters that have a
    gradient, their arrays and their state); each keeps its own update rule.
    """

    #: Hyperparameter ranges checked by ``_validate_group``: ``(key, low)`` means
    #: ``group[key] >= low``; ``(key, low, high, high_inclusive)`` adds an upper bound.
    _ranges: tuple[tuple[Any, ...], ...] = ()

    def __init__(self, params: Any, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params should be an iterable of Tensors or dicts, but got a "
                "Tensor; pass [tensor] or model.parameters()"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{type(self).__name__}: parameters need to be given in an ordered collection (a list), "
                "since the order of a set changes between runs"
            )
        param_list = list(params)
        if not param_list:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(param_list[0], dict):
            param_list = [{"params": param_list}]
        for group in param_list:
            self.add_param_group(group)

    def _init_checked(self, params: Any, defaults: dict[str, Any]) -> None:
        """The constructor of the built-in optimizers: check ``defaults``, then add the groups.

        ``lr`` and ``weight_decay`` may be given as one-element Tensors; ``differentiable=True``
        is refused (the updates run on the raw arrays, outside any graph); the defaults are
        validated before the parameters are looked at.
        """
        if defaults["differentiable"]:
            raise ValueError(
                f"{type(self).__name__}: differentiable=True is not supported; updates run on the raw arrays"
            )
        defaults["differentiable"] = False
        defaults["lr"] = _scalar(defaults["lr"])
        defaults["weight_decay"] = _scalar(defaults["weight_decay"])
        self._validate_group(defaults)
        Optimizer.__init__(self, params, defaults)

    # ------------------------------------------------------------------ groups
    def _validate_group(self, group: dict[str, Any]) -> None:
        """Raise ValueError if a group's hyperparameters are out of range.

        The base class checks the ``_ranges`` table; subclasses extend this for checks a
        table can't express.
        """
        name = type(self).__name__
        for key, *bounds in self._ranges:
            _check_range(name, _LABELS.get(key, key), group[key], *bounds)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (a dict with ``"params"`` and optional hyperparameters).

        Useful for fine-tuning: unfreeze layers and hand them to the optimizer mid-training.
        """
        if not isinstance(param_group, dict):
            raise TypeError(
                f"add_param_group: param_group must be a dict, but got {type(param_group).__name__}"
            )
        if "params" not in param_group:
            raise ValueError("add_param_group: the group has no 'params' entry")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                "add_param_group: parameters need to be given in an ordered collection (a list), "
                "since the order of a set changes between runs"
            )
        params = list(params)
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"add_param_group: an optimizer can only optimize Tensors, but params[{i}] is a "
                    f"{type(p).__name__}"
                )
            if p.grad_fn is not None:
                raise ValueError(
                    f"add_param_group: can't optimize a non-leaf Tensor (params[{i}] of shape "
                    f"{tuple(p.shape)} was computed by {p.grad_fn.prim.backward_name}); optimize the "
                    "leaf it came from, or detach it and set requires_grad"
                )
            if p._data.dtype.kind != "f":
                raise ValueError(
                    f"add_param_group: params[{i}] has dtype {p._data.dtype}; only floating point "
                    "tensors can be optimized"
                )
        seen: set[int] = set()
        for i, p in enumerate(params):
            if id(p) in seen:
                raise ValueError(
                    f"add_param_group: params[{i}] (shape {tuple(p.shape)}) appears twice in the same "
                    "parameter group; give each parameter once"
                )
            seen.add(id(p))
        for g_index, other in enumerate(self.param_groups):
            if any(id(p) in seen for p in other["params"]):
                raise ValueError(
                    f"add_param_group: some parameters appear in more than one parameter group "
                    f"(already in group {g_index}); give each parameter to one group only"
                )
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(
                    f"add_param_group: the parameter group didn't specify a value of the required "
                    f"hyperparameter {name!r}"
                )
            group.setdefault(name, default)
        group["params"] = params
        self._validate_group(group)
        self.param_groups.append(group)

    # ------------------------------------------------------------------ the step
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized parameters.

        With ``set_to_none=True`` (the default) ``.grad`` becomes None, which frees the
        memory and lets the next backward store its gradient without adding. Otherwise
        the gradients are zeroed in place.
        """
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                if g.grad_fn is not None:
                    g.detach_()
                else:
                    g.requires_grad = False
                if type(g._data) is np.ndarray and g._data.flags.writeable:
                    g._data[...] = 0
                else:
                    g._data = np.zeros_like(g._data)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; return ``closure()``'s loss if given.

        ``closure`` re-evaluates the model and returns the loss (some algorithms need it);
        it runs with gradient recording on, even if ``step`` is called under ``no_grad``.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._step_group(group)
        return loss

    def _step_group(self, group: dict[str, Any]) -> None:
        raise NotImplementedError(
            f"{type(self).__name__} must implement step() (or _step_group(group) to reuse the base step)"
        )

    def _params_with_grad(
        self, group: dict[str, Any], with_state: bool = True,
    ) -> Iterator[tuple[Tensor, np.ndarray, np.ndarray, Any]]:
        """``(p, data, grad, state)`` for each parameter of ``group`` that has a gradient.

        ``data`` is the parameter's array, to update in place (made an ndarray first if it
        was a NumPy scalar); ``grad`` is its gradient's array; ``state`` is ``self.state[p]``,
        created by ``_init_state`` on the parameter's first step (None when ``with_state``
        is False: an optimizer, like SGD without momentum, that keeps no state).
        Parameters without a gradient are skipped, as in PyTorch.
        """
        state = self.state
        for p in group["params"]:
            grad = p.grad
            if grad is None:
                continue
            data = p._data
            if type(data) is not np.ndarray:
                data = _writable_data(p)
            st = (state[p] or self._init_state(p, data, group)) if with_state else None
            yield p, data, grad._data, st

    def _init_state(self, p: Tensor, data: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        """Fill in and return ``self.state[p]`` for a parameter's first step (``data`` is ``p._data``).

        The base leaves it empty; subclasses create their buffers here.
        """
        return self.state[p]

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state in PyTorch's layout.

        ``{"state": {index: {name: value}}, "param_groups": [{..., "params": [index, ...]}]}``
        where parameters are referred to by their position across all groups (0, 1, ...),
        buffers are Tensors (copies) and ``"step"`` is a 0-d float32 tensor.
        """
        index_of: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                if id(p) not in index_of:
                    index_of[id(p)] = len(index_of)
                ids.append(index_of[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {}
        for p, entries in self.state.items():
            if id(p) in index_of and entries:
                state[index_of[id(p)]] = {k: _state_value_to_export(k, v) for k, v in entries.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyperparameters and buffers saved by :meth:`state_dict`.

        Parameters are matched by position, so the optimizer must have been built over the
        same parameters in the same order. Everything is checked first: on an error nothing
        changes. Buffers are copied and cast to their parameter's dtype.
        """
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or "param_groups" not in state_dict or "state" not in state_dict:
            raise ValueError(f"{name}: expected a dict with 'state' and 'param_groups' (from state_dict())")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}: the state dict has {len(saved_groups)} parameter groups, this optimizer has "
                f"{len(self.param_groups)}"
            )
        id_map: dict[Any, Tensor] = {}
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups, strict=False)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{name}: parameter group {i} has {len(saved['params'])} parameters in the state "
                    f"dict but {len(group['params'])} in this optimizer"
                )
            for key, p in zip(saved["params"], group["params"], strict=False):
                id_map[int(key)] = p
        new_state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, entries in state_dict["state"].items():
            try:
                index = int(key)
            except (TypeError, ValueError):
                raise ValueError(f"{name}: state key {key!r} is not a parameter index") from None
            if index not in id_map:
                raise ValueError(f"{name}: the state refers to parameter {index}, which no group lists")
            p = id_map[index]
            new_state[p] = {k: self._import_state_value(name, index, p, k, v) for k, v in entries.items()}
        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups, strict=False):
            restored = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            if isinstance(restored.get("betas"), list):
                restored["betas"] = tuple(restored["betas"])
            restored["params"] = group["params"]
            for k, v in group.items():
                restored.setdefault(k, v)
            new_groups.append(restored)
        for group in new_groups:
            self._validate_group(group)
        self.state = new_state
        self.param_groups = new_groups

    @staticmethod
    def _import_state_value(name: str, index: int, p: Tensor, key: str, value: Any) -> Any:
        if key == "step":
            if isinstance(value, Tensor):
                value = value._data
            return float(np.asarray(value))
        if isinstance(value, (Tensor, np.ndarray)):
            array = value._data if isinstance(value, Tensor) else value
            array = np.asarray(array)
            if array.shape != p._data.shape:
                raise ValueError(
                    f"{name}: state {key!r} of parameter {index} has shape {tuple(array.shape)}, but the "
                    f"parameter has shape {tuple(p._data.shape)}"
                )
            return Tensor._wrap(np.array(array, dtype=p._data.dtype, copy=True))
        return copy.deepcopy(value)

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _scalar(value: Any) -> Any:
    """A hyperparameter given as a one-element Tensor or array, as a Python number."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"a Tensor hyperparameter must have one element, got shape {tuple(value.shape)}")
        return value.item()
    if isinstance(value, (np.ndarray, np.generic)):
        return np.asarray(value).item()
    return value


#: How ``_validate_group`` names a hyperparameter in its errors (others go by their key).
_LABELS = {"lr": "learning rate (lr)", "eps": "epsilon (eps)"}


def _check_range(opt: str, name: str, value: Any, low: float, high: float | None = None,
                 high_inclusive: bool = False) -> None:
    """Raise a ValueError naming the optimizer and the hyperparameter when ``value`` is out of range."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{opt}: {name} must be a number, got {value!r}") from None
    if np.isnan(v) or v < low or (high is not None and (v > high if high_inclusive else v >= high)):
        if high is None:
            expected = f">= {low}"
        else:
            expected = f"in [{low}, {high}{']' if high_inclusive else ')'}"
        raise ValueError(f"{opt}: invalid {name} value {value!r}; expected a number {expected}")
