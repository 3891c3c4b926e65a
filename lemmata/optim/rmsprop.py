"""RMSprop (Hinton): divide the gradient by a running root mean square of its history."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import (
    Optimizer, check_lr, check_nonnegative, fma, lerp_, real_view, step_tensor,
)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop, PyTorch's ``torch.optim.RMSprop`` update for update.

    For each parameter θ with gradient g (negated when ``maximize``):

        g ← g + λ·θ                                   (weight_decay λ)
        v ← α·v + (1 − α)·g²                          (alpha α; v₀ = 0)
        d = √v + ε,   or  d = √(v − ḡ²) + ε  with  ḡ ← α·ḡ + (1 − α)·g   (centered)
        b ← μ·b + g/d,   θ ← θ − η·b                  (momentum μ > 0)
        θ ← θ − η·g/d                                 (momentum = 0)

    This is Adam without bias correction and with β₁ = 0, β₂ = α (seed ryu22.q1a):
    ``Adam(betas=(0, α), eps=ε, bias_correction=False)`` produces the same iterates.
    """

    def __init__(self, params: Any, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        """``capturable`` and ``foreach`` are accepted for compatibility and change nothing."""
        lr = check_lr(lr, "RMSprop")
        eps = check_nonnegative(eps, "eps", "RMSprop", "epsilon")
        momentum = check_nonnegative(momentum, "momentum", "RMSprop")
        weight_decay = check_nonnegative(weight_decay, "weight_decay", "RMSprop")
        alpha = check_nonnegative(alpha, "alpha", "RMSprop")
        if differentiable:
            raise ValueError("RMSprop: differentiable=True is not supported; lemmata's optimisers "
                             "update parameters outside the graph")
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, p: Tensor, grad: np.ndarray, group: dict[str, Any]) -> None:
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        wd, momentum, centered = group["weight_decay"], group["momentum"], group["centered"]
        state = self.state[p]
        if len(state) == 0:
            state["step"] = step_tensor()
            state["square_avg"] = Tensor(np.zeros_like(p._data))
            if momentum > 0:
                state["momentum_buffer"] = Tensor(np.zeros_like(p._data))
            if centered:
                state["grad_avg"] = Tensor(np.zeros_like(p._data))
        state["step"]._data += 1
        theta = p._data
        g = -grad if group["maximize"] else grad
        if wd != 0:
            g = fma(theta, wd, g)                                  # g ← g + λθ
        theta, g = real_view(theta), real_view(np.asarray(g, like=theta))
        v = real_view(state["square_avg"]._data)
        v *= alpha
        fma(g * v.dtype.type(1 - alpha), g, v, out=v)      # v ← αv + (1 − α)g²
        if centered:
            g_avg = real_view(state["grad_avg"]._data)
            lerp_(g_avg, g, 1 - alpha)                             # ḡ ← αḡ + (1 − α)g
            avg = np.sqrt(fma(-g_avg, g_avg, v))                   # √(v − ḡ²)
        else:
            avg = np.sqrt(v)
        avg += eps
        if momentum > 0:
            b = real_view(state["momentum_buffer"]._data)
            b *= momentum
            b += g / avg                                           # b ← μb + g/d
            fma(b, -lr, theta, out=theta)                          # θ ← θ − ηb
        else:
            update = (-lr) * g
            update /= avg
            theta += update                                        # θ ← θ − η g/d
        for key in ("square_avg", "grad_avg", "momentum_buffer"):
            if key in state:
                state[key]._version += 1
