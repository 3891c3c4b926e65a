"""lemmata.io: safetensors round trips, atomic writes (full disk, a writer killed mid-write),
clear errors for truncated, empty, foreign and mismatched files, and checkpoints that restore a
model, its optimiser, its schedule and the generator exactly."""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lemmata
from lemmata import io, nn, optim


def _model(hidden=4):
    return nn.Sequential(nn.Linear(3, hidden), nn.ReLU(), nn.Linear(hidden, 2))


def _trained(optimizer_cls=optim.SGD, steps=3, **kwargs):
    lemmata.manual_seed(0)
    model = _model()
    opt = optimizer_cls(model.parameters(), **kwargs)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    for _ in range(steps):
        opt.zero_grad()
        model(lemmata.randn(5, 3)).pow(2).sum().backward()
        opt.step()
        sched.step()
    return model, opt, sched


def _files(folder):
    return sorted(os.listdir(folder))


# ----------------------------------------------------------------------------------------------
# state dicts
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.complex128, np.complex64,
                                   np.float16, np.uint8, np.int8, np.bool_])
def test_round_trip_dtypes(tmp_path, dtype):
    rng = np.random.default_rng(0)
    values = rng.standard_normal((3, 4)) * 10
    if np.dtype(dtype).kind == "c":
        values = values + 1j * rng.standard_normal((3, 4))
    array = values.astype(dtype)
    io.save({"w": lemmata.tensor(array), "scalar": lemmata.tensor(array[0, 0]),
             "empty": lemmata.tensor(array[:0])}, tmp_path / "s.safetensors")
    out = io.load(tmp_path / "s.safetensors")
    assert list(out) == ["w", "scalar", "empty"]
    for key, expected in (("w", array), ("scalar", array[0, 0]), ("empty", array[:0])):
        assert out[key].dtype == np.dtype(dtype) and out[key].shape == np.shape(expected)
        np.testing.assert_array_equal(out[key].numpy(), expected)


def test_complex128_is_stored_as_float64_pairs(tmp_path):
    z = np.array([1 + 2j, -3.5 - 0.25j])
    io.save({"z": lemmata.tensor(z)}, tmp_path / "z.safetensors")
    from safetensors.numpy import load_file
    raw = load_file(str(tmp_path / "z.safetensors"))["z"]
    assert raw.dtype == np.float64 and raw.shape == (2, 2)
    np.testing.assert_array_equal(raw, [[1, 2], [-3.5, -0.25]])
    np.testing.assert_array_equal(io.load(tmp_path / "z.safetensors")["z"].numpy(), z)


def test_state_dict_of_a_module_round_trips(tmp_path):
    model = _model()
    io.save(model.state_dict(), tmp_path / "m.safetensors")
    other = _model()
    other.load_state_dict(io.load(tmp_path / "m.safetensors"))
    x = lemmata.randn(4, 3)
    np.testing.assert_array_equal(model(x).detach().numpy(), other(x).detach().numpy())


def test_reads_a_file_written_by_torch(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    save_file(theirs.state_dict(), str(tmp_path / "t.safetensors"))
    ours = _model()
    ours.load_state_dict(io.load(tmp_path / "t.safetensors"))
    x = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(ours(lemmata.tensor(x)).detach().numpy(),
                               theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-6)


def test_save_errors(tmp_path):
    with pytest.raises(TypeError, match=r"save: a Sequential is saved by its state: "
                                        r"save\(model.state_dict\(\), path\)"):
        io.save(_model(), tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match=r"save: cannot store 'object.a.1', a function"):
        io.save({"a": [1, lambda: 0]}, tmp_path / "x.safetensors")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        io.save({"a": lemmata.zeros(1)}, tmp_path / "missing" / "x.safetensors")
    with pytest.raises(RuntimeError, match="load: device: expected one of cpu, cuda.*'mps'"):
        io.load(tmp_path / "x.safetensors", map_location="mps")
    assert _files(tmp_path) == []


def test_plain_data_objects_round_trip_as_torch_save_would_give_them(tmp_path):
    """What torch.save is given in practice: a tensor, an optimiser's state dict (integer keys),
    a dict of state dicts and numbers; tensors that required grad require it again."""
    model, opt, sched = _trained(optim.Adam, lr=0.1)
    weight = lemmata.randn(2, 3, requires_grad=True)
    bundle = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 4,
              "loss": float("nan"), "shape": (2, 3), "note": None, "weight": weight,
              "array": np.arange(3), 7: "seven"}
    io.save(bundle, tmp_path / "bundle.pt")
    back = io.load(tmp_path / "bundle.pt", weights_only=True)
    assert set(back) == set(bundle) and back["epoch"] == 4 and np.isnan(back["loss"])
    assert back["shape"] == (2, 3) and back["note"] is None and back[7] == "seven"
    assert back["weight"].requires_grad and np.array_equal(back["weight"].detach().numpy(),
                                                           weight.detach().numpy())
    assert isinstance(back["array"], np.ndarray) and back["array"].tolist() == [0, 1, 2]
    assert list(back["optimizer"]["state"]) == list(opt.state_dict()["state"])
    # the loaded states continue training exactly as the originals do
    twin, twin_opt, _ = _trained(optim.Adam, steps=1, lr=0.1)
    twin.load_state_dict(back["model"])
    twin_opt.load_state_dict(back["optimizer"])
    for m, o in ((model, opt), (twin, twin_opt)):
        with _one_more_step(m, o):
            pass
    for a, b in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    single = lemmata.tensor([[np.inf, -0.0]], dtype=lemmata.float64)
    io.save(single, tmp_path / "single.pt")
    again = io.load(tmp_path / "single.pt")
    assert again.dtype == lemmata.float64 and again.tolist() == [[np.inf, -0.0]]
    assert np.signbit(again.numpy()[0, 1]) and not again.requires_grad


def test_save_and_load_take_open_binary_files(tmp_path):
    import io as pyio
    buffer = pyio.BytesIO()
    state = _model().state_dict()
    io.save(state, buffer)
    buffer.seek(0)
    back = io.load(buffer)
    assert list(back) == list(state)
    with open(tmp_path / "objects.pt", "wb") as handle:
        io.save([lemmata.ones(2), {"k": 1}], handle)
    with open(tmp_path / "objects.pt", "rb") as handle:
        items = io.load(handle)
    assert items[0].tolist() == [1.0, 1.0] and items[1] == {"k": 1}
    with open(tmp_path / "objects.pt", "r", encoding="latin-1") as handle:
        with pytest.raises(TypeError, match=r"load: the file must be opened in binary mode"):
            io.load(handle)


# ----------------------------------------------------------------------------------------------
# atomic writes
# ----------------------------------------------------------------------------------------------
class _one_more_step:
    """Context manager: take one more optimiser step so that the new checkpoint differs."""

    def __init__(self, model, opt):
        self.model, self.opt = model, opt

    def __enter__(self):
        self.opt.zero_grad()
        self.model(lemmata.ones(2, 3)).sum().backward()
        self.opt.step()

    def __exit__(self, *exc):
        return False


def test_disk_full_leaves_previous_checkpoint_and_no_temporary(tmp_path, monkeypatch):
    model, opt, sched = _trained()
    path = tmp_path / "ckpt.safetensors"
    io.save_checkpoint(path, model=model, optimizer=opt, scheduler=sched, epoch=1, step=3)
    before = path.read_bytes()
    calls = []

    def full_disk(fd, view):
        calls.append(len(view))
        if len(calls) == 1:
            return os.write(fd, view[: len(view) // 2])  # half of it lands, then the disk is full
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(io, "_write_chunk", full_disk)
    with _one_more_step(model, opt):
        with pytest.raises(OSError) as info:
            io.save_checkpoint(path, model=model, optimizer=opt, scheduler=sched, epoch=2, step=6)
    assert info.value.errno == errno.ENOSPC and str(path) in str(info.value)
    assert "unchanged" in str(info.value)
    assert len(calls) == 2
    assert path.read_bytes() == before
    assert _files(tmp_path) == ["ckpt.safetensors"]
    assert io.load_checkpoint(path)["step"] == 3


def test_writer_killed_mid_write_leaves_previous_checkpoint(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    model, opt, sched = _trained()
    io.save_checkpoint(path, model=model, optimizer=opt, epoch=1, step=3)
    before = path.read_bytes()
    script = textwrap.dedent(f"""
        import os, signal
        import lemmata
        from lemmata import io, nn
        def dies(fd, view):
            os.write(fd, view[:100])
            os.kill(os.getpid(), signal.SIGKILL)
        io._write_chunk = dies
        model = nn.Linear(50, 50)
        io.save_checkpoint({str(path)!r}, model=model, epoch=9, step=99)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert result.returncode == -9
    assert path.read_bytes() == before
    leftovers = [f for f in _files(tmp_path) if f != "ckpt.safetensors"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".ckpt.safetensors.")
    restored = _model()
    assert io.load_checkpoint(path, model=restored)["step"] == 3
    # the next save clears the dead writer's temporary file
    io.save_checkpoint(path, model=model, optimizer=opt, epoch=2, step=4)
    assert _files(tmp_path) == ["ckpt.safetensors"]
    assert io.load_checkpoint(path)["step"] == 4


def test_failed_write_of_a_state_dict_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "w.safetensors"
    io.save({"a": lemmata.ones(3)}, path)

    def broken(fd, view):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(io, "_write_chunk", broken)
    with pytest.raises(OSError, match="write failed"):
        io.save({"a": lemmata.zeros(3)}, path)
    assert io.load(path)["a"].tolist() == [1.0, 1.0, 1.0]
    assert _files(tmp_path) == ["w.safetensors"]


# ----------------------------------------------------------------------------------------------
# reading bad files
# ----------------------------------------------------------------------------------------------
def test_truncated_empty_and_foreign_files_give_clear_errors(tmp_path):
    model, opt, sched = _trained()
    good = tmp_path / "good.safetensors"
    io.save_checkpoint(good, model=model, optimizer=opt, scheduler=sched, epoch=1, step=3)
    raw = good.read_bytes()
    header = 8 + int.from_bytes(raw[:8], "little")
    cases = {
        "cut_data.safetensors": (raw[:-7], r"truncated: expected \d+ bytes, found \d+"),
        "cut_header.safetensors": (raw[: header // 2], "truncated or not a safetensors file"),
        "empty.safetensors": (b"", r"empty file \(0 bytes\)"),
        "short.safetensors": (b"abc", "too short"),
        "text.safetensors": (b"x" * 64, "truncated or not a safetensors file"),
        "json.safetensors": ((20).to_bytes(8, "little") + b'["not", "an object"]',
                             "not a JSON object"),
        "extra.safetensors": (raw + b"junk", r"corrupt: .* file holds"),
    }
    for name, (data, pattern) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        for reader in (io.load, io.load_checkpoint):
            with pytest.raises(io.CheckpointError, match=pattern) as info:
                reader(path)
            assert str(path) in str(info.value)
        assert path.read_bytes() == data  # loading never touches the file
    with pytest.raises(FileNotFoundError, match="no such file"):
        io.load_checkpoint(tmp_path / "absent.safetensors")


def test_plain_state_dict_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "weights.safetensors"
    io.save(_model().state_dict(), path)
    with pytest.raises(io.CheckpointError, match="not a lemmata checkpoint"):
        io.load_checkpoint(path)


def test_checkpoint_of_another_model_is_refused_and_changes_nothing(tmp_path):
    model, opt, sched = _trained()
    path = tmp_path / "ckpt.safetensors"
    io.save_checkpoint(path, model=model, optimizer=opt, scheduler=sched, epoch=1, step=3)
    wider = nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Linear(6, 2), nn.Linear(2, 2))
    before = [p.numpy(force=True).copy() for p in wider.parameters()]
    wider_opt = optim.SGD(wider.parameters(), lr=0.1, momentum=0.9)
    with pytest.raises(io.CheckpointError) as info:
        io.load_checkpoint(path, model=wider, optimizer=wider_opt)
    message = str(info.value)
    assert str(path) in message and "does not fit Sequential" in message
    assert "missing keys ['3.weight', '3.bias']" in message
    assert "shape mismatch 0.weight: checkpoint (4, 3) vs model (6, 3)" in message
    for p, b in zip(wider.parameters(), before):
        np.testing.assert_array_equal(p.numpy(force=True), b)
    assert wider_opt.state_dict()["state"] == {}
    # same model, different optimiser layout: refused before anything is restored
    same = _model()
    before = [p.numpy(force=True).copy() for p in same.parameters()]
    two_groups = optim.SGD([{"params": list(same.parameters())[:2]},
                            {"params": list(same.parameters())[2:]}], lr=0.1)
    with pytest.raises(io.CheckpointError, match="optimizer state does not fit SGD"):
        io.load_checkpoint(path, model=same, optimizer=two_groups)
    for p, b in zip(same.parameters(), before):
        np.testing.assert_array_equal(p.numpy(force=True), b)


# ----------------------------------------------------------------------------------------------
# checkpoints restore everything
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("optimizer_cls, kwargs", [
    (optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    (optim.Adam, {"lr": 0.01, "amsgrad": True}),
    (optim.RMSprop, {"lr": 0.01, "momentum": 0.5, "centered": True}),
])
def test_checkpoint_continues_training_identically(tmp_path, optimizer_cls, kwargs):
    model, opt, sched = _trained(optimizer_cls, **kwargs)
    path = tmp_path / "ckpt.safetensors"
    io.save_checkpoint(path, model=model, optimizer=opt, scheduler=sched, epoch=3, step=3,
                       config={"lr": kwargs["lr"], "name": optimizer_cls.__name__},
                       order=np.arange(7), note=(1, float("inf"), np.float32(0.5)),
                       table={1: "one", "__x": 2})

    def continue_training(m, o, s):
        for _ in range(4):
            o.zero_grad()
            m(lemmata.randn(5, 3)).pow(2).sum().backward()
            o.step()
            s.step()
        return [p.numpy(force=True).copy() for p in m.parameters()]

    expected = continue_training(model, opt, sched)
    fresh = _model()
    fresh_opt = optimizer_cls(fresh.parameters(), **kwargs)
    fresh_sched = optim.lr_scheduler.CosineAnnealingLR(fresh_opt, T_max=10)
    lemmata.manual_seed(12345)  # disturb the generator: the checkpoint restores it
    ckpt = io.load_checkpoint(path, model=fresh, optimizer=fresh_opt, scheduler=fresh_sched)
    lemmata.set_rng_state(ckpt["rng_state"])
    assert (ckpt["epoch"], ckpt["step"]) == (3, 3)
    assert ckpt["config"] == {"lr": kwargs["lr"], "name": optimizer_cls.__name__}
    np.testing.assert_array_equal(ckpt["order"], np.arange(7))
    assert ckpt["note"] == (1, float("inf"), np.float32(0.5))
    assert type(ckpt["note"][2]) is np.float32
    assert ckpt["table"] == {1: "one", "__x": 2}
    got = continue_training(fresh, fresh_opt, fresh_sched)
    for a, b in zip(expected, got):
        np.testing.assert_array_equal(a, b)


def test_checkpoint_metadata_is_json_and_tensors_are_named(tmp_path):
    model, opt, sched = _trained(optim.Adam, lr=0.01)
    path = tmp_path / "c.safetensors"
    io.save_checkpoint(path, model=model, optimizer=opt, scheduler=sched, epoch=1, step=3)
    from safetensors import safe_open
    with safe_open(str(path), "np") as handle:
        keys = set(handle.keys())
        meta = handle.metadata()
    assert {"model.0.weight", "model.2.bias", "optimizer.state.0.exp_avg"} <= keys
    state = json.loads(meta["lemmata.checkpoint"])
    assert state["epoch"] == 1 and state["rng_state"]["bit_generator"] == "PCG64"
    assert state["optimizer"]["param_groups"][0]["lr"] == opt.param_groups[0]["lr"]
    assert meta["format"] == "lemmata.checkpoint"


def test_colliding_names_stay_apart(tmp_path):
    path = tmp_path / "c.safetensors"
    io.save_checkpoint(path, a={"b": np.ones(2)}, **{"a.b": np.zeros(3)})
    ckpt = io.load_checkpoint(path)
    assert ckpt["a"]["b"].tolist() == [1.0, 1.0] and ckpt["a.b"].tolist() == [0.0, 0.0, 0.0]


def test_unstorable_values_are_named(tmp_path):
    with pytest.raises(TypeError, match=r"cannot store 'extra.hook', a function"):
        io.save_checkpoint(tmp_path / "c.safetensors", hook=lambda: None)
    assert _files(tmp_path) == []
