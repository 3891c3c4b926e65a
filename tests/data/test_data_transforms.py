"""Transforms: exact values of ToTensor and Normalize, the geometry of RandomCrop and
RandomHorizontalFlip, reproducibility under manual_seed, and batched forms that agree with the
item-by-item ones."""
from __future__ import annotations

import numpy as np
import pytest

import lemmata
from lemmata.data import transforms as T


def _images(n=6, h=5, w=7, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w, c), dtype=np.uint8)


def test_to_tensor_values_layout_and_batch():
    images = _images()
    one = T.ToTensor()(images[0])
    assert one.shape == (3, 5, 7) and one.dtype == np.float32
    np.testing.assert_array_equal(one.numpy(), images[0].transpose(2, 0, 1).astype(np.float32)
                                  / np.float32(255))
    assert one.numpy().max() <= 1 and one.numpy().min() >= 0
    gray = T.ToTensor()(images[0, :, :, 0])
    assert gray.shape == (1, 5, 7)
    batch = T.ToTensor().batch(images)
    assert batch.shape == (6, 3, 5, 7)
    np.testing.assert_array_equal(batch.numpy()[4], T.ToTensor()(images[4]).numpy())
    assert T.ToTensor()(np.ones((2, 2), np.float64)).dtype == np.float64
    with pytest.raises(TypeError, match="ToTensor: expected a NumPy image"):
        T.ToTensor()(one)
    with pytest.raises(ValueError, match=r"got shape \(2, 2, 2, 2\)"):
        T.ToTensor()(np.zeros((2, 2, 2, 2), np.uint8))


def test_normalize_per_channel_in_float32():
    x = T.ToTensor().batch(_images())
    mean, std = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
    out = T.Normalize(mean, std).batch(x)
    expected = (x.numpy() - np.float32(mean).reshape(3, 1, 1)) / np.float32(std).reshape(3, 1, 1)
    np.testing.assert_array_equal(out.numpy(), expected)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(T.Normalize(mean, std)(x[2]).numpy(), expected[2])
    assert T.Normalize((0.5,), (0.5,))(x[0]).shape == (3, 5, 7)  # one value for all channels
    with pytest.raises(ValueError, match=r"Normalize: 2 means for an image with 3 channel"):
        T.Normalize((0.1, 0.2), (1.0, 1.0))(x[0])
    with pytest.raises(ValueError, match="division by zero"):
        T.Normalize((0.0,), (0.0,))
    with pytest.raises(TypeError, match="put ToTensor"):
        T.Normalize((0.5,), (0.5,))(_images()[0])


def test_normalize_matches_torch():
    import torch
    x = T.ToTensor().batch(_images(seed=3))
    mean, std = [0.1307, 0.2, 0.3], [0.3081, 0.4, 0.5]
    theirs = (torch.from_numpy(x.numpy().copy()) - torch.tensor(mean).view(-1, 1, 1)) \
        / torch.tensor(std).view(-1, 1, 1)
    np.testing.assert_array_equal(T.Normalize(mean, std).batch(x).numpy(), theirs.numpy())


def _window_offsets(padded, crop):
    """All (top, left) at which ``crop`` (h, w, …) occurs in ``padded``."""
    h, w = crop.shape[:2]
    return [(i, j) for i in range(padded.shape[0] - h + 1) for j in range(padded.shape[1] - w + 1)
            if np.array_equal(padded[i:i + h, j:j + w], crop)]


def test_random_crop_is_a_window_of_the_padded_image():
    images = _images(n=40, h=6, w=6, c=3)
    crop = T.RandomCrop(6, padding=2)
    lemmata.manual_seed(0)
    out = crop.batch(images)
    assert out.shape == (40, 6, 6, 3) and out.dtype == np.uint8
    offsets = set()
    for image, piece in zip(images, out):
        padded = np.pad(image, ((2, 2), (2, 2), (0, 0)))
        found = _window_offsets(padded, piece)
        assert found
        offsets.update(found)
    assert len(offsets) > 10  # offsets vary from item to item
    single = crop(images[0])
    assert _window_offsets(np.pad(images[0], ((2, 2), (2, 2), (0, 0))), single)


def test_random_crop_tensor_layout_modes_and_errors():
    x = lemmata.tensor(np.arange(2 * 3 * 4 * 4, dtype=np.float32).reshape(2, 3, 4, 4))
    lemmata.manual_seed(1)
    out = T.RandomCrop((2, 3)).batch(x)
    assert isinstance(out, lemmata.Tensor) and out.shape == (2, 3, 2, 3)
    for n in range(2):
        found = [(i, j) for i in range(3) for j in range(2)
                 if np.array_equal(x.numpy()[n, :, i:i + 2, j:j + 3], out.numpy()[n])]
        assert found
    reflect = T.RandomCrop(6, padding=1, padding_mode="reflect")(x[0])
    assert reflect.shape == (3, 6, 6)
    np.testing.assert_array_equal(reflect.numpy(), np.pad(x.numpy()[0], ((0, 0), (1, 1), (1, 1)),
                                                          mode="reflect"))
    needed = T.RandomCrop(5, pad_if_needed=True, fill=7)(np.zeros((3, 3), np.uint8))
    assert needed.shape == (5, 5) and needed.max() == 7
    with pytest.raises(ValueError, match=r"required crop size \(5, 5\) is larger than the "
                                         r"\(padded\) image size \(4, 4\)"):
        T.RandomCrop(5)(x[0])
    with pytest.raises(ValueError, match="padding_mode"):
        T.RandomCrop(3, padding_mode="wrap")


def test_random_horizontal_flip():
    images = _images(n=200, h=2, w=5, c=1)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(images[0]), images[0][:, ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(0.0).batch(images), images)
    lemmata.manual_seed(2)
    out = T.RandomHorizontalFlip().batch(images)
    flipped = np.array([np.array_equal(o, i[:, ::-1]) for o, i in zip(out, images)])
    same = np.array([np.array_equal(o, i) for o, i in zip(out, images)])
    assert np.all(flipped | same) and 70 < flipped.sum() < 130
    t = lemmata.tensor(np.arange(6.0).reshape(1, 2, 3))
    assert T.RandomHorizontalFlip(1.0)(t).tolist() == [[[2.0, 1.0, 0.0], [5.0, 4.0, 3.0]]]
    with pytest.raises(ValueError, match="probability"):
        T.RandomHorizontalFlip(1.5)


def test_random_transforms_reproducible_under_manual_seed():
    pipeline = T.Compose([T.RandomCrop(5, padding=2), T.RandomHorizontalFlip(), T.ToTensor()])
    images = _images(n=8)
    lemmata.manual_seed(11)
    a = pipeline.batch(images).numpy()
    lemmata.manual_seed(11)
    b = pipeline.batch(images).numpy()
    np.testing.assert_array_equal(a, b)
    lemmata.manual_seed(11)
    c = np.stack([pipeline(im).numpy() for im in images])
    lemmata.manual_seed(11)
    d = np.stack([pipeline(im).numpy() for im in images])
    np.testing.assert_array_equal(c, d)


def test_compose_batching_and_lambda():
    deterministic = T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.25,))])
    assert deterministic.supports_batch
    images = _images()
    np.testing.assert_array_equal(deterministic.batch(images).numpy(),
                                  np.stack([deterministic(im).numpy() for im in images]))
    with_lambda = T.Compose([T.ToTensor(), T.Lambda(lambda t: t * 2)])
    assert not with_lambda.supports_batch
    with pytest.raises(TypeError, match="Lambda has no batched form"):
        with_lambda.batch(images)
    with pytest.raises(TypeError, match="not callable"):
        T.Compose([T.ToTensor(), 3])
    assert "RandomCrop" in repr(T.Compose([T.RandomCrop(3)]))
