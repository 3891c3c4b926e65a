"""The layers of seed hw6 (Homework 6): ``myLayer`` (hw6.p1) and the split-transform-merge
convolutions ``MyConvLayer`` / ``STMConv`` (hw6.p4).

hw6.p4 parameter counts (weights + biases, all convolutions with bias, stride 1):
    MyConvLayer (1×1, 3×3, 1×1 with 256–128–128–256 channels):
        256·128 + 128 + 128·128·9 + 128 + 128·256 + 256 = 213,504
    STMConv (32 branches of 1×1, 3×3, 1×1 with 256–4–4–256 channels, summed):
        32·(256·4 + 4 + 4·4·9 + 4 + 4·256 + 256) = 78,592
The solution's code has three bugs, fixed here: ``1)`` closing the first ModuleList, and
``out = out.append(tmp)`` (append returns None); its counts are the reference.
"""
from __future__ import annotations

from .. import nn
from ..nn import functional as F

__all__ = ["myLayer", "MyConvLayer", "STMConv", "STMConvLayer"]


class myLayer(nn.Module):
    """linear → σ → dropout(p=0.4) (seed hw6.p1).

    ``sigma`` is the activation module (ReLU as in the listing; the listing's alternatives are
    Sigmoid and LeakyReLU).  ``dropout_first=True`` gives the other order, linear → dropout → σ.
    The two orders agree (for the same dropout mask) exactly when σ is positively homogeneous:
    ReLU and LeakyReLU, not Sigmoid.  The listing's ``dropout(sigma(linear))`` is written out
    as the calls it means.
    """

    def __init__(self, input_size, output_size, sigma=None, dropout_first=False):
        super(myLayer, self).__init__()
        self.linear = nn.Linear(input_size,output_size)
        self.sigma = nn.ReLU() if sigma is None else sigma
        # self.sigma = nn.Sigmoid()
        # self.sigma = nn.LeakyReLU()
        self.dropout= nn.Dropout(p=0.4)
        self.dropout_first = dropout_first

    def forward(self, x):
        if self.dropout_first:
            return self.sigma(self.dropout(self.linear(x)))
        return self.dropout(self.sigma(self.linear(x)))


class MyConvLayer(nn.Module):
    """1×1, 3×3 (padding 1), 1×1 conv-ReLU with 256–128–128–256 channels: 213,504 parameters."""

    def __init__(self):
        super(MyConvLayer, self).__init__()
        self.conv1 = nn.Conv2d(256, 128, 1,)
        self.conv2 = nn.Conv2d(128, 128, 3, padding=1)
        self.conv3 = nn.Conv2d(128, 256, 1)

    def forward(self, x):
        out = F.relu(self.conv1(x))
        out = F.relu(self.conv2(out))
        out = F.relu(self.conv3(out))
        return out


class STMConv(nn.Module):
    """Split-transform-merge: 32 branches of 1×1 (256→4), 3×3 (4→4, padding 1), 1×1 (4→256)
    conv-ReLU, summed (no ReLU after the sum): 78,592 parameters (seed hw6.p4)."""

    def __init__(self):
        super(STMConv, self).__init__()
        self.layer1 = nn.ModuleList([
            nn.Conv2d(256, 4, kernel_size=1, stride=1)
            for i in range (32)
        ])
        self.layer2 = nn.ModuleList([
            nn.Conv2d(4, 4, kernel_size=3, stride=1, padding=1)
            for i in range (32)
        ])
        self.layer3 = nn.ModuleList([
            nn.Conv2d(4, 256, kernel_size=1, stride=1)
            for i in range (32)
        ])

    def forward(self, x):
        out = []
        for i in range (32):
            tmp = F.relu(self.layer1[i](x))
            tmp = F.relu(self.layer2[i](tmp))
            tmp = F.relu(self.layer3[i](tmp))
            out.append(tmp)
        return sum(out)


class STMConvLayer(STMConv):
    """The name the problem statement of hw6.p4 gives the split-transform-merge layer."""
