"""Activation statistics at initialisation, layer by layer, against the closed forms
(seeds ryu22.q6a–e, ryu24.q5, hw6.p2).

Networks.  An MLP z_ℓ = A_ℓ y_{ℓ−1} + b_ℓ, y_ℓ = φ(z_ℓ), y₀ = x ∈ ℝ^{n₀}, and a CNN whose layers are
3×3 convolutions with padding 1 (ℓ = 1..depth), φ ∈ {ReLU, tanh, identity}, inputs with IID
N(0, 1) entries.  Each layer is a lemmata ``nn.Linear`` / ``nn.Conv2d`` initialised by

    he       A ~ N(0, 2/fan_in), b = 0          (nn.init.kaiming_normal_, nonlinearity='relu')
    lecun    A ~ N(0, 1/fan_in), b = 0          (nn.init.lecun_normal_)
    xavier   A ~ N(0, 2/(fan_in + fan_out)), b = 0   (nn.init.xavier_normal_)
    pytorch  A, b ~ U(±1/√fan_in): variance 1/(3·fan_in) each   (the modules' default)

with fan_in = n_{ℓ−1} (MLP) or 9·C_{ℓ−1} (CNN).

Closed forms.  Write v_A, v_b for the weight and bias variances of layer ℓ and q_ℓ = E[z_ℓ²].
Because A_ℓ, b_ℓ have mean 0 and are independent of y_{ℓ−1}:

    E[z_ℓ] = 0,        q_ℓ = fan_in · v_A · E[y_{ℓ−1,j}²] + v_b          (ryu22.q6b, c; ryu24.q5)

(for the CNN at pixels whose 3×3 window never reaches the zero padding at any earlier layer — the
pixels at distance ≥ ℓ from the border at layer ℓ).  The weights are symmetric, so z_ℓ is
symmetric (ryu22.q6e), and then E[ReLU(z)²] = ½E[z²] exactly (ryu22.q6a). So, with
E[y₀²] = 1,

    identity   q_ℓ = fan_in v_A q_{ℓ−1} + v_b                         (exact)
    ReLU       q_ℓ = fan_in v_A q_{ℓ−1}/2 + v_b, q_1 = n₀ v_A + v_b   (exact; He: q_ℓ = q_1 = 2)
    tanh       q_ℓ = fan_in v_A E_{u~N(0, q_{ℓ−1})}[tanh(u)²] + v_b   (mean-field: exact only as the
                                                                      width → ∞, Gauss–Hermite)

For the identity MLP under PyTorch's default init, fan_in v_A = 1/3 and v_b = 1/(3 n_{ℓ−1}), so
q_ℓ = (q_{ℓ−1} + 1/n_{ℓ−1})/3, which unrolls to hw6.p2's Var(y_L) = 1/3^L + Σ_{k<L} 1/(3^{L−k} n_k);
the result reports both and they must coincide.

Distinct units are uncorrelated (ryu22.q6d): for i ≠ j, E[z_i z_j] = Σ_k E[A_ik A_jk] E[y_k²] +
E[b_i b_j] = 0, for every activation.  And the post-activation moment E[φ(z_ℓ)²] is the a(q_ℓ)
above (ReLU: exactly q_ℓ/2).

Measurement.  ``networks`` independent networks per (architecture, activation, scheme), each fed
a batch of inputs; for each network and layer the means of z, z², z_i z_j (i ≠ j) and φ(z)² over
the batch, units and (interior) pixels.  The networks are independent, so the mean over networks
has a valid standard error (samples inside one network share its weights and are not
independent).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

import lemmata

from .base import Curve, Result, Row, fmt, global_rng_preserved, require

NAME = "init_statistics"
SCHEMES = ("he", "lecun", "xavier", "pytorch")
ACTIVATIONS = ("relu", "tanh", "linear")
ARCHITECTURES = ("mlp", "cnn")
Z = 4.0


@dataclass(frozen=True)
class InitStatisticsConfig:
    schemes: tuple[str, ...] = SCHEMES
    activations: tuple[str, ...] = ACTIVATIONS
    architectures: tuple[str, ...] = ARCHITECTURES
    depth: int = 6
    in_features: int = 32      # n₀ of the MLP
    width: int = 64            # n₁ = … = n_depth of the MLP
    in_channels: int = 3       # C₀ of the CNN
    channels: int = 16         # C₁ = … = C_depth of the CNN
    image_size: int = 0        # 0: 2·depth + 4, so a 4×4 centre stays interior at every layer
    networks: int = 48
    mlp_batch: int = 64
    cnn_batch: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        for key, allowed in (("schemes", SCHEMES), ("activations", ACTIVATIONS),
                             ("architectures", ARCHITECTURES)):
            value = getattr(self, key)
            require(NAME, key, value, len(value) > 0 and all(v in allowed for v in value),
                    f"a non-empty list of {', '.join(allowed)}")
        for key in ("depth", "in_features", "width", "in_channels", "channels", "mlp_batch",
                    "cnn_batch"):
            value = getattr(self, key)
            require(NAME, key, value, value >= 1, "a positive int")
        require(NAME, "networks", self.networks, self.networks >= 2, "an int ≥ 2")
        require(NAME, "image_size", self.image_size,
                self.image_size == 0 or self.image_size >= 2 * self.depth + 1,
                f"0 (automatic) or ≥ 2·depth + 1 = {2 * self.depth + 1}")
        require(NAME, "seed", self.seed, self.seed >= 0, "a non-negative int")

    @property
    def size(self) -> int:
        return self.image_size or 2 * self.depth + 4


# ----------------------------------------------------------------------------------------------
# closed forms
# ----------------------------------------------------------------------------------------------
def variances(scheme: str, fan_in: int, fan_out: int) -> tuple[float, float]:
    """(Var A_ij, Var b_i) of one layer under ``scheme``."""
    if scheme == "he":
        return 2.0 / fan_in, 0.0
    if scheme == "lecun":
        return 1.0 / fan_in, 0.0
    if scheme == "xavier":
        return 2.0 / (fan_in + fan_out), 0.0
    return 1.0 / (3 * fan_in), 1.0 / (3 * fan_in)   # pytorch: U(±1/√fan_in)


_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(96)   # ∫ f(u) e^{−u²/2} du


def activation_second_moment(activation: str, q: float) -> float:
    """E[φ(u)²] for u symmetric with E[u²] = q: q (identity), q/2 (ReLU, exact for any symmetric
    law), and for tanh the Gaussian value E_{u~N(0,q)}[tanh(u)²] by Gauss–Hermite quadrature."""
    if activation == "linear":
        return q
    if activation == "relu":
        return q / 2
    values = np.tanh(math.sqrt(q) * _GH_NODES) ** 2
    return float(values @ _GH_WEIGHTS / math.sqrt(2 * math.pi))


def fans(config: InitStatisticsConfig, architecture: str) -> list[tuple[int, int]]:
    """(fan_in, fan_out) of each layer."""
    if architecture == "mlp":
        sizes = [config.in_features] + [config.width] * config.depth
        return [(a, b) for a, b in zip(sizes[:-1], sizes[1:])]
    sizes = [config.in_channels] + [config.channels] * config.depth
    return [(9 * a, 9 * b) for a, b in zip(sizes[:-1], sizes[1:])]


def closed_second_moments(config: InitStatisticsConfig, architecture: str, activation: str,
                          scheme: str) -> np.ndarray:
    """q_ℓ = E[z_ℓ²] for ℓ = 1..depth by the recursion in the module docstring."""
    out, input_moment = [], 1.0          # E[y₀²] = E[x²] = 1 (the input is not activated)
    for fan_in, fan_out in fans(config, architecture):
        v_a, v_b = variances(scheme, fan_in, fan_out)
        q = fan_in * v_a * input_moment + v_b
        out.append(q)
        input_moment = activation_second_moment(activation, q)
    return np.array(out)


def hw6_p2_variance(widths: list[int]) -> float:
    """hw6.p2's closed form Var(y_L) = 1/3^L + Σ_{k=0}^{L−1} 1/(3^{L−k} n_k) for the identity MLP
    with widths n₀, …, n_{L−1} feeding its L layers, under PyTorch's default init."""
    L = len(widths)
    return 1 / 3 ** L + sum(1 / (3 ** (L - k) * widths[k]) for k in range(L))


# ----------------------------------------------------------------------------------------------
# measurement
# ----------------------------------------------------------------------------------------------
def _layer(architecture: str, n_in: int, n_out: int, scheme: str, rng: np.random.Generator):
    """One freshly initialised nn.Linear / nn.Conv2d (float64) under ``scheme``."""
    from lemmata import nn
    with global_rng_preserved(rng):  # the modules' default init draws from the global generator
        if architecture == "mlp":
            layer = nn.Linear(n_in, n_out, dtype=lemmata.float64)
        else:
            layer = nn.Conv2d(n_in, n_out, 3, padding=1, dtype=lemmata.float64)
    if scheme == "he":
        nn.init.kaiming_normal_(layer.weight, nonlinearity="relu", generator=rng)
    elif scheme == "lecun":
        nn.init.lecun_normal_(layer.weight, generator=rng)
    elif scheme == "xavier":
        nn.init.xavier_normal_(layer.weight, generator=rng)
    if scheme != "pytorch":
        nn.init.zeros_(layer.bias)
    return layer


_PHI = {"relu": lambda z: z.relu(), "tanh": lambda z: z.tanh(), "linear": lambda z: z}


STATISTICS = ("mean", "square", "cross", "act_square")


def measure(config: InitStatisticsConfig, architecture: str, activation: str, scheme: str,
            rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per network and layer (arrays of shape (networks, depth)):

    mean        the mean of z_ℓ                              (closed form 0)
    square      the mean of z_ℓ²                             (closed form q_ℓ)
    cross       the mean of z_{ℓ,i} z_{ℓ,j} over unit pairs i ≠ j of one input (and pixel):
                (S² − Q)/(n(n − 1)) with S = Σᵢ z_i, Q = Σᵢ z_i²   (closed form 0, ryu22.q6d)
    act_square  the mean of φ(z_ℓ)²                          (closed form E[φ(u)²], ryu22.q6a)
    """
    depth = config.depth
    out = {name: np.empty((config.networks, depth)) for name in STATISTICS}
    if architecture == "mlp":
        sizes = [config.in_features] + [config.width] * depth
        shape = (config.mlp_batch, config.in_features)
    else:
        sizes = [config.in_channels] + [config.channels] * depth
        shape = (config.cnn_batch, config.in_channels, config.size, config.size)
    phi = _PHI[activation]
    with lemmata.no_grad():
        for n in range(config.networks):
            layers = [_layer(architecture, a, b, scheme, rng)
                      for a, b in zip(sizes[:-1], sizes[1:])]
            y = lemmata.tensor(rng.standard_normal(shape))
            for ell, layer in enumerate(layers, start=1):
                z = layer(y)
                y = phi(z)
                if architecture == "cnn":    # pixels at distance ≥ ℓ from the border
                    inner = (slice(None), slice(None), slice(ell, config.size - ell),
                             slice(ell, config.size - ell))
                    z_in, y_in, units = z[inner], y[inner], 1
                else:
                    z_in, y_in, units = z, y, -1
                width = z_in.shape[units]
                S, Q = z_in.sum(dim=units), z_in.square().sum(dim=units)
                out["mean"][n, ell - 1] = z_in.mean().item()
                out["square"][n, ell - 1] = z_in.square().mean().item()
                out["cross"][n, ell - 1] = ((S.square() - Q) / (width * (width - 1))).mean().item() \
                    if width > 1 else 0.0
                out["act_square"][n, ell - 1] = y_in.square().mean().item()
    return out


def trial(config: InitStatisticsConfig, rng: np.random.Generator) -> dict[str, Any]:
    record = {}
    for architecture in config.architectures:
        for activation in config.activations:
            for scheme in config.schemes:
                key = f"{architecture}/{activation}/{scheme}"
                stats = measure(config, architecture, activation, scheme, rng)
                for name, values in stats.items():
                    record[f"{key}/{name}"] = values
    return record


# ----------------------------------------------------------------------------------------------
# result
# ----------------------------------------------------------------------------------------------
LABELS = {"mean": "E[z_ℓ]", "square": "E[z_ℓ²]", "cross": "E[z_ℓ,i z_ℓ,j], i ≠ j",
          "act_square": "E[φ(z_ℓ)²]"}


@dataclass
class InitStatisticsResult(Result):
    """Per statistic (mean, square, cross, act_square; see :func:`measure`), per
    architecture/activation/scheme key, per layer: the measurement ± SE over networks, the closed
    form, and whether the closed form is exact (everything but tanh's second moments, which are
    mean-field)."""

    layers: np.ndarray = None
    measured: dict = None          # statistic -> key -> (depth,)
    stderr: dict = None
    closed: dict = None
    exact: dict = None             # statistic -> key -> bool
    hw6_p2: np.ndarray = None      # hw6.p2's formula per layer (identity MLP), for comparison

    def keys(self) -> list[str]:
        return list(self.measured["square"])

    def z_scores(self, statistic: str, key: str) -> np.ndarray:
        """|measured − closed form| / SE per layer."""
        gap = np.abs(self.measured[statistic][key] - self.closed[statistic][key])
        return gap / self.stderr[statistic][key]

    def max_z_exact(self) -> float:
        zs = [self.z_scores(stat, key).max() for stat in STATISTICS for key in self.keys()
              if self.exact[stat][key]]
        return float(max(zs)) if zs else float("nan")

    def max_relative_mean_field(self) -> float:
        errs = [np.max(np.abs(self.measured[stat][key] / self.closed[stat][key] - 1))
                for stat in ("square", "act_square") for key in self.keys()
                if not self.exact[stat][key]]
        return float(max(errs)) if errs else float("nan")

    def scalars(self) -> dict[str, float]:
        out = {"max |z| (exact closed forms)": self.max_z_exact(),
               "max relative error (tanh, mean-field)": self.max_relative_mean_field()}
        for key in self.keys():
            out[f"E[z_L²] {key}"] = float(self.measured["square"][key][-1])
        return out

    def rows(self) -> list[Row]:
        rows = []
        L = int(self.layers[-1])
        sq, sq_se, closed = self.measured["square"], self.stderr["square"], self.closed["square"]
        for key in self.keys():
            exact = [stat for stat in STATISTICS if self.exact[stat][key]]
            z = max(self.z_scores(stat, key).max() for stat in exact)
            note = f"all layers |z| ≤ {z:.2f}"
            if not self.exact["square"][key]:
                err = np.max(np.abs(sq[key] / closed[key] - 1))
                note = f"mean, cross |z| ≤ {z:.2f}; mean-field E[z²] within {100 * err:.1f} %"
            rows.append(Row(f"{key}: E[z_{L}²]", f"{fmt(sq[key][-1])} ± {fmt(sq_se[key][-1])}",
                            fmt(closed[key][-1]), note))
        key = "mlp/linear/pytorch"
        if key in sq and self.hw6_p2 is not None:
            rows.append(Row("hw6.p2: Var(y_L) = 1/3^L + Σ 1/(3^{L−k} n_k)",
                            f"{fmt(sq[key][-1])} ± {fmt(sq_se[key][-1])}", fmt(self.hw6_p2[-1]),
                            f"recursion gives {fmt(closed[key][-1])}"))
        return rows

    def curve(self) -> Curve:
        key = self.keys()[0]
        return Curve(self.layers, self.measured["square"][key], self.stderr["square"][key],
                     "layer ℓ", f"E[z_ℓ²] ({key})", "linear", "log")

    def plot(self, figure: Any) -> None:
        c = self.config
        figure.set_size_inches(4.2 * len(c.activations), 3.6 * len(c.architectures))
        axes = np.atleast_2d(figure.subplots(len(c.architectures), len(c.activations),
                                             squeeze=False))
        colours = {"he": "tab:red", "lecun": "tab:blue", "xavier": "tab:green",
                   "pytorch": "tab:purple"}
        for i, architecture in enumerate(c.architectures):
            for j, activation in enumerate(c.activations):
                ax = axes[i, j]
                for scheme in c.schemes:
                    key = f"{architecture}/{activation}/{scheme}"
                    ls = "-" if self.exact["square"][key] else "--"
                    ax.plot(self.layers, self.closed["square"][key], ls, color=colours[scheme],
                            lw=1.3)
                    ax.errorbar(self.layers, self.measured["square"][key],
                                yerr=2 * self.stderr["square"][key], fmt="o", ms=4,
                                color=colours[scheme], label=scheme)
                ax.set(yscale="log", xlabel="layer ℓ", ylabel="E[z_ℓ²]",
                       title=f"{architecture.upper()}, {activation}"
                             + (" (dashed: mean-field)" if activation == "tanh" else ""))
                ax.set_xticks(self.layers)
                ax.grid(alpha=0.3, which="both")
                ax.legend(fontsize=8)
        figure.suptitle("Pre-activation second moments at initialisation: measured (± 2 SE over "
                        f"{c.networks * self.seeds} networks) vs closed forms (lines)",
                        fontsize=11)


def closed_activation_moments(config: InitStatisticsConfig, architecture: str, activation: str,
                              scheme: str) -> np.ndarray:
    """E[φ(z_ℓ)²] = a(q_ℓ) for ℓ = 1..depth (q_ℓ from :func:`closed_second_moments`)."""
    q = closed_second_moments(config, architecture, activation, scheme)
    return np.array([activation_second_moment(activation, v) for v in q])


def aggregate(config: InitStatisticsConfig, records: list[dict]) -> InitStatisticsResult:
    measured = {stat: {} for stat in STATISTICS}
    stderr = {stat: {} for stat in STATISTICS}
    closed = {stat: {} for stat in STATISTICS}
    exact = {stat: {} for stat in STATISTICS}
    for architecture in config.architectures:
        for activation in config.activations:
            for scheme in config.schemes:
                key = f"{architecture}/{activation}/{scheme}"
                for stat in STATISTICS:
                    samples = np.concatenate([r[f"{key}/{stat}"] for r in records])  # networks
                    measured[stat][key] = samples.mean(axis=0)
                    stderr[stat][key] = samples.std(axis=0, ddof=1) / np.sqrt(samples.shape[0])
                zeros = np.zeros(config.depth)
                closed["mean"][key], closed["cross"][key] = zeros, zeros
                closed["square"][key] = closed_second_moments(config, architecture, activation,
                                                              scheme)
                closed["act_square"][key] = closed_activation_moments(config, architecture,
                                                                      activation, scheme)
                exact["mean"][key] = exact["cross"][key] = True
                exact["square"][key] = exact["act_square"][key] = activation != "tanh"
    widths = [config.in_features] + [config.width] * config.depth
    hw6 = np.array([hw6_p2_variance(widths[:ell]) for ell in range(1, config.depth + 1)])
    return InitStatisticsResult(experiment=NAME, config=config, seeds=len(records),
                                layers=np.arange(1, config.depth + 1), measured=measured,
                                stderr=stderr, closed=closed, exact=exact, hw6_p2=hw6)


def init_statistics(config: InitStatisticsConfig | None = None,
                    seeds: int | None = None) -> InitStatisticsResult:
    """Run the initialisation-statistics experiment (seeds ryu22.q6, ryu24.q5, hw6.p2)."""
    from . import REGISTRY
    return REGISTRY[NAME].function(config, seeds)
