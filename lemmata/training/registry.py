"""Build the pieces of a run from a :class:`TrainConfig`: data sets, model, optimiser, schedule.

Models are built for the data: ``mlp`` and ``cnn`` adapt to the image size, channel count and
number of classes; ``lenet5`` (28×28), ``nin`` (3×32×32, 10 classes) and ``resnet18`` are the
architectures of :mod:`lemmata.models`.  :func:`check_fit` runs one forward pass on a batch of
zeros before training, so a model that does not fit the data (a 3-channel NiN on 1-channel
digits) is reported at once, with the shapes involved.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import models, nn, optim
from ..autograd import no_grad
from ..data import CIFAR10, MNIST, Digits, FashionMNIST, transforms
from ..tensor import Tensor
from .config import ConfigError, TrainConfig

__all__ = ["DataInfo", "build_datasets", "build_model", "build_optimizer", "build_scheduler",
           "check_fit", "PER_BATCH_SCHEDULERS"]

PER_BATCH_SCHEDULERS = ("onecycle",)


@dataclass(frozen=True)
class DataInfo:
    """The shape of one input image (C, H, W) and the number of classes."""

    channels: int
    height: int
    width: int
    num_classes: int

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.channels, self.height, self.width)


_MEAN_STD = {
    "mnist": ((0.1307,), (0.3081,)),
    "fashion-mnist": ((0.2860,), (0.3530,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
}


def build_datasets(name: str, root: str | os.PathLike = "data") -> tuple[Any, Any, DataInfo]:
    """(train set, test set, info).  Digits needs no files; the others read ``root``.

    MNIST and Fashion-MNIST are scaled to [0, 1] and standardised with their usual mean and
    standard deviation; CIFAR-10 likewise, with random 4-pixel-padded crops and horizontal flips
    for training.
    """
    if name == "digits":
        return Digits(train=True), Digits(train=False), DataInfo(1, 8, 8, 10)
    mean, std = _MEAN_STD[name]
    plain = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])
    if name in ("mnist", "fashion-mnist"):
        cls = MNIST if name == "mnist" else FashionMNIST
        return (cls(root, train=True, transform=plain), cls(root, train=False, transform=plain),
                DataInfo(1, 28, 28, 10))
    if name == "cifar10":
        augment = transforms.Compose([transforms.RandomCrop(32, padding=4),
                                      transforms.RandomHorizontalFlip(), transforms.ToTensor(),
                                      transforms.Normalize(mean, std)])
        return (CIFAR10(root, train=True, transform=augment),
                CIFAR10(root, train=False, transform=plain), DataInfo(3, 32, 32, 10))
    raise ConfigError(f"unknown dataset {name!r}")


class SmallCNN(nn.Module):
    """A LeNet-like CNN sized to the data: two 3×3 convolutions (32, 64 channels, padding 1),
    each followed by ReLU and 2×2 max pooling, then Linear(64·⌊H/4⌋·⌊W/4⌋, 128), ReLU,
    Linear(128, classes).  On 8×8 digits: 1→32→64 channels, 8→4→2 pixels, 256 → 128 → 10."""

    def __init__(self, in_channels: int, height: int, width: int, num_classes: int) -> None:
        super().__init__()
        if height < 4 or width < 4:
            raise ConfigError(f"cnn: images must be at least 4×4, got {height}×{width}")
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(64 * (height // 4) * (width // 4), 128), nn.ReLU(),
            nn.Linear(128, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


def build_model(name: str, info: DataInfo) -> nn.Module:
    """The named model for images of ``info.shape`` and ``info.num_classes`` classes."""
    c, h, w, k = info.channels, info.height, info.width, info.num_classes
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), models.MLP([c * h * w, 256, 128, k]))
    if name == "cnn":
        return SmallCNN(c, h, w, k)
    if name == "lenet5":
        return models.LeNet5(num_classes=k, in_channels=c)
    if name == "nin":
        return models.NiN()
    if name == "resnet18":
        return models.resnet18(num_classes=k, in_channels=c)
    raise ConfigError(f"unknown model {name!r}")


def check_fit(model: nn.Module, info: DataInfo, model_name: str, dataset_name: str) -> None:
    """One forward pass on two zero images, in eval mode without gradients (so no random number
    is drawn and no statistic changes); raise ConfigError if it fails or gives the wrong shape."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            out = model(Tensor(np.zeros((2, *info.shape), dtype=np.float32)))
    except (ValueError, RuntimeError, TypeError, IndexError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ConfigError(f"model '{model_name}' does not fit dataset '{dataset_name}' (images "
                          f"{info.channels}×{info.height}×{info.width}, {info.num_classes} "
                          f"classes): {first}") from None
    finally:
        model.train(was_training)
    if not isinstance(out, Tensor) or tuple(out.shape) != (2, info.num_classes):
        shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
        raise ConfigError(f"model '{model_name}' does not fit dataset '{dataset_name}': it gives "
                          f"outputs of shape {shape} for a batch of 2, expected "
                          f"(2, {info.num_classes}) ({info.num_classes} classes)")


def build_optimizer(config: TrainConfig, params: Any) -> optim.Optimizer:
    """The configured optimiser (``config`` resolved: lr and momentum filled in)."""
    name, lr, wd = config.optimizer, config.lr, config.weight_decay
    momentum = config.momentum or 0.0
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=momentum, weight_decay=wd)
    if name == "adam":
        return optim.Adam(params, lr=lr, weight_decay=wd)
    if name == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=wd)
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=wd)
    if name == "adagrad":
        return optim.Adagrad(params, lr=lr, weight_decay=wd)
    if name == "signsgd":
        return optim.SignSGD(params, lr=lr, momentum=momentum, weight_decay=wd)
    raise ConfigError(f"unknown optimizer {name!r}")


def build_scheduler(config: TrainConfig, optimizer: optim.Optimizer,
                    steps_per_epoch: int) -> Any:
    """None, StepLR (×0.1 every ⌈epochs/3⌉ epochs), CosineAnnealingLR over the epochs (both
    stepped per epoch), or OneCycleLR peaking at lr over all batches (stepped per batch; it
    cycles momentum only for optimisers that use momentum or betas)."""
    name = config.scheduler
    if name == "none":
        return None
    if name == "step":
        return optim.lr_scheduler.StepLR(optimizer, step_size=max(1, -(-config.epochs // 3)),
                                         gamma=0.1)
    if name == "cosine":
        return optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    if name == "onecycle":
        cycle = "betas" in optimizer.defaults or (config.momentum or 0.0) > 0
        return optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr,
                                             total_steps=config.epochs * steps_per_epoch,
                                             cycle_momentum=cycle)
    raise ConfigError(f"unknown scheduler {name!r}")
