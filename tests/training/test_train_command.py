"""``lemmata train`` as a user runs it: one-line errors with exit status 2, the default run's
accuracy on digits, and a real process killed with SIGKILL mid-epoch and resumed, ending with
the weights of an uninterrupted run bit for bit."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from lemmata import io
from lemmata.cli import main

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _lemmata(*args, cwd, timeout=300):
    return subprocess.run([sys.executable, "-m", "lemmata", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=_env())


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _same_weights(a, b):
    wa, wb = io.load(a), io.load(b)
    assert list(wa) == list(wb)
    for key in wa:
        np.testing.assert_array_equal(wa[key].numpy(), wb[key].numpy(), err_msg=key)


def _epochs(folder):
    with open(os.path.join(folder, "metrics.json")) as handle:
        return [{k: v for k, v in e.items() if k not in ("seconds", "samples_per_second")}
                for e in json.load(handle)["epochs"]]


# ----------------------------------------------------------------------------------------------
# errors: exit 2, one line, the valid names
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, pattern", [
    (["--model", "transformer"], "unknown model 'transformer' (valid: mlp, cnn, lenet5, nin, "
                                 "resnet18)"),
    (["--dataset", "imagenet"], "unknown dataset 'imagenet' (valid: digits, mnist, "
                                "fashion-mnist, cifar10)"),
    (["--optimizer", "lbfgs"], "unknown optimizer 'lbfgs' (valid: sgd, adam, adamw, rmsprop, "
                               "adagrad, signsgd)"),
    (["--scheduler", "warm"], "unknown scheduler 'warm' (valid: none, step, cosine, onecycle)"),
    (["--model", "nin"], "model 'nin' does not fit dataset 'digits' (images 1×8×8, 10 classes)"),
    (["--dataset", "mnist", "--data-root", "nowhere"], "MNIST: cannot find "
                                                       "train-images-idx3-ubyte[.gz] in"),
    (["--epochs", "0"], "epochs must be an integer ≥ 1, got 0"),
    (["--lr", "-1"], "learning rate must be in"),
    (["--optimizer", "adam", "--momentum", "0.9"], "momentum does not apply to adam"),
    (["--resume"], "--resume needs --out DIR"),
    (["--checkpoint-every", "-3"], "--checkpoint-every must be ≥ 0"),
    (["--epochs", "three"], "argument --epochs: invalid int value: 'three'"),
])
def test_errors_exit_2_with_one_line(tmp_path, monkeypatch, capsys, argv, pattern):
    monkeypatch.chdir(tmp_path)
    try:
        status = main(["train", *argv])
    except SystemExit as exit_:
        status = exit_.code
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("lemmata: error: ") and pattern in err, err
    assert "Traceback" not in err
    assert not os.path.exists(tmp_path / "runs") or not os.listdir(tmp_path / "runs")


def test_resume_errors_and_no_overwrite(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--out", "empty", "--resume"]) == 2
    assert "no checkpoint in empty" in capsys.readouterr().err
    assert main(["train", "--out", "run", "--epochs", "1", "--batch-size", "500"]) == 0
    out = capsys.readouterr().out
    assert "epoch 1/1" in out and "test accuracy" in out
    before = (tmp_path / "run" / "last.safetensors").read_bytes()
    assert main(["train", "--out", "run", "--epochs", "1"]) == 2
    assert "run already holds a run (last.safetensors); continue it with --resume" in \
        capsys.readouterr().err
    assert main(["train", "--out", "run", "--resume", "--lr", "0.5"]) == 2
    assert "lr 0.5 differs from the checkpoint's 0.05" in capsys.readouterr().err
    assert main(["train", "--out", "run", "--resume"]) == 0
    assert "already complete" in capsys.readouterr().out
    assert (tmp_path / "run" / "last.safetensors").read_bytes() == before
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "last.safetensors").write_bytes(before[:-50])
    assert main(["train", "--out", "broken", "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "broken/last.safetensors: truncated" in err


def test_default_out_directory_is_numbered(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        assert main(["train", "--epochs", "1", "--batch-size", "500"]) == 0
    assert sorted(os.listdir(tmp_path / "runs")) == ["digits-mlp", "digits-mlp-2"]
    assert "run directory: runs/digits-mlp-2" in capsys.readouterr().out


def test_a_real_process_reports_errors_on_one_line(tmp_path):
    result = _lemmata("train", "--model", "foo", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == ("lemmata: error: unknown model 'foo' (valid: mlp, cnn, lenet5, nin, "
                             "resnet18)\n")


# ----------------------------------------------------------------------------------------------
# accuracy of the defaults
# ----------------------------------------------------------------------------------------------
def test_defaults_reach_95_percent_on_digits(tmp_path):
    result = _lemmata("train", "--out", "run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    epochs = _epochs(tmp_path / "run")
    assert len(epochs) == 10 and epochs[-1]["test_accuracy"] >= 0.95
    assert "epoch 10/10" in result.stdout and result.stderr == ""


# ----------------------------------------------------------------------------------------------
# SIGKILL mid-epoch, then --resume: the uninterrupted run's weights, bit for bit
# ----------------------------------------------------------------------------------------------
RUN = ["train", "--model", "cnn", "--epochs", "2", "--batch-size", "32", "--checkpoint-every", "4"]


def _kill_after_checkpoint(cwd, out, resume, delay):
    """Start the run, wait for a (new) checkpoint, wait ``delay`` s more, SIGKILL it.  Returns
    the process's exit status (−9 if it was killed, 0 if it finished first)."""
    last = os.path.join(cwd, out, "last.safetensors")
    seen = os.stat(last).st_mtime_ns if os.path.exists(last) else None
    args = [*RUN, "--out", out] + (["--resume"] if resume else [])
    process = subprocess.Popen([sys.executable, "-m", "lemmata", *args], cwd=cwd, env=_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if os.path.exists(last) and os.stat(last).st_mtime_ns != seen:
                time.sleep(delay)
                process.send_signal(signal.SIGKILL)
                break
            time.sleep(0.002)
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode


def test_sigkill_mid_epoch_then_resume_equals_uninterrupted(tmp_path):
    reference = _lemmata(*RUN, "--out", "ref", cwd=tmp_path)
    assert reference.returncode == 0, reference.stderr
    status = _kill_after_checkpoint(str(tmp_path), "cut", resume=False, delay=0.0)
    assert status == -signal.SIGKILL
    assert not (tmp_path / "cut" / "model.safetensors").exists()
    state = io.load_checkpoint(tmp_path / "cut" / "last.safetensors")
    assert state["epoch"] == 0 and 0 < state["loader"]["position"] < 46  # mid-epoch
    resumed = _lemmata(*RUN, "--out", "cut", "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming cnn on digits" in resumed.stdout
    _same_weights(tmp_path / "ref" / "model.safetensors", tmp_path / "cut" / "model.safetensors")
    assert _epochs(tmp_path / "cut") == _epochs(tmp_path / "ref")
    leftovers = [f for f in os.listdir(tmp_path / "cut") if f.endswith(".tmp")]
    assert leftovers == []


@pytest.mark.soak
def test_soak_repeated_kills_at_random_moments(tmp_path):
    """Kill runs again and again at random moments, including in the middle of writing a
    checkpoint, resuming each time; every run still ends with the uninterrupted run's weights
    and metrics.  Repeats with fresh runs for LEMMATA_SOAK_SECONDS (default 600 s)."""
    reference = _lemmata(*RUN, "--out", "ref", cwd=tmp_path)
    assert reference.returncode == 0, reference.stderr
    rng = random.Random(0)
    budget = time.monotonic() + float(os.environ.get("LEMMATA_SOAK_SECONDS", "600"))
    total_kills, rounds = 0, 0
    while rounds == 0 or time.monotonic() < budget:
        out, kills, resume = f"cut{rounds}", 0, False
        for _ in range(60):
            status = _kill_after_checkpoint(str(tmp_path), out, resume, rng.uniform(0, 0.3))
            resume = True
            if status == 0:
                break
            assert status == -signal.SIGKILL
            kills += 1
        else:
            assert _lemmata(*RUN, "--out", out, "--resume", cwd=tmp_path).returncode == 0
        assert kills >= 1
        _same_weights(tmp_path / "ref" / "model.safetensors",
                      tmp_path / out / "model.safetensors")
        assert _epochs(tmp_path / out) == _epochs(tmp_path / "ref")
        total_kills, rounds = total_kills + kills, rounds + 1
    assert total_kills >= 3
