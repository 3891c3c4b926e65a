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


@claim("ttic.p3", "3-D convolution: the += forms and loop-plus-matmul NumPy forward and backward "
                  "equal conv3d and its autodiff")
def video_convolution(B: int = 2, H: int = 4, W: int = 3, T: int = 3, C_in: int = 2, C: int = 3,
                      U: int = 2, V: int = 2, Z: int = 2, offset: int = 0,
                      seed: int = 14) -> Evidence:
    from lemmata.nn import functional as F_
    rng = generator(seed)
    L1 = rng.standard_normal((B, H, W, T, C_in))
    F = rng.standard_normal((U, V, Z, C_in, C))
    L2_grad = rng.standard_normal((B, H, W, T, C))
    # L2[b,x,y,t,c] = Σ_{u,v,z,c′} F[u,v,z,c′,c] L1[b,x+u,y+v,t+z,c′]; L1 is zero beyond its end
    padded = np.zeros((B, H + U - 1 + offset, W + V - 1 + offset, T + Z - 1 + offset, C_in))
    padded[:, :H, :W, :T] = L1
    L2 = np.zeros((B, H, W, T, C))
    F_grad, L1_grad = np.zeros_like(F), np.zeros_like(padded)
    F_matrix = F.reshape(-1, C)
    for x in range(H):              # the document's forward: a loop over x, y, t and a matmul
        for y in range(W):
            for t in range(T):
                s = (slice(None), slice(x + offset, x + offset + U),
                     slice(y + offset, y + offset + V), slice(t + offset, t + offset + Z))
                L1_slice = padded[s]
                L2[:, x, y, t, :] += L1_slice.reshape(B, -1) @ F_matrix
                # backward: F.grad += L2.grad ⊗ L1 slice;  L1.grad += Σ_c L2.grad F
                g = L2_grad[:, x, y, t, :].reshape(B, 1, 1, 1, 1, C)
                F_grad += (g * L1_slice.reshape(B, U, V, Z, C_in, 1)).sum(axis=0)
                L1_grad[s] += (g * F).sum(axis=5)
    # the same with lemmata: channels-first conv3d on the zero-padded input, and reverse mode
    x_t = lemmata.tensor(L1.transpose(0, 4, 1, 2, 3), requires_grad=True)
    w_t = lemmata.tensor(F.transpose(4, 3, 0, 1, 2), requires_grad=True)
    out = F_.conv3d(F_.pad(x_t, (0, Z - 1, 0, V - 1, 0, U - 1)), w_t)
    out_cl = out.permute(0, 2, 3, 4, 1)
    (out_cl * lemmata.tensor(L2_grad)).sum().backward()
    errors = {
        "forward": float(np.abs(out_cl.detach().numpy() - L2).max()),
        "F.grad": float(np.abs(w_t.grad.numpy().transpose(2, 3, 4, 1, 0) - F_grad).max()),
        "L1.grad": float(np.abs(x_t.grad.numpy().transpose(0, 2, 3, 4, 1)
                                - L1_grad[:, :H, :W, :T]).max()),
    }
    return Evidence(
        holds=max(errors.values()) < 1e-12,
        measured={"max |loop form − lemmata conv3d / autograd|": errors},
        expected={"differences": 0.0}, tolerance=1e-12,
        explanation=(
            "∀ b,x,y,t,c,u,v,z,c′:  L2[b,x,y,t,c] += F[u,v,z,c′,c]·L1[b,x+u,y+v,t+z,c′]; "
            "backward: F.grad[u,v,z,c′,c] += L2.grad[b,x,y,t,c]·L1[b,x+u,y+v,t+z,c′] and "
            "L1.grad[b,x+u,y+v,t+z,c′] += L2.grad[b,x,y,t,c]·F[u,v,z,c′,c]. The NumPy loops over "
            "(x, y, t) with a matmul (forward) and broadcast products (backward) — the "
            "document's code with its slice typos (x_U, Li, Range) fixed — agree with "
            "lemmata's conv3d and its reverse mode."))


@claim("ttic.p5", "Complex-step Hessian-vector product and the exact line-search step "
                  "‖g‖²/(g·Hg) on a quadratic")
def exact_line_search(dim: int = 20, step_scale: float = 1.0, seed: int = 15) -> Evidence:
    from lemmata import func
    rng = generator(seed)
    M = rng.standard_normal((dim, dim))
    H = M @ M.T + dim * np.eye(dim)  # symmetric positive definite: ℓ is a strictly convex quadratic
    b = rng.standard_normal(dim)
    H_t, b_t = lemmata.tensor(H), lemmata.tensor(b)
    loss = lambda theta: 0.5 * theta @ (H_t @ theta) - b_t @ theta
    theta = lemmata.tensor(rng.standard_normal(dim))
    g = func.grad(loss)(theta)
    g_dot = func.hvp(loss, theta, g)  # Im ∇ℓ(Θ + i h g)/h with h = 1e-20: one complex reverse pass
    hvp_error = float(np.abs(g_dot.numpy() - H @ g.numpy()).max() / np.abs(H @ g.numpy()).max())
    step = step_scale * float(g @ g) / float(g @ g_dot)
    phi = lambda lam: float(loss(theta - lam * g))
    # φ(λ) = ℓ(Θ − λg) is a parabola in λ: its exact minimiser from three samples
    lams = np.array([0.0, step, 2 * step]) if step else np.array([0.0, 1.0, 2.0])
    coeffs = np.polyfit(lams, [phi(l) for l in lams], 2)
    best = -coeffs[1] / (2 * coeffs[0])
    slope = float(-(g @ func.grad(loss)(theta - step * g)))  # φ′(λ) at the step
    return Evidence(
        holds=hvp_error < 1e-12 and abs(step - best) <= 1e-9 * abs(best),
        measured={"relative |complex-step Hg − dense Hg|": hvp_error,
                  "λ = ‖g‖²/(g·ġ)": step, "φ′(λ)": slope},
        expected={"argmin of φ(λ) = ℓ(Θ − λg)": best},
        tolerance=1e-9,
        explanation=(
            "For a quadratic the second-order expansion is exact: ℓ(Θ − λg) = ℓ(Θ) − λ‖g‖² + "
            "½λ² g·Hg, minimised where λ g·ġ = ‖g‖², ġ = Hg. ġ is computed by complex-step "
            "differentiation of lemmata's gradient (lemmata.func.hvp), agreeing with the dense "
            "H g to rounding; the step equals the parabola's minimiser. (The document's Taylor "
            "line omits the ½ on ΔΘᵀHΔΘ; its next line restores it.)"))
