"""Claims of the TTIC 31230 midterm (001_c4415d6bd9947e93.txt), problems 1–5.

The document numbers the norm-regulariser problem "Problem 3" a second time; its parts are the
claims ttic.p4a–c.  Keyword arguments default to the document's setting; tests perturb them.
"""
from __future__ import annotations

import numpy as np
from scipy import optimize

import lemmata

from .registry import Evidence, claim
from .statistics import estimate, generator


@claim("ttic.p1", "β₁ = 1 − 1/k makes Adam's first moment a k-step backward window average")
def beta1_window(k: int = 10, beta1: float | None = None, steps: int = 200,
                 seed: int = 10) -> Evidence:
    beta1 = 1 - 1 / k if beta1 is None else beta1
    rng = generator(seed)
    grads = lemmata.tensor(rng.standard_normal(steps), requires_grad=True)
    g_hat = lemmata.zeros((), dtype=lemmata.float64)
    for t in range(steps):
        g_hat = beta1 * g_hat + (1 - beta1) * grads[t]
    window = grads[steps - k:].mean()
    w_ema, = lemmata.autograd.grad(g_hat, grads)
    w_win, = lemmata.autograd.grad(window, grads)
    newest_ema, newest_window = w_ema[-1].item(), w_win[-1].item()
    # stationary variances of the two estimators for unit-variance noise: 1/k and (1−β)/(1+β)
    var_window, var_ema = 1 / k, (1 - beta1) / (1 + beta1)
    return Evidence(
        holds=abs(newest_ema - newest_window) < 1e-15,
        measured={"∂ĝ/∂(newest gradient), EMA (by autograd)": newest_ema,
                  "∂ĝ/∂(newest gradient), window average": newest_window,
                  "total EMA weight on the last k gradients": float(w_ema[steps - k:].sum()),
                  "noise variance: window 1/k, EMA (1−β)/(1+β)": [var_window, var_ema]},
        expected={"β₁": 1 - 1 / k, "weight on each new gradient": 1 / k},
        tolerance=1e-15,
        explanation=(
            "ĝ^{t+1} = β₁ ĝ^t + (1 − β₁)∇ℓ^t gives the newest gradient weight 1 − β₁, while the "
            "backward window (1/k)Σᵢ₌₁ᵏ ∇ℓ^{t−i} gives each of its k gradients weight 1/k. "
            "Equal weights on each new data point means β₁ = 1 − 1/k. The weights are read off "
            "by differentiating both estimators with respect to the gradient stream."))


@claim("ttic.p2", "Zero-mean Gaussian weight noise needs no test-time weight scaling")
def weight_noise_scaling(n_in: int = 20, n_out: int = 5, samples: int = 20000,
                         noise_mean: float = 0.0, seed: int = 11) -> Evidence:
    rng = generator(seed)
    W = lemmata.tensor(rng.standard_normal((n_out, n_in)) / np.sqrt(n_in))
    x = lemmata.tensor(rng.standard_normal(n_in))
    eps = lemmata.tensor(noise_mean + rng.standard_normal((samples, n_out, n_in)))
    train_preactivation = ((W + eps) @ x)            # (samples, n_out): Σⱼ (Wᵢⱼ + εᵢⱼ) xⱼ
    test_preactivation = (W @ x).numpy()
    est = estimate(train_preactivation.numpy(), axis=0)
    holds = all(e.agrees(t) for e, t in zip(est, test_preactivation))
    return Evidence(
        holds=bool(holds),
        measured={"E_ε[Σⱼ(Wᵢⱼ+εᵢⱼ)xⱼ] (Monte Carlo)": [e.mean for e in est],
                  "standard error": [e.stderr for e in est]},
        expected={"Σⱼ Wᵢⱼ xⱼ (test time, unscaled)": test_preactivation.tolist()},
        tolerance=4.0,
        explanation=(
            "E[Σⱼ (Wᵢⱼ + εᵢⱼ)xⱼ] = Σⱼ Wᵢⱼ xⱼ + Σⱼ E[εᵢⱼ] xⱼ = Σⱼ Wᵢⱼ xⱼ because E εᵢⱼ = 0: the "
            "ReLU input has the same expectation at test time with the weights unchanged, so no "
            "scaling is needed (unlike dropout's 1/(1−p))."))


def _quadratic_problem(seed: int, dim: int = 6):
    rng = generator(seed)
    A = rng.standard_normal((dim + 4, dim))
    b = rng.standard_normal(dim + 4) * 3
    return lemmata.tensor(A), lemmata.tensor(b)


def _loss(A: lemmata.Tensor, b: lemmata.Tensor, theta: lemmata.Tensor) -> lemmata.Tensor:
    """ℓ(Θ) = ½‖AΘ − b‖²."""
    return 0.5 * (A @ theta - b).square().sum()


def _grad(fn, theta: np.ndarray) -> tuple[float, np.ndarray]:
    t = lemmata.tensor(theta, requires_grad=True)
    value = fn(t)
    g, = lemmata.autograd.grad(value, t)
    return value.item(), g.numpy()


def _minimise_norm_regularised(A, b, lam: float) -> np.ndarray:
    """argmin ℓ(Θ) + λ‖Θ‖ away from 0, by BFGS on lemmata's value and gradient."""
    fn = lambda t: _loss(A, b, t) + lam * t.norm()
    start = np.linalg.lstsq(A.numpy(), b.numpy(), rcond=None)[0]
    result = optimize.minimize(lambda th: _grad(fn, th), start, jac=True, method="BFGS",
                               options={"gtol": 1e-13, "maxiter": 10000})
    return result.x


@claim("ttic.p4a", "Stationarity with a ‖Θ‖ regulariser: ∇ℓ(Θ) = −λ Θ/‖Θ‖")
def norm_regulariser_stationarity(lam: float = 2.0, normalise: bool = True,
                                  seed: int = 12) -> Evidence:
    A, b = _quadratic_problem(seed)
    theta = _minimise_norm_regularised(A, b, lam)
    _, grad_loss = _grad(lambda t: _loss(A, b, t), theta)
    direction = theta / np.linalg.norm(theta) if normalise else theta
    residual = float(np.abs(grad_loss + lam * direction).max())
    return Evidence(
        holds=residual < 1e-6,
        measured={"‖Θ*‖": float(np.linalg.norm(theta)),
                  "max |∇ℓ(Θ*) + λΘ*/‖Θ*‖|": residual},
        expected={"∇ℓ(Θ*) + λΘ*/‖Θ*‖": 0.0},
        tolerance=1e-6,
        explanation=(
            "∇‖Θ‖ = ∇√‖Θ‖² = (1/2)(‖Θ‖²)^{−1/2}·2Θ = Θ/‖Θ‖ for Θ ≠ 0, so a stationary point of "
            "ℓ(Θ) + λ‖Θ‖ satisfies ∇ℓ(Θ) = −λΘ/‖Θ‖. Θ* is computed by minimising the "
            "regularised least-squares objective with lemmata's gradients."))


@claim("ttic.p4b", "A ‖Θ‖-stationary point is ℓ²-stationary for λ′ = λ/‖Θ‖")
def norm_regulariser_equivalent_l2(lam: float = 2.0, use_norm_ratio: bool = True,
                                   seed: int = 12) -> Evidence:
    A, b = _quadratic_problem(seed)
    theta = _minimise_norm_regularised(A, b, lam)
    norm = float(np.linalg.norm(theta))
    lam_l2 = lam / norm if use_norm_ratio else lam * norm
    An, bn = A.numpy(), b.numpy()
    # ℓ(Θ) + (λ′/2)‖Θ‖² is stationary where (AᵀA + λ′I)Θ = Aᵀb
    ridge = np.linalg.solve(An.T @ An + lam_l2 * np.eye(An.shape[1]), An.T @ bn)
    err = float(np.abs(ridge - theta).max())
    return Evidence(
        holds=err < 1e-6,
        measured={"λ′ = λ/‖Θ*‖": lam_l2, "max |Θ_ridge(λ′) − Θ*|": err},
        expected={"difference": 0.0},
        tolerance=1e-6,
        explanation=(
            "ℓ²-regularisation ℓ(Θ) + (λ′/2)‖Θ‖² is stationary where ∇ℓ(Θ) = −λ′Θ. Comparing with "
            "∇ℓ(Θ*) = −λΘ*/‖Θ*‖ shows Θ* is stationary for λ′ = λ/‖Θ*‖; the ridge solution for "
            "that λ′ (a linear solve) reproduces Θ*."))


@claim("ttic.p4c", "Θ = 0 is a local minimum of ℓ + λ‖Θ‖ exactly when ‖∇ℓ(0)‖ < λ")
def norm_regulariser_zero_minimum(threshold_power: float = 1.0, radius: float = 1e-6,
                                  directions: int = 2000, seed: int = 13) -> Evidence:
    A, b = _quadratic_problem(seed)
    dim = A.shape[1]
    _, g0 = _grad(lambda t: _loss(A, b, t), np.zeros(dim))
    g_norm = float(np.linalg.norm(g0))
    threshold = g_norm ** threshold_power
    rng = generator(seed + 1)
    steps = rng.standard_normal((directions, dim))
    steps = np.vstack([steps, -g0])  # include the steepest-descent direction
    steps *= radius / np.linalg.norm(steps, axis=1, keepdims=True)

    def is_local_min(lam: float) -> bool:
        theta = lemmata.tensor(steps)
        objective = 0.5 * (theta @ A.T - b).square().sum(1) + lam * theta.norm(dim=1)
        return bool((objective > _loss(A, b, lemmata.zeros(dim, dtype=lemmata.float64))).all())

    above, below = is_local_min(1.05 * threshold), is_local_min(0.95 * threshold)
    return Evidence(
        holds=above and not below,
        measured={"‖∇ℓ(0)‖": g_norm,
                  "Θ = 0 local min for λ = 1.05·threshold": above,
                  "Θ = 0 local min for λ = 0.95·threshold": below},
        expected={"local min iff": "λ > ‖∇ℓ(0)‖"},
        explanation=(
            "To first order the objective changes by ∇ℓ(0)·Θ + λ‖Θ‖; for fixed ‖Θ‖ the worst "
            "direction is Θ ∝ −∇ℓ(0), giving (λ − ‖∇ℓ(0)‖)‖Θ‖, positive iff ‖∇ℓ(0)‖ < λ. "
            f"Checked on {directions} random directions and −∇ℓ(0) at radius {radius:g}, "
            "just above and just below the threshold."))
