"""Claims of the Spring 2024 midterm (002_afca89283d6ba948.txt), problems 1–7.

Every claim function's keyword arguments default to the document's setting; the test suite
calls them with perturbed arguments to show that the evidence can fail.
"""
from __future__ import annotations

import numpy as np

import lemmata

from .registry import Evidence, claim
from .statistics import estimate, generator, randomise


def _ema_trajectories(beta: float, mu: float, sigma: float, steps: int, runs: int, seed: int,
                      m0: float = 0.0, correlation: float = 0.0) -> np.ndarray:
    """m^0..m^steps of m^{k+1} = β m^k + (1 − β) g^k for ``runs`` independent gradient streams.

    The g^k are IID N(μ, σ²) (``correlation`` ≠ 0 makes them an AR(1) stream with the same
    marginal law, breaking independence).  The recursion runs on lemmata tensors, vectorised over
    the runs.
    """
    rng = generator(seed)
    noise = rng.standard_normal((steps, runs))
    if correlation:
        for k in range(1, steps):  # AR(1): stationary, unit variance, lag-1 correlation ρ
            noise[k] = correlation * noise[k - 1] + np.sqrt(1 - correlation ** 2) * noise[k]
    g = lemmata.tensor(mu + sigma * noise, dtype=lemmata.float64)
    m = lemmata.full((runs,), m0, dtype=lemmata.float64)
    history = [m]
    for k in range(steps):
        m = beta * m + (1 - beta) * g[k]
        history.append(m)
    return lemmata.stack(history).numpy()


@claim("ryu24.q1a", "EMA of IID gradients has mean (1 − βᵏ)μ")
def ema_mean(beta: float = 0.9, mu: float = 1.5, sigma: float = 2.0, steps: int = 40,
             runs: int = 20000, m0: float = 0.0, seed: int = 0) -> Evidence:
    m = _ema_trajectories(beta, mu, sigma, steps, runs, seed, m0=m0)
    ks = np.arange(steps + 1)
    closed = (1 - beta ** ks) * mu
    est = estimate(m, axis=1)
    return Evidence(
        holds=all(e.agrees(c) for e, c in zip(est, closed)),
        measured={"E[m^k] (Monte Carlo)": [e.mean for e in est],
                  "standard error": [e.stderr for e in est]},
        expected={"(1 − β^k) μ": closed.tolist()},
        tolerance=4.0,
        explanation=(
            "m^{k+1} = β m^k + (1 − β) g^k with m^0 = 0 and E g^k = μ gives, by induction, "
            "E m^{k+1} = β(1 − β^k)μ + (1 − β)μ = (1 − β^{k+1})μ. "
            f"Measured over {runs} independent streams (β = {beta}, μ = {mu}, σ = {sigma}); every "
            "k agrees within 4 standard errors."))


@claim("ryu24.q1b", "EMA of IID gradients has variance σ²(1 − β)/(1 + β)·(1 − β²ᵏ)")
def ema_variance(beta: float = 0.9, mu: float = 1.5, sigma: float = 2.0, steps: int = 40,
                 runs: int = 20000, correlation: float = 0.0, seed: int = 1) -> Evidence:
    m = _ema_trajectories(beta, mu, sigma, steps, runs, seed, correlation=correlation)
    ks = np.arange(1, steps + 1)
    closed = sigma ** 2 * (1 - beta) / (1 + beta) * (1 - beta ** (2 * ks))
    centred = (m[1:] - m[1:].mean(axis=1, keepdims=True)) ** 2 * runs / (runs - 1)
    est = estimate(centred, axis=1)
    return Evidence(
        holds=all(e.agrees(c) for e, c in zip(est, closed)),
        measured={"Var(m^k) (Monte Carlo)": [e.mean for e in est],
                  "standard error": [e.stderr for e in est]},
        expected={"σ²(1−β)/(1+β)(1−β^{2k})": closed.tolist()},
        tolerance=4.0,
        explanation=(
            "m^k depends only on g^0..g^{k−1}, so it is independent of g^k and "
            "Var m^{k+1} = β² Var m^k + (1 − β)² σ²; with Var m^0 = 0 the geometric sum gives "
            "σ²(1 − β)/(1 + β)·(1 − β^{2k}). Checked for k = 1..40 within 4 standard errors."))


@claim("ryu24.q1c", "As k → ∞ the EMA's mean tends to μ and its variance to σ²(1 − β)/(1 + β)")
def ema_limits(beta: float = 0.9, mu: float = 1.5, sigma: float = 2.0, steps: int = 400,
               runs: int = 20000, seed: int = 2) -> Evidence:
    m = _ema_trajectories(beta, mu, sigma, steps, runs, seed)[-1]
    mean = estimate(m)
    var = estimate((m - m.mean()) ** 2 * runs / (runs - 1))
    limit_mean, limit_var = mu, sigma ** 2 * (1 - beta) / (1 + beta)
    return Evidence(
        holds=mean.agrees(limit_mean) and var.agrees(limit_var),
        measured={"E[m^k] at k=%d" % steps: mean.as_dict(),
                  "Var(m^k) at k=%d" % steps: var.as_dict()},
        expected={"μ": limit_mean, "σ²(1−β)/(1+β)": limit_var},
        tolerance=4.0,
        explanation=(
            "βᵏ → 0 and β²ᵏ → 0 for 0 < β < 1, so (1 − βᵏ)μ → μ and the variance tends to "
            "σ²(1 − β)/(1 + β): smaller β means less bias early but more variance in the limit "
            "(the bias-variance trade-off). Measured at k = 400, where β^k is below 1e-18."))


def _logistic_loss(z: lemmata.Tensor) -> lemmata.Tensor:
    """ℓ(z) = log(1 + e^{−z}) = softplus(−z), stable for any z."""
    return lemmata.softplus(-z)


@claim("ryu24.q2", "KL to the empirical label distribution equals the mean logistic loss "
                   "up to a constant")
def multilabel_kl(n_points: int = 12, n_labels: int = 5, dim: int = 4, label_sign: float = 1.0,
                  seed: int = 3) -> Evidence:
    rng = generator(seed)
    X = lemmata.tensor(rng.standard_normal((n_points, dim)))
    Y = lemmata.tensor(rng.choice([-1.0, 1.0], size=(n_points, n_labels)))
    counts_plus = (Y > 0).double().sum(1)
    P = lemmata.stack([(n_labels - counts_plus) / n_labels, counts_plus / n_labels], dim=1)

    def kl_objective(theta: lemmata.Tensor) -> lemmata.Tensor:
        f = X @ theta
        log_mu = lemmata.stack([-lemmata.softplus(f), -lemmata.softplus(-f)], dim=1)
        safe_log_p = lemmata.where(P > 0, P, 1.0).log()
        return (P * (safe_log_p - log_mu)).sum(1).mean()

    def logistic_objective(theta: lemmata.Tensor) -> lemmata.Tensor:
        f = (X @ theta).unsqueeze(1)
        return _logistic_loss(label_sign * Y * f).mean()

    gaps, grad_errors = [], []
    for _ in range(5):
        theta = lemmata.tensor(rng.standard_normal(dim) * 2, requires_grad=True)
        a, b = kl_objective(theta), logistic_objective(theta)
        ga, = lemmata.autograd.grad(a, theta)
        gb, = lemmata.autograd.grad(b, theta)
        gaps.append(a.item() - b.item())
        grad_errors.append(float((ga - gb).abs().max()))
    entropy = -(P * lemmata.where(P > 0, P, 1.0).log()).sum(1).mean().item()
    holds = max(grad_errors) < 1e-12 and np.ptp(gaps) < 1e-12 and abs(gaps[0] + entropy) < 1e-12
    return Evidence(
        holds=bool(holds),
        measured={"KL − logistic objective at 5 random θ": gaps,
                  "max |∇KL − ∇logistic|": max(grad_errors)},
        expected={"constant difference −H(P) (entropy of the label distributions)": -entropy,
                  "gradient difference": 0.0},
        tolerance=1e-12,
        explanation=(
            "D_KL(P‖μ) = H(P, μ) − H(P); H(P, μ) is linear in P = (1/n)Σⱼ P̂(Yᵢⱼ), and the cross "
            "entropy of a one-hot P̂(Y) against μ(f) is log(1 + e^{−Y f}). So the two objectives "
            "differ by the θ-independent mean entropy −H(P) and have identical gradients."))


def _separable_data(rng: np.random.Generator, n: int, dim: int, flip_label: bool):
    X = rng.standard_normal((n, dim))
    a_true, b_true = rng.standard_normal(dim), 0.3
    margin = X @ a_true + b_true
    keep = np.abs(margin) > 0.2  # a strictly positive margin t
    X, margin = X[keep], margin[keep]
    Y = np.sign(margin)
    if flip_label:  # one flipped label makes the data non-separable
        Y[0] = -Y[0]
    return lemmata.tensor(X), lemmata.tensor(Y), a_true, b_true


def _logistic_objective(X, Y, a, b):
    return _logistic_loss(Y * (X @ a + b)).sum()


@claim("ryu24.q3a", "On separable data the logistic-regression optimal value is 0")
def separable_infimum(n: int = 60, dim: int = 3, flip_label: bool = False,
                      seed: int = 4) -> Evidence:
    rng = generator(seed)
    X, Y, a_true, b_true = _separable_data(rng, n, dim, flip_label)
    scales = [1.0, 10.0, 100.0, 1000.0]
    values = [_logistic_objective(X, Y, lemmata.tensor(c * a_true), c * b_true).item()
              for c in scales]
    decreasing = all(v2 < v1 for v1, v2 in zip(values, values[1:]) if v1 > 0)
    return Evidence(
        holds=bool(decreasing and values[-1] < 1e-12),
        measured={f"objective at C·(a_true, b_true), C = {c:g}": v
                  for c, v in zip(scales, values)},
        expected={"infimum p*": 0.0},
        tolerance=1e-12,
        explanation=(
            "With margin t = minᵢ Yᵢ(a_trueᵀXᵢ + b_true) > 0, the objective along the ray "
            "C·(a_true, b_true) is at most N log(1 + e^{−Ct}) → 0 as C → ∞, and it is ≥ 0, so "
            "p* = 0."))


@claim("ryu24.q3b", "On separable data no (a, b) attains the optimal value 0")
def separable_not_attained(n: int = 60, dim: int = 3, steps: int = 300, lr: float = 0.5,
                           flip_label: bool = False, seed: int = 5) -> Evidence:
    rng = generator(seed)
    X, Y, _, _ = _separable_data(rng, n, dim, flip_label)
    a = lemmata.zeros(dim, dtype=lemmata.float64, requires_grad=True)
    b = lemmata.zeros((), dtype=lemmata.float64, requires_grad=True)
    losses, grad_norms, norms = [], [], []
    for _ in range(steps):  # gradient descent: the loss falls for ever, the iterates diverge
        loss = _logistic_objective(X, Y, a, b)
        ga, gb = lemmata.autograd.grad(loss, [a, b])
        with lemmata.no_grad():
            a -= lr * ga
            b -= lr * gb
        losses.append(loss.item())
        grad_norms.append(float((ga.square().sum() + gb.square()).sqrt()))
        norms.append(float(a.detach().norm()))
    still_positive = min(losses) > 0
    still_decreasing = losses[-1] < losses[steps // 2] < losses[0]
    second_half = np.asarray(norms[steps // 2:])
    diverging = bool(np.all(np.diff(second_half) > 0) and second_half[-1] - second_half[0] > 1e-2)
    return Evidence(
        holds=bool(still_positive and still_decreasing and diverging and min(grad_norms) > 0),
        measured={"loss after 1, mid, last step": [losses[0], losses[steps // 2], losses[-1]],
                  "‖a‖ at 50 % and 100 % of the run": [norms[steps // 2], norms[-1]],
                  "smallest gradient norm seen": min(grad_norms)},
        expected={"loss": "> 0 and still decreasing", "‖a‖": "growing without bound"},
        explanation=(
            "ℓ(z) = log(1 + e^{−z}) > 0 for every finite z, so the sum is positive at every "
            "(a, b): the infimum 0 is not attained. Gradient descent shows it: the loss keeps "
            "decreasing and ‖a‖ keeps growing (like log t), with no stationary point; with one "
            "label flipped (non-separable data) the same iteration converges instead."))


@claim("ryu24.q4", "log-softmax is idempotent: log μ(log μ(z)) = log μ(z)")
def log_softmax_idempotent(k: int = 7, trials: int = 50, temperature: float = 1.0,
                           seed: int = 6) -> Evidence:
    rng = generator(seed)
    z = lemmata.tensor(rng.standard_normal((trials, k)) * rng.choice([1, 10, 300], (trials, 1)))
    once = lemmata.log_softmax(z, dim=1)
    twice = lemmata.log_softmax(temperature * once, dim=1)
    err = float((twice - once).abs().max())
    return Evidence(
        holds=err < 1e-12,
        measured={"max |log μ(log μ(z)) − log μ(z)|": err},
        expected={"difference": 0.0},
        tolerance=1e-12,
        explanation=(
            "e^{(log μ(z))ᵢ} = μ(z)ᵢ and Σⱼ μ(z)ⱼ = 1, so applying log-softmax again divides by 1: "
            "log μ(log μ(z)) = log μ(z). Checked on 50 vectors with entries up to ~10³ in scale."))


@claim("ryu24.q7", "Weight decay and ℓ² regularisation differ under SGD with momentum")
def weight_decay_vs_l2(lr: float = 0.1, momentum: float = 0.9, steps: int = 3,
                       seed: int = 7) -> Evidence:
    from lemmata import optim
    theta0 = generator(seed).standard_normal(4)
    lambdas = [0.01, 0.1, 0.5, 1.0]

    def run(**options) -> np.ndarray:
        theta = lemmata.tensor(theta0, requires_grad=True)
        optimiser = optim.SGD([theta], lr=lr, momentum=momentum, **options)
        path = [theta0]
        for _ in range(steps):  # the hint's case: the loss is constant, so g^k = 0
            optimiser.zero_grad()
            (theta * 0.0).sum().backward()
            optimiser.step()
            path.append(theta.detach().numpy().copy())
        return np.array(path)

    second_order_gaps, decay_geometric = [], True
    for lam in lambdas:
        mu = lr * lam  # the decay that matches the first ℓ² step: θ¹ = (1 − αλ)θ⁰ = (1 − μ)θ⁰
        decay = run(weight_decay=lam, decoupled_weight_decay=True)
        l2 = run(weight_decay=lam)
        decay_geometric &= bool(np.allclose(decay, (1 - mu) ** np.arange(steps + 1)[:, None]
                                            * theta0, rtol=1e-13, atol=0))
        # ℓ²: θ² = ((1 − αλ)² − αβλ)θ⁰, so θ²/θ⁰ − (θ¹/θ⁰)² = −αβλ ≠ 0: not geometric
        ratio = l2[2] / theta0 - (l2[1] / theta0) ** 2
        second_order_gaps.append(float(ratio.mean()))
    predicted = [-lr * momentum * lam for lam in lambdas]
    matches = np.allclose(second_order_gaps, predicted, rtol=1e-10, atol=1e-15)
    nonzero = all(abs(g) > 1e-12 for g in second_order_gaps)
    return Evidence(
        holds=bool(decay_geometric and matches and nonzero),
        measured={"weight decay: θᵏ = (1 − μ)ᵏθ⁰": decay_geometric,
                  "ℓ²: θ²/θ⁰ − (θ¹/θ⁰)² for λ = " + str(lambdas): second_order_gaps},
        expected={"ℓ²: −αβλ (nonzero, so no γ with θᵏ = γᵏθ⁰)": predicted},
        tolerance=1e-10,
        explanation=(
            "With g^k = 0, weight decay gives v^k = 0 and θ^k = (1 − μ)^k θ⁰. ℓ² regularisation "
            "gives θ¹ = (1 − αλ)θ⁰ and θ² = ((1 − αλ)² − αβλ)θ⁰, so θ^k = γ^kθ⁰ would need "
            "αβλ = 0, impossible for α, β, λ > 0. lemmata.optim.SGD with "
            "decoupled_weight_decay=True (μ = lr·weight_decay) and with the usual coupled "
            "weight_decay reproduce both trajectories; with momentum 0 they coincide."))


@claim("ryu24.q5", "LeCun-style 3×3 padded convolution: E[Y] = 0 and, away from the border, "
                   "E[Y²] = 9 C_in σ_w² + σ_b²")
def lecun_conv_statistics(c_in: int = 4, c_out: int = 2, m: int = 6, sigma_w: float = 0.3,
                          sigma_b: float = 0.5, samples: int = 20000, input_mean: float = 0.0,
                          seed: int = 8) -> Evidence:
    from lemmata.nn import functional as F
    rng = generator(seed)
    # one grouped convolution evaluates `samples` independent (w, b, X) draws at once
    X = lemmata.tensor(input_mean + rng.standard_normal((1, samples * c_in, m, m)))
    w = lemmata.tensor(sigma_w * rng.standard_normal((samples * c_out, c_in, 3, 3)))
    b = lemmata.tensor(sigma_b * rng.standard_normal(samples * c_out))
    Y = F.conv2d(X, w, b, padding=1, groups=samples).reshape(samples, c_out, m, m).numpy()
    means = estimate(Y.reshape(samples, -1), axis=0)
    interior = Y[:, :, 1:m - 1, 1:m - 1].reshape(samples, -1) ** 2
    second = estimate(interior, axis=0)
    closed = 9 * c_in * sigma_w ** 2 + sigma_b ** 2
    corner = estimate(Y[:, :, 0, 0] ** 2, axis=0)
    return Evidence(
        holds=all(e.agrees(0.0) for e in means) and all(e.agrees(closed) for e in second),
        measured={"largest |E[Y_cij]| (all positions)": max(abs(e.mean) for e in means),
                  "E[Y_cij²], interior positions (mean over them)":
                      float(np.mean([e.mean for e in second])),
                  "E[Y²] at a corner (only 4 of the 9 taps see the input)":
                      [e.mean for e in corner]},
        expected={"E[Y_cij]": 0.0, "3² C_in σ_w² + σ_b²": closed,
                  "corner: 4 C_in σ_w² + σ_b²": 4 * c_in * sigma_w ** 2 + sigma_b ** 2},
        tolerance=4.0,
        explanation=(
            "Y_cij = b_c + Σ_{p,q,r} w_cpqr X_{p,i+q−2,j+r−2}: zero-mean w and b independent of X "
            "give E Y = 0, and independence of the w's gives E Y² = σ_w² Σ E X² + σ_b² with "
            "9 C_in unit-variance terms inside the image (fewer at the border, where padding "
            "contributes zeros). Estimated with one grouped lemmata convolution over "
            f"{samples} independent draws."))


@claim("ryu24.q6", "The bias-free ReLU CNN is positively homogeneous: f(αX) = αf(X) for α ≥ 0")
def positive_homogeneity(alphas: tuple = (0.0, 0.5, 2.0, 7.0), bias: bool = False,
                         seed: int = 9) -> Evidence:
    from lemmata.models import Net
    rng = generator(seed)
    model = Net().double().eval()
    if bias:  # a perturbation of the premise: give the first convolution a bias
        first = model.conv_layer1[0]
        first.bias = lemmata.nn.Parameter(lemmata.tensor(rng.standard_normal(first.out_channels)))
    randomise(model, rng, scale=0.05)
    X = lemmata.tensor(rng.standard_normal((2, 3, 32, 32)))
    with lemmata.no_grad():
        base = model(X)
        errors = {f"α = {a:g}": float((model(a * X) - a * base).abs().max() /
                                      base.abs().max()) for a in alphas}
    return Evidence(
        holds=max(errors.values()) < 1e-12,
        measured={"max |f(αX) − αf(X)| / max |f(X)|": errors},
        expected={"relative difference": 0.0}, tolerance=1e-12,
        explanation=(
            "Every layer is positively homogeneous: bias-free convolutions and linear maps are "
            "linear, ReLU(αx) = αReLU(x) and max(αx₁, …) = α max(x₁, …) for α ≥ 0, dropout "
            "multiplies by a fixed mask, and compositions of positively homogeneous maps are "
            "positively homogeneous. Checked on the listing's Net in float64."))
