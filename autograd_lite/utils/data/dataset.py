"""Datasets: anything with ``__getitem__`` and ``__len__``; tensors sliced along dim 0; splits."""

from __future__ import annotations

import bisect
import math
import warnings
from collections.abc import Sequence
from itertools import accumulate
from typing import Any, Generic, TypeVar

import numpy as np

from ...random import get_rng
from ...tensor import Tensor, as_tensor

__all__ = ["Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split"]

T_co = TypeVar("T_co", covariant=True)


class Dataset(Generic[T_co]):
    """A map-style dataset: subclasses define ``__getitem__(index)`` and ``__len__()``.

    >>> class Squares(Dataset):
    ...     def __len__(self): return 4
    ...     def __getitem__(self, i): return float(i), float(i * i)
    >>> Squares()[3]
    (3.0, 9.0)
    """

    def __getitem__(self, index: int) -> T_co:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index)")

    def __add__(self, other: Dataset[T_co]) -> ConcatDataset[T_co]:
        return ConcatDataset([self, other])


class TensorDataset(Dataset[tuple[Tensor, ...]]):
    """Samples are the rows of the given tensors: ``dataset[i] == (t0[i], t1[i], ...)``.

    All tensors must have the same size along dim 0. NumPy arrays are accepted and wrapped
    without copying.

    >>> import autograd_lite as ag
    >>> ds = TensorDataset(ag.arange(6).reshape(3, 2), ag.tensor([0, 1, 0]))
    >>> len(ds), ds[1]
    (3, (tensor([2, 3]), tensor(1)))
    """

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset: give at least one tensor")
        converted = tuple(as_tensor(t) for t in tensors)
        for i, t in enumerate(converted):
            if t.ndim == 0:
                raise ValueError(f"TensorDataset: tensor {i} is 0-d; every tensor needs a first dimension")
        sizes = [t.shape[0] for t in converted]
        if any(s != sizes[0] for s in sizes):
            raise ValueError(
                f"TensorDataset: size mismatch between tensors along dim 0: {sizes}; every tensor must "
                "have one row per sample"
            )
        self.tensors = converted

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(t[index] if t.requires_grad else Tensor._wrap(t._data[index]) for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset[T_co]):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Dataset[T_co], indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index: Any) -> T_co:
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]  # type: ignore[index]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset[T_co]):
    """The samples of several datasets one after another."""

    def __init__(self, datasets: Sequence[Dataset[T_co]]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        self.cumulative_sizes = list(accumulate(len(d) for d in self.datasets))  # type: ignore[arg-type]

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> T_co:
        n = len(self)
        if index < 0:
            if -index > n:
                raise IndexError(f"ConcatDataset: index {index} is out of range for length {n}")
            index += n
        which = bisect.bisect_right(self.cumulative_sizes, index)
        if which == len(self.datasets):
            raise IndexError(f"ConcatDataset: index {index} is out of range for length {n}")
        offset = index - (self.cumulative_sizes[which - 1] if which else 0)
        return self.datasets[which][offset]


def _split_lengths(n: int, lengths: Sequence[float]) -> list[int]:
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths is empty; give the size (or fraction) of each split")
    total = sum(lengths)
    all_ints = all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in lengths)
    if not all_ints and math.isclose(total, 1) and total <= 1:
        sizes = []
        for i, frac in enumerate(lengths):
            if not 0 <= frac <= 1:
                raise ValueError(f"random_split: fraction at index {i} is {frac}, not between 0 and 1")
            sizes.append(int(math.floor(n * frac)))
        # Hand out what flooring left over one at a time, from the first split on (as PyTorch does).
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(
                    f"random_split: split {i} of fractions {lengths} of {n} samples is empty",
                    UserWarning, stacklevel=3,
                )
        return sizes
    if not all_ints:
        raise ValueError(
            f"random_split: lengths {lengths} are neither integers nor fractions that sum to 1"
        )
    if any(x < 0 for x in lengths):
        raise ValueError(f"random_split: lengths must be >= 0, got {lengths}")
    if total != n:
        raise ValueError(
            f"random_split: the lengths {lengths} sum to {total}, but the dataset has {n} samples"
        )
    return [int(x) for x in lengths]


def random_split(
    dataset: Dataset[T_co], lengths: Sequence[float], generator: Any = None
) -> list[Subset[T_co]]:
    """Split ``dataset`` at random into non-overlapping subsets of the given lengths.

    ``lengths`` are sample counts summing to ``len(dataset)``, or fractions summing to 1
    (rounded down, with the leftover samples handed to the first splits one each). The
    permutation comes from ``generator`` (an ``ag.Generator``) or the global generator, so
    ``ag.manual_seed`` makes the split repeatable.

    >>> import autograd_lite as ag
    >>> train, test = random_split(range(10), [0.8, 0.2], generator=ag.Generator(0))
    >>> len(train), len(test)
    (8, 2)
    """
    n = len(dataset)  # type: ignore[arg-type]
    sizes = _split_lengths(n, lengths)
    order = get_rng(generator).permutation(n).tolist()
    ends = accumulate(sizes)
    return [Subset(dataset, order[end - size:end]) for end, size in zip(ends, sizes, strict=True)]
