"""DataLoader: iterate over a dataset in (shuffled) mini-batches, collated into tensors."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ...random import Generator
from ...tensor import Tensor
from .dataset import Subset, TensorDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "default_collate"]


def _stack_arrays(arrays: list[Any], what: str) -> np.ndarray:
    shape = np.shape(arrays[0])
    for i, a in enumerate(arrays):
        if np.shape(a) != shape:
            raise RuntimeError(
                f"default_collate: can't stack {what} of different shapes into a batch: sample 0 has "
                f"shape {tuple(shape)} but sample {i} has shape {tuple(np.shape(a))}; pad them to one "
                "shape or pass a collate_fn"
            )
    return np.stack(arrays)


def default_collate(batch: Sequence[Any]) -> Any:
    """Merge a list of samples into a batch, the way PyTorch's ``default_collate`` does.

    - Tensors and NumPy arrays are stacked along a new first dimension into one Tensor;
    - Python floats become a float64 tensor, ints an int64 tensor, bools a bool tensor;
    - dicts are collated key by key, tuples and lists position by position (a tuple of
      fields becomes a list, as in PyTorch; a namedtuple stays a namedtuple);
    - strings are returned as a list.

    >>> import autograd_lite as ag
    >>> default_collate([(ag.tensor([1.0, 2.0]), 0), (ag.tensor([3.0, 4.0]), 1)])
    [tensor([[1., 2.],
            [3., 4.]]), tensor([0, 1])]
    """
    if len(batch) == 0:
        raise ValueError("default_collate: the batch is empty")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _collate_tensors(batch)
    if isinstance(elem, (np.ndarray, np.generic)):
        return _collate_arrays(batch)
    for python_type, dtype in _NUMBER_DTYPES:
        if isinstance(elem, python_type):
            return Tensor._wrap(np.array(batch, dtype=dtype))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, Mapping):
        return _collate_mapping(elem, batch)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(list(samples)) for samples in zip(*batch, strict=False)))
    if isinstance(elem, Sequence):
        return _collate_sequence(batch)
    raise TypeError(
        f"default_collate: batch must contain tensors, numpy arrays, numbers, strings, dicts or "
        f"lists; found {type(elem).__name__}. Pass a collate_fn to batch other types"
    )


#: Python numbers and the dtype of the tensor a batch of them becomes (bool before int: a bool is an int).
_NUMBER_DTYPES = ((bool, np.bool_), (int, np.int64), (float, np.float64))


def _collate_tensors(batch: Sequence[Any]) -> Tensor:
    """Tensors stacked along a new first dim; differentiably if any of them requires grad."""
    if not all(isinstance(b, Tensor) for b in batch):
        raise TypeError("default_collate: sample 0 is a Tensor but other samples are not")
    if any(b.requires_grad for b in batch):
        from ...functional import stack

        _stack_arrays([b._data for b in batch], "tensors")
        return stack(list(batch))
    return Tensor._wrap(_stack_arrays([b._data for b in batch], "tensors"))


def _collate_arrays(batch: Sequence[Any]) -> Tensor:
    """NumPy arrays (or scalars) of a numeric or bool dtype, stacked into one Tensor."""
    dtype = np.asarray(batch[0]).dtype
    if dtype.kind in "OUSVc":
        raise TypeError(
            f"default_collate: can't batch NumPy arrays of dtype {dtype}; "
            "only numeric and bool arrays can become tensors"
        )
    return Tensor._wrap(_stack_arrays([np.asarray(b) for b in batch], "arrays"))


def _collate_mapping(elem: Mapping, batch: Sequence[Any]) -> Any:
    """Dicts collated key by key; a Mapping type other than dict is kept if it can be rebuilt."""
    collated = {key: default_collate([d[key] for d in batch]) for key in elem}
    kind = type(elem)
    if kind is dict:
        return collated
    try:
        return kind(collated)  # type: ignore[call-arg]
    except TypeError:
        return collated


def _collate_sequence(batch: Sequence[Any]) -> list:
    """Sequences of fields collated position by position, into a list (as in PyTorch)."""
    size = len(batch[0])
    for i, sample in enumerate(batch):
        if len(sample) != size:
            raise RuntimeError(
                f"default_collate: each sample in the batch must have the same number of fields; "
                f"sample 0 has {size} but sample {i} has {len(sample)}"
            )
    return [default_collate(list(samples)) for samples in zip(*batch, strict=False)]


def _columns(dataset: Any) -> tuple[list[np.ndarray], np.ndarray | None] | None:
    """For a TensorDataset (or a Subset of one), its arrays and the index map into them."""
    if type(dataset) is TensorDataset:
        if any(t.requires_grad for t in dataset.tensors):
            return None
        return [t._data for t in dataset.tensors], None
    if type(dataset) is Subset:
        inner = _columns(dataset.dataset)
        if inner is None:
            return None
        arrays, base = inner
        index = np.asarray(dataset.indices, dtype=np.int64).reshape(-1)
        return arrays, index if base is None else base[index]
    return None


class DataLoader:
    """Iterate over ``dataset`` in batches.

    Args:
        dataset: a map-style dataset (``__getitem__`` and ``__len__``).
        batch_size: samples per batch. ``1`` gives stochastic gradient descent,
            ``len(dataset)`` full-batch gradient descent, anything between mini-batches.
            ``None`` yields single samples without a batch dimension.
        shuffle: visit the samples in a new random order on every pass.
        sampler / batch_sampler: a custom order of indices / of index lists (as in PyTorch).
        collate_fn: merges a list of samples into a batch (default: :func:`default_collate`).
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        generator: an ``ag.Generator`` for shuffling (default: the global one, which
            ``ag.manual_seed`` seeds).
        seed: shortcut for ``generator=ag.Generator(seed)``: the sequence of epochs repeats
            whenever a loader is built with the same seed.
        num_workers, pin_memory, timeout, worker_init_fn, prefetch_factor, persistent_workers:
            accepted so PyTorch scripts run unchanged; loading always happens in the
            calling process.

    A :class:`TensorDataset` (or a ``Subset`` of one) with the default collate is batched by
    indexing its arrays with the batch's index array, with no per-sample work.

    >>> import autograd_lite as ag
    >>> ds = TensorDataset(ag.arange(10.0).reshape(5, 2), ag.arange(5))
    >>> [y.tolist() for _, y in DataLoader(ds, batch_size=2)]
    [[0, 1], [2, 3], [4]]
    """

    def __init__(
        self, dataset: Any, batch_size: int | None = 1, shuffle: bool | None = False,
        sampler: Sampler | Iterable[Any] | None = None,
        batch_sampler: Sampler | Iterable[Sequence[Any]] | None = None, num_workers: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None, pin_memory: bool = False,
        drop_last: bool = False, timeout: float = 0, worker_init_fn: Callable[[int], None] | None = None,
        generator: Any = None, *, seed: int | None = None, prefetch_factor: int | None = None,
        persistent_workers: bool = False,
    ) -> None:
        if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
            raise TypeError(
                f"DataLoader: dataset must define __getitem__ and __len__ (a map-style dataset), got "
                f"{type(dataset).__name__}"
            )
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be an integer >= 0, got {num_workers!r}")
        if seed is not None:
            if generator is not None:
                raise ValueError("DataLoader: give either generator or seed, not both")
            generator = Generator(seed)
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "DataLoader: batch_sampler is mutually exclusive with batch_size, shuffle, sampler "
                    "and drop_last (the batch sampler decides all of them)"
                )
            batch_size = None
            drop_last = False
        elif batch_size is None:
            if drop_last:
                raise ValueError(
                    "DataLoader: batch_size=None (no batching) is incompatible with drop_last=True"
                )
        elif not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be a positive integer or None, got {batch_size!r}")
        if sampler is not None and shuffle:
            raise ValueError(
                "DataLoader: sampler and shuffle=True are mutually exclusive (the sampler sets the order)"
            )
        if sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, int(batch_size), drop_last)
            self._own_batch_sampler = True
        else:
            self._own_batch_sampler = False
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.collate_fn = collate_fn
        self.generator = generator
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn

    def __len__(self) -> int:
        """The number of batches per pass."""
        if self.batch_sampler is not None:
            return len(self.batch_sampler)  # type: ignore[arg-type]
        return len(self.sampler)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[Any]:
        if self.batch_sampler is None:
            return self._iter_samples()
        if self._own_batch_sampler and self.collate_fn is None and type(self.sampler) in (
            SequentialSampler, RandomSampler,
        ):
            columns = _columns(self.dataset)
            if columns is not None:
                return self._iter_columns(*columns)
        return self._iter_batches()

    def _iter_samples(self) -> Iterator[Any]:
        for index in self.sampler:
            sample = self.dataset[index]
            yield self.collate_fn(sample) if self.collate_fn is not None else sample

    def _iter_batches(self) -> Iterator[Any]:
        collate = self.collate_fn if self.collate_fn is not None else default_collate
        dataset = self.dataset
        for indices in self.batch_sampler:  # type: ignore[union-attr]
            yield collate([dataset[i] for i in indices])

    def _iter_columns(self, arrays: list[np.ndarray], base: np.ndarray | None) -> Iterator[list[Tensor]]:
        n = len(self.dataset)
        sampler = self.sampler
        order = sampler.indices() if isinstance(sampler, RandomSampler) else np.arange(n)
        if base is not None:
            order = base[order]
        batch_size = self.batch_size
        stop = len(order)
        if self.drop_last:
            stop -= stop % batch_size  # type: ignore[operator]
        for start in range(0, stop, batch_size):  # type: ignore[arg-type]
            index = order[start:start + batch_size]  # type: ignore[operator]
            yield [Tensor._wrap(a[index]) for a in arrays]

    def __repr__(self) -> str:
        return (
            f"DataLoader(dataset={type(self.dataset).__name__} of {len(self.dataset)}, "
            f"batch_size={self.batch_size}, shuffle={isinstance(self.sampler, RandomSampler)}, "
            f"drop_last={self.drop_last}, batches={len(self)})"
        )
