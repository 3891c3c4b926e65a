"""The image data sets: Digits without network (values equal to scikit-learn's), its fixed
stratified split, and vectorised batches with transforms for the file-based data sets."""
from __future__ import annotations

import socket

import numpy as np
import pytest

import lemmata
from data_files import write_cifar, write_mnist
from lemmata.data import CIFAR10, MNIST, DataLoader, Digits, transforms


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a data set tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_digits_loads_without_network_and_equals_scikit_learn(no_network):
    train, test = Digits(), Digits(train=False)
    assert (len(train), len(test)) == (1442, 355)
    image, target = train[0]
    assert isinstance(image, lemmata.Tensor) and image.shape == (1, 8, 8)
    assert image.dtype == np.float32 and isinstance(target, int)
    assert train.data.numpy().min() == 0 and train.data.numpy().max() == 1
    assert train.targets.dtype == np.int64
    from sklearn.datasets import load_digits
    bunch = load_digits()
    together = np.concatenate([train.data.numpy(), test.data.numpy()]).reshape(-1, 64)
    expected = (bunch.data.astype(np.float32) / np.float32(16))
    ordered = sorted(map(bytes, together)) == sorted(map(bytes, expected))
    assert ordered  # the two splits hold exactly the 1,797 images, each once
    labels = np.concatenate([train.targets.numpy(), test.targets.numpy()])
    assert np.bincount(labels).tolist() == np.bincount(bunch.target).tolist()


def test_digits_split_is_fixed_and_stratified():
    counts = np.bincount(Digits(train=False).targets.numpy())
    assert counts.min() >= 34 and counts.max() <= 36
    lemmata.manual_seed(99)
    again = Digits(train=False)
    np.testing.assert_array_equal(again.data.numpy(), Digits(train=False).data.numpy())


def test_digits_loader_batches_and_transforms():
    lemmata.manual_seed(0)
    x, y = next(iter(DataLoader(Digits(), batch_size=64, shuffle=True)))
    assert x.shape == (64, 1, 8, 8) and x.dtype == np.float32 and y.dtype == np.int64
    normal = Digits(transform=transforms.Normalize((0.5,), (0.5,)))
    xb, _ = normal.get_batch(np.arange(5))
    np.testing.assert_array_equal(xb.numpy()[3], normal[3][0].numpy())
    assert xb.numpy().min() == -1
    plus_one = Digits(target_transform=lambda t: t + 1)
    assert plus_one.get_batch([0, 1])[1].tolist() == [plus_one[0][1], plus_one[1][1]]


def test_mnist_batches_through_batched_transforms(tmp_path, monkeypatch):
    write_mnist(str(tmp_path / "MNIST" / "raw"), n_train=30)
    pipeline = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,),
                                                                               (0.3081,))])
    ds = MNIST(tmp_path, transform=pipeline)
    single = [ds[i][0].numpy() for i in (4, 0, 29)]
    monkeypatch.setattr(MNIST, "__getitem__", lambda self, i: pytest.fail("per-item path used"))
    xb, yb = ds.get_batch([4, 0, 29])
    assert xb.shape == (3, 1, 28, 28) and xb.dtype == np.float32
    np.testing.assert_array_equal(xb.numpy(), np.stack(single))
    raw = MNIST(tmp_path)
    xr, _ = next(iter(DataLoader(raw, batch_size=8)))
    assert xr.dtype == np.uint8 and xr.shape == (8, 28, 28)


def test_cifar_augmented_batches(tmp_path):
    write_cifar(str(tmp_path), n=10)
    augment = transforms.Compose([transforms.RandomCrop(32, padding=4),
                                  transforms.RandomHorizontalFlip(), transforms.ToTensor()])
    ds = CIFAR10(tmp_path, transform=augment)
    lemmata.manual_seed(4)
    a = [b[0].numpy() for b in DataLoader(ds, batch_size=16, shuffle=True)]
    lemmata.manual_seed(4)
    b = [b[0].numpy() for b in DataLoader(ds, batch_size=16, shuffle=True)]
    assert [x.shape for x in a] == [(16, 3, 32, 32)] * 3 + [(2, 3, 32, 32)]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert "Number of datapoints: 50" in repr(ds)
