"""A multilayer perceptron: Linear layers of the given sizes with an activation between them.

MLP([d₀, d₁, …, d_L]) computes x ↦ A_L σ(… σ(A_1 x + b_1) …) + b_L (no activation after the last
layer).  It is a Sequential, so its state_dict keys are "0.weight", "0.bias", "2.weight", …,
the same as ``nn.Sequential(nn.Linear(d₀, d₁), nn.ReLU(), …)``.  With ``activation=nn.Identity``
and PyTorch's default initialisation it is the network of seed hw6.p2; with nn.Tanh and zero
initialisation that of seed ryu22.q5.
"""
from __future__ import annotations

from .. import nn

__all__ = ["MLP"]


class MLP(nn.Sequential):
    """``MLP(sizes, activation=nn.ReLU, bias=True)``: len(sizes) − 1 Linear layers."""

    def __init__(self, sizes, activation=nn.ReLU, bias=True):
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"MLP: sizes must list at least an input and an output size, got "
                             f"{sizes}")
        layers = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(fan_in, fan_out, bias=bias))
            if i < len(sizes) - 2:
                layers.append(activation())
        super().__init__(*layers)
        self.sizes = tuple(sizes)
