"""Claims of Homework 6, Spring 2024 (003_13a39b0b72803044.txt), problems 1–5.

Keyword arguments default to the document's setting; tests perturb them.
"""
from __future__ import annotations

import numpy as np

import lemmata

from .registry import Evidence, claim
from .statistics import generator


def _residual_mlp(rng, n: int, m: int, L: int, zero_layer: int | None):
    """Parameters (A_ℓ, b_ℓ), ℓ = 1..L, of the residual MLP of problem 3."""
    shapes = [(m, n)] + [(m, m)] * (L - 2) + [(1, m)]
    params = []
    for ell, shape in enumerate(shapes, start=1):
        A = rng.standard_normal(shape) / np.sqrt(shape[1])
        if ell == zero_layer:
            A = np.zeros(shape)
        params.append((lemmata.tensor(A, requires_grad=True),
                       lemmata.tensor(rng.standard_normal(shape[0]) * 0.5, requires_grad=True)))
    return params


def _forward(params, x, residual: bool):
    """y₁ = σ(A₁x + b₁); y_ℓ = σ(A_ℓ y_{ℓ−1} + b_ℓ) + y_{ℓ−1}; y_L = A_L y_{L−1} + b_L."""
    ys = [x]
    L = len(params)
    for ell, (A, b) in enumerate(params, start=1):
        pre = A @ ys[-1] + b
        if ell == L:
            ys.append(pre)
        elif ell == 1 or not residual:
            ys.append(pre.tanh())
        else:
            ys.append(pre.tanh() + ys[-1])
    return ys


def _tanh_prime(z: np.ndarray) -> np.ndarray:
    return 1 - np.tanh(z) ** 2


@claim("hw6.p3", "Backprop through a residual MLP: ∂y_ℓ/∂y_{ℓ−1} = diag(σ′)A_ℓ + I, and "
                 "gradients survive a zero layer")
def residual_backprop(n: int = 4, m: int = 5, L: int = 6, residual: bool = True,
                      seed: int = 30) -> Evidence:
    rng = generator(seed)
    params = _residual_mlp(rng, n, m, L, zero_layer=None)
    x = lemmata.tensor(rng.standard_normal(n))
    ys = _forward(params, x, residual)
    arrays = [(A.detach().numpy(), b.detach().numpy()) for A, b in params]
    y_np = [y.detach().numpy() for y in ys]  # y_np[ℓ] = y_ℓ, y_np[0] = x

    # (i) the layer Jacobians by the document's formula
    def jacobian_formula(ell: int) -> np.ndarray:
        A, b = arrays[ell - 1]
        if ell == L:
            return A
        return np.diag(_tanh_prime(A @ y_np[ell - 1] + b)) @ A + np.eye(m)

    # ∂y_L/∂y_ℓ as the product of the layer Jacobians (chain rule)
    dyL_dy = {L: np.eye(1)}
    for ell in range(L, 1, -1):
        dyL_dy[ell - 1] = dyL_dy[ell] @ jacobian_formula(ell)
    worst_i = 0.0
    for ell in range(2, L + 1):  # compare with autograd, one row at a time
        out, inp = ys[ell], ys[ell - 1]
        rows = [lemmata.autograd.grad(out[i], inp, retain_graph=True)[0].numpy()
                for i in range(out.shape[0])]
        worst_i = max(worst_i, float(np.abs(np.stack(rows) - jacobian_formula(ell)).max()))

    # (ii) ∂y_L/∂b_ℓ = ∂y_L/∂y_ℓ diag(σ′) and ∂y_L/∂A_ℓ = diag(σ′)(∂y_L/∂y_ℓ)ᵀ y_{ℓ−1}ᵀ
    grads = lemmata.autograd.grad(ys[-1].sum(), [p for pair in params for p in pair])
    worst_ii = 0.0
    for ell in range(1, L + 1):
        A, b = arrays[ell - 1]
        if ell == L:
            db, dA = np.ones(1), y_np[L - 1][None, :]
        else:
            s = _tanh_prime(A @ y_np[ell - 1] + b)
            db = (dyL_dy[ell] @ np.diag(s)).ravel()
            dA = np.diag(s) @ dyL_dy[ell].T @ y_np[ell - 1][None, :]
        worst_ii = max(worst_ii, float(np.abs(grads[2 * (ell - 1)].numpy() - dA).max()),
                       float(np.abs(grads[2 * (ell - 1) + 1].numpy() - db).max()))

    # (iii) with A_j = 0 in the middle, earlier layers still get gradient (through the skip)
    zeroed = _residual_mlp(generator(seed), n, m, L, zero_layer=L // 2 + 1)
    out = _forward(zeroed, x, residual)[-1].sum()
    g_first = lemmata.autograd.grad(out, [zeroed[0][0], zeroed[0][1]])
    first_layer_grad = max(float(g.abs().max()) for g in g_first)
    return Evidence(
        holds=worst_i < 1e-12 and worst_ii < 1e-12 and first_layer_grad > 1e-3,
        measured={"(i) max |autograd − formula| for ∂y_ℓ/∂y_{ℓ−1}": worst_i,
                  "(ii) max |autograd − formula| for ∂y_L/∂A_ℓ, ∂y_L/∂b_ℓ": worst_ii,
                  f"(iii) max |∂y_L/∂(A₁, b₁)| with A_{L // 2 + 1} = 0": first_layer_grad},
        expected={"(i), (ii)": 0.0, "(iii)": "nonzero"},
        tolerance=1e-12,
        explanation=(
            "(i) (y_ℓ)ᵢ = σ((A_ℓ y_{ℓ−1} + b_ℓ)ᵢ) + (y_{ℓ−1})ᵢ gives ∂y_ℓ/∂y_{ℓ−1} = "
            "diag(σ′(A_ℓ y_{ℓ−1} + b_ℓ)) A_ℓ + I, and ∂y_L/∂y_{L−1} = A_L. (ii) By the chain rule "
            "∂y_L/∂b_ℓ = (∂y_L/∂y_ℓ) diag(σ′) and ∂y_L/∂A_ℓ = diag(σ′)(∂y_L/∂y_ℓ)ᵀ y_{ℓ−1}ᵀ. "
            "(iii) ∂y_L/∂y_ℓ is a product of factors diag(σ′)A + I, which contain I: a zero A_j "
            "or σ′ = 0 leaves the factor I instead of 0, so the product need not vanish. All "
            "formulas are compared with lemmata's reverse mode (σ = tanh)."))
