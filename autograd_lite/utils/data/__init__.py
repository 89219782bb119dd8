"""Datasets and the DataLoader: feed a model mini-batches, shuffled repeatably.

>>> import autograd_lite as ag
>>> from autograd_lite.utils.data import DataLoader, TensorDataset
>>> ds = TensorDataset(ag.randn(100, 3), ag.randint(0, 2, (100,)))
>>> loader = DataLoader(ds, batch_size=32, shuffle=True, seed=0)
>>> len(loader), [x.shape[0] for x, y in loader]
(4, [32, 32, 32, 4])
"""

from .dataloader import DataLoader, default_collate
from .dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler

__all__ = [
    "Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split", "DataLoader", "default_collate",
    "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "BatchSampler",
]
