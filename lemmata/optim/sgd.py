"""Stochastic gradient descent: momentum, Nesterov momentum, ℓ2 penalty, decoupled weight decay."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..ops.workspace import in_blocks
from ..tensor import Tensor
from .optimizer import Optimizer, check_lr, check_nonnegative, fma

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, PyTorch's ``torch.optim.SGD`` update for update.

    For each parameter θ with gradient g (negated when ``maximize``), step k:

        g ← g + λ·θ                      (weight_decay λ, coupled: an ℓ2 penalty λ/2·‖θ‖²)
        v ← g                   at the first step,
        v ← μ·v + (1 − τ)·g     afterwards      (momentum μ, dampening τ)
        g ← g + μ·v  (nesterov)   or   g ← v
        θ ← θ − η·g                      (lr η)

    With ``momentum = 0`` it is plain gradient descent θ ← θ − η·(g + λθ).

    ``decoupled_weight_decay=True`` is a lemmata extension (PyTorch's SGD has no such option):
    the decay acts on the weights directly instead of entering the gradient,

        θ ← θ − η·λ·θ,   then the momentum step with the raw gradient g,

    i.e. θᵏ⁺¹ = θᵏ − η·vᵏ⁺¹ − μ′·θᵏ with μ′ = η·λ, the "SGD with momentum and weight decay" of
    seed ryu24.q7.  Without momentum the two forms are the same update; with momentum they are
    not, for any choice of the constants (the ℓ2 term is remembered by the velocity).
    """

    def __init__(self, params: Any, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False, foreach: bool | None = None,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        """``foreach`` and ``fused`` are accepted for compatibility and change nothing (lemmata
        has one implementation, which follows PyTorch's single-tensor loop)."""
        lr = check_lr(lr, "SGD")
        momentum = check_nonnegative(momentum, "momentum", "SGD")
        weight_decay = check_nonnegative(weight_decay, "weight_decay", "SGD")
        if differentiable:
            raise ValueError("SGD: differentiable=True is not supported; lemmata's optimisers "
                             "update parameters outside the graph")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"SGD: Nesterov momentum requires a momentum and zero dampening "
                             f"(got momentum={momentum}, dampening={dampening})")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _update(self, p: Tensor, grad: np.ndarray, group: dict[str, Any]) -> None:
        lr, wd, momentum = group["lr"], group["weight_decay"], group["momentum"]
        buf = None
        if momentum != 0:
            state = self.state[p]
            buf = state.get("momentum_buffer")
            first = buf is None
            if first:
                buf = state["momentum_buffer"] = Tensor(np.empty(grad.shape, grad.dtype, like=grad))
            else:
                buf._version += 1
        # every pass below is elementwise: made block by block, one trip through memory
        for theta, g, v in in_blocks(p._data, grad, None if buf is None else buf._data):
            g = -g if group["maximize"] else g
            if wd != 0:
                if group.get("decoupled_weight_decay", False):
                    theta *= 1 - lr * wd
                else:
                    g = fma(theta, wd, g)                      # g + λθ
            if v is not None:
                if first:
                    np.copyto(v, g)
                else:
                    v *= momentum
                    fma(g, 1 - group["dampening"], v, out=v)   # v ← μv + (1 − τ)g
                g = fma(v, momentum, g) if group["nesterov"] else v
            fma(g, -lr, theta, out=theta)                      # θ ← θ − ηg
