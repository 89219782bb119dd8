"""Finding names for tensors and modules from what the user passes as ``params``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class Names:
    """Tensor names by ``id``, module paths by ``id``, and which tensors are parameters.

    ``params`` may be an ``nn.Module`` (its ``named_parameters()`` and ``named_modules()``
    are used), a mapping ``{name: tensor}``, or an iterable of tensors, modules and
    ``(name, tensor)`` pairs, e.g. ``[model, ("x", x), ("target", y)]``. Tensors that
    need no gradient (the input ``x``, the ``target``) can be named too: they are drawn as
    named constants. A module given under a name prefixes its parameters' names.
    """

    def __init__(self, params: Any = None) -> None:
        #: id(tensor) -> (name, tensor); the tensor is kept so that its id stays unique
        self.tensors: dict[int, tuple[str, Any]] = {}
        #: id(module) -> (path, module); the model itself has path ""
        self.modules: dict[int, tuple[str, Any]] = {}
        self.model: Any = None
        if params is None:
            return
        if _is_module(params):
            self.model = params
            for path, module in params.named_modules():
                self.modules[id(module)] = (path, module)
            for name, tensor in params.named_parameters():
                self.tensors[id(tensor)] = (name, tensor)
            return
        items = params.items() if isinstance(params, Mapping) else params
        for position, item in enumerate(items):
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
                name, value = item
            elif _is_module(item):
                name, value = "", item
            else:
                name, value = f"param{position}", item
            if _is_module(value):
                if self.model is None:
                    self.model = value
                prefix = f"{name}." if name else ""
                for path, module in value.named_modules():
                    self.modules[id(module)] = ((prefix + path).rstrip("."), module)
                for sub, tensor in value.named_parameters():
                    self.tensors[id(tensor)] = (prefix + sub, tensor)
            elif hasattr(value, "_data"):
                self.tensors[id(value)] = (name, value)
            else:
                raise TypeError(
                    f"params: entry {name!r} is a {type(value).__name__}; expected a Tensor or an "
                    "nn.Module (pass a Module, a dict {name: tensor}, or (name, tensor) pairs)"
                )

    def tensor_name(self, tensor: Any) -> str | None:
        entry = self.tensors.get(id(tensor))
        if entry is not None and entry[1] is tensor:
            return entry[0]
        return getattr(tensor, "name", None)

    def is_named_param(self, tensor: Any) -> bool:
        entry = self.tensors.get(id(tensor))
        return entry is not None and entry[1] is tensor and bool(getattr(tensor, "requires_grad", False))

    def module_path(self, module: Any) -> str | None:
        entry = self.modules.get(id(module))
        if entry is not None and entry[1] is module:
            return entry[0]
        return None

    def parameters(self) -> list[tuple[str, Any]]:
        """(name, tensor) for every named tensor that requires grad, in the order given."""
        return [(name, t) for name, t in self.tensors.values() if getattr(t, "requires_grad", False)]


def _is_module(value: Any) -> bool:
    return callable(getattr(value, "named_parameters", None)) and callable(
        getattr(value, "named_modules", None)
    )
