"""The bias-free VGG-style ReLU CNN of seed ryu24.q6 (``Net``).

Built only from bias-free convolutions and linear maps, ReLU, max pooling and dropout, each of
which is positively homogeneous (φ(αx) = αφ(x) for α ≥ 0, dropout with a fixed mask), so the
whole network is: f_θ(αX) = α f_θ(X) for every α ≥ 0 (seed ryu24.q6).  Input B×3×32×32.
"""
from __future__ import annotations

from .. import nn

__all__ = ["Net", "VGGNet"]


class Net(nn.Module):
    """The listing of seed ryu24.q6, verbatim: 4 conv blocks (64, 128, 256, 512 channels,
    3×3 kernels, padding 1, 2×2 max pooling) and three bias-free linear layers."""

    def __init__(self):
        super(Net, self).__init__()
        self.conv_layer1 = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=3, padding=1, bias=False),
            nn.ReLU(),
            nn.Conv2d(64, 64, kernel_size=3, padding=1, bias=False),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2) )
        self.conv_layer2 = nn.Sequential(
            nn.Conv2d(64, 128, kernel_size=3, padding=1, bias=False),
            nn.ReLU(),
            nn.Conv2d(128, 128, kernel_size=3, padding=1, bias=False),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2) )
        self.conv_layer3 = nn.Sequential(
            nn.Conv2d(128, 256, kernel_size=3, padding=1, bias=False),
            nn.ReLU(),
            nn.Conv2d(256, 256, kernel_size=3, padding=1, bias=False),
            nn.ReLU(),
            nn.Conv2d(256, 256, kernel_size=3, padding=1, bias=False),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2) )
        self.conv_layer4 = nn.Sequential(
            nn.Conv2d(256, 512, kernel_size=3, padding=1, bias=False),
            nn.ReLU(),
            nn.Conv2d(512, 512, kernel_size=3, padding=1, bias=False),
            nn.ReLU(),
            nn.Conv2d(512, 512, kernel_size=3, padding=1, bias=False),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2) )
        self.fc_layer1 = nn.Sequential(
            nn.Linear(512*2*2, 4096, bias=False),
            nn.ReLU(),
            nn.Dropout() )
        self.fc_layer2 = nn.Sequential(
            nn.Linear(4096, 4096, bias=False),
            nn.ReLU(),
            nn.Dropout() )
        self.fc_layer3 = nn.Linear(4096, 10, bias=False)

    def forward(self, x):
        output = self.conv_layer1(x)
        output = self.conv_layer2(output)
        output = self.conv_layer3(output)
        output = self.conv_layer4(output)
        output = output.view(-1, 512*2*2)
        output = self.fc_layer1(output)
        output = self.fc_layer2(output)
        return self.fc_layer3(output)


VGGNet = Net
