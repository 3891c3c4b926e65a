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
