"""Double descent with random ReLU features, and its disappearance when λ is tuned (seed hw6.p5).

The setting of the homework: inputs Xᵢ ~ N(0, I_d) with d = 35, a unit-norm β* (a uniformly random
direction), training labels Yᵢ = Xᵢᵀβ* + εᵢ with εᵢ ~ N(0, σ²), σ = 0.5 (noise on the training
labels only; validation and test labels are the clean Xᵀβ*), N_train = 300, N_validation = 60,
N_test = 30. The model is a 2-layer ReLU network f(x) = θᵀ ReLU(Wx) with W ∈ ℝ^{p×d},
Wᵢⱼ ~ N(0, 1/p), fixed; only θ ∈ ℝᵖ is trained, by solving the ridge problem exactly:

    minimise over θ   ½‖X̃θ − Y‖² + (λ/2)‖θ‖²,     X̃ = ReLU(X Wᵀ) ∈ ℝ^{N_train × p}.

Each draw uses one Gaussian matrix G ∈ ℝ^{p_max × d} for every width: W = G[:p]/√p, so at each
width Wᵢⱼ ~ N(0, 1/p) exactly as the homework asks, and neighbouring widths share their first
features (common random numbers: the curves are smooth with a handful of seeds).

One SVD per width serves every λ.  With the thin SVD X̃ = U S Vᵀ (singular values s₁…s_r), the
normal equations (X̃ᵀX̃ + λI)θ = X̃ᵀY give

    θ_λ = V diag(sᵢ / (sᵢ² + λ)) Uᵀ Y,

so predictions on any inputs Z are (ReLU(Z Wᵀ) V) diag(sᵢ/(sᵢ² + λ)) (UᵀY): a matrix product per
λ grid, with no further factorisation.  The test error is the mean squared error
(1/N_test) Σ (f(xᵢ) − xᵢᵀβ*)².

What it shows.  With λ = 0.01 the test error peaks where the number of features reaches the
number of training points (p ≈ N_train, the interpolation threshold: X̃ is square, its smallest
singular values approach 0 and sᵢ/(sᵢ² + λ) ≈ 1/sᵢ amplifies the label noise), then descends again.
Choosing λ per width from the log grid [10⁻², 10²] by the validation error removes the peak: the
tuned curve is (nearly) monotone in p.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import lemmata

from .base import Curve, Result, Row, fmt, mean_and_std, require

NAME = "double_descent"


@dataclass(frozen=True)
class DoubleDescentConfig:
    """The homework's setting; ``widths`` empty means the default grid (see :func:`width_grid`)."""

    d: int = 35
    sigma: float = 0.5
    n_train: int = 300
    n_val: int = 60
    n_test: int = 30
    p_max: int = 1500
    widths: tuple[int, ...] = ()
    lambdas: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0)   # fixed-λ curves; 0.01 is the document's
    tune_min: float = 1e-2
    tune_max: float = 1e2
    tune_points: int = 41
    seed: int = 0

    def __post_init__(self) -> None:
        for key in ("d", "n_train", "n_val", "n_test", "p_max", "tune_points"):
            value = getattr(self, key)
            require(NAME, key, value, value >= 1, "a positive int")
        require(NAME, "sigma", self.sigma, self.sigma >= 0, "≥ 0")
        require(NAME, "widths", self.widths, all(p >= 1 for p in self.widths),
                "positive ints (or empty for the default grid)")
        require(NAME, "lambdas", self.lambdas, len(self.lambdas) > 0
                and all(lam > 0 for lam in self.lambdas), "a non-empty list of positive floats")
        require(NAME, "tune_min", self.tune_min, 0 < self.tune_min <= self.tune_max,
                f"positive and ≤ tune_max = {self.tune_max}")
        require(NAME, "seed", self.seed, self.seed >= 0, "a non-negative int")

    def width_grid(self) -> np.ndarray:
        return np.array(sorted(set(self.widths)), dtype=np.int64) if self.widths else \
            width_grid(self.n_train, self.p_max)

    def tune_grid(self) -> np.ndarray:
        return np.geomspace(self.tune_min, self.tune_max, self.tune_points)


def width_grid(n_train: int, p_max: int, points: int = 36) -> np.ndarray:
    """Widths from 1 to p_max: ``points`` roughly log-spaced, plus a step of about N_train/60
    within ±20 % of N_train (where the peak is), N_train itself, and p_max."""
    coarse = np.geomspace(1, p_max, points)
    step = max(1, round(n_train / 60))
    lo, hi = max(1, int(0.8 * n_train)), int(1.2 * n_train)
    dense = np.arange(lo, hi + 1, step)
    grid = np.concatenate([coarse, dense, [n_train, p_max, 1]])
    grid = np.unique(np.round(grid).astype(np.int64))
    return grid[(grid >= 1) & (grid <= p_max)]


def _ridge_errors(features: lemmata.Tensor, Y: lemmata.Tensor,
                  evaluation: list[tuple[lemmata.Tensor, lemmata.Tensor]],
                  lambdas: np.ndarray) -> list[np.ndarray]:
    """Mean squared errors of θ_λ for every λ at once, from one SVD of the training features.

    Returns one array of shape (len(lambdas),) per (features, targets) pair in ``evaluation``.
    """
    U, s, Vt = np.linalg.svd(features.numpy(), full_matrices=False)  # the one SVD of this width
    U, s, V = lemmata.tensor(U), lemmata.tensor(s), lemmata.tensor(Vt.T)
    lam = lemmata.tensor(lambdas).unsqueeze(1)                   # (Λ, 1)
    shrink = s / (s.square() + lam)                              # (Λ, r): sᵢ/(sᵢ² + λ)
    coefficients = shrink * (U.T @ Y)                            # (Λ, r): rows are Vᵀθ_λ
    errors = []
    for Z, target in evaluation:
        predictions = (Z @ V) @ coefficients.T                   # (N, Λ)
        errors.append((predictions - target.unsqueeze(1)).square().mean(dim=0).numpy())
    return errors


def trial(config: DoubleDescentConfig, rng: np.random.Generator) -> dict[str, Any]:
    """One draw of β*, the data and the feature maps; errors for every width and λ."""
    d = config.d
    beta = rng.standard_normal(d)
    beta = lemmata.tensor(beta / np.linalg.norm(beta))               # unit-norm β*
    X_train, X_val, X_test = (lemmata.tensor(rng.standard_normal((n, d)))
                              for n in (config.n_train, config.n_val, config.n_test))
    Y_train = X_train @ beta + config.sigma * lemmata.tensor(rng.standard_normal(config.n_train))
    Y_val, Y_test = X_val @ beta, X_test @ beta                      # clean labels
    fixed, tune = np.asarray(config.lambdas, dtype=np.float64), config.tune_grid()
    lambdas = np.concatenate([fixed, tune])
    widths = config.width_grid()
    G = lemmata.tensor(rng.standard_normal((int(widths.max()), d)))  # rows shared by all widths
    test_fixed = np.empty((len(fixed), len(widths)))
    train_fixed = np.empty((len(fixed), len(widths)))
    test_tuned, lam_tuned = np.empty(len(widths)), np.empty(len(widths))
    for j, p in enumerate(widths):
        W = G[:int(p)] / float(np.sqrt(p))                           # Wᵢⱼ ~ N(0, 1/p)
        F_train, F_val, F_test = ((X @ W.T).relu() for X in (X_train, X_val, X_test))
        train, val, test = _ridge_errors(F_train, Y_train, [(F_train, Y_train), (F_val, Y_val),
                                                            (F_test, Y_test)], lambdas)
        test_fixed[:, j], train_fixed[:, j] = test[:len(fixed)], train[:len(fixed)]
        best = len(fixed) + int(np.argmin(val[len(fixed):]))         # tuned on validation only
        test_tuned[j], lam_tuned[j] = test[best], lambdas[best]
    return {"test_fixed": test_fixed, "train_fixed": train_fixed, "test_tuned": test_tuned,
            "lambda_tuned": lam_tuned}


@dataclass
class DoubleDescentResult(Result):
    """Test error vs width p: mean and std over seeds, per fixed λ and for the tuned λ."""

    widths: np.ndarray = None
    lambdas: np.ndarray = None
    test_fixed_mean: np.ndarray = None     # (len(lambdas), len(widths))
    test_fixed_std: np.ndarray = None
    train_fixed_mean: np.ndarray = None
    test_tuned_mean: np.ndarray = None     # (len(widths),)
    test_tuned_std: np.ndarray = None
    lambda_tuned_median: np.ndarray = None
    lambda_tuned_q25: np.ndarray = None
    lambda_tuned_q75: np.ndarray = None

    # -- the facts of the homework, computed from the curves -----------------------------------
    def _curve(self, curve: np.ndarray | int) -> np.ndarray:
        return self.test_fixed_mean[curve] if isinstance(curve, (int, np.integer)) else curve

    def peak(self, curve: np.ndarray | int = 0) -> tuple[int, float]:
        """(p, error) at the maximum of ``curve`` (an array over the widths, or the index of a
        fixed λ) over the window N_train/2 ≤ p ≤ 2·N_train around the interpolation threshold."""
        curve = self._curve(curve)
        n = self.config.n_train
        window = np.flatnonzero((self.widths >= n / 2) & (self.widths <= 2 * n))
        if window.size == 0:
            window = np.arange(len(self.widths))
        j = window[int(np.argmax(curve[window]))]
        return int(self.widths[j]), float(curve[j])

    def bump(self, curve: np.ndarray | int = 0) -> float:
        """The peak near the threshold divided by the curve's minimum over p < N_train/2: well
        above 1 for a double-descent curve, about 1 (or below) for a monotone one."""
        curve = self._curve(curve)
        before = self.widths < self.config.n_train / 2
        if not before.any():
            return float("nan")
        return self.peak(curve)[1] / float(curve[before].min())

    def at(self, curve: np.ndarray, p: int) -> float:
        """The curve's value at the grid width nearest p."""
        return float(curve[int(np.argmin(np.abs(self.widths - p)))])

    def tuned_threshold_excess(self) -> float:
        """(tuned error at p = N_train) / (its running minimum over p ≤ N_train) − 1: a peak at
        the threshold makes this large; a monotone curve makes it 0."""
        n = self.config.n_train
        upto = self.widths <= n
        running_min = float(self.test_tuned_mean[upto].min())
        return self.at(self.test_tuned_mean, n) / running_min - 1.0

    def scalars(self) -> dict[str, float]:
        lam0 = self.lambdas[0]
        p_peak, e_peak = self.peak(self.test_fixed_mean[0])
        return {f"peak width (λ = {lam0:g})": p_peak,
                f"peak test error (λ = {lam0:g})": e_peak,
                f"threshold bump (λ = {lam0:g})": self.bump(self.test_fixed_mean[0]),
                f"test error at p = {self.widths[-1]} (λ = {lam0:g})":
                    float(self.test_fixed_mean[0, -1]),
                "tuned test error at p = N_train": self.at(self.test_tuned_mean,
                                                           self.config.n_train),
                "tuned excess over running min at N_train": self.tuned_threshold_excess(),
                f"tuned test error at p = {self.widths[-1]}": float(self.test_tuned_mean[-1])}

    def rows(self) -> list[Row]:
        n, p_max = self.config.n_train, int(self.widths[-1])
        rows = []
        for i, lam in enumerate(self.lambdas):
            curve = self.test_fixed_mean[i]
            p_peak, e_peak = self.peak(curve)
            rows.append(Row(f"λ = {lam:g}", f"max near threshold: p = {p_peak}, {fmt(e_peak)} "
                            f"(×{self.bump(curve):.2f} the earlier minimum)",
                            f"peak at p ≈ N_train = {n}" if i == 0 else "",
                            f"p = 100: {fmt(self.at(curve, 100))}, "
                            f"p = {p_max}: {fmt(curve[-1])}"))
        excess = self.tuned_threshold_excess()
        rows.append(Row("λ tuned on validation", f"p = {n}: {fmt(self.at(self.test_tuned_mean, n))}"
                        f" ({100 * excess:+.1f} % vs its running minimum)",
                        "no peak", f"p = 100: {fmt(self.at(self.test_tuned_mean, 100))}, "
                        f"p = {p_max}: {fmt(self.test_tuned_mean[-1])} (median λ "
                        f"{fmt(self.lambda_tuned_median[-1])})"))
        return rows

    def curve(self) -> Curve:
        return Curve(self.widths, self.test_tuned_mean, self.test_tuned_std, "width p",
                     "test MSE (tuned λ)", "log", "log", {"N_train": self.config.n_train})

    def plot(self, figure: Any) -> None:
        ax, ax_lam = figure.subplots(1, 2, width_ratios=[2.2, 1])
        p = self.widths
        colours = ["tab:red", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink"]
        for i, lam in enumerate(self.lambdas):
            c = colours[i % len(colours)]
            mean, std = self.test_fixed_mean[i], self.test_fixed_std[i]
            ax.plot(p, mean, color=c, lw=1.4, label=f"λ = {lam:g}")
            ax.fill_between(p, np.maximum(mean - std, mean / 10), mean + std, color=c,
                            alpha=0.08, lw=0)
        mean, std = self.test_tuned_mean, self.test_tuned_std
        ax.plot(p, mean, color="tab:blue", lw=2.4, label="λ tuned on validation")
        ax.fill_between(p, np.maximum(mean - std, mean / 10), mean + std, color="tab:blue",
                        alpha=0.18, lw=0)
        n = self.config.n_train
        ax.axvline(n, color="black", ls="--", lw=1)
        ax.text(n * 1.05, 0.03, f"interpolation threshold\np = N_train = {n}",
                transform=ax.get_xaxis_transform(), va="bottom", fontsize=8)
        ax.set(xscale="log", yscale="log", xlabel="number of random features p",
               ylabel="test mean squared error",
               title=f"Random-feature ridge regression (d = {self.config.d}, σ = "
                     f"{self.config.sigma:g}); mean ± std over {self.seeds} seeds")
        ax.legend(fontsize=9, loc="lower left", title="test error (mean ± std)",
                  title_fontsize=8)
        ax.grid(alpha=0.3, which="both")
        ax_lam.plot(p, self.lambda_tuned_median, color="tab:blue", lw=1.8, label="median")
        ax_lam.fill_between(p, self.lambda_tuned_q25, self.lambda_tuned_q75, color="tab:blue",
                            alpha=0.2, label="25–75 %")
        ax_lam.axvline(n, color="black", ls="--", lw=1)
        ax_lam.set(xscale="log", yscale="log", xlabel="number of random features p",
                   ylabel="validation-tuned λ", ylim=(self.config.tune_min / 1.5,
                                                     self.config.tune_max * 1.5),
                   title="λ chosen per width")
        ax_lam.legend(fontsize=9)
        ax_lam.grid(alpha=0.3, which="both")


def aggregate(config: DoubleDescentConfig, records: list[dict]) -> DoubleDescentResult:
    test_fixed_mean, test_fixed_std = mean_and_std(records, "test_fixed")
    train_fixed_mean, _ = mean_and_std(records, "train_fixed")
    test_tuned_mean, test_tuned_std = mean_and_std(records, "test_tuned")
    lam = np.stack([r["lambda_tuned"] for r in records])
    return DoubleDescentResult(
        experiment=NAME, config=config, seeds=len(records), widths=config.width_grid(),
        lambdas=np.asarray(config.lambdas, dtype=np.float64),
        test_fixed_mean=test_fixed_mean, test_fixed_std=test_fixed_std,
        train_fixed_mean=train_fixed_mean, test_tuned_mean=test_tuned_mean,
        test_tuned_std=test_tuned_std, lambda_tuned_median=np.median(lam, axis=0),
        lambda_tuned_q25=np.quantile(lam, 0.25, axis=0),
        lambda_tuned_q75=np.quantile(lam, 0.75, axis=0))


def double_descent(config: DoubleDescentConfig | None = None,
                   seeds: int | None = None) -> DoubleDescentResult:
    """Run the double-descent experiment (seed hw6.p5) over ``seeds`` independent draws."""
    from . import REGISTRY
    return REGISTRY[NAME].function(config, seeds)
