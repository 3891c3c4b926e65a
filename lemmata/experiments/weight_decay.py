"""Weight decay and ℓ² regularisation differ under SGD with momentum (seed ryu24.q7).

Both runs use ``lemmata.optim.SGD`` with lr α and momentum β (v^{k+1} = g^k + βv^k, v⁰ = 0):

    ℓ² (coupled)            v^{k+1} = (g^k + λθ^k) + βv^k,   θ^{k+1} = θ^k − αv^{k+1}
                            (``weight_decay=λ``)
    weight decay (decoupled) v^{k+1} = g^k + βv^k,           θ^{k+1} = θ^k − αv^{k+1} − μθ^k
                            (``weight_decay=λ, decoupled_weight_decay=True``: μ = αλ)

The hint's case, g^k = 0 (a constant loss).  Decay gives v^k = 0 and θ^k = (1 − αλ)^k θ⁰.  ℓ² is
heavy-ball on ½λ‖θ‖²: θ^{k+1} = (1 + β − αλ)θ^k − βθ^{k−1}, θ¹ = (1 − αλ)θ⁰, so

    θ^k = (a r₊^k + b r₋^k) θ⁰,   r± roots of r² − (1 + β − αλ)r + β = 0,  a + b = 1,
                                  a r₊ + b r₋ = 1 − αλ   (a repeated root r: θ^k = (1 + ck) r^k θ⁰),

and θ²/θ⁰ − (θ¹/θ⁰)² = −αβλ ≠ 0: no γ has θ^k = γ^kθ⁰, so no (μ, λ) makes the two equal.

A real loss.  On the quadratic L(θ) = ½(θ − c)ᵀH(θ − c) the runs converge to different points.
At a fixed point of the momentum recursion v = g/(1 − β), so

    ℓ²:    ∇L(θ*) + λθ* = 0          ⇒  θ* = (H + λI)⁻¹Hc
    decay: ∇L(θ*) + (1 − β)λθ* = 0   ⇒  θ* = (H + (1 − β)λI)⁻¹Hc

— decoupled decay under momentum β ends where ℓ² with λ(1 − β) ends; yet the ℓ² run with
λ(1 − β) (the third trajectory) still follows a different path.  With ``noise`` > 0 the gradients
are stochastic, g = ∇L(θ) + noise·ξ, ξ ~ N(0, I), and the endpoints are averages over the last
tenth of the iterates.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import lemmata

from .base import Curve, Result, Row, fmt, mean_and_std, require

NAME = "weight_decay_vs_l2"
METHODS = ("l2", "decay", "l2_matched")
LABELS = {"l2": "ℓ², weight_decay = λ", "decay": "decoupled weight decay λ",
          "l2_matched": "ℓ², weight_decay = (1 − β)λ"}


@dataclass(frozen=True)
class WeightDecayConfig:
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 0.1
    steps: int = 300
    dim: int = 2
    condition: float = 10.0       # eigenvalues of H: geometric from 1 down to 1/condition
    noise: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        require(NAME, "lr", self.lr, self.lr > 0, "> 0")
        require(NAME, "momentum", self.momentum, 0 <= self.momentum < 1, "in [0, 1)")
        require(NAME, "weight_decay", self.weight_decay, self.weight_decay > 0, "> 0")
        require(NAME, "steps", self.steps, self.steps >= 2, "an int ≥ 2")
        require(NAME, "dim", self.dim, self.dim >= 2, "an int ≥ 2")
        require(NAME, "condition", self.condition, self.condition >= 1, "≥ 1")
        require(NAME, "noise", self.noise, self.noise >= 0, "≥ 0")
        require(NAME, "seed", self.seed, self.seed >= 0, "a non-negative int")


def heavy_ball_factor(lr: float, momentum: float, lam: float, steps: int) -> np.ndarray:
    """θ^k/θ⁰ for k = 0..steps of SGD-momentum ℓ² on a constant loss (the closed form above)."""
    s, beta = 1 + momentum - lr * lam, momentum
    k = np.arange(steps + 1)
    disc = complex(s * s - 4 * beta) ** 0.5
    r_plus, r_minus = (s + disc) / 2, (s - disc) / 2
    first = 1 - lr * lam
    if abs(r_plus - r_minus) < 1e-9:                       # repeated root r = s/2
        r = s / 2
        c = first / r - 1 if r != 0 else 0.0
        return (1 + c * k) * r ** k
    a = (first - r_minus) / (r_plus - r_minus)
    return np.real(a * r_plus ** k + (1 - a) * r_minus ** k)


def ridge(H: np.ndarray, c: np.ndarray, lam: float) -> np.ndarray:
    """argmin ½(θ − c)ᵀH(θ − c) + ½λ‖θ‖² = (H + λI)⁻¹Hc."""
    return np.linalg.solve(H + lam * np.eye(len(c)), H @ c)


def _run(config: WeightDecayConfig, theta0: np.ndarray, loss_fn, options: dict,
         noise: np.ndarray | None) -> np.ndarray:
    """The iterates θ⁰..θ^steps of lemmata.optim.SGD on ``loss_fn``."""
    from lemmata import optim
    theta = lemmata.tensor(theta0.copy(), requires_grad=True)
    optimiser = optim.SGD([theta], lr=config.lr, momentum=config.momentum, **options)
    path = [theta0.copy()]
    for k in range(config.steps):
        optimiser.zero_grad()
        loss = loss_fn(theta)
        if noise is not None:                       # stochastic gradient: ∇L + noise·ξ^k
            loss = loss + (lemmata.tensor(noise[k]) * theta).sum()
        loss.backward()
        optimiser.step()
        path.append(theta.detach().numpy().copy())
    return np.array(path)


def trial(config: WeightDecayConfig, rng: np.random.Generator) -> dict[str, Any]:
    dim, lam, beta = config.dim, config.weight_decay, config.momentum
    Q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    H = Q @ np.diag(np.geomspace(1.0, 1.0 / config.condition, dim)) @ Q.T
    c = 2.0 * rng.standard_normal(dim)
    theta0 = rng.standard_normal(dim)
    noise = config.noise * rng.standard_normal((config.steps, dim)) if config.noise > 0 else None
    H_t, c_t = lemmata.tensor(H), lemmata.tensor(c)

    def quadratic(theta):
        r = theta - c_t
        return 0.5 * (r @ (H_t @ r))

    def constant(theta):
        return (theta * 0.0).sum()                  # g^k = 0: the hint's case

    options = {"l2": {"weight_decay": lam},
               "decay": {"weight_decay": lam, "decoupled_weight_decay": True},
               "l2_matched": {"weight_decay": (1 - beta) * lam}}
    record = {"H": H, "c": c, "theta0": theta0}
    for method, opts in options.items():
        record[f"path_{method}"] = _run(config, theta0, quadratic, opts, noise)
    for method in ("l2", "decay"):
        record[f"zero_{method}"] = _run(config, theta0, constant, options[method], None)
    # the facts, per seed
    k = np.arange(config.steps + 1)[:, None]
    decay_closed = (1 - config.lr * lam) ** k * theta0
    l2_closed = heavy_ball_factor(config.lr, beta, lam, config.steps)[:, None] * theta0
    scale = np.abs(theta0).max()
    record["zero_decay_error"] = np.abs(record["zero_decay"] - decay_closed).max() / scale
    record["zero_l2_error"] = np.abs(record["zero_l2"] - l2_closed).max() / scale
    ratio = record["zero_l2"] / theta0
    record["second_order_gap"] = float(np.mean(ratio[2] - ratio[1] ** 2))
    tail = max(1, config.steps // 10)
    ends = {m: record[f"path_{m}"][-tail:].mean(axis=0) for m in METHODS}
    targets = {"l2": ridge(H, c, lam), "decay": ridge(H, c, (1 - beta) * lam),
               "l2_matched": ridge(H, c, (1 - beta) * lam)}
    for m in METHODS:
        record[f"end_error_{m}"] = float(np.linalg.norm(ends[m] - targets[m]))
    record["end_gap_decay_l2"] = float(np.linalg.norm(ends["decay"] - ends["l2"]))
    record["path_gap_decay_matched"] = float(np.abs(record["path_decay"]
                                                    - record["path_l2_matched"]).max())
    record["fixed_point_gap"] = float(np.linalg.norm(targets["decay"] - targets["l2"]))
    return record


@dataclass
class WeightDecayResult(Result):
    """Trajectories of the first seed, closed forms, and per-seed facts (mean and std)."""

    k: np.ndarray = None
    H: np.ndarray = None
    c: np.ndarray = None
    theta0: np.ndarray = None
    paths: dict = None             # method -> (steps + 1, dim), first seed
    zero_paths: dict = None        # "l2"/"decay" -> (steps + 1, dim), g = 0, first seed
    zero_closed: dict = None       # closed forms of the g = 0 iterates
    fixed_points: dict = None      # method -> closed-form limit
    facts: dict = None             # name -> (mean, std) over seeds

    def scalars(self) -> dict[str, float]:
        return {name: float(mean) for name, (mean, _) in self.facts.items()}

    def rows(self) -> list[Row]:
        c = self.config
        f = self.facts
        a, b, lam = c.lr, c.momentum, c.weight_decay
        return [
            Row("g = 0, decay: max |θᵏ − (1 − αλ)ᵏθ⁰|/|θ⁰|", fmt(f["zero_decay_error"][0]), "0",
                "geometric, as the hint says"),
            Row("g = 0, ℓ²: max |θᵏ − heavy-ball closed form|/|θ⁰|", fmt(f["zero_l2_error"][0]),
                "0", "roots of r² − (1 + β − αλ)r + β"),
            Row("g = 0, ℓ²: θ²/θ⁰ − (θ¹/θ⁰)²", fmt(f["second_order_gap"][0]),
                fmt(-a * b * lam), "−αβλ ≠ 0: not geometric"),
            Row("ℓ² endpoint − (H + λI)⁻¹Hc", fmt(f["end_error_l2"][0]), "0", ""),
            Row("decay endpoint − (H + (1 − β)λI)⁻¹Hc", fmt(f["end_error_decay"][0]), "0",
                "decay λ ≙ ℓ² (1 − β)λ at the limit"),
            Row("‖decay endpoint − ℓ² endpoint‖", fmt(f["end_gap_decay_l2"][0]),
                fmt(f["fixed_point_gap"][0]), "different limits"),
            Row("max |decay path − ℓ²((1 − β)λ) path|", fmt(f["path_gap_decay_matched"][0]),
                "> 0", "same limit, different paths"),
        ]

    def curve(self) -> Curve:
        gap = np.linalg.norm(self.paths["decay"] - self.paths["l2"], axis=1)
        return Curve(self.k, gap, None, "step k", "‖θ_decay − θ_ℓ²‖", "linear", "linear")

    def plot(self, figure: Any) -> None:
        c = self.config
        ax0, ax1, ax2 = figure.subplots(1, 3)
        k = self.k
        every = max(1, len(k) // 60)
        for method, colour in (("decay", "tab:green"), ("l2", "tab:red")):
            ratio = self.zero_paths[method][:, 0] / self.theta0[0]
            ax0.plot(k, self.zero_closed[method][:, 0] / self.theta0[0], color=colour, lw=1.4,
                     label=f"{LABELS[method]}: closed form")
            ax0.plot(k[::every], ratio[::every], "o", ms=3, color=colour,
                     label=f"{LABELS[method]}: lemmata.optim.SGD")
        ax0.axhline(0, color="gray", lw=0.8)
        ax0.set(xlabel="step k", ylabel="θᵏ / θ⁰")
        ax0.set_title("g = 0: decay geometric, ℓ² not", fontsize=10)
        ax0.legend(fontsize=7)
        ax0.grid(alpha=0.3)
        # trajectories on the loss contours (first two coordinates)
        colours = {"l2": "tab:red", "decay": "tab:green", "l2_matched": "tab:orange"}
        allpts = np.concatenate([p[:, :2] for p in self.paths.values()]
                                + [np.array([self.c[:2]])])
        lo, hi = allpts.min(axis=0), allpts.max(axis=0)
        pad = 0.15 * (hi - lo) + 1e-9
        g0 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], 120)
        g1 = np.linspace(lo[1] - pad[1], hi[1] + pad[1], 120)
        G0, G1 = np.meshgrid(g0, g1)
        R = np.stack([G0 - self.c[0], G1 - self.c[1]], axis=-1)
        H2 = self.H[:2, :2]
        L = 0.5 * np.einsum("...i,ij,...j->...", R, H2, R)
        ax1.contour(G0, G1, L, levels=14, colors="lightgray", linewidths=0.8)
        for method in METHODS:
            path = self.paths[method]
            ax1.plot(path[:, 0], path[:, 1], color=colours[method], lw=1.2, label=LABELS[method])
            fp = self.fixed_points[method]
            ax1.plot(fp[0], fp[1], "*", ms=12, color=colours[method], mec="black", mew=0.6)
        ax1.plot(self.theta0[0], self.theta0[1], "ko", ms=5, label="θ⁰")
        ax1.plot(self.c[0], self.c[1], "kx", ms=8, label="argmin L")
        ax1.set(xlabel="θ₁", ylabel="θ₂")
        ax1.set_title("paths on a quadratic loss (★: closed-form limits)", fontsize=10)
        ax1.legend(fontsize=7)
        for method in METHODS:
            dist = np.linalg.norm(self.paths[method] - self.fixed_points[method], axis=1)
            ax2.plot(k, np.maximum(dist, 1e-17), color=colours[method], label=LABELS[method])
        ax2.set(yscale="log", xlabel="step k", ylabel="‖θᵏ − its closed-form limit‖")
        ax2.set_title("each converges to its own limit", fontsize=10)
        ax2.legend(fontsize=7)
        ax2.grid(alpha=0.3)
        figure.suptitle("SGD with momentum: ℓ² regularisation vs decoupled weight decay ("
                        f"α = {c.lr:g}, β = {c.momentum:g}, λ = {c.weight_decay:g}"
                        + (f", gradient noise {c.noise:g}" if c.noise else "") + ")",
                        fontsize=11)


def aggregate(config: WeightDecayConfig, records: list[dict]) -> WeightDecayResult:
    first = records[0]
    lam, beta = config.weight_decay, config.momentum
    k = np.arange(config.steps + 1)
    theta0 = first["theta0"]
    zero_closed = {"decay": (1 - config.lr * lam) ** k[:, None] * theta0,
                   "l2": heavy_ball_factor(config.lr, beta, lam, config.steps)[:, None] * theta0}
    fixed = {"l2": ridge(first["H"], first["c"], lam),
             "decay": ridge(first["H"], first["c"], (1 - beta) * lam),
             "l2_matched": ridge(first["H"], first["c"], (1 - beta) * lam)}
    names = ("zero_decay_error", "zero_l2_error", "second_order_gap", "end_error_l2",
             "end_error_decay", "end_error_l2_matched", "end_gap_decay_l2",
             "path_gap_decay_matched", "fixed_point_gap")
    facts = {}
    for name in names:
        mean, std = mean_and_std(records, name)
        facts[name] = (float(mean), float(std))
    return WeightDecayResult(
        experiment=NAME, config=config, seeds=len(records), k=k, H=first["H"], c=first["c"],
        theta0=theta0, paths={m: first[f"path_{m}"] for m in METHODS},
        zero_paths={m: first[f"zero_{m}"] for m in ("l2", "decay")}, zero_closed=zero_closed,
        fixed_points=fixed, facts=facts)


def weight_decay_vs_l2(config: WeightDecayConfig | None = None,
                       seeds: int | None = None) -> WeightDecayResult:
    """Run the weight-decay vs ℓ² experiment (seed ryu24.q7)."""
    from . import REGISTRY
    return REGISTRY[NAME].function(config, seeds)
