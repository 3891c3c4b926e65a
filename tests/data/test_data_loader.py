"""DataLoader, samplers, collation and the map-style data sets: batching, shuffling from the global
generator, drop_last, vectorised batches, resumable epochs, and PyTorch's semantics."""
from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import lemmata
from lemmata.data import (
    BatchSampler, ConcatDataset, DataLoader, Dataset, RandomSampler, SequentialSampler, Subset,
    SubsetRandomSampler, TensorDataset, default_collate, random_split,
)


def _dataset(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64) % 4
    return TensorDataset(x, y), x, y


class _Pairs(Dataset):
    """A plain Python data set (no get_batch override): samples built item by item."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full((2,), i, dtype=np.float32), int(i), float(i) / 2, f"item{i}", {"k": i}


def test_batches_in_order_with_a_short_last_batch():
    ds, x, y = _dataset(10)
    loader = DataLoader(ds, batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and [len(b[1]) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in batches]), x)
    assert batches[0][1].dtype == np.int64 and batches[0][0].dtype == np.float32
    assert isinstance(batches[0], list)  # PyTorch collates tuples into lists


def test_drop_last():
    ds, _, _ = _dataset(10)
    loader = DataLoader(ds, batch_size=4, drop_last=True)
    assert len(loader) == 2 and [len(b[0]) for b in loader] == [4, 4]
    assert len(DataLoader(ds, batch_size=20, drop_last=True)) == 0
    assert list(DataLoader(ds, batch_size=20, drop_last=True)) == []


def test_shuffle_reproducible_under_manual_seed_and_new_each_epoch():
    ds, _, y = _dataset(50)
    loader = DataLoader(ds, batch_size=7, shuffle=True)

    def epoch():
        return np.concatenate([b[0].numpy()[:, 0] / 3 for b in loader]).astype(int)

    lemmata.manual_seed(123)
    first, second = epoch(), epoch()
    lemmata.manual_seed(123)
    again = epoch()
    np.testing.assert_array_equal(first, again)
    assert sorted(first) == list(range(50)) and sorted(second) == list(range(50))
    assert not np.array_equal(first, second)
    # the permutation is the global generator's: PCG64 seeded with 123, one draw per epoch
    np.testing.assert_array_equal(first, np.random.Generator(np.random.PCG64(123)).permutation(50))


def test_shuffle_with_own_generator_leaves_global_alone():
    ds, _, _ = _dataset(20)
    lemmata.manual_seed(5)
    state = lemmata.get_rng_state()
    order = [b[1].tolist() for b in DataLoader(ds, 5, shuffle=True,
                                               generator=np.random.default_rng(9))]
    assert lemmata.get_rng_state() == state and len(order) == 4


def test_tensor_dataset_batches_without_per_item_calls(monkeypatch):
    ds, x, y = _dataset(30)

    def refuse(self, index):
        raise AssertionError("__getitem__ called: batching is not vectorised")

    monkeypatch.setattr(TensorDataset, "__getitem__", refuse)
    lemmata.manual_seed(0)
    for xb, yb in DataLoader(ds, batch_size=8, shuffle=True):
        rows = (xb.numpy()[:, 0] / 3).astype(int)
        np.testing.assert_array_equal(yb.numpy(), y[rows])
    subset = Subset(ds, [3, 1, 4, 1, 5])
    xb, yb = next(iter(DataLoader(subset, batch_size=5)))
    np.testing.assert_array_equal(xb.numpy(), x[[3, 1, 4, 1, 5]])


def test_default_collate_of_tuples_matches_torch():
    ds = _Pairs(5)
    ours = next(iter(DataLoader(ds, batch_size=5)))
    theirs = next(iter(tud.DataLoader(ds, batch_size=5)))
    assert len(ours) == len(theirs) == 5 and isinstance(ours, list)
    for a, b in zip(ours[:3], theirs[:3]):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        assert str(a.dtype) == str(b.dtype).replace("torch.", "")
    assert ours[3] == theirs[3] == tuple(f"item{i}" for i in range(5))
    np.testing.assert_array_equal(ours[4]["k"].numpy(), theirs[4]["k"].numpy())


def test_collate_namedtuples_lists_numpy_scalars_and_errors():
    Point = namedtuple("Point", "x y")
    out = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(out, Point) and out.x.dtype == np.int64 and out.y.dtype == np.float64
    assert default_collate([np.float32(1), np.float32(2)]).dtype == np.float32
    assert default_collate([True, False]).dtype == np.bool_
    nested = default_collate([[1, [2, 3]], [4, [5, 6]]])
    assert nested[0].tolist() == [1, 4] and nested[1][1].tolist() == [3, 6]
    with pytest.raises(RuntimeError, match=r"item 0 has shape \(2,\) and item 1 has shape \(3,\)"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([(1, 2), (1,)])
    with pytest.raises(TypeError, match="found NoneType"):
        default_collate([None, None])
    with pytest.raises(ValueError, match="empty"):
        default_collate([])


def test_custom_collate_fn_gets_a_list_of_samples():
    seen = []

    def collate(samples):
        seen.append(len(samples))
        return [s[1] for s in samples]

    batches = list(DataLoader(_Pairs(7), batch_size=3, collate_fn=collate))
    assert batches == [[0, 1, 2], [3, 4, 5], [6]] and seen == [3, 3, 1]


def test_batch_size_none_yields_converted_samples():
    items = list(DataLoader(_Pairs(3), batch_size=None))
    assert len(items) == 3 and isinstance(items[1][0], lemmata.Tensor) and items[1][1] == 1


def test_samplers_and_batch_sampler():
    ds, _, _ = _dataset(10)
    assert list(SequentialSampler(ds)) == list(range(10))
    lemmata.manual_seed(1)
    assert sorted(RandomSampler(ds)) == list(range(10))
    draws = RandomSampler(ds, replacement=True, num_samples=25).indices()
    assert len(draws) == 25 and draws.max() < 10
    assert len(RandomSampler(ds, num_samples=23).indices()) == 23
    assert sorted(SubsetRandomSampler([2, 4, 6])) == [2, 4, 6]
    assert list(BatchSampler(SequentialSampler(ds), 4, False)) == [[0, 1, 2, 3], [4, 5, 6, 7],
                                                                    [8, 9]]
    assert len(BatchSampler(range(10), 4, True)) == 2
    loader = DataLoader(ds, batch_sampler=[[9, 0], [5]])
    assert [b[1].tolist() for b in loader] == [[1, 0], [1]] and len(loader) == 2
    loader = DataLoader(ds, batch_size=5, sampler=SubsetRandomSampler([1, 2, 3]))
    assert sorted(next(iter(loader))[1].tolist()) == [1, 2, 3]


def test_len_and_argument_errors():
    ds, _, _ = _dataset(10)
    assert len(DataLoader(ds)) == 10 and len(DataLoader(ds, 3)) == 4
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds, shuffle=True, sampler=SequentialSampler(ds))
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_size=3, batch_sampler=[[0]])
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(TypeError, match="must define __len__"):
        DataLoader(iter(range(3)))
    with pytest.raises(IndexError, match="index 10 is out of range for a data set of 10"):
        ds.get_batch([0, 10])


def test_state_dict_resumes_the_epoch_exactly():
    ds, _, _ = _dataset(23)
    lemmata.manual_seed(7)
    loader = DataLoader(ds, batch_size=4, shuffle=True)
    iterator = iter(loader)
    head = [next(iterator)[1].tolist() for _ in range(2)]
    state = loader.state_dict()
    assert state["position"] == 2 and sorted(state["indices"].tolist()) == list(range(23))
    tail = [b[1].tolist() for b in iterator]
    after_epoch = loader.state_dict()
    assert after_epoch["indices"] is None and after_epoch["position"] == 0
    resumed = DataLoader(ds, batch_size=4, shuffle=True)
    resumed.load_state_dict(state)
    assert resumed.state_dict()["position"] == 2
    rng = lemmata.get_rng_state()
    assert [b[1].tolist() for b in resumed] == tail
    assert lemmata.get_rng_state() == rng  # continuing an epoch draws nothing
    assert len(head) + len(tail) == 6
    with pytest.raises(ValueError, match="does not index this data set"):
        DataLoader(_dataset(5)[0]).load_state_dict(state)
    with pytest.raises(ValueError, match="position 9"):
        resumed.load_state_dict({**state, "position": 9})


def test_subset_concat_and_random_split():
    a, xa, _ = _dataset(6)
    b = TensorDataset(np.full((4, 3), -1, np.float32), np.arange(4, dtype=np.int64) + 100)
    both = a + b
    assert isinstance(both, ConcatDataset) and len(both) == 10
    assert both[7][1].item() == 101 and both[-1][1].item() == 103
    xb, yb = both.get_batch([8, 1, 6, 0])
    assert yb.tolist() == [102, 1, 100, 0]
    np.testing.assert_array_equal(xb.numpy()[1], xa[1])
    mixed = ConcatDataset([_Pairs(3), _Pairs(2)])
    assert list(mixed.get_batch([4, 0])[3]) == ["item1", "item0"]
    lemmata.manual_seed(0)
    parts = random_split(a, [4, 2])
    assert [len(p) for p in parts] == [4, 2]
    assert sorted(parts[0].indices.tolist() + parts[1].indices.tolist()) == list(range(6))
    fractions = random_split(_dataset(11)[0], [0.5, 0.3, 0.2])
    assert [len(p) for p in fractions] == [6, 3, 2]  # floor 5, 3, 2 then one left over
    with pytest.raises(ValueError, match=r"sum of input lengths \[3, 4\] is 7.*\(6\)"):
        random_split(a, [3, 4])
    with pytest.raises(IndexError, match="index 6 is out of range"):
        Subset(a, [0, 6])


def test_random_split_lengths_follow_torch():
    for n, fractions in [(11, [0.5, 0.3, 0.2]), (10, [0.33, 0.33, 0.34]), (7, [0.1, 0.9])]:
        ours = [len(s) for s in random_split(_dataset(n)[0], fractions)]
        theirs = [len(s) for s in tud.random_split(range(n), fractions)]
        assert ours == theirs


def test_lemmata_utils_data_is_lemmata_data():
    import lemmata.utils.data as utils_data
    from lemmata.utils.data import DataLoader as Loader
    assert utils_data is lemmata.data and Loader is DataLoader
    assert lemmata.utils.data.TensorDataset is TensorDataset


def test_loader_over_a_plain_tensor_and_torch_equivalence():
    t = lemmata.arange(10)
    assert [b.tolist() for b in DataLoader(t, batch_size=4)] == [[0, 1, 2, 3], [4, 5, 6, 7],
                                                                 [8, 9]]
    ds, x, y = _dataset(9)
    torch_ds = tud.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    for (xa, ya), (xb, yb) in zip(DataLoader(ds, 4), tud.DataLoader(torch_ds, 4)):
        np.testing.assert_array_equal(xa.numpy(), xb.numpy())
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())
