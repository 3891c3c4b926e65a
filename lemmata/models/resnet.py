"""A small ResNet of basic blocks (He et al., 2016), CIFAR-style.

BasicBlock:  y = ReLU(BN(conv3×3(ReLU(BN(conv3×3(x))))) + shortcut(x)), where the shortcut is the
identity, or a strided 1×1 convolution with BN when the shape changes.  The identity path gives
∂y/∂x an identity term, so gradients reach early layers (cf. the residual MLP of seed hw6.p3).
ResNet(num_blocks): a 3×3 stem, one stage per entry of ``num_blocks`` (widths w, 2w, 4w, …, the
first stage at stride 1, the others at stride 2), global average pooling and a linear classifier.
``resnet18()`` is ResNet((2, 2, 2, 2)).
"""
from __future__ import annotations

from .. import nn
from ..nn import functional as F

__all__ = ["BasicBlock", "ResNet", "resnet18"]


class BasicBlock(nn.Module):
    """Two 3×3 conv-BN layers and a residual connection (expansion 1)."""

    expansion = 1

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1,
                               bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    """``ResNet(num_blocks, num_classes=10, in_channels=3, width=64)``."""

    def __init__(self, num_blocks=(2, 2, 2, 2), num_classes=10, in_channels=3, width=64):
        super().__init__()
        num_blocks = list(num_blocks)
        if not num_blocks or any(n < 1 for n in num_blocks):
            raise ValueError(f"ResNet: num_blocks must be a non-empty list of positive ints, got "
                             f"{num_blocks}")
        self.conv1 = nn.Conv2d(in_channels, width, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.in_planes = width
        stages = []
        for i, blocks in enumerate(num_blocks):
            stages.append(self._make_stage(width * 2 ** i, blocks, stride=1 if i == 0 else 2))
        self.layers = nn.Sequential(*stages)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.linear = nn.Linear(self.in_planes, num_classes)

    def _make_stage(self, planes, blocks, stride):
        layers = []
        for s in [stride] + [1] * (blocks - 1):
            layers.append(BasicBlock(self.in_planes, planes, s))
            self.in_planes = planes * BasicBlock.expansion
        return nn.Sequential(*layers)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layers(out)
        out = self.avgpool(out).flatten(1)
        return self.linear(out)


def resnet18(num_classes=10, in_channels=3):
    """ResNet-18 for 32×32 images: ResNet((2, 2, 2, 2)), 11.2 M parameters."""
    return ResNet((2, 2, 2, 2), num_classes, in_channels)
