"""The two-layer CNN of seed bouman.q4: colour image in, 8 channels, grey-scale image out,
3×3 kernels, ReLU after each layer (the document's figure is missing; the solution's shapes fix
the channel counts and kernel size).

The solution writes the shapes as (k, k, C_in, C_out); PyTorch and lemmata store them as
(C_out, C_in, k, k):
    layer 1: w 3×3×3×8 → conv1.weight (8, 3, 3, 3), b: 8 → conv1.bias (8,)
    layer 2: w 3×3×8×1 → conv2.weight (1, 8, 3, 3), b: 1 → conv2.bias (1,)
Padding 1 keeps the image size (an image-to-image network); ``padding=0`` gives 'valid' layers.
"""
from __future__ import annotations

from .. import nn

__all__ = ["TwoLayerCNN"]


class TwoLayerCNN(nn.Module):
    """ReLU(conv2(ReLU(conv1(x)))): (N, 3, H, W) → (N, 1, H, W) with the default padding=1."""

    def __init__(self, in_channels=3, hidden_channels=8, out_channels=1, kernel_size=3,
                 padding=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, hidden_channels, kernel_size, padding=padding)
        self.conv2 = nn.Conv2d(hidden_channels, out_channels, kernel_size, padding=padding)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.conv2(self.relu(self.conv1(x))))
