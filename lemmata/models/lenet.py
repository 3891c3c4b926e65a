"""LeNet-5 (LeCun et al., 1998) in its common modern form: ReLU and max pooling.

(N, 1, 28, 28) → conv 5×5 (6, padding 2) → pool 2 → conv 5×5 (16) → pool 2 → 16·5·5 = 400
→ 120 → 84 → num_classes.  61,706 parameters for 10 classes.
"""
from __future__ import annotations

from .. import nn

__all__ = ["LeNet5"]


class LeNet5(nn.Module):
    """LeNet-5 for 28×28 images (MNIST-sized); ``activation`` is a module class (nn.ReLU; use
    nn.Tanh with nn.AvgPool2d via ``pool`` for the 1998 original)."""

    def __init__(self, num_classes=10, in_channels=1, activation=nn.ReLU, pool=nn.MaxPool2d):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5, padding=2),
            activation(),
            pool(kernel_size=2, stride=2),
            nn.Conv2d(6, 16, kernel_size=5),
            activation(),
            pool(kernel_size=2, stride=2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120),
            activation(),
            nn.Linear(120, 84),
            activation(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))
