"""Claims of the Purdue BME/ECE 695 Midterm I (004_05df64ab86e8d486.txt), questions 2–5.

Keyword arguments default to the document's setting; tests perturb them.
"""
from __future__ import annotations

import itertools

import numpy as np

import lemmata

from .registry import Evidence, claim
from .statistics import generator

# ------------------------------------------------------------------------------------------
# Q3: maximum likelihood and cross-entropy, for a softmax classifier p̂ = f_θ(y) = softmax(Wy + c)
# with M classes, one-hot labels x, and inputs y ~ N(0, I_N) (so p(y) is known exactly).
# ------------------------------------------------------------------------------------------


def _classifier(rng, n_inputs: int, n_classes: int):
    W = lemmata.tensor(rng.standard_normal((n_classes, n_inputs)), requires_grad=True)
    c = lemmata.tensor(rng.standard_normal(n_classes), requires_grad=True)
    return W, c


def _log_p_hat(W, c, y):
    return lemmata.log_softmax(y @ W.T + c, dim=-1)


def _log_p_y(y: lemmata.Tensor) -> lemmata.Tensor:
    """log density of N(0, I) at each row of y."""
    n = y.shape[-1]
    return -0.5 * y.square().sum(-1) - 0.5 * n * np.log(2 * np.pi)


def _one_hot(labels: np.ndarray, n_classes: int) -> lemmata.Tensor:
    return lemmata.tensor(np.eye(n_classes)[labels])


@claim("bouman.q3_1", "For one-hot x, p_θ(x, y) = p(y) Πₘ [f_θ(y)]ₘ^{xₘ}")
def joint_probability(n_inputs: int = 4, n_classes: int = 5, exponent_shift: float = 0.0,
                      seed: int = 40) -> Evidence:
    rng = generator(seed)
    W, c = _classifier(rng, n_inputs, n_classes)
    y = lemmata.tensor(rng.standard_normal(n_inputs))
    p_hat = _log_p_hat(W, c, y).exp().detach()
    p_y = _log_p_y(y).exp().item()
    xs = _one_hot(np.arange(n_classes), n_classes)              # every one-hot label
    product = (p_hat ** (xs + exponent_shift)).prod(dim=1)       # Πₘ p̂ₘ^{xₘ}
    joint = p_y * product
    selects = float((product - p_hat).abs().max())               # = p̂_{m*}
    normalised = abs(joint.sum().item() - p_y) / p_y             # Σₓ p_θ(x, y) = p(y)
    return Evidence(
        holds=selects < 1e-15 and normalised < 1e-14,
        measured={"max |Πₘ p̂ₘ^{xₘ} − p̂_{m*}|": selects,
                  "relative |Σₓ p_θ(x, y) − p(y)|": normalised},
        expected={"both": 0.0},
        tolerance=1e-14,
        explanation=(
            "p_θ(x, y) = p_θ(x | y) p(y), and for a one-hot x with xₘ* = 1 the product "
            "Πₘ p̂ₘ^{xₘ} picks out p̂ₘ* = p_θ(x | y). Checked for every one-hot x: the product "
            "selects the right probability and the joint sums over x to p(y)."))


@claim("bouman.q3_2", "The negative log-likelihood is −log p(y) − Σₘ xₘ log [f_θ(y)]ₘ")
def negative_log_likelihood(n_inputs: int = 4, n_classes: int = 5, drop_prior: bool = False,
                            seed: int = 41) -> Evidence:
    rng = generator(seed)
    W, c = _classifier(rng, n_inputs, n_classes)
    y = lemmata.tensor(rng.standard_normal(n_inputs))
    x = _one_hot(np.array(rng.integers(n_classes)), n_classes)
    p_hat = _log_p_hat(W, c, y).exp()
    direct = -(_log_p_y(y).exp() * (p_hat ** x).prod()).log()   # −log p_θ(x, y)
    formula = -(x * _log_p_hat(W, c, y)).sum() - (0 if drop_prior else _log_p_y(y))
    err = abs(direct.item() - formula.item())
    return Evidence(
        holds=err < 1e-12,
        measured={"−log p_θ(x, y)": direct.item(), "formula": formula.item()},
        expected={"difference": 0.0}, tolerance=1e-12,
        explanation="Take −log of q3.1: the product becomes the sum −Σₘ xₘ log p̂ₘ.")


def _samples(rng, n_inputs: int, n_classes: int, K: int):
    y = lemmata.tensor(rng.standard_normal((K, n_inputs)))
    labels = rng.integers(n_classes, size=K)
    return y, labels, _one_hot(labels, n_classes)


@claim("bouman.q3_3", "K independent samples: p_θ(x, y) = Πₖ p(yₖ) Πₘ [f_θ(yₖ)]ₘ^{x_{k,m}}")
def joint_probability_independent(n_inputs: int = 3, n_classes: int = 3, K: int = 3,
                                  correlate: bool = False, seed: int = 42) -> Evidence:
    rng = generator(seed)
    W, c = _classifier(rng, n_inputs, n_classes)
    y, _, _ = _samples(rng, n_inputs, n_classes, K)
    p_hat = _log_p_hat(W, c, y).exp().detach().numpy()           # (K, M)
    p_y = _log_p_y(y).exp().detach().numpy()
    # the product formula, evaluated for every labelling (x_0, ..., x_{K−1})
    total, marginal_err = 0.0, 0.0
    table = {}
    for labelling in itertools.product(range(n_classes), repeat=K):
        value = np.prod(p_y) * np.prod([p_hat[k, m] for k, m in enumerate(labelling)])
        if correlate:  # a non-product law: weight labellings whose labels all agree
            value *= 2.0 if len(set(labelling)) == 1 else 1.0
        table[labelling] = value
        total += value
    # a valid joint law sums to Πₖ p(yₖ), and each sample's marginal is p(yₖ) p̂(yₖ)
    for k in range(K):
        for m in range(n_classes):
            marginal = sum(v for lab, v in table.items() if lab[k] == m)
            expected = np.prod(p_y) * p_hat[k, m]
            marginal_err = max(marginal_err, abs(marginal - expected) / expected)
    norm_err = abs(total - np.prod(p_y)) / np.prod(p_y)
    return Evidence(
        holds=norm_err < 1e-12 and marginal_err < 1e-12,
        measured={"relative error of Σ over all labellings": norm_err,
                  "max relative error of per-sample marginals": marginal_err},
        expected={"both": 0.0}, tolerance=1e-12,
        explanation=(
            "Independence means the joint law factorises: p_θ(x, y) = Πₖ p_θ(xₖ, yₖ), each factor "
            "from q3.1. Enumerating all M^K labellings shows the product is a proper joint law "
            "whose marginals are the single-sample laws."))


@claim("bouman.q3_4", "The K-sample negative log-likelihood is −Σₖ log p(yₖ) − Σₖ Σₘ x_{k,m} "
                      "log [f_θ(yₖ)]ₘ")
def negative_log_likelihood_independent(n_inputs: int = 4, n_classes: int = 6, K: int = 40,
                                        drop_sample: bool = False, seed: int = 43) -> Evidence:
    rng = generator(seed)
    W, c = _classifier(rng, n_inputs, n_classes)
    y, _, x = _samples(rng, n_inputs, n_classes, K)
    log_p_hat = _log_p_hat(W, c, y)
    per_sample = (_log_p_y(y).exp() * (log_p_hat.exp() ** x).prod(1))   # p_θ(xₖ, yₖ)
    direct = -per_sample.prod().log()
    terms = -_log_p_y(y) - (x * log_p_hat).sum(1)
    formula = terms[1:].sum() if drop_sample else terms.sum()
    err = abs(direct.item() - formula.item()) / abs(direct.item())
    return Evidence(
        holds=err < 1e-12,
        measured={"−log Πₖ p_θ(xₖ, yₖ)": direct.item(), "formula": formula.item()},
        expected={"relative difference": 0.0}, tolerance=1e-12,
        explanation="−log of a product is the sum of −log of its factors (q3.2 per sample).")


@claim("bouman.q3_5", "The MLE minimises the cross-entropy loss")
def mle_is_cross_entropy(n_inputs: int = 4, n_classes: int = 3, K: int = 200,
                         label_smoothing: float = 0.0, seed: int = 44) -> Evidence:
    rng = generator(seed)
    W, c = _classifier(rng, n_inputs, n_classes)
    y, labels, x = _samples(rng, n_inputs, n_classes, K)
    log_p_hat = _log_p_hat(W, c, y)
    nll = -_log_p_y(y).sum() - (x * log_p_hat).sum()
    target = x * (1 - label_smoothing) + label_smoothing / n_classes
    cross_entropy = -(target * log_p_hat).sum()
    g_nll = lemmata.autograd.grad(nll, [W, c], retain_graph=True)  # the graphs share log p̂
    g_ce = lemmata.autograd.grad(cross_entropy, [W, c])
    grad_err = max(float((a - b).abs().max()) for a, b in zip(g_nll, g_ce))
    constant = (nll - cross_entropy).item()
    prior = -_log_p_y(y).sum().item()
    return Evidence(
        holds=grad_err < 1e-10 and abs(constant - prior) < 1e-9 * abs(prior),
        measured={"NLL − cross-entropy": constant, "max |∇NLL − ∇CE|": grad_err},
        expected={"NLL − cross-entropy (θ-independent)": prior, "gradient difference": 0.0},
        tolerance=1e-10,
        explanation=(
            "By q3.4 the NLL is the cross-entropy Σₖ Σₘ −x_{k,m} log p̂ₘ(yₖ) plus −Σₖ log p(yₖ), "
            "which does not depend on θ: both have the same gradient everywhere, hence the same "
            "minimisers — the MLE is the minimiser of the cross-entropy loss."))


@claim("bouman.q3_6", "MLE: consistent with plenty of data, overfits with little")
def mle_data_regimes(n_inputs: int = 10, small: int = 12, large: int = 4000, steps: int = 300,
                     seed: int = 45) -> Evidence:
    rng = generator(seed)
    W_true = rng.standard_normal((2, n_inputs))

    def draw(K):
        y = rng.standard_normal((K, n_inputs))
        logits = y @ W_true.T
        probs = np.exp(logits - logits.max(1, keepdims=True))
        probs /= probs.sum(1, keepdims=True)
        labels = (rng.random(K) < probs[:, 1]).astype(int)
        return lemmata.tensor(y), labels

    y_test, labels_test = draw(20000)

    def fit(K):
        y, labels = draw(K)
        W = lemmata.zeros((2, n_inputs), dtype=lemmata.float64, requires_grad=True)
        pick = lemmata.tensor(labels).reshape(-1, 1)
        for _ in range(steps):  # gradient descent on the mean NLL (the MLE's objective)
            nll = -lemmata.log_softmax(y @ W.T, dim=1).gather(1, pick).mean()
            g, = lemmata.autograd.grad(nll, W)
            with lemmata.no_grad():
                W -= 2.0 * g
        test_pick = lemmata.tensor(labels_test).reshape(-1, 1)
        with lemmata.no_grad():
            train = -lemmata.log_softmax(y @ W.T, dim=1).gather(1, pick).mean().item()
            test = -lemmata.log_softmax(y_test @ W.T, dim=1).gather(1, test_pick).mean().item()
        # the logits' difference identifies the model: compare it with the truth
        w = (W[1] - W[0]).detach().numpy()
        error = float(np.linalg.norm(w - (W_true[1] - W_true[0])))
        return train, test, error

    small_fit, large_fit = fit(small), fit(large)
    gap_small, gap_large = small_fit[1] - small_fit[0], large_fit[1] - large_fit[0]
    return Evidence(
        holds=gap_small > 10 * abs(gap_large) and large_fit[2] < small_fit[2],
        measured={f"K = {small}: train NLL, test NLL, ‖θ − θ_true‖": list(small_fit),
                  f"K = {large}: train NLL, test NLL, ‖θ − θ_true‖": list(large_fit)},
        expected={"little data": "test NLL ≫ train NLL (overfitting)",
                  "plenty of data": "test ≈ train, θ close to the truth"},
        explanation=(
            "Advantage: with plenty of data the MLE is consistent (and asymptotically efficient) "
            "and needs no prior. Disadvantage: with little data it overfits — it fits the training "
            "labels (train NLL small) while the test NLL is large — and it cannot use prior "
            "knowledge. Measured by fitting the same softmax model to 12 and to 4000 samples."))


# ------------------------------------------------------------------------------------------
# Q2: f_w(y) = w ∗ y (2-D true convolution, 'valid') and g_w(y) = f_w(f_w(y))
# ------------------------------------------------------------------------------------------


def _convolve(w: lemmata.Tensor, y: lemmata.Tensor, layers: int) -> lemmata.Tensor:
    """f_w applied ``layers`` times to the (N, N) image y, as a true 'valid' convolution."""
    from lemmata.ops import true_conv
    out = y.reshape(1, 1, *y.shape)
    for _ in range(layers):
        out = true_conv(out, w.reshape(1, 1, *w.shape))
    return out.reshape(out.shape[2:])


def _q2_problem(seed: int, n: int = 7, p: int = 3):
    rng = generator(seed)
    y = lemmata.tensor(rng.standard_normal((n, n)))
    return rng, y, p


def _loss(w, x, y, layers):
    return (x - _convolve(w, y, layers)).square().sum()


@claim("bouman.q2_1", "f_w(y) = w ∗ y is linear in w")
def conv_linear_in_kernel(layers: int = 1, seed: int = 50) -> Evidence:
    rng, y, p = _q2_problem(seed)
    w1, w2 = (lemmata.tensor(rng.standard_normal((p, p))) for _ in range(2))
    a, b = 1.7, -0.6
    defect = float((_convolve(a * w1 + b * w2, y, layers)
                    - (a * _convolve(w1, y, layers) + b * _convolve(w2, y, layers))).abs().max())
    return Evidence(
        holds=defect < 1e-12,
        measured={"max |f_{a w₁ + b w₂}(y) − a f_{w₁}(y) − b f_{w₂}(y)|": defect},
        expected={"difference": 0.0}, tolerance=1e-12,
        explanation=("(aw₁ + bw₂) ∗ y = a(w₁ ∗ y) + b(w₂ ∗ y): each output is Σ_k w_k y_{j−k}, "
                     "linear in w. Checked with lemmata's true convolution."))


@claim("bouman.q2_2", "loss_f(w) = ‖x − w ∗ y‖² is convex in w")
def conv_loss_convex(layers: int = 1, seed: int = 51) -> Evidence:
    from lemmata import func
    rng, y, p = _q2_problem(seed)
    x = lemmata.tensor(rng.standard_normal((y.shape[0] - layers * (p - 1),) * 2))
    points = [lemmata.zeros((p, p), dtype=lemmata.float64)] + [
        lemmata.tensor(rng.standard_normal((p, p))) for _ in range(3)]
    smallest = []
    for w in points:
        hess = func.hessian(lambda v: _loss(v.reshape(p, p), x, y, layers), w.flatten())
        smallest.append(float(np.linalg.eigvalsh(hess.numpy()).min()))
    return Evidence(
        holds=min(smallest) > -1e-9,
        measured={"smallest Hessian eigenvalue at w = 0 and 3 random w": smallest},
        expected={"smallest eigenvalue": "≥ 0 everywhere (positive semidefinite)"},
        tolerance=1e-9,
        explanation=("f_w(y) = Bw is linear in w, so loss_f(w) = ‖x − Bw‖² is a convex quadratic "
                     "with constant Hessian 2BᵀB ⪰ 0; the Hessian (lemmata.func.hessian) is "
                     "positive semidefinite at every point tried."))


def _gradient_descent(w0, x, y, layers, steps, lr):
    w = w0.detach().clone().requires_grad_()
    for _ in range(steps):
        g, = lemmata.autograd.grad(_loss(w, x, y, layers), w)
        with lemmata.no_grad():
            w -= lr * g
    return w.detach(), _loss(w.detach(), x, y, layers).item()


@claim("bouman.q2_3", "Gradient descent on loss_f reaches the global minimum")
def conv_gd_global(lr_scale: float = 0.5, steps: int = 2000, seed: int = 52) -> Evidence:
    from lemmata import func
    rng, y, p = _q2_problem(seed)
    x = lemmata.tensor(rng.standard_normal((y.shape[0] - (p - 1),) * 2))
    # the global minimum of the least-squares problem ‖x − Bw‖², B = ∂f/∂w (constant)
    B = func.jacobian(lambda v: _convolve(v.reshape(p, p), y, 1).flatten(),
                      lemmata.zeros(p * p, dtype=lemmata.float64)).numpy()
    w_star, *_ = np.linalg.lstsq(B, x.numpy().ravel(), rcond=None)
    best = float(np.sum((x.numpy().ravel() - B @ w_star) ** 2))
    # the gradient is 2Bᵀ(Bw − x), Lipschitz with L = 2σ_max(B)²: GD converges for lr < 2/L
    lr = lr_scale / np.linalg.norm(B, 2) ** 2
    finals = [_gradient_descent(lemmata.tensor(rng.standard_normal((p, p))), x, y, 1, steps,
                                lr)[1] for _ in range(2)]
    return Evidence(
        holds=all(abs(v - best) <= 1e-8 * max(1.0, best) for v in finals),
        measured={f"loss after {steps} GD steps from two random starts": finals},
        expected={"global minimum (least squares)": best}, tolerance=1e-8,
        explanation=("loss_f is a convex quadratic (q2.2), so every stationary point is a global "
                     "minimum, and GD with a step below 2/L converges to one: from two random "
                     "starts it reaches the least-squares optimum computed by a direct solve."))


@claim("bouman.q2_4", "g_w(y) = w ∗ (w ∗ y) is not linear in w")
def double_conv_not_linear(layers: int = 2, seed: int = 53) -> Evidence:
    rng, y, p = _q2_problem(seed)
    delta = lemmata.zeros((p, p), dtype=lemmata.float64)
    delta[0, 0] = 1.0  # w = w₀δ: the document's counterexample
    w0 = 1.3
    g1, g2 = _convolve(w0 * delta, y, layers), _convolve(2 * w0 * delta, y, layers)
    ratio = float((g2.abs().sum() / g1.abs().sum()))
    shift = layers * (p - 1)  # a 'valid' true convolution with δ at 0 crops the first p−1 rows
    crop = y[shift:, shift:]
    square_law = float((g1 - w0 ** layers * crop).abs().max())
    return Evidence(
        holds=abs(ratio - 2.0) > 1e-6 and square_law < 1e-12,
        measured={"g_{2w}/g_w for w = w₀δ": ratio, "max |g_w(y) − w₀² y| (cropped)": square_law},
        expected={"linear would give": 2.0, "document": "g_w(y) = w₀² y, so the ratio is 4"},
        explanation=("With w = w₀δ, w ∗ y = w₀y, so g_w(y) = w₀²y: doubling w quadruples g, "
                     "which no linear map does."))


@claim("bouman.q2_5", "loss_g(w) = ‖x − w ∗ (w ∗ y)‖² is not convex in w")
def double_conv_loss_not_convex(layers: int = 2) -> Evidence:
    x = lemmata.ones((1, 1), dtype=lemmata.float64)
    y = lemmata.ones((1, 1), dtype=lemmata.float64)
    loss = lambda w0: _loss(lemmata.tensor([[w0]]), x, y, layers).item()
    ends, middle = (loss(-1.0), loss(1.0)), loss(0.0)
    return Evidence(
        holds=middle > 0.5 * (ends[0] + ends[1]) + 1e-12,
        measured={"loss_g(−1), loss_g(1)": list(ends), "loss_g(0) (the midpoint)": middle},
        expected={"convexity would need": "loss_g(0) ≤ ½(loss_g(−1) + loss_g(1)) = 0"},
        explanation=("With x = y = 1 and w = w₀δ, loss_g = (1 − w₀²)², zero at w₀ = ±1 and 1 at "
                     "the midpoint 0 — above the chord, so not convex."))


@claim("bouman.q2_6", "Gradient descent on loss_g need not reach a global minimum")
def double_conv_gd_stuck(layers: int = 2, steps: int = 200, lr: float = 0.05) -> Evidence:
    x = lemmata.ones((1, 1), dtype=lemmata.float64)
    y = lemmata.ones((1, 1), dtype=lemmata.float64)
    from_zero = _gradient_descent(lemmata.zeros((1, 1), dtype=lemmata.float64), x, y, layers,
                                  steps, lr)
    from_half = _gradient_descent(lemmata.full((1, 1), 0.5, dtype=lemmata.float64), x, y, layers,
                                  steps, lr)
    return Evidence(
        holds=from_zero[1] > 0.5 and from_half[1] < 1e-10,
        measured={"GD from w₀ = 0: final w₀, loss": [from_zero[0].item(), from_zero[1]],
                  "GD from w₀ = 0.5: final w₀, loss": [from_half[0].item(), from_half[1]]},
        expected={"global minimum": 0.0},
        explanation=("loss_g = (1 − w₀²)² has ∇ = −4w₀(1 − w₀²), which vanishes at w₀ = 0 (a local "
                     "maximum): GD started there never moves and stays at loss 1, while from 0.5 "
                     "it reaches the global minimum 0. Without convexity GD's limit depends on "
                     "the start."))


# ------------------------------------------------------------------------------------------
# Q4: the two-layer CNN's shapes
# ------------------------------------------------------------------------------------------


@claim("bouman.q4", "Two-layer CNN, colour in, 8 channels, grey out: w 3×3×3×8, b 8; w 3×3×8×1, b 1")
def two_layer_cnn_shapes(hidden_channels: int = 8) -> Evidence:
    from lemmata.models import TwoLayerCNN
    model = TwoLayerCNN(hidden_channels=hidden_channels)
    document = {"conv1.weight": (3, 3, 3, 8), "conv1.bias": (8,),
                "conv2.weight": (3, 3, 8, 1), "conv2.bias": (1,)}
    # the document writes (k, k, C_in, C_out); lemmata and PyTorch store (C_out, C_in, k, k)
    as_document = {name: (tuple(p.shape[2:]) + (p.shape[1], p.shape[0]) if p.ndim == 4
                          else tuple(p.shape)) for name, p in model.named_parameters()}
    image = lemmata.rand(2, 3, 16, 16)
    out_shape = tuple(model(image).shape)
    return Evidence(
        holds=as_document == document and out_shape == (2, 1, 16, 16),
        measured={"parameter shapes as (k, k, C_in, C_out)": as_document,
                  "output shape for a (2, 3, 16, 16) colour batch": out_shape},
        expected={"document": document, "output": (2, 1, 16, 16)},
        explanation=("Layer 1 maps 3 colour channels to 8 with 3×3 kernels: 8 kernels of 3×3×3 "
                     "and 8 offsets; layer 2 maps 8 channels to 1 grey channel: one 3×3×8 "
                     "kernel and one offset."))


# ------------------------------------------------------------------------------------------
# Q5: adjoint gradients of a 1-D true convolution with 'valid' boundary, w ∈ ℝ³, y ∈ ℝ⁵
# ------------------------------------------------------------------------------------------


def _q5_problem(seed: int = 54):
    rng = generator(seed)
    w = rng.standard_normal(3)
    y = rng.standard_normal(5)
    x = rng.standard_normal(3)
    return w, y, x


def _f(w: lemmata.Tensor, y: lemmata.Tensor, true_convolution: bool = True) -> lemmata.Tensor:
    from lemmata.ops import conv1d, true_conv
    op = true_conv if true_convolution else conv1d
    return op(y.reshape(1, 1, -1), w.reshape(1, 1, -1)).reshape(-1)


def _loss_gradient(w: np.ndarray, y: np.ndarray, x: np.ndarray) -> lemmata.Tensor:
    """∇_w ‖x − w ∗ y‖² by lemmata's reverse mode."""
    w_t = lemmata.tensor(w, requires_grad=True)
    loss = (lemmata.tensor(x) - _f(w_t, lemmata.tensor(y))).square().sum()
    return lemmata.autograd.grad(loss, w_t)[0]


def _document_A(w: np.ndarray) -> np.ndarray:
    """A_{i,j} = w_{2+i−j} (zero outside 0..2), the document's Q5.1 matrix."""
    A = np.zeros((3, 5))
    for i in range(3):
        for j in range(5):
            if 0 <= 2 + i - j <= 2:
                A[i, j] = w[2 + i - j]
    return A


def _document_B(y: np.ndarray) -> np.ndarray:
    """B_{i,j} = y_{2+i−j}, the document's Q5.4 matrix."""
    return np.array([[y[2 + i - j] for j in range(3)] for i in range(3)])


@claim("bouman.q5_1", "The matrix of y ↦ w ∗ y ('valid', true convolution) is A_{i,j} = w_{2+i−j}")
def adjoint_matrix_A(true_convolution: bool = True, seed: int = 54) -> Evidence:
    from lemmata.linalg import conv_matrix
    w, _, _ = _q5_problem(seed)
    A = conv_matrix(lemmata.tensor(w).reshape(1, 1, 3), (1, 5),
                    true_convolution=true_convolution).numpy()
    err = float(np.abs(A - _document_A(w)).max())
    return Evidence(
        holds=err == 0.0, measured={"lemmata.linalg.conv_matrix": A.tolist()},
        expected={"A_{i,j} = w_{2+i−j}": _document_A(w).tolist()}, tolerance=0.0,
        explanation=("x̂ᵢ = Σⱼ w_{2+i−j} yⱼ: the 'valid' outputs start where the whole kernel "
                     "overlaps y, hence the offset 2 = 3 − 1. conv_matrix builds A by convolving "
                     "the 5 basis vectors."))


@claim("bouman.q5_2", "The adjoint gradient is g_y = Aᵀε")
def adjoint_gradient_y(true_convolution: bool = True, seed: int = 54) -> Evidence:
    w, y, _ = _q5_problem(seed)
    eps = generator(seed + 1).standard_normal(3)
    y_t = lemmata.tensor(y, requires_grad=True)
    g_vjp, = lemmata.autograd.grad(_f(lemmata.tensor(w), y_t, true_convolution),
                                   y_t, lemmata.tensor(eps))
    formula = _document_A(w).T @ eps
    err = float(np.abs(g_vjp.numpy() - formula).max())
    return Evidence(
        holds=err < 1e-14, measured={"reverse mode (vjp)": g_vjp.numpy().tolist()},
        expected={"Aᵀε": formula.tolist()}, tolerance=1e-14,
        explanation=("[∇_y f]ᵀε = Aᵀε, a 5×3 matrix (Aᵀ) times ε ∈ ℝ³ — exactly what reverse mode "
                     "computes as the vector-Jacobian product."))


@claim("bouman.q5_3", "g_y is the convolution of the zero-padded ε with the reversed kernel, "
                      "'same' boundary")
def adjoint_as_convolution(reverse_kernel: bool = True, seed: int = 54) -> Evidence:
    from lemmata.ops import true_conv
    w, _, _ = _q5_problem(seed)
    eps = generator(seed + 1).standard_normal(3)
    kernel = w[::-1].copy() if reverse_kernel else w
    eps_padded = lemmata.tensor(np.pad(eps, 1))  # [0, ε₀, ε₁, ε₂, 0]
    g = true_conv(eps_padded.reshape(1, 1, 5), lemmata.tensor(kernel).reshape(1, 1, 3),
                  padding="same").reshape(-1)
    formula = _document_A(w).T @ eps
    err = float(np.abs(g.numpy() - formula).max())
    return Evidence(
        holds=err < 1e-14, measured={"w₋ₖ ∗ ε (padded, 'same')": g.numpy().tolist()},
        expected={"Aᵀε": formula.tolist()}, tolerance=1e-14,
        explanation=("Aᵀ is banded with the kernel reversed, so [g_y]_k = w_{−k} ∗ ε_k: a true "
                     "convolution with the reversed kernel w₋ₖ of ε padded with zeros to length 5, "
                     "under a 'same' boundary."))


@claim("bouman.q5_4", "The matrix of w ↦ w ∗ y is B_{i,j} = y_{2+i−j}")
def adjoint_matrix_B(true_convolution: bool = True, seed: int = 54) -> Evidence:
    from lemmata import func
    w, y, _ = _q5_problem(seed)
    B = func.jacobian(lambda v: _f(v, lemmata.tensor(y), true_convolution),
                      lemmata.tensor(w)).numpy()
    err = float(np.abs(B - _document_B(y)).max())
    return Evidence(
        holds=err == 0.0, measured={"∂f/∂w (lemmata.func.jacobian)": B.tolist()},
        expected={"B_{i,j} = y_{2+i−j}": _document_B(y).tolist()}, tolerance=0.0,
        explanation=("True convolution commutes, x̂ = y ∗ w, so x̂ᵢ = Σⱼ y_{2+i−j} wⱼ; f is linear "
                     "in w and its Jacobian is this constant B."))


@claim("bouman.q5_5", "∇_w loss = Cε with ε = −2(x − f_w(y)) and C = Bᵀ")
def adjoint_gradient_w(residual_factor: float = -2.0, seed: int = 54) -> Evidence:
    w, y, x = _q5_problem(seed)
    g = _loss_gradient(w, y, x)
    f = _document_A(w) @ y
    eps = residual_factor * (x - f)
    formula = _document_B(y).T @ eps
    err = float(np.abs(g.numpy() - formula).max())
    return Evidence(
        holds=err < 1e-13, measured={"∇_w loss (reverse mode)": g.numpy().tolist()},
        expected={"Bᵀε, ε = −2(x − f)": formula.tolist()}, tolerance=1e-13,
        explanation=("loss = ‖x − Bw‖², so ∇_w loss = −2Bᵀ(x − Bw) = Bᵀε with ε = −2(x − f_w(y)): "
                     "C = Bᵀ."))


@claim("bouman.q5_6", "g_w is the 'valid' convolution of the reversed y with ε")
def adjoint_gradient_w_as_convolution(extra_factor: float = 1.0, seed: int = 54) -> Evidence:
    from lemmata.ops import true_conv
    w, y, x = _q5_problem(seed)
    eps = -2 * (x - _document_A(w) @ y)
    g = true_conv(lemmata.tensor(y[::-1].copy()).reshape(1, 1, 5),
                  lemmata.tensor(eps).reshape(1, 1, 3)).reshape(-1)
    g = extra_factor * g
    reference = _loss_gradient(w, y, x)
    err = float(np.abs(g.numpy() - reference.numpy()).max())
    return Evidence(
        holds=err < 1e-13, measured={"y₋ᵢ ∗ εᵢ ('valid')": g.numpy().tolist()},
        expected={"∇_w loss (reverse mode)": reference.numpy().tolist()}, tolerance=1e-13,
        explanation=("Bᵀ has rows (y₂, y₃, y₄), (y₁, y₂, y₃), (y₀, y₁, y₂): [g_w]ⱼ = Σᵢ y_{2−j+i}εᵢ, "
                     "the true convolution of the reversed y with ε under a 'valid' boundary. "
                     "The document writes g_w = −2Bᵀε after already putting −2 into ε; the factor "
                     "belongs in ε only (applying it twice — extra_factor = −2 — fails)."))
