"""Utilities: ``autograd_lite.utils.data`` holds datasets and the DataLoader;
``autograd_lite.utils.allocator`` an opt-in allocator setting for benchmarks and long runs."""

from . import allocator, data

__all__ = ["allocator", "data"]
