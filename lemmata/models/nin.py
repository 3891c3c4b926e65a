"""Network in Network (NiN), as listed in seed ryu22.q7 (bias-free convolutions).

Three "mlpconv" blocks (a k×k convolution followed by two 1×1 convolutions, each with ReLU),
max pooling 3/2 with ceil_mode and dropout after the first two, and global 8×8 average pooling:
3×32×32 → 96×16×16 (out1) → 192×8×8 (out2) → 10×8×8 (out3) → 10.

Every layer is translation-equivariant up to the boundary and the stride-2 pools, so NiN is only
approximately shift invariant: a 4-pixel shift is a 1-pixel shift of out2 and out3, and the final
global average is exactly invariant only when the response stays away from the borders
(seed ryu22.q7).
"""
from __future__ import annotations

from .. import nn

__all__ = ["NiN"]


class NiN(nn.Module):
    """The listing of seed ryu22.q7, verbatim (``super(NiN, self).__init__()`` and all)."""

    def __init__(self):
        super(NiN, self).__init__()
        self.mlpconv_layer1 = nn.Sequential(
            nn.Conv2d(3, 192, kernel_size=5, padding=2, bias=False),
            nn.ReLU(),
            nn.Conv2d(192, 160, kernel_size=1, bias=False),
            nn.ReLU(),
            nn.Conv2d(160, 96, kernel_size=1, bias=False),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            nn.Dropout()
        )
        self.mlpconv_layer2 = nn.Sequential(
            nn.Conv2d(96, 192, kernel_size=5, padding=2, bias=False),
            nn.ReLU(),
            nn.Conv2d(192, 192, kernel_size=1, bias=False),
            nn.ReLU(),
            nn.Conv2d(192, 192, kernel_size=1, bias=False),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            nn.Dropout()
        )
        self.mlpconv_layer3 = nn.Sequential(
            nn.Conv2d(192, 192, kernel_size=3, padding=1, bias=False),
            nn.ReLU(),
            nn.Conv2d(192, 192, kernel_size=1, bias=False),
            nn.ReLU(),
            nn.Conv2d(192, 10, kernel_size=1, bias=False),
            nn.ReLU()
        )

    def forward(self, x):
        out1 = self.mlpconv_layer1(x)
        out2 = self.mlpconv_layer2(out1)
        out3 = self.mlpconv_layer3(out2)
        out4 = nn.AvgPool2d(kernel_size=8)(out3)
        return out4.view(-1, 10)

    def intermediates(self, x):
        """(out1, out2, out3, output) of the listing's forward, for the questions of ryu22.q7."""
        out1 = self.mlpconv_layer1(x)
        out2 = self.mlpconv_layer2(out1)
        out3 = self.mlpconv_layer3(out2)
        return out1, out2, out3, nn.AvgPool2d(kernel_size=8)(out3).view(-1, 10)
