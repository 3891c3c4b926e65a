"""The IDX and CIFAR readers: real-format files (raw and gzip), MNIST / Fashion-MNIST / CIFAR-10
folder layouts, clear errors for corrupt and truncated files, and a restricted unpickler that
refuses malicious pickles without running them."""
from __future__ import annotations

import gzip
import os
import pickle

import numpy as np
import pytest

from data_files import cifar_batch, idx_bytes, write, write_cifar, write_mnist
from lemmata.data import CIFAR10, MNIST, DataFormatError, FashionMNIST, UnsafePickleError, read_idx
from lemmata.data.formats import RestrictedUnpickler, read_cifar_batch, restricted_loads


# ----------------------------------------------------------------------------------------------
# IDX
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("code, dtype", [(0x08, np.uint8), (0x09, np.int8), (0x0B, np.int16),
                                         (0x0C, np.int32), (0x0D, np.float32),
                                         (0x0E, np.float64)])
def test_read_idx_every_type(tmp_path, compress, code, dtype):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    path = write(str(tmp_path / "x-idx3"), idx_bytes(array, code), compress)
    out = read_idx(path)
    assert out.dtype == np.dtype(dtype).newbyteorder("=") and out.dtype.isnative
    np.testing.assert_array_equal(out, array)


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_layouts(tmp_path, compress):
    arrays = write_mnist(str(tmp_path / "MNIST" / "raw"), compress=compress)
    train, test = MNIST(tmp_path), MNIST(str(tmp_path), train=False)
    assert (len(train), len(test)) == (12, 7)
    np.testing.assert_array_equal(train.data.numpy(), arrays["train"][0])
    np.testing.assert_array_equal(test.targets.numpy(), arrays["t10k"][1].astype(np.int64))
    assert train.targets.dtype == np.int64 and train.data.dtype == np.uint8
    image, target = train[3]
    assert isinstance(image, np.ndarray) and image.shape == (28, 28) and image.dtype == np.uint8
    assert target == int(arrays["train"][1][3]) and isinstance(target, int)
    assert train.images_file.endswith(".gz") == compress


def test_mnist_files_directly_in_root_and_fashion(tmp_path):
    write_mnist(str(tmp_path / "flat"))
    assert len(MNIST(tmp_path / "flat")) == 12
    arrays = write_mnist(str(tmp_path / "FashionMNIST"), n_train=5, compress=True)
    fashion = FashionMNIST(tmp_path)
    assert len(fashion) == 5 and fashion.classes[9] == "Ankle boot"
    np.testing.assert_array_equal(fashion.data.numpy(), arrays["train"][0][:5])


def test_mnist_missing_files_name_the_places_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"MNIST: cannot find train-images-idx3-ubyte"
                                                r"\[\.gz\] in .*MNIST.*raw"):
        MNIST(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not download"):
        MNIST(tmp_path, download=True)


def _mnist_with(tmp_path, name: str, data: bytes) -> str:
    folder = str(tmp_path / "MNIST" / "raw")
    write_mnist(folder)
    path = os.path.join(folder, name)
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def test_truncated_idx_names_file_and_byte_counts(tmp_path):
    images = np.zeros((12, 28, 28), np.uint8)
    raw = idx_bytes(images)[:-100]
    path = _mnist_with(tmp_path, "train-images-idx3-ubyte", raw)
    with pytest.raises(DataFormatError) as info:
        MNIST(tmp_path)
    message = str(info.value)
    assert path in message and "truncated" in message
    assert "needs 9408 bytes" in message and "found 9308" in message


def test_trailing_bytes_are_an_error(tmp_path):
    path = write(str(tmp_path / "x"), idx_bytes(np.zeros(5, np.uint8)) + b"\x00\x00")
    with pytest.raises(DataFormatError, match=r"trailing bytes: .*needs 5 bytes.*found 7"):
        read_idx(path)


def test_bad_magic_numbers(tmp_path):
    labels_as_images = idx_bytes(np.zeros(12, np.uint8))
    path = _mnist_with(tmp_path, "train-images-idx3-ubyte", labels_as_images)
    with pytest.raises(DataFormatError, match=r"bad magic number 0x00000801, expected "
                                              r"0x00000803") as info:
        MNIST(tmp_path)
    assert path in str(info.value)
    text = write(str(tmp_path / "text"), b"this is not an idx file at all")
    with pytest.raises(DataFormatError, match="not an IDX file"):
        read_idx(text)
    with pytest.raises(DataFormatError, match="too short"):
        read_idx(write(str(tmp_path / "tiny"), b"\x00\x00"))
    header_only = write(str(tmp_path / "header"), bytes([0, 0, 8, 3]) + b"\x00\x00")
    with pytest.raises(DataFormatError, match="truncated header"):
        read_idx(header_only)


def test_truncated_and_corrupt_gzip(tmp_path):
    packed = gzip.compress(idx_bytes(np.arange(1000, dtype=np.uint8).reshape(10, 100) % 7))
    cut = write(str(tmp_path / "cut.gz"), packed[: len(packed) // 2])
    with pytest.raises(DataFormatError, match=r"cut\.gz: truncated gzip"):
        read_idx(cut)
    bad = bytearray(packed)
    bad[12:20] = b"\xff" * 8
    broken = write(str(tmp_path / "broken.gz"), bytes(bad))
    with pytest.raises(DataFormatError, match=r"broken\.gz: (corrupt gzip|truncated)"):
        read_idx(broken)


def test_labels_out_of_range_and_count_mismatch(tmp_path):
    labels = np.zeros(12, np.uint8)
    labels[5] = 12
    path = _mnist_with(tmp_path, "train-labels-idx1-ubyte", idx_bytes(labels))
    with pytest.raises(DataFormatError, match=r"label 12 at index 5 is outside 0 … 9") as info:
        MNIST(tmp_path)
    assert path in str(info.value)
    _mnist_with(tmp_path, "train-labels-idx1-ubyte", idx_bytes(np.zeros(11, np.uint8)))
    with pytest.raises(DataFormatError, match="12 images but .* has 11 labels"):
        MNIST(tmp_path)


# ----------------------------------------------------------------------------------------------
# CIFAR-10
# ----------------------------------------------------------------------------------------------
def test_cifar10_reads_train_and_test_batches(tmp_path):
    written = write_cifar(str(tmp_path / "cifar-10-batches-py"), n=4)
    train, test = CIFAR10(tmp_path), CIFAR10(tmp_path, train=False)
    assert (len(train), len(test)) == (20, 4)
    assert train.data.shape == (20, 32, 32, 3) and train.data.dtype == np.uint8
    first = written["data_batch_1"]["data"][2].reshape(3, 32, 32).transpose(1, 2, 0)
    np.testing.assert_array_equal(train.data[2], first)
    assert train.targets[:4] == written["data_batch_1"]["labels"]
    assert test.targets == written["test_batch"]["labels"]
    image, target = test[1]
    assert image.shape == (32, 32, 3) and target == written["test_batch"]["labels"][1]


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
@pytest.mark.parametrize("str_keys", [False, True])
def test_cifar_batch_any_protocol(tmp_path, protocol, str_keys):
    raw, arrays = cifar_batch(6, 3, protocol=protocol, str_keys=str_keys)
    images, labels = read_cifar_batch(write(str(tmp_path / "b"), raw))
    assert labels.tolist() == arrays["labels"] and labels.dtype == np.int64
    np.testing.assert_array_equal(images.transpose(0, 3, 1, 2).reshape(6, -1), arrays["data"])


def test_cifar_corrupt_batches(tmp_path):
    raw, _ = cifar_batch(4, 0)
    truncated = write(str(tmp_path / "truncated"), raw[: len(raw) // 2])
    with pytest.raises(DataFormatError, match=r"truncated.*(pickle|STOP)") as info:
        read_cifar_batch(truncated)
    assert truncated in str(info.value)
    not_dict = write(str(tmp_path / "list"), pickle.dumps([1, 2, 3], protocol=2))
    with pytest.raises(DataFormatError, match="pickled dict, found a list"):
        read_cifar_batch(not_dict)
    wrong_shape = write(str(tmp_path / "shape"), pickle.dumps(
        {b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, protocol=2))
    with pytest.raises(DataFormatError, match=r"shape \(N, 3072\).*shape \(2, 100\)"):
        read_cifar_batch(wrong_shape)
    mismatch = write(str(tmp_path / "count"), pickle.dumps(
        {b"data": np.zeros((3, 3072), np.uint8), b"labels": [0, 1]}, protocol=2))
    with pytest.raises(DataFormatError, match="3 images but 2 labels"):
        read_cifar_batch(mismatch)
    missing = write(str(tmp_path / "nolabels"), pickle.dumps({b"data": np.zeros((1, 3072),
                                                                                np.uint8)}))
    with pytest.raises(DataFormatError, match="no 'labels' entry"):
        read_cifar_batch(missing)
    garbage = write(str(tmp_path / "garbage"), b"\x80\x02}q\x00(X\x01\x00\x00\xff\xfe")
    with pytest.raises(DataFormatError, match="garbage"):
        read_cifar_batch(garbage)


def test_cifar_missing_batch(tmp_path):
    write_cifar(str(tmp_path / "cifar-10-batches-py"))
    os.remove(tmp_path / "cifar-10-batches-py" / "data_batch_3")
    with pytest.raises(FileNotFoundError, match="cannot find data_batch_3"):
        CIFAR10(tmp_path)


# ----------------------------------------------------------------------------------------------
# malicious pickles
# ----------------------------------------------------------------------------------------------
class _RunsCommand:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _Evaluates:
    def __reduce__(self):
        return (eval, ("__import__('os').getcwd()",))


def test_malicious_pickle_is_refused_and_not_executed(tmp_path):
    marker = tmp_path / "pwned"
    payload = {b"data": np.zeros((1, 3072), np.uint8), b"labels": [0],
               b"batch_label": _RunsCommand(f"touch {marker}")}
    assert not marker.exists()
    for protocol in (0, 2, 4):
        path = write(str(tmp_path / "cifar-10-batches-py" / "data_batch_1"),
                     pickle.dumps(payload, protocol=protocol))
        with pytest.raises(UnsafePickleError, match=r"refused .*(system).*not executed") as info:
            CIFAR10(tmp_path)
        assert path in str(info.value)
        assert not marker.exists()
    # the same payload would run through the ordinary unpickler: the test's premise holds
    pickle.loads(pickle.dumps(_RunsCommand(f"touch {marker}")))
    assert marker.exists()


@pytest.mark.parametrize("data", [
    pickle.dumps(_Evaluates(), protocol=2),
    b"cbuiltins\ngetattr\n(cbuiltins\nobject\nS'__subclasses__'\ntR.",
], ids=["eval", "getattr"])
def test_other_globals_are_refused(data):
    with pytest.raises(UnsafePickleError, match="refused to load the global '(__)?builtin"):
        restricted_loads(data, "payload")


@pytest.mark.parametrize("module, name", [("numpy", "load"), ("subprocess", "Popen"),
                                          ("posix", "system"), ("numpy.lib.npyio", "load"),
                                          ("copyreg", "_reconstructor"), ("io", "open")])
def test_find_class_allows_only_the_array_reconstructors(module, name):
    unpickler = RestrictedUnpickler(__import__("io").BytesIO(b""), name="x")
    with pytest.raises(UnsafePickleError, match=f"'{module}.{name}'"):
        unpickler.find_class(module, name)
    assert unpickler.find_class("numpy", "ndarray") is np.ndarray
    assert unpickler.find_class("numpy.core.multiarray", "_reconstruct") is not None
