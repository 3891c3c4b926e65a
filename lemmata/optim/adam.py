"""Adam and AdamW (Kingma & Ba; Loshchilov & Hutter), with an option to drop the bias correction."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import (
    Optimizer, check_lr, check_nonnegative, check_unit_interval, fma, lerp_, real_view,
    step_tensor,
)

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam, PyTorch's ``torch.optim.Adam`` update for update.

    For each parameter θ with gradient g (negated when ``maximize``), step t = 1, 2, ...:

        θ ← θ·(1 − η·λ)  (decoupled_weight_decay)   or   g ← g + λ·θ  (weight_decay λ)
        m ← β₁·m + (1 − β₁)·g                        first moment, m₀ = 0
        v ← β₂·v + (1 − β₂)·g²                       second moment, v₀ = 0
        m̂ = m/(1 − β₁ᵗ),   v̂ = v/(1 − β₂ᵗ)           bias correction
        v̂ ← max(v̂ₘₐₓ, v̂)   (amsgrad: the running maximum of v is used)
        θ ← θ − η·m̂/(√v̂ + ε)

    ``bias_correction=False`` is a lemmata extension: m̂ = m and v̂ = v, the "Adam without bias
    correction" of seed ryu22.q1.  With it, betas = (0, α) make Adam exactly RMSprop(alpha=α,
    eps=ε) (ryu22.q1a: m = g, and both divide by √v + ε), and betas = (0, 0) with eps = 0 make it
    signSGD, θ ← θ − η·g/√(g²) = θ − η·sign(g) for nonzero g (ryu22.q1b).

    β₁ = 1 − 1/k gives the new gradient the weight 1/k that a k-step backward window average
    gives it (seed ttic.p1); the effective window of the moving average is about 1/(1 − β₁).
    """

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 maximize: bool = False, decoupled_weight_decay: bool = False,
                 bias_correction: bool = True, foreach: bool | None = None,
                 capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        """``foreach``, ``capturable`` and ``fused`` are accepted for compatibility and change
        nothing (lemmata has one implementation, which follows PyTorch's single-tensor loop)."""
        name = type(self).__name__
        lr = check_lr(lr, name)
        eps = check_nonnegative(eps, "eps", name, "epsilon")
        try:
            beta1, beta2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"{name}: betas must be a pair (β1, β2), got {betas!r}") from None
        beta1 = check_unit_interval(beta1, "beta parameter at index 0 (β1)", name)
        beta2 = check_unit_interval(beta2, "beta parameter at index 1 (β2)", name)
        weight_decay = check_nonnegative(weight_decay, "weight_decay", name)
        if differentiable:
            raise ValueError(f"{name}: differentiable=True is not supported; lemmata's optimisers "
                             f"update parameters outside the graph")
        defaults = dict(lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay,
                        bias_correction=bias_correction)
        super().__init__(params, defaults)

    def _update(self, p: Tensor, grad: np.ndarray, group: dict[str, Any]) -> None:
        lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
        beta1, beta2 = group["betas"]
        amsgrad = group["amsgrad"]
        state = self.state[p]
        if len(state) == 0:
            state["step"] = step_tensor()
            state["exp_avg"] = Tensor(np.zeros_like(p._data))
            state["exp_avg_sq"] = Tensor(np.zeros_like(p._data))
            if amsgrad:
                state["max_exp_avg_sq"] = Tensor(np.zeros_like(p._data))
        theta = p._data
        g = -grad if group["maximize"] else grad
        state["step"]._data += 1
        if wd != 0:
            if group["decoupled_weight_decay"]:
                theta *= 1 - lr * wd                     # θ ← θ(1 − ηλ)
            else:
                g = fma(theta, wd, g)                    # g ← g + λθ
        theta, g = real_view(theta), real_view(np.asarray(g, like=theta))
        m, v = real_view(state["exp_avg"]._data), real_view(state["exp_avg_sq"]._data)
        lerp_(m, g, 1 - beta1)                           # m ← β₁m + (1 − β₁)g
        v *= beta2
        fma(g * v.dtype.type(1 - beta2), g, v, out=v)   # v ← β₂v + (1 − β₂)g²
        if group.get("bias_correction", True):
            t = float(state["step"]._data)
            bias_correction1 = 1 - beta1 ** t
            bias_correction2 = 1 - beta2 ** t
        else:
            bias_correction1 = bias_correction2 = 1.0
        step_size = lr / bias_correction1
        bias_correction2_sqrt = bias_correction2 ** 0.5
        if amsgrad:
            v_max = real_view(state["max_exp_avg_sq"]._data)
            np.maximum(v_max, v, out=v_max)
            v = v_max
        denom = np.sqrt(v)
        denom /= bias_correction2_sqrt
        denom += eps                                     # √v̂ + ε
        update = (-step_size) * m
        update /= denom
        theta += update                                  # θ ← θ − η m̂/(√v̂ + ε)
        for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
            if key in state:
                state[key]._version += 1


class AdamW(Adam):
    """Adam with decoupled weight decay (PyTorch's ``torch.optim.AdamW``; weight_decay = 0.01):

        θ ← θ·(1 − η·λ),   then the Adam step with the raw gradient.

    The decay does not pass through m and v, so it is not rescaled by 1/(√v̂ + ε).
    ``bias_correction=False`` drops the bias correction as in :class:`Adam` (a lemmata extension).
    """

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, bias_correction: bool = True,
                 foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True, bias_correction=bias_correction,
                         foreach=foreach, capturable=capturable, differentiable=differentiable,
                         fused=fused)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
