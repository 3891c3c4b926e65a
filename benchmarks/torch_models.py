"""The benchmark networks in PyTorch, module for module as in ``lemmata.models`` (same state-dict
keys), so that both frameworks train the same network from the same weights."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn


class NiN(nn.Module):
    """Seed ryu22.q7's NiN (the listing ``lemmata.models.NiN`` runs verbatim)."""

    def __init__(self):
        super().__init__()
        self.mlpconv_layer1 = nn.Sequential(
            nn.Conv2d(3, 192, kernel_size=5, padding=2, bias=False), nn.ReLU(),
            nn.Conv2d(192, 160, kernel_size=1, bias=False), nn.ReLU(),
            nn.Conv2d(160, 96, kernel_size=1, bias=False), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True), nn.Dropout())
        self.mlpconv_layer2 = nn.Sequential(
            nn.Conv2d(96, 192, kernel_size=5, padding=2, bias=False), nn.ReLU(),
            nn.Conv2d(192, 192, kernel_size=1, bias=False), nn.ReLU(),
            nn.Conv2d(192, 192, kernel_size=1, bias=False), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True), nn.Dropout())
        self.mlpconv_layer3 = nn.Sequential(
            nn.Conv2d(192, 192, kernel_size=3, padding=1, bias=False), nn.ReLU(),
            nn.Conv2d(192, 192, kernel_size=1, bias=False), nn.ReLU(),
            nn.Conv2d(192, 10, kernel_size=1, bias=False), nn.ReLU())

    def forward(self, x):
        out = self.mlpconv_layer3(self.mlpconv_layer2(self.mlpconv_layer1(x)))
        return nn.AvgPool2d(kernel_size=8)(out).view(-1, 10)


def _vgg_block(channels, convs):
    layers = []
    for c_in, c_out in zip(channels[:-1], channels[1:]):
        layers += [nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False), nn.ReLU()]
    assert len(layers) == 2 * convs
    return nn.Sequential(*layers, nn.MaxPool2d(kernel_size=2, stride=2))


class Net(nn.Module):
    """Seed ryu24.q6's bias-free VGG-style network (``lemmata.models.Net``)."""

    def __init__(self):
        super().__init__()
        self.conv_layer1 = _vgg_block((3, 64, 64), 2)
        self.conv_layer2 = _vgg_block((64, 128, 128), 2)
        self.conv_layer3 = _vgg_block((128, 256, 256, 256), 3)
        self.conv_layer4 = _vgg_block((256, 512, 512, 512), 3)
        self.fc_layer1 = nn.Sequential(nn.Linear(512 * 2 * 2, 4096, bias=False), nn.ReLU(),
                                       nn.Dropout())
        self.fc_layer2 = nn.Sequential(nn.Linear(4096, 4096, bias=False), nn.ReLU(), nn.Dropout())
        self.fc_layer3 = nn.Linear(4096, 10, bias=False)

    def forward(self, x):
        x = self.conv_layer4(self.conv_layer3(self.conv_layer2(self.conv_layer1(x))))
        # the listing's x.view(-1, 512*2*2) fails on a channels_last tensor; reshape is the same
        # for NCHW and copies for channels_last
        return self.fc_layer3(self.fc_layer2(self.fc_layer1(x.reshape(-1, 512 * 2 * 2))))


class LeNet5(nn.Module):
    """LeNet-5 with ReLU and max pooling (``lemmata.models.LeNet5``)."""

    def __init__(self, num_classes=10, in_channels=1):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5, padding=2), nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(), nn.MaxPool2d(kernel_size=2, stride=2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


MODELS = {"nin": NiN, "net": Net, "lenet5": LeNet5}


def copy_weights(source, target: nn.Module) -> nn.Module:
    """Load a lemmata module's state dict into the same-shaped PyTorch module."""
    state = {name: torch.from_numpy(np.array(value.numpy(), copy=True))
             for name, value in source.state_dict().items()}
    target.load_state_dict(state)
    return target
