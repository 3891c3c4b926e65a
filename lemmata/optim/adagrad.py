"""Adagrad (Duchi, Hazan & Singer): per-coordinate steps scaled by accumulated squared gradients."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, check_lr, check_nonnegative, fma, real_view, step_tensor

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad, PyTorch's ``torch.optim.Adagrad`` update for update.

    For each parameter θ with gradient g (negated when ``maximize``), step t = 1, 2, ...:

        g ← g + λ·θ                           (weight_decay λ)
        η_t = η / (1 + (t − 1)·δ)             (lr η, lr_decay δ)
        s ← s + g²                            (s₀ = initial_accumulator_value)
        θ ← θ − η_t·g/(√s + ε)
    """

    def __init__(self, params: Any, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        """``foreach`` and ``fused`` are accepted for compatibility and change nothing."""
        lr = check_lr(lr, "Adagrad")
        lr_decay = check_nonnegative(lr_decay, "lr_decay", "Adagrad")
        weight_decay = check_nonnegative(weight_decay, "weight_decay", "Adagrad")
        initial_accumulator_value = check_nonnegative(
            initial_accumulator_value, "initial_accumulator_value", "Adagrad")
        eps = check_nonnegative(eps, "eps", "Adagrad", "epsilon")
        if differentiable:
            raise ValueError("Adagrad: differentiable=True is not supported; lemmata's optimisers "
                             "update parameters outside the graph")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> None:
        value = group["initial_accumulator_value"]
        if p.dtype.kind == "c":
            value = complex(value, value)
        self.state[p]["step"] = step_tensor()
        self.state[p]["sum"] = Tensor(np.full_like(p._data, value))

    def _update(self, p: Tensor, grad: np.ndarray, group: dict[str, Any]) -> None:
        lr, wd, lr_decay, eps = group["lr"], group["weight_decay"], group["lr_decay"], group["eps"]
        state = self.state[p]
        if len(state) == 0:
            self._init_state(p, group)
        state["step"]._data += 1
        t = float(state["step"]._data)
        theta = p._data
        g = -grad if group["maximize"] else grad
        if wd != 0:
            g = fma(theta, wd, g)                          # g ← g + λθ
        clr = lr / (1 + (t - 1) * lr_decay)
        theta, g = real_view(theta), real_view(np.asarray(g, like=theta))
        s = real_view(state["sum"]._data)
        fma(g, g, s, out=s)                                # s ← s + g²
        std = np.sqrt(s)
        std += eps
        update = (-clr) * g
        update /= std
        theta += update                                    # θ ← θ − η_t g/(√s + ε)
        state["sum"]._version += 1
