"""signSGD and signum (Bernstein et al.): step along the sign of the gradient or of its momentum."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, check_lr, check_nonnegative, check_unit_interval, fma, lerp_, \
    real_view

__all__ = ["SignSGD"]


class SignSGD(Optimizer):
    """signSGD, and signum with ``momentum`` > 0 — a lemmata optimiser (PyTorch has none).

    For each parameter θ with gradient g (negated when ``maximize``):

        g ← g + λ·θ                         (weight_decay λ, coupled ℓ2 penalty)
        θ ← θ − η·sign(g)                   (momentum = 0: signSGD)
        m ← β·m + (1 − β)·g,  m₀ = 0;   θ ← θ − η·sign(m)     (momentum β: signum)

    sign(0) = 0, so a coordinate with zero gradient does not move.  With
    ``decoupled_weight_decay=True`` the decay acts on the weights, θ ← θ·(1 − η·λ), before the
    sign step, and the gradient is left alone.

    signSGD is Adam without bias correction with β₁ = β₂ = 0 and ε = 0 (seed ryu22.q1b): then
    m = g, v = g², and m/√v = g/|g| = sign(g) wherever g ≠ 0.  Every step has the same length
    η·√(number of nonzero coordinates), whatever the gradient's scale.
    """

    def __init__(self, params: Any, lr: float = 1e-3, momentum: float = 0,
                 weight_decay: float = 0, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False) -> None:
        lr = check_lr(lr, "SignSGD")
        momentum = check_unit_interval(momentum, "momentum", "SignSGD")
        weight_decay = check_nonnegative(weight_decay, "weight_decay", "SignSGD")
        defaults = dict(lr=lr, momentum=momentum, weight_decay=weight_decay, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _update(self, p: Tensor, grad: np.ndarray, group: dict[str, Any]) -> None:
        lr, wd, momentum = group["lr"], group["weight_decay"], group["momentum"]
        theta = p._data
        g = -grad if group["maximize"] else grad
        if wd != 0:
            if group["decoupled_weight_decay"]:
                theta *= 1 - lr * wd                       # θ ← θ(1 − ηλ)
            else:
                g = fma(theta, wd, g)                      # g ← g + λθ
        theta, g = real_view(theta), real_view(np.asarray(g, like=theta))
        if momentum > 0:
            state = self.state[p]
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = Tensor(np.zeros_like(p._data))
            m = real_view(state["momentum_buffer"]._data)
            lerp_(m, g, 1 - momentum)                      # m ← βm + (1 − β)g
            state["momentum_buffer"]._version += 1
            g = m
        theta -= theta.dtype.type(lr) * np.sign(g)  # θ ← θ − η sign(·)
