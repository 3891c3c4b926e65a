"""The three models of seed ryu22.q2: conv→maxpool→ReLU, conv→ReLU→maxpool and
conv→ReLU→maxpool→ReLU (3×3 convolution, 2×2 max pooling with stride 2).

They are the same function: ReLU is monotone non-decreasing, so it commutes with the max over a
window (max ReLU(zᵢ) = ReLU(max zᵢ)), and ReLU is idempotent (ReLU∘ReLU = ReLU).
"""
from __future__ import annotations

import lemmata as torch

from .. import nn

__all__ = ["model1", "model2", "model3"]


class model1(nn.Module):
    """conv → max pool → ReLU."""

    def __init__(self, in_chan, out_chan):
        super(model1, self).__init__()
        self.conv = nn.Conv2d(in_channels=in_chan,
                               out_channels=out_chan, kernel_size=3)
        self.mp = nn.MaxPool2d(2, stride=2)

    def forward(self, x):
        return torch.relu(self.mp(self.conv(x)))


class model2(nn.Module):
    """conv → ReLU → max pool."""

    def __init__(self, in_chan, out_chan):
        super(model2, self).__init__()
        self.conv = nn.Conv2d(in_channels=in_chan,
                               out_channels=out_chan, kernel_size=3)
        self.mp = nn.MaxPool2d(2, stride=2)

    def forward(self, x):
        return self.mp(torch.relu(self.conv(x)))


class model3(nn.Module):
    """conv → ReLU → max pool → ReLU."""

    def __init__(self, in_chan, out_chan):
        super(model3, self).__init__()
        self.conv = nn.Conv2d(in_channels=in_chan,
                               out_channels=out_chan, kernel_size=3)
        self.mp = nn.MaxPool2d(2, stride=2)

    def forward(self, x):
        return torch.relu(self.mp(torch.relu(self.conv(x))))
