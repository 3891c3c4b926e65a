"""The training loop in process: configuration checks, model/data fit, learning, and resumption
from any checkpoint ending with bit-for-bit the weights of an uninterrupted run."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from lemmata import io
from lemmata.training import ConfigError, TrainConfig, Trainer, TrainingDiverged
from lemmata.training.registry import DataInfo, build_model, check_fit

TIME_KEYS = ("seconds", "samples_per_second")


def _weights(trainer):
    return [p.numpy(force=True).copy() for p in trainer.model.parameters()]


def _history(result):
    return [{k: v for k, v in h.items() if k not in TIME_KEYS} for h in result.history]


def test_config_defaults_and_validation():
    config = TrainConfig().resolved()
    assert (config.model, config.dataset, config.optimizer, config.scheduler) == \
        ("mlp", "digits", "sgd", "cosine")
    assert (config.lr, config.momentum) == (0.05, 0.9)
    assert TrainConfig(optimizer="ADAM").resolved().lr == 1e-3
    assert TrainConfig(optimizer="adam").resolved().momentum is None
    assert TrainConfig.from_dict(config.to_dict()) == config
    for kwargs, pattern in [
        ({"model": "transformer"}, r"unknown model 'transformer' \(valid: mlp, cnn, lenet5, nin, "
                                   r"resnet18\)"),
        ({"dataset": "imagenet"}, r"valid: digits, mnist, fashion-mnist, cifar10"),
        ({"optimizer": "lbfgs"}, r"valid: sgd, adam, adamw, rmsprop, adagrad, signsgd"),
        ({"scheduler": "warmup"}, r"valid: none, step, cosine, onecycle"),
        ({"epochs": 0}, r"epochs must be an integer ≥ 1"),
        ({"lr": -1.0}, r"learning rate must be in \(0.0, ∞\)"),
        ({"lr": float("nan")}, "finite"),
        ({"momentum": 1.0}, r"momentum must be in \[0.0, 1.0\)"),
        ({"optimizer": "adam", "momentum": 0.9}, "momentum does not apply to adam"),
        ({"weight_decay": -0.1}, "weight decay"),
        ({"batch_size": 2.5}, "batch size"),
    ]:
        with pytest.raises(ConfigError, match=pattern):
            TrainConfig(**kwargs)
    with pytest.raises(ConfigError, match="unknown configuration keys"):
        TrainConfig.from_dict({"model": "mlp", "colour": "red"})


def test_model_data_mismatch_is_reported_before_training(tmp_path):
    digits = DataInfo(1, 8, 8, 10)
    for name, pattern in [("nin", r"model 'nin' does not fit dataset 'digits' \(images 1×8×8, "
                                  r"10 classes\): .*3 channels"),
                          ("lenet5", "model 'lenet5' does not fit dataset 'digits'")]:
        with pytest.raises(ConfigError, match=pattern):
            check_fit(build_model(name, digits), digits, name, "digits")
    with pytest.raises(ConfigError, match=r"outputs of shape \(2, 10\).*expected \(2, 7\)"):
        check_fit(build_model("mlp", digits), DataInfo(1, 8, 8, 7), "mlp", "custom")
    with pytest.raises(ConfigError, match="does not fit"):
        Trainer(TrainConfig(model="nin"), out=tmp_path / "run")
    assert not (tmp_path / "run").exists()
    for name in ("mlp", "cnn", "resnet18"):
        check_fit(build_model(name, digits), digits, name, "digits")
    check_fit(build_model("lenet5", DataInfo(1, 28, 28, 10)), DataInfo(1, 28, 28, 10),
              "lenet5", "mnist")


def test_one_epoch_learns_well_above_chance(tmp_path):
    result = Trainer(TrainConfig(epochs=1, scheduler="none"), out=tmp_path).fit()
    assert result.completed and result.epoch == 1 and result.step == 23
    assert result.test_accuracy > 0.5  # chance is 0.1
    files = sorted(os.listdir(tmp_path))
    assert files == ["epoch-001.safetensors", "last.safetensors", "metrics.json",
                     "model.safetensors"]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["config"]["lr"] == 0.05 and metrics["epochs"][0]["step"] == 23
    weights = io.load(tmp_path / "model.safetensors")
    assert list(weights) == ["1.0.weight", "1.0.bias", "1.2.weight", "1.2.bias", "1.4.weight",
                             "1.4.bias"]


CASES = [
    (TrainConfig(epochs=3), [5, 23, 40]),                                   # cut mid-epoch, at
    (TrainConfig(epochs=2, model="cnn", optimizer="adam", scheduler="onecycle",  # an epoch's end
                 batch_size=100), [7, 15]),
    (TrainConfig(epochs=3, optimizer="rmsprop", scheduler="step", weight_decay=1e-4,
                 batch_size=200), [1, 9]),
    (TrainConfig(epochs=2, optimizer="signsgd", lr=1e-3, scheduler="none", batch_size=500),
     [2]),
]


@pytest.mark.parametrize("config, stops", CASES, ids=["sgd-cosine", "adam-onecycle-cnn",
                                                      "rmsprop-step", "signsgd"])
def test_resumed_run_equals_uninterrupted_run(tmp_path, config, stops):
    reference = Trainer(config, out=tmp_path / "ref")
    expected = reference.fit()
    previous = 0
    for i, stop in enumerate(stops):
        trainer = (Trainer(config, out=tmp_path / "cut", checkpoint_every=3) if i == 0 else
                   Trainer.resume(tmp_path / "cut", checkpoint_every=3))
        assert trainer.step == previous
        partial = trainer.fit(max_steps=stop)
        assert not partial.completed and partial.step == stop
        previous = stop
    trainer = Trainer.resume(tmp_path / "cut")
    result = trainer.fit()
    assert result.completed
    for a, b in zip(_weights(reference), _weights(trainer)):
        np.testing.assert_array_equal(a, b)
    assert _history(result) == _history(expected)
    assert trainer.optimizer.param_groups[0]["lr"] == reference.optimizer.param_groups[0]["lr"]
    final_a = io.load(tmp_path / "ref" / "model.safetensors")
    final_b = io.load(tmp_path / "cut" / "model.safetensors")
    assert all(np.array_equal(final_a[k].numpy(), final_b[k].numpy()) for k in final_a)


def test_resume_refuses_conflicts_and_missing_checkpoints(tmp_path):
    with pytest.raises(ConfigError, match="no checkpoint in"):
        Trainer.resume(tmp_path / "nothing")
    Trainer(TrainConfig(epochs=1, batch_size=500), out=tmp_path / "run").fit()
    with pytest.raises(ConfigError, match=r"--resume: lr 0.1 differs from the checkpoint's 0.05"):
        Trainer.resume(tmp_path / "run", overrides={"lr": 0.1})
    done = Trainer.resume(tmp_path / "run", overrides={"batch_size": 500, "model": "mlp"})
    assert done.epoch == 1 and done.fit().completed
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "last.safetensors").write_bytes(b"\x00" * 5)
    with pytest.raises(io.CheckpointError, match="too short"):
        Trainer.resume(tmp_path / "bad")


def test_resume_falls_back_to_the_newest_epoch_file(tmp_path):
    Trainer(TrainConfig(epochs=2, batch_size=500), out=tmp_path).fit()
    os.remove(tmp_path / "last.safetensors")
    trainer = Trainer.resume(tmp_path)
    assert trainer.last_checkpoint.endswith("epoch-002.safetensors") and trainer.epoch == 2


def test_divergence_is_reported(tmp_path):
    with pytest.raises(TrainingDiverged, match=r"loss became (nan|inf).*try a smaller --lr"):
        Trainer(TrainConfig(epochs=1, lr=1e30, momentum=0.0, scheduler="none"),
                out=tmp_path).fit()


def test_missing_data_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="MNIST: cannot find"):
        Trainer(TrainConfig(dataset="mnist"), data_root=tmp_path)


def test_file_based_datasets_train_end_to_end(tmp_path):
    from data.data_files import write_cifar, write_mnist
    write_mnist(str(tmp_path / "data" / "MNIST" / "raw"), n_train=40, n_test=10, compress=True)
    write_mnist(str(tmp_path / "data" / "FashionMNIST" / "raw"), n_train=40, n_test=10)
    write_cifar(str(tmp_path / "data" / "cifar-10-batches-py"), n=8)
    for dataset, model, shape in [("mnist", "lenet5", (1, 28, 28)),
                                  ("fashion-mnist", "mlp", (1, 28, 28)),
                                  ("cifar10", "cnn", (3, 32, 32))]:
        out = tmp_path / dataset
        trainer = Trainer(TrainConfig(dataset=dataset, model=model, epochs=1, batch_size=16),
                          out=out, data_root=tmp_path / "data")
        assert trainer.info.shape == shape
        result = trainer.fit()
        assert result.completed and result.step == 3 and 0 <= result.test_accuracy <= 1
        assert io.load_checkpoint(out / "last.safetensors")["config"]["dataset"] == dataset


@pytest.mark.slow
@pytest.mark.parametrize("kwargs, floor", [
    ({"model": "cnn"}, 0.97),
    ({"optimizer": "adam"}, 0.9), ({"optimizer": "adamw"}, 0.9), ({"optimizer": "rmsprop"}, 0.9),
    ({"optimizer": "adagrad"}, 0.9), ({"optimizer": "signsgd"}, 0.9),
    ({"scheduler": "onecycle"}, 0.95), ({"scheduler": "step"}, 0.95),
    ({"scheduler": "none"}, 0.95),
])
def test_every_choice_learns_digits(kwargs, floor):
    assert Trainer(TrainConfig(**kwargs)).fit().test_accuracy >= floor
