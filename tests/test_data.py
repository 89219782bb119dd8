"""utils.data: datasets, DataLoader batching/shuffling/collation, random_split, the three GD flavours."""

from __future__ import annotations

import warnings
from collections import namedtuple

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)


def _dataset(n=10):
    x = ag.arange(n * 2, dtype=ag.float32).reshape(n, 2)
    y = ag.arange(n)
    return TensorDataset(x, y)


class Wrapped(Dataset):
    """The same samples as a TensorDataset, through the generic (per-sample) path."""

    def __init__(self, inner):
        self.inner = inner

    def __len__(self):
        return len(self.inner)

    def __getitem__(self, i):
        return self.inner[i]


def test_reachable_as_ag_utils_data():
    assert ag.utils.data.DataLoader is DataLoader and ag.utils.data.random_split is random_split


def test_tensor_dataset_indexing_and_length():
    ds = _dataset(5)
    assert len(ds) == 5
    x, y = ds[3]
    assert x.tolist() == [6.0, 7.0] and y.item() == 3
    with pytest.raises(ValueError, match=r"dim 0: \[3, 4\]"):
        TensorDataset(ag.zeros(3, 2), ag.zeros(4))
    with pytest.raises(ValueError, match="0-d"):
        TensorDataset(ag.tensor(1.0))


def test_tensor_dataset_wraps_numpy_arrays_without_copy():
    x = np.arange(6.0).reshape(3, 2)
    ds = TensorDataset(x)
    assert ds.tensors[0]._data is x


@pytest.mark.parametrize("n,batch_size,drop_last,sizes", [
    (10, 3, False, [3, 3, 3, 1]),
    (10, 3, True, [3, 3, 3]),
    (9, 3, True, [3, 3, 3]),
    (10, 10, False, [10]),
    (10, 1, False, [1] * 10),
    (4, 8, False, [4]),
    (4, 8, True, []),
])
def test_batch_sizes_and_len(n, batch_size, drop_last, sizes):
    for ds in (_dataset(n), Wrapped(_dataset(n))):
        loader = DataLoader(ds, batch_size=batch_size, drop_last=drop_last)
        batches = list(loader)
        assert [len(y) for _, y in batches] == sizes
        assert len(loader) == len(sizes)
        if batches:
            assert isinstance(batches[0], list) and batches[0][0].shape == (sizes[0], 2)
            assert batches[0][0].dtype == ag.float32 and batches[0][1].dtype == ag.int64


def test_sequential_batches_hold_the_right_rows():
    ds = _dataset(7)
    ys = [y.tolist() for _, y in DataLoader(ds, batch_size=3)]
    assert ys == [[0, 1, 2], [3, 4, 5], [6]]
    xs = [x.numpy() for x, _ in DataLoader(ds, batch_size=3)]
    np.testing.assert_array_equal(np.concatenate(xs), ds.tensors[0].numpy())


def test_batches_do_not_alias_the_dataset():
    ds = _dataset(4)
    x, _ = next(iter(DataLoader(ds, batch_size=4)))
    x._data[...] = -1
    assert ds.tensors[0].numpy().min() == 0


def _epoch_order(loader):
    return [int(v) for _, y in loader for v in y.tolist()]


def test_shuffle_is_a_permutation_repeatable_with_manual_seed():
    loader = DataLoader(_dataset(20), batch_size=6, shuffle=True)
    ag.manual_seed(123)
    first, second = _epoch_order(loader), _epoch_order(loader)
    assert sorted(first) == list(range(20)) and sorted(second) == list(range(20))
    assert first != list(range(20)) and first != second  # reshuffled each epoch
    ag.manual_seed(123)
    assert _epoch_order(loader) == first and _epoch_order(loader) == second


def test_generator_and_seed_give_independent_repeatable_orders():
    ds = _dataset(16)
    a = DataLoader(ds, batch_size=4, shuffle=True, generator=ag.Generator(7))
    b = DataLoader(ds, batch_size=4, shuffle=True, seed=7)
    ag.manual_seed(0)
    order_a = [_epoch_order(a) for _ in range(3)]
    ag.manual_seed(99)  # the global seed does not matter to a loader with its own generator
    order_b = [_epoch_order(b) for _ in range(3)]
    assert order_a == order_b
    assert len({tuple(o) for o in order_a}) == 3


def test_fast_path_matches_generic_path():
    """Batching a TensorDataset by index arrays gives what per-sample stacking gives."""
    base = TensorDataset(ag.randn(23, 3), ag.randint(0, 5, (23,)), ag.randn(23, 2, 2, dtype=ag.float64))
    for kwargs in (dict(batch_size=5), dict(batch_size=4, shuffle=True, drop_last=True), dict(batch_size=23)):
        fast = list(DataLoader(base, **kwargs, generator=ag.Generator(3)))
        slow = list(DataLoader(Wrapped(base), **kwargs, generator=ag.Generator(3)))
        assert len(fast) == len(slow) > 0
        for fb, sb in zip(fast, slow, strict=False):
            assert len(fb) == len(sb) == 3
            for f, s in zip(fb, sb, strict=False):
                assert f.dtype == s.dtype and f.shape == s.shape
                np.testing.assert_array_equal(f.numpy(), s.numpy())


def test_subset_of_tensor_dataset_batches_correctly():
    ds = _dataset(10)
    sub = Subset(ds, [9, 2, 4, 4, 0])
    ys = [y.tolist() for _, y in DataLoader(sub, batch_size=2)]
    assert ys == [[9, 2], [4, 4], [0]]
    shuffled = sorted(v for _, y in DataLoader(sub, batch_size=2, shuffle=True) for v in y.tolist())
    assert shuffled == [0, 2, 4, 4, 9]


def test_collate_dicts_numbers_arrays_and_strings():
    class Records(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": np.full(3, i, dtype=np.float32), "label": i % 2, "weight": 0.5 * i,
                    "flag": i > 2, "name": f"s{i}", "pair": (ag.tensor([i, -i]), float(i))}

    batches = list(DataLoader(Records(), batch_size=3))
    first = batches[0]
    assert set(first) == {"x", "label", "weight", "flag", "name", "pair"}
    assert first["x"].shape == (3, 3) and first["x"].dtype == ag.float32
    assert first["label"].tolist() == [0, 1, 0] and first["label"].dtype == ag.int64
    assert first["weight"].dtype == ag.float64 and first["weight"].tolist() == [0.0, 0.5, 1.0]
    assert first["flag"].dtype == ag.bool and first["flag"].tolist() == [False, False, False]
    assert first["name"] == ["s0", "s1", "s2"]
    assert isinstance(first["pair"], list)
    assert first["pair"][0].tolist() == [[0, 0], [1, -1], [2, -2]]
    assert batches[1]["x"].shape == (2, 3)


def test_collate_namedtuple_and_errors():
    Point = namedtuple("Point", ["x", "y"])
    batch = default_collate([Point(1.0, ag.tensor([1.0])), Point(2.0, ag.tensor([2.0]))])
    assert isinstance(batch, Point) and batch.x.tolist() == [1.0, 2.0] and batch.y.shape == (2, 1)
    with pytest.raises(RuntimeError, match=r"sample 0 has shape \(2,\) but sample 1 has shape \(3,\)"):
        default_collate([ag.zeros(2), ag.zeros(3)])
    with pytest.raises(RuntimeError, match="same number of fields"):
        default_collate([(1, 2), (1,)])
    with pytest.raises(TypeError, match="found object"):
        default_collate([object(), object()])


def test_custom_collate_fn_and_no_batching():
    ds = _dataset(4)
    sums = list(DataLoader(ds, batch_size=2, collate_fn=lambda samples: sum(int(y) for _, y in samples)))
    assert sums == [1, 5]
    singles = list(DataLoader(ds, batch_size=None))
    assert len(singles) == 4 and singles[2][1].item() == 2 and singles[2][0].shape == (2,)


def test_custom_sampler_and_batch_sampler():
    ds = _dataset(6)
    loader = DataLoader(ds, batch_size=2, sampler=[5, 4, 3, 2, 1, 0])
    assert _epoch_order(loader) == [5, 4, 3, 2, 1, 0]
    loader = DataLoader(ds, batch_sampler=[[0, 5], [1, 2, 3]])
    assert [y.tolist() for _, y in loader] == [[0, 5], [1, 2, 3]] and len(loader) == 2
    bs = BatchSampler(SequentialSampler(range(5)), 2, drop_last=False)
    assert list(bs) == [[0, 1], [2, 3], [4]] and len(bs) == 3
    rs = RandomSampler(range(8), generator=ag.Generator(1))
    assert sorted(rs) == list(range(8)) and len(rs) == 8


@pytest.mark.parametrize("kwargs,match", [
    (dict(batch_size=0), "batch_size"),
    (dict(batch_size=2.5), "batch_size"),
    (dict(shuffle=True, sampler=[0, 1]), "mutually exclusive"),
    (dict(batch_sampler=[[0]], batch_size=2), "mutually exclusive"),
    (dict(batch_size=None, drop_last=True), "drop_last"),
    (dict(seed=1, generator=ag.Generator(1)), "either generator or seed"),
])
def test_dataloader_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DataLoader(_dataset(4), **kwargs)


def test_dataloader_rejects_non_datasets():
    with pytest.raises(TypeError, match="map-style"):
        DataLoader(iter([1, 2, 3]))


def test_concat_dataset():
    ds = _dataset(3) + _dataset(2)
    assert isinstance(ds, ConcatDataset) and len(ds) == 5
    assert ds[3][1].item() == 0 and ds[-1][1].item() == 1
    with pytest.raises(IndexError):
        ds[5]


# ---------------------------------------------------------------------- random_split
def test_random_split_sizes_cover_everything_once():
    ds = _dataset(10)
    parts = random_split(ds, [6, 3, 1], generator=ag.Generator(0))
    assert [len(p) for p in parts] == [6, 3, 1]
    seen = sorted(int(p[i][1]) for p in parts for i in range(len(p)))
    assert seen == list(range(10))


@pytest.mark.parametrize(
    "n,fractions", [(11, [0.7, 0.2, 0.1]), (10, [0.5, 0.5]), (7, [1 / 3] * 3), (5, [0.9, 0.1])]
)
def test_random_split_fractions_match_torch_sizes(torch, n, fractions):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours = [len(p) for p in random_split(range(n), fractions, generator=ag.Generator(0))]
        theirs = [len(p) for p in torch.utils.data.random_split(range(n), fractions)]
    assert ours == theirs and sum(ours) == n
    # both warn about an empty split (and only then)
    messages = [str(w.message) for w in caught]
    assert sum(m.startswith("random_split:") for m in messages) == (0 in ours)
    assert sum(m.startswith("Length of split") for m in messages) == (0 in theirs)


def test_random_split_is_repeatable():
    a = [list(p.indices) for p in random_split(range(20), [0.5, 0.5], generator=ag.Generator(4))]
    b = [list(p.indices) for p in random_split(range(20), [0.5, 0.5], generator=ag.Generator(4))]
    ag.manual_seed(8)
    c = [list(p.indices) for p in random_split(range(20), [10, 10])]
    ag.manual_seed(8)
    d = [list(p.indices) for p in random_split(range(20), [10, 10])]
    assert a == b and c == d and a != c


@pytest.mark.parametrize("lengths,match", [
    ([5, 4], "sum to 9"),
    ([0.5, 0.6], "neither integers nor fractions"),
    ([], "empty"),
    ([11, -1], ">= 0"),
])
def test_random_split_errors(lengths, match):
    with pytest.raises(ValueError, match=match):
        random_split(range(10), lengths)


# ---------------------------------------------------------------------- gradient descent flavours
def _linear_data(n=16):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(n, 1))
    y = 2.0 * x + 1.0 + 0.01 * rng.normal(size=(n, 1))
    return x, y


def _train_linear(batch_size, epochs, lr):
    x, y = _linear_data()
    w = ag.tensor([[0.0]], dtype=ag.float64, requires_grad=True)
    b = ag.tensor([0.0], dtype=ag.float64, requires_grad=True)
    opt = ag.optim.SGD([w, b], lr=lr)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True, seed=0)
    steps = 0
    for _ in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            ((xb @ w + b - yb) ** 2).mean().backward()
            opt.step()
            steps += 1
    return w.item(), b.item(), steps, len(loader)


@pytest.mark.parametrize("flavour,batch_size,epochs,lr", [
    ("stochastic", 1, 15, 0.05),
    ("mini-batch", 4, 60, 0.2),
    ("batch", 16, 300, 0.5),
])
def test_three_flavours_of_gradient_descent(flavour, batch_size, epochs, lr):
    w, b, steps, per_epoch = _train_linear(batch_size, epochs, lr)
    assert per_epoch == 16 // batch_size and steps == epochs * per_epoch
    assert w == pytest.approx(2.0, abs=0.05) and b == pytest.approx(1.0, abs=0.05)


def test_full_batch_loader_is_plain_gradient_descent():
    """batch_size=len(data): every step uses the whole data set, so it equals GD written by hand."""
    x, y = _linear_data()
    w_ref, b_ref = 0.0, 0.0
    for _ in range(25):
        residual = x[:, 0] * w_ref + b_ref - y[:, 0]
        w_ref, b_ref = w_ref - 0.5 * 2 * np.mean(residual * x[:, 0]), b_ref - 0.5 * 2 * np.mean(residual)
    w, b, _, _ = _train_linear(batch_size=16, epochs=25, lr=0.5)
    assert w == pytest.approx(w_ref, rel=1e-12) and b == pytest.approx(b_ref, rel=1e-12)


# ---------------------------------------------------------------- the shipped text corpus
def test_the_text_corpus_ships_in_autograd_lite_corpora() -> None:
    """The corpus lives in ``autograd_lite.corpora`` (not ``autograd_lite.data``, too close to utils.data)."""
    import importlib
    import importlib.util
    from importlib import resources
    from pathlib import Path

    corpora = importlib.import_module("autograd_lite.corpora")
    assert corpora.__doc__ and "utils.data" in corpora.__doc__
    text = resources.files("autograd_lite.corpora").joinpath("tiny_corpus.txt").read_text(encoding="utf-8")
    assert len(text) == 8326 and text.startswith("A neural network is a function with knobs.")
    package = Path(ag.__file__).resolve().parent
    assert not (package / "data").exists(), "the old autograd_lite.data package should be gone"
    # it is installed with the package (package-data), and the example reads it from there
    root = Path(__file__).resolve().parents[1]
    assert '"corpora/*.txt"' in (root / "pyproject.toml").read_text(encoding="utf-8")
    spec = importlib.util.spec_from_file_location("char_rnn_example", root / "examples" / "char_rnn.py")
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    assert example.load_corpus() == text
