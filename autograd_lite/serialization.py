"""ag.save / ag.load (placeholder)."""

from typing import Any


def save(obj: Any, path: Any) -> None:
    raise NotImplementedError


def load(path: Any) -> Any:
    raise NotImplementedError
