"""Bias and variance of the exponential moving average m^k (seeds ryu24.q1a, q1b, q1c).

For IID g⁰, g¹, … with mean μ and standard deviation σ, and m^{k+1} = βm^k + (1 − β)g^k, m⁰ = 0:

    m^k = (1 − β) Σ_{i<k} β^{k−1−i} g^i,

so, by linearity and independence (the geometric sums Σ_{i<k} β^i = (1 − β^k)/(1 − β) and
Σ_{i<k} β^{2i} = (1 − β^{2k})/(1 − β²)),

    E[m^k]   = (1 − β^k) μ,                     bias  E[m^k] − μ = −β^k μ          (q1a)
    Var(m^k) = σ² (1 − β)/(1 + β) · (1 − β^{2k})                                    (q1b)

and as k → ∞: E[m^k] → μ, Var(m^k) → σ²(1 − β)/(1 + β)                            (q1c).

Adam's bias correction m̂^k = m^k/(1 − β^k) (k ≥ 1) is unbiased, with
Var(m̂^k) = σ²(1 − β)(1 + β^k)/((1 + β)(1 − β^k)); the mean squared error of m^k as an estimate
of μ is bias² + variance = β^{2k}μ² + σ²(1 − β)(1 − β^{2k})/(1 + β): a small β forgets the zero
start fast (small bias) but averages few gradients (large variance), a large β the opposite.

Measured by Monte Carlo over ``runs`` independent sequences (lemmata tensors, one EMA step per
k for all runs at once), each estimate with its standard error (s/√n for means; batch means for
the sample variance, see :func:`_moments`).  The closed forms hold for any distribution of the
g^k; ``distribution`` picks normal, uniform, exponential or Rademacher draws, all scaled to mean μ
and standard deviation σ.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import lemmata

from .base import Curve, Result, Row, fmt, pooled_estimate, require

NAME = "ema_bias_variance"
DISTRIBUTIONS = ("normal", "uniform", "exponential", "rademacher")
Z = 4.0  # agreement: |measured − closed form| ≤ Z·SE (two-sided false alarm ≈ 6e-5 per value)


@dataclass(frozen=True)
class EMAConfig:
    beta: float = 0.9
    mu: float = 1.5
    sigma: float = 2.0
    steps: int = 60
    runs: int = 20000
    distribution: str = "normal"
    seed: int = 0

    def __post_init__(self) -> None:
        require(NAME, "beta", self.beta, 0 < self.beta < 1, "in (0, 1)")
        require(NAME, "sigma", self.sigma, self.sigma >= 0, "≥ 0")
        require(NAME, "steps", self.steps, self.steps >= 1, "a positive int")
        require(NAME, "runs", self.runs, self.runs >= 2, "an int ≥ 2")
        require(NAME, "distribution", self.distribution, self.distribution in DISTRIBUTIONS,
                f"one of {', '.join(DISTRIBUTIONS)}")
        require(NAME, "seed", self.seed, self.seed >= 0, "a non-negative int")


def draw(config: EMAConfig, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """IID draws with mean μ and standard deviation σ from the configured distribution."""
    if config.distribution == "normal":
        unit = rng.standard_normal(shape)
    elif config.distribution == "uniform":
        unit = rng.uniform(-np.sqrt(3.0), np.sqrt(3.0), shape)        # variance 3/3 = 1
    elif config.distribution == "exponential":
        unit = rng.exponential(1.0, shape) - 1.0                       # mean 0, variance 1
    else:
        unit = rng.choice(np.array([-1.0, 1.0]), size=shape)
    return config.mu + config.sigma * unit


def closed_forms(beta: float, mu: float, sigma: float, steps: int) -> dict[str, np.ndarray]:
    """The closed forms for k = 0..steps (bias-corrected ones NaN at k = 0, where m̂⁰ is 0/0)."""
    k = np.arange(steps + 1, dtype=np.float64)
    bk, b2k = beta ** k, beta ** (2 * k)
    var = sigma ** 2 * (1 - beta) / (1 + beta) * (1 - b2k)
    with np.errstate(divide="ignore", invalid="ignore"):
        var_hat = np.where(k > 0, sigma ** 2 * (1 - beta) * (1 + bk) / ((1 + beta) * (1 - bk)),
                           np.nan)
    return {"mean": (1 - bk) * mu, "bias": -bk * mu, "var": var,
            "mse": (bk * mu) ** 2 + var, "mean_hat": np.where(k > 0, mu, np.nan),
            "var_hat": var_hat, "mse_hat": var_hat,
            "var_limit": np.array(sigma ** 2 * (1 - beta) / (1 + beta))}


BATCHES = 40


def _moments(samples: np.ndarray, mu: float) -> dict[str, np.ndarray]:
    """Per column k: mean, var, E[(x − μ)²] and their standard errors over the rows.

    The SE of a mean is s/√n.  The SE of the sample variance comes from batch means: the rows
    are split into B = min(40, n/10) equal batches, the variance is computed in each, and
    SE = std(batch variances)/√B — valid for any law, including the two-point laws (Rademacher
    at k = 1) for which the delta-method estimate √((μ̂₄ − s⁴)/n) cancels to almost 0.
    """
    n = samples.shape[0]
    mean = samples.mean(axis=0)
    var = samples.var(axis=0, ddof=1)
    batches = max(2, min(BATCHES, n // 10))
    size = n // batches
    batch_var = samples[:batches * size].reshape(batches, size, -1).var(axis=1, ddof=1)
    sq = (samples - mu) ** 2
    return {"mean": mean, "mean_se": np.sqrt(var / n), "var": var,
            "var_se": batch_var.std(axis=0, ddof=1) / np.sqrt(batches),
            "mse": sq.mean(axis=0), "mse_se": sq.std(axis=0, ddof=1) / np.sqrt(n)}


def trial(config: EMAConfig, rng: np.random.Generator) -> dict[str, Any]:
    """``runs`` EMA sequences of length ``steps``; moments of m^k and m̂^k for k = 0..steps."""
    beta = config.beta
    g = lemmata.tensor(draw(config, rng, (config.steps, config.runs)))
    m = lemmata.zeros(config.runs, dtype=lemmata.float64)
    path = [m]
    for k in range(config.steps):
        m = beta * m + (1 - beta) * g[k]                    # m^{k+1} = βm^k + (1 − β)g^k
        path.append(m)
    M = lemmata.stack(path, dim=1)                           # (runs, steps + 1)
    k = lemmata.arange(1, config.steps + 1, dtype=lemmata.float64)
    M_hat = M[:, 1:] / (1 - beta ** k)                       # m̂^k = m^k/(1 − β^k), k ≥ 1
    raw = _moments(M.numpy(), config.mu)
    hat = _moments(M_hat.numpy(), config.mu)
    record = dict(raw)
    for key, value in hat.items():                           # k = 0 has no m̂: NaN
        name = key.replace("_se", "_hat_se") if key.endswith("_se") else f"{key}_hat"
        record[name] = np.concatenate([[np.nan], value])
    return record


@dataclass
class EMAResult(Result):
    """Per k = 0..steps: Monte Carlo estimate ± SE and the closed form, for m^k and m̂^k."""

    k: np.ndarray = None
    measured: dict = None        # name -> (steps + 1,) array: mean, var, mse, mean_hat, ...
    stderr: dict = None          # name -> (steps + 1,) array
    closed: dict = None          # name -> closed form

    def z_scores(self, name: str) -> np.ndarray:
        """|measured − closed form| / SE per k (0 where both agree exactly, e.g. Var(m⁰) = 0)."""
        gap = np.abs(self.measured[name] - self.closed[name])
        se = self.stderr[name]
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(gap <= 1e-12 * (1 + np.abs(self.closed[name])), 0.0, gap / se)
        return z[np.isfinite(self.closed[name])]

    def agrees(self, name: str, z: float = Z) -> bool:
        return bool(np.all(self.z_scores(name) <= z))

    def scalars(self) -> dict[str, float]:
        return {"Var(m^k) at k = steps": float(self.measured["var"][-1]),
                "limit σ²(1−β)/(1+β)": float(self.closed["var_limit"]),
                "E[(m^k − μ)²] at k = steps": float(self.measured["mse"][-1]),
                "max |z| E[m^k]": float(self.z_scores("mean").max()),
                "max |z| Var(m^k)": float(self.z_scores("var").max()),
                "max |z| E[m̂^k]": float(self.z_scores("mean_hat").max()),
                "max |z| Var(m̂^k)": float(self.z_scores("var_hat").max())}

    def rows(self) -> list[Row]:
        c = self.config
        K = int(self.k[-1])
        rows = []
        labels = {"mean": "E[m^k] = (1 − β^k)μ (q1a)",
                  "var": "Var(m^k) = σ²(1−β)/(1+β)(1 − β^{2k}) (q1b)",
                  "mse": "E[(m^k − μ)²] = bias² + variance",
                  "mean_hat": "E[m̂^k] = μ (bias-corrected)",
                  "var_hat": "Var(m̂^k) = σ²(1−β)(1+β^k)/((1+β)(1−β^k))"}
        for name, label in labels.items():
            z = self.z_scores(name)
            rows.append(Row(label, f"k = {K}: {fmt(self.measured[name][-1])} ± "
                                   f"{fmt(self.stderr[name][-1])}",
                            fmt(self.closed[name][-1]),
                            f"max |z| over k = {z.max():.2f} "
                            f"({'within' if z.max() <= Z else 'OUTSIDE'} {Z:g} SE)"))
        rows.append(Row("lim Var(m^k) (q1c)", fmt(self.measured["var"][-1]),
                        fmt(self.closed["var_limit"]),
                        f"β = {c.beta:g}, σ = {c.sigma:g}, {c.distribution} g"))
        return rows

    def curve(self) -> Curve:
        return Curve(self.k, self.measured["mse"], self.stderr["mse"], "step k",
                     "E[(m^k − μ)²]", "linear", "log")

    def plot(self, figure: Any) -> None:
        axes = figure.subplots(1, 3)
        k = self.k
        c = self.config
        panels = [("mean", "mean_hat", "mean", "E[m^k]   (Monte Carlo ± 2 SE; lines: closed forms)",
                   "linear"),
                  ("var", "var_hat", "variance", "Var(m^k)", "log"),
                  ("mse", "mse_hat", "mean squared error", "E[(m^k − μ)²] = bias² + variance",
                   "log")]
        every = max(1, len(k) // 30)
        for ax, (raw, hat, ylabel, title, yscale) in zip(axes, panels):
            for name, colour, label in ((raw, "tab:blue", "m^k"),
                                        (hat, "tab:orange", "m̂^k = m^k/(1 − β^k)")):
                closed = self.closed[name]
                ax.plot(k, closed, color=colour, lw=1.6, label=f"{label} closed form")
                sel = np.arange(0, len(k), every)
                sel = sel[np.isfinite(self.measured[name][sel])]
                ax.errorbar(k[sel], self.measured[name][sel], yerr=2 * self.stderr[name][sel],
                            fmt="o", ms=3, color=colour, alpha=0.8, label=f"{label} measured")
            if raw == "mean":
                ax.axhline(c.mu, color="gray", ls=":", lw=1)
            if raw == "var":
                ax.axhline(float(self.closed["var_limit"]), color="gray", ls=":", lw=1,
                           label="σ²(1−β)/(1+β)")
            ax.set(xlabel="step k", ylabel=ylabel, title=title, yscale=yscale)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
        figure.suptitle(f"EMA of IID {c.distribution} gradients (μ = {c.mu:g}, σ = {c.sigma:g}, "
                        f"β = {c.beta:g}), {c.runs} runs × {self.seeds} seeds", fontsize=10)


def aggregate(config: EMAConfig, records: list[dict]) -> EMAResult:
    names = ("mean", "var", "mse", "mean_hat", "var_hat", "mse_hat")
    measured, stderr = {}, {}
    for name in names:
        measured[name], stderr[name] = pooled_estimate(records, name, f"{name}_se")
    closed = closed_forms(config.beta, config.mu, config.sigma, config.steps)
    return EMAResult(experiment=NAME, config=config, seeds=len(records),
                     k=np.arange(config.steps + 1), measured=measured, stderr=stderr,
                     closed=closed)


def ema_bias_variance(config: EMAConfig | None = None, seeds: int | None = None) -> EMAResult:
    """Run the EMA bias/variance experiment (seeds ryu24.q1a–c)."""
    from . import REGISTRY
    return REGISTRY[NAME].function(config, seeds)
