"""Claims of Homework 6, Spring 2024 (003_13a39b0b72803044.txt), problems 1–5.

Keyword arguments default to the document's setting; tests perturb them.
"""
from __future__ import annotations

import numpy as np

import lemmata

from .registry import Evidence, claim
from .statistics import estimate, generator, randomise


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


@claim("hw6.p1", "linear→dropout→σ equals linear→σ→dropout for ReLU and LeakyReLU, not Sigmoid")
def dropout_commutes(p: float = 0.4, input_size: int = 6, output_size: int = 5,
                     seed: int = 31) -> Evidence:
    from lemmata import nn
    from lemmata import random as lrandom
    rng = generator(seed)
    linear = nn.Linear(input_size, output_size).double()
    randomise(linear, rng)
    x = lemmata.tensor(rng.standard_normal((64, input_size)))
    gaps = {}
    with lrandom.fork_rng():
        for name in ("ReLU", "Sigmoid", "LeakyReLU"):
            sigma, dropout = getattr(nn, name)(), nn.Dropout(p=p)
            lrandom.manual_seed(seed)         # the same mask for both orders
            first = dropout(sigma(linear(x)))
            lrandom.manual_seed(seed)
            second = sigma(dropout(linear(x)))
            gaps[name] = float((first - second).abs().max().detach())
    answer = {"ReLU": True, "Sigmoid": False, "LeakyReLU": True}
    reproduced = {name: (gaps[name] < 1e-12) == answer[name] for name in gaps}
    return Evidence(
        holds=all(reproduced.values()),
        measured={"max |dropout(σ(z)) − σ(dropout(z))| with the same mask": gaps},
        expected={"equivalent": answer},
        tolerance=1e-12,
        explanation=(
            "Dropout multiplies by a mask H with entries 0 or 1/(1 − p) ≥ 0. ReLU and LeakyReLU "
            "are positively homogeneous, σ(hz) = hσ(z) for h ≥ 0, so σ(H∗z) = H∗σ(z): cases (a) "
            "and (c) are equivalent. Sigmoid is not: for a kept unit σ(z/0.6) ≠ σ(z)/0.6, and "
            "for a dropped unit σ(0) = ½ ≠ 0, so (b) is not."))


@claim("hw6.p2", "Identity-activation MLP under PyTorch's default init: E[y_L] = 0, "
                 "Var(y_L) = 1/3^L + Σₖ 1/(3^{L−k} n_k)")
def default_init_variance(widths: tuple = (8, 6, 4, 1), samples: int = 40000,
                          init_bound_scale: float = 1.0, seed: int = 32) -> Evidence:
    from lemmata import nn
    from lemmata import random as lrandom
    with lrandom.fork_rng():
        lrandom.manual_seed(seed)  # nn.Linear initialises from the global generator
        rng = generator(seed)
        y = lemmata.tensor(rng.standard_normal((samples, widths[0])))
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            # one nn.Linear with n_out·samples outputs holds `samples` independent layers: its
            # default initialisation depends only on fan_in = n_in
            layer = nn.Linear(n_in, n_out * samples).double()
            with lemmata.no_grad():
                layer.weight.mul_(init_bound_scale)
                layer.bias.mul_(init_bound_scale)
            A = layer.weight.detach().reshape(samples, n_out, n_in)
            b = layer.bias.detach().reshape(samples, n_out)
            y = (A @ y.unsqueeze(-1)).squeeze(-1) + b
    y_L = y.numpy()[:, 0]
    L = len(widths) - 1
    closed_var = 1 / 3 ** L + sum(1 / (3 ** (L - k) * widths[k]) for k in range(L))
    mean = estimate(y_L)
    var = estimate(y_L ** 2)  # E[y_L] = 0, so Var = E[y_L²]
    return Evidence(
        holds=mean.agrees(0.0) and var.agrees(closed_var),
        measured={"E[y_L]": mean.as_dict(), "Var(y_L) = E[y_L²]": var.as_dict()},
        expected={"E[y_L]": 0.0, "1/3^L + Σₖ 1/(3^{L−k} n_k)": closed_var},
        tolerance=4.0,
        explanation=(
            "PyTorch's default Linear init draws weights and biases from U(±1/√n_{ℓ−1}), with "
            "variance 1/(3n_{ℓ−1}). Then E[(y_ℓ)ᵢ²] = n_{ℓ−1}·(1/(3n_{ℓ−1}))E[y_{ℓ−1}²] + "
            "1/(3n_{ℓ−1}) = (1/3)(E[y_{ℓ−1}²] + 1/n_{ℓ−1}), which unrolls to the closed form. "
            f"Estimated over {samples} networks initialised by lemmata.nn.Linear itself."))


@claim("hw6.p4", "Split-transform-merge: 213,504 vs 78,592 parameters, and STMConv is a "
                 "grouped convolution")
def split_transform_merge(shuffle_groups: bool = False, seed: int = 33) -> Evidence:
    from lemmata.models import MyConvLayer, STMConv
    from lemmata.nn import functional as F
    rng = generator(seed)
    count = lambda m: sum(p.numel() for p in m.parameters())
    plain, stm = MyConvLayer(), STMConv()
    randomise(stm, rng, scale=0.1)
    stm.double()
    # the same layer as three convolutions: 1×1 256→128 (the 32 branches' 1×1s stacked),
    # 3×3 with groups = 32, and a grouped 1×1 128 → 32·256 whose 32 outputs are summed
    w1 = lemmata.cat([c.weight for c in stm.layer1]).detach()
    b1 = lemmata.cat([c.bias for c in stm.layer1]).detach()
    order = list(range(32))
    if shuffle_groups:
        order = order[1:] + order[:1]
    w2 = lemmata.cat([stm.layer2[i].weight for i in order]).detach()
    b2 = lemmata.cat([stm.layer2[i].bias for i in order]).detach()
    w3 = lemmata.cat([c.weight for c in stm.layer3]).detach()
    b3 = lemmata.cat([c.bias for c in stm.layer3]).detach()
    x = lemmata.tensor(rng.standard_normal((2, 256, 6, 6)))
    with lemmata.no_grad():
        branches = F.relu(F.conv2d(x, w1, b1))
        branches = F.relu(F.conv2d(branches, w2, b2, padding=1, groups=32))
        branches = F.relu(F.conv2d(branches, w3, b3, groups=32))
        grouped = branches.reshape(2, 32, 256, 6, 6).sum(1)
        direct = stm(x)
    gap = float((grouped - direct).abs().max())
    grouped_params = sum(t.numel() for t in (w1, b1, w2, b2, w3, b3))
    return Evidence(
        holds=(count(plain), count(stm)) == (213504, 78592) and grouped_params == 78592
        and gap < 1e-10,
        measured={"MyConvLayer parameters": count(plain), "STMConv parameters": count(stm),
                  "grouped form parameters": grouped_params,
                  "max |STMConv(x) − grouped form(x)|": gap},
        expected={"MyConvLayer": 213504, "STMConv": 78592, "difference": 0.0},
        tolerance=1e-10,
        explanation=(
            "MyConvLayer: 256·128 + 128 + 128·128·9 + 128 + 128·256 + 256 = 213,504. STMConv: 32 "
            "branches of (256·4 + 4) + (4·4·9 + 4) + (4·256 + 256) = 32·2,456 = 78,592. The 32 "
            "branches are one 1×1 convolution with 128 outputs, a 3×3 convolution with groups = "
            "32, and a grouped 1×1 convolution whose 32 groups of 256 outputs are summed; the "
            "document's listing needed two fixes (the ModuleList's closing bracket, and "
            "out.append instead of out = out.append)."))


@claim("hw6.p5", "Double descent at p ≈ N_train with fixed λ = 0.01; it vanishes when λ is tuned "
                 "per width on validation data")
def double_descent(fixed_lambda: float = 0.01, seeds: int = 5, seed: int = 34) -> Evidence:
    from lemmata.experiments.double_descent import DoubleDescentConfig, double_descent as run
    result = run(DoubleDescentConfig(lambdas=(fixed_lambda,), seed=seed), seeds=seeds)
    n = result.config.n_train
    p_peak, e_peak = result.peak(0)
    fixed = result.test_fixed_mean[0]
    at_100, at_max = result.at(fixed, 100), float(fixed[-1])
    excess = result.tuned_threshold_excess()
    peaked = abs(p_peak - n) <= 0.15 * n and e_peak > 2 * at_100 and e_peak > 2 * at_max
    return Evidence(
        holds=bool(peaked and excess < 0.10),
        measured={f"fixed λ = {fixed_lambda:g}: peak width": p_peak,
                  f"fixed λ: test MSE at the peak, at p = 100, at p = {result.widths[-1]}":
                      [e_peak, at_100, at_max],
                  "tuned λ: test MSE at p = N_train over its running minimum − 1": excess},
        expected={"peak width": f"within ±15 % of N_train = {n}",
                  "peak": "more than twice the error at p = 100 and at p = 1500",
                  "tuned λ": "no peak: within 10 % of its running minimum"},
        explanation=(
            "Ridge regression on p random ReLU features (d = 35, σ = 0.5, N_train = 300) solved "
            "exactly through one SVD per width. With λ = 0.01 the test error peaks where p "
            "reaches N_train: the feature matrix is square, its smallest singular values near 0, "
            "and θ = V diag(s/(s² + λ)) UᵀY amplifies the label noise. Tuning λ per width on 60 "
            f"validation points removes the peak. Mean over {seeds} draws "
            "(lemmata.experiments.double_descent)."))
