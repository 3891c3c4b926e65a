"""A zero-initialised tanh MLP trained by gradient descent (seeds ryu22.q5a, ryu22.q5b).

The MLP f_θ(x) = y_L, y_L = A_L y_{L−1} + b_L, y_ℓ = tanh(A_ℓ y_{ℓ−1} + b_ℓ) (ℓ < L), n_L = 1,
is an ``nn.Sequential`` of ``nn.Linear`` and ``nn.Tanh`` with every parameter set to 0 by
``nn.init.zeros_``, trained by full-batch GD (``optim.SGD``, no momentum) on
Σᵢ ½(f_θ(Xᵢ) − Yᵢ)².

q5a.  With θ = 0 every hidden layer outputs tanh(0) = 0, so with residuals rᵢ = f(Xᵢ) − Yᵢ:
∂/∂A_L = Σ rᵢ y_{L−1}ᵀ = 0 and the backpropagated signal into layer L − 1 is A_Lᵀ r = 0, so every
gradient except ∂/∂b_L = Σᵢ rᵢ is exactly 0.  Then only b_L changes, the hidden outputs stay 0,
and the argument repeats at every step: A₁..A_L and b₁..b_{L−1} never move (exactly, to the bit).

q5b.  The network is the constant b_L throughout, so GD minimises Σᵢ ½(b − Yᵢ)²:

    b^{k+1} = b^k − η Σᵢ (b^k − Yᵢ) = b^k − ηN(b^k − Ȳ)   ⇒   b^k = Ȳ (1 − (1 − ηN)^k),

which converges to the label mean Ȳ = (1/N)Σ Yᵢ when 0 < ηN < 2 (the "appropriate" learning rate).

Contrast.  The same network from a small random init (N(0, s²), s = ``contrast_scale``): the
symmetry is broken and every parameter moves.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import lemmata

from .base import Curve, Result, Row, fmt, global_rng_preserved, require

NAME = "symmetry"


@dataclass(frozen=True)
class SymmetryConfig:
    sizes: tuple[int, ...] = (4, 16, 16, 1)    # n₀, n₁, …, n_L (n_L = 1)
    samples: int = 40
    steps: int = 60
    lr: float = 0.01
    contrast_scale: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        require(NAME, "sizes", self.sizes, len(self.sizes) >= 3 and all(n >= 1 for n in self.sizes)
                and self.sizes[-1] == 1, "n₀, …, n_L with L ≥ 2 layers, positive, n_L = 1")
        require(NAME, "samples", self.samples, self.samples >= 1, "a positive int")
        require(NAME, "steps", self.steps, self.steps >= 1, "a positive int")
        require(NAME, "lr", self.lr, self.lr > 0, "> 0")
        require(NAME, "contrast_scale", self.contrast_scale, self.contrast_scale > 0, "> 0")
        require(NAME, "seed", self.seed, self.seed >= 0, "a non-negative int")

    @property
    def layers(self) -> int:
        return len(self.sizes) - 1


def parameter_names(L: int) -> list[str]:
    return [name for ell in range(1, L + 1) for name in (f"A_{ell}", f"b_{ell}")]


def build(config: SymmetryConfig, rng: np.random.Generator, scale: float):
    """The tanh MLP as nn.Sequential, all parameters 0 (scale = 0) or N(0, scale²)."""
    from lemmata import nn
    layers = []
    with global_rng_preserved(rng):
        for ell, (n_in, n_out) in enumerate(zip(config.sizes[:-1], config.sizes[1:]), start=1):
            layers.append(nn.Linear(n_in, n_out, dtype=lemmata.float64))
            if ell < config.layers:
                layers.append(nn.Tanh())
    model = nn.Sequential(*layers)
    for p in model.parameters():
        if scale == 0:
            nn.init.zeros_(p)
        else:
            nn.init.normal_(p, 0.0, scale, generator=rng)
    return model


def train(config: SymmetryConfig, model, X, Y) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GD; returns max |θ − θ⁰| per parameter tensor per step (steps + 1, 2L), b_L per step,
    and the loss per step."""
    from lemmata import optim
    params = list(model.parameters())                       # A_1, b_1, A_2, b_2, ...
    initial = [p.detach().numpy().copy() for p in params]
    optimiser = optim.SGD(params, lr=config.lr)
    moved = np.zeros((config.steps + 1, len(params)))
    b_L = np.empty(config.steps + 1)
    losses = np.empty(config.steps + 1)
    b_L[0] = params[-1].item()
    for k in range(config.steps):
        optimiser.zero_grad()
        loss = 0.5 * (model(X).squeeze(-1) - Y).square().sum()
        loss.backward()
        optimiser.step()
        losses[k] = loss.item()
        moved[k + 1] = [np.abs(p.detach().numpy() - p0).max() for p, p0 in zip(params, initial)]
        b_L[k + 1] = params[-1].item()
    with lemmata.no_grad():
        losses[-1] = (0.5 * (model(X).squeeze(-1) - Y).square().sum()).item()
    return moved, b_L, losses


def trial(config: SymmetryConfig, rng: np.random.Generator) -> dict[str, Any]:
    n0 = config.sizes[0]
    X_np = rng.standard_normal((config.samples, n0))
    direction = rng.standard_normal(n0) / np.sqrt(n0)
    Y_np = 1.0 + np.tanh(X_np @ direction) + 0.1 * rng.standard_normal(config.samples)
    X, Y = lemmata.tensor(X_np), lemmata.tensor(Y_np)
    moved, b_L, losses = train(config, build(config, rng, 0.0), X, Y)
    moved_c, b_L_c, losses_c = train(config, build(config, rng, config.contrast_scale), X, Y)
    return {"moved": moved, "b_L": b_L, "loss": losses, "label_mean": float(Y_np.mean()),
            "moved_contrast": moved_c, "loss_contrast": losses_c}


@dataclass
class SymmetryResult(Result):
    """Which parameters move (zero init vs small random init), and b_L against its closed form."""

    k: np.ndarray = None
    names: list = None
    moved: np.ndarray = None             # (seeds, steps + 1, 2L) zero init
    moved_contrast: np.ndarray = None    # (seeds, steps + 1, 2L) random init
    b_L: np.ndarray = None               # (seeds, steps + 1)
    b_L_closed: np.ndarray = None        # (seeds, steps + 1): Ȳ(1 − (1 − ηN)^k)
    label_mean: np.ndarray = None        # (seeds,)
    loss: np.ndarray = None
    loss_contrast: np.ndarray = None

    def frozen_max(self) -> float:
        """max |θ − θ⁰| over A₁..A_L, b₁..b_{L−1}, steps and seeds (zero init): exactly 0."""
        return float(self.moved[:, :, :-1].max())

    def contrast_min(self) -> float:
        """min over parameter tensors of max |θ − θ⁰| at the end, random init: > 0."""
        return float(self.moved_contrast[:, -1, :].min())

    def b_L_error(self) -> float:
        return float(np.abs(self.b_L - self.b_L_closed).max())

    def scalars(self) -> dict[str, float]:
        return {"max movement of A_1..A_L, b_1..b_{L-1}": self.frozen_max(),
                "max |b_L − closed form|": self.b_L_error(),
                "final b_L − label mean": float(np.abs(self.b_L[:, -1] - self.label_mean).max()),
                "min movement, random init": self.contrast_min()}

    def rows(self) -> list[Row]:
        c = self.config
        rate = 1 - c.lr * c.samples
        converges = abs(rate) < 1
        rows = []
        for j, name in enumerate(self.names):
            zero = float(self.moved[:, -1, j].max())
            rows.append(Row(f"max |{name} − {name}⁰| after {c.steps} GD steps", fmt(zero),
                            "> 0" if j == len(self.names) - 1 else "0 (q5a)",
                            f"random init: {fmt(self.moved_contrast[:, -1, j].min())}"))
        rows.append(Row("b_L vs Ȳ(1 − (1 − ηN)^k)", f"max gap {fmt(self.b_L_error())}", "0",
                        f"ηN = {c.lr * c.samples:g}"))
        rows.append(Row("b_L at the end (q5b)", fmt(self.b_L[0, -1]),
                        f"Ȳ = {fmt(self.label_mean[0])}",
                        "converges (|1 − ηN| < 1)" if converges else "diverges: ηN ∉ (0, 2)"))
        return rows

    def curve(self) -> Curve:
        return Curve(self.k, self.b_L[0], None, "GD step k", "b_L", "linear", "linear")

    def plot(self, figure: Any) -> None:
        c = self.config
        ax0, ax1, ax2 = figure.subplots(1, 3)
        cmap = [f"C{i}" for i in range(len(self.names))]
        for j, name in enumerate(self.names):
            ax0.plot(self.k, self.moved[0, :, j], color=cmap[j], lw=1.8, label=name)
            ax1.plot(self.k, self.moved_contrast[0, :, j], color=cmap[j], lw=1.4, label=name)
        ax0.set_yscale("symlog", linthresh=1e-3)
        ax0.set(xlabel="GD step k", ylabel="max |θ − θ⁰|")
        ax0.set_title("zero init: only b_L moves", fontsize=10)
        ax1.set_yscale("symlog", linthresh=1e-3)
        ax1.set(xlabel="GD step k", ylabel="max |θ − θ⁰|")
        ax1.set_title(f"random init N(0, {c.contrast_scale:g}²): everything moves", fontsize=10)
        for ax in (ax0, ax1):
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7, ncol=2)
        every = max(1, len(self.k) // 40)
        ax2.plot(self.k, self.b_L_closed[0], color="tab:blue", lw=1.5,
                 label="Ȳ(1 − (1 − ηN)ᵏ)")
        ax2.plot(self.k[::every], self.b_L[0, ::every], "o", ms=3, color="tab:blue",
                 label="b_L (GD)")
        ax2.axhline(self.label_mean[0], color="gray", ls="--", lw=1, label="label mean Ȳ")
        ax2.set(xlabel="GD step k", ylabel="b_L")
        ax2.set_title("b_L converges to the label mean", fontsize=10)
        ax2.grid(alpha=0.3)
        ax2.legend(fontsize=8)
        figure.suptitle(f"Zero-initialised tanh MLP {tuple(c.sizes)} trained by GD "
                        f"(η = {c.lr:g}, N = {c.samples})", fontsize=11)


def aggregate(config: SymmetryConfig, records: list[dict]) -> SymmetryResult:
    k = np.arange(config.steps + 1)
    label_mean = np.array([r["label_mean"] for r in records])
    closed = label_mean[:, None] * (1 - (1 - config.lr * config.samples) ** k)[None, :]
    return SymmetryResult(
        experiment=NAME, config=config, seeds=len(records), k=k,
        names=parameter_names(config.layers),
        moved=np.stack([r["moved"] for r in records]),
        moved_contrast=np.stack([r["moved_contrast"] for r in records]),
        b_L=np.stack([r["b_L"] for r in records]), b_L_closed=closed, label_mean=label_mean,
        loss=np.stack([r["loss"] for r in records]),
        loss_contrast=np.stack([r["loss_contrast"] for r in records]))


def symmetry(config: SymmetryConfig | None = None, seeds: int | None = None) -> SymmetryResult:
    """Run the zero-initialisation symmetry experiment (seeds ryu22.q5a, ryu22.q5b)."""
    from . import REGISTRY
    return REGISTRY[NAME].function(config, seeds)
