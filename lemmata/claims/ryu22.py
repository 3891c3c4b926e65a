"""Claims of the Fall 2022 midterm (000_d85d049c3e3e2b0f.txt), problems 1–7.

The document has questions only; each claim's docstring and explanation give the derivation.
Keyword arguments default to the document's setting; tests perturb them.
"""
from __future__ import annotations

import numpy as np

import lemmata

from .registry import Evidence, claim
from .statistics import estimate, generator, randomise


@claim("ryu22.q4", "Logistic regression (KL to one-hot targets) is BCE on sigmoid outputs")
def logistic_regression_is_bce(n: int = 40, dim: int = 3, swap_labels: bool = False,
                               seed: int = 20) -> Evidence:
    rng = generator(seed)
    X = lemmata.tensor(rng.standard_normal((n, dim)))
    Y = rng.choice([-1.0, 1.0], size=n)
    P = lemmata.tensor(np.stack([Y < 0, Y > 0], axis=1).astype(np.float64))  # one-hot 𝒫(Yᵢ)
    Y_tilde = lemmata.tensor((Y > 0).astype(np.float64) if not swap_labels else
                             (Y < 0).astype(np.float64))

    def kl_objective(a, b):
        f = X @ a + b
        log_f = lemmata.stack([-lemmata.softplus(f), -lemmata.softplus(-f)], dim=1)  # log f_{a,b}
        # D_KL(𝒫‖f) = Σ 𝒫 log 𝒫 − Σ 𝒫 log f, and 𝒫 log 𝒫 = 0 for a one-hot 𝒫
        return -(P * log_f).sum()

    def bce_objective(a, b):
        s = (X @ a + b).sigmoid()
        return -(Y_tilde * s.log() + (1 - Y_tilde) * (1 - s).log()).sum()

    value_gaps, grad_gaps = [], []
    for _ in range(5):
        a = lemmata.tensor(rng.standard_normal(dim), requires_grad=True)
        b = lemmata.tensor(rng.standard_normal(), requires_grad=True)
        kl, bce = kl_objective(a, b), bce_objective(a, b)
        g_kl = lemmata.autograd.grad(kl, [a, b])
        g_bce = lemmata.autograd.grad(bce, [a, b])
        value_gaps.append(abs(kl.item() - bce.item()) / max(1.0, abs(kl.item())))
        grad_gaps.append(max(float((u - v).abs().max()) for u, v in zip(g_kl, g_bce)))
    return Evidence(
        holds=max(value_gaps) < 1e-12 and max(grad_gaps) < 1e-10,
        measured={"max relative |KL objective − BCE objective|": max(value_gaps),
                  "max |∇KL − ∇BCE|": max(grad_gaps)},
        expected={"difference": 0.0},
        tolerance=1e-12,
        explanation=(
            "f_{a,b}(x) = (σ(−z), σ(z)) with z = aᵀx + b, since 1/(1 + e^{z}) = σ(−z) = 1 − σ(z). "
            "For a one-hot 𝒫(Yᵢ) the entropy term vanishes, so D_KL(𝒫(Yᵢ)‖f) = −log f_{Yᵢ} = "
            "−(Ỹᵢ log σ(z) + (1 − Ỹᵢ) log(1 − σ(z))) = ℓ^BCE(σ(z), Ỹᵢ): the objectives are equal "
            "at every (a, b), gradients included."))


def _zero_init_tanh_mlp(sizes, init_scale, rng):
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        A = lemmata.tensor(init_scale * rng.standard_normal((n_out, n_in)), requires_grad=True)
        b = lemmata.tensor(init_scale * rng.standard_normal(n_out), requires_grad=True)
        params.append((A, b))
    return params


def _mlp_forward(params, x, activation):
    y = x
    for i, (A, b) in enumerate(params):
        y = y @ A.T + b
        if i < len(params) - 1:
            y = activation(y)
    return y.squeeze(-1)


def _train_zero_init(sizes, init_scale, activation, steps, seed):
    rng = generator(seed)
    n = 25
    X = lemmata.tensor(rng.standard_normal((n, sizes[0])))
    Y = lemmata.tensor(rng.standard_normal(n) + 1.3)
    params = _zero_init_tanh_mlp(sizes, init_scale, rng)
    initial = [(A.detach().clone(), b.detach().clone()) for A, b in params]
    flat = [p for pair in params for p in pair]
    lr = 1.0 / n  # the loss Σ ½(f − Y)² has curvature N along b_L
    for _ in range(steps):
        loss = 0.5 * (_mlp_forward(params, X, activation) - Y).square().sum()
        grads = lemmata.autograd.grad(loss, flat)
        with lemmata.no_grad():
            for p, g in zip(flat, grads):
                p -= lr * g
    moved = {}
    for i, ((A, b), (A0, b0)) in enumerate(zip(params, initial), start=1):
        moved[f"A_{i}"] = float((A.detach() - A0).abs().max())
        moved[f"b_{i}"] = float((b.detach() - b0).abs().max())
    return moved, params, Y


_ACTIVATIONS = {"tanh": lemmata.tanh, "sigmoid": lemmata.sigmoid}


@claim("ryu22.q5a", "Zero-initialised tanh MLP under GD: A₁..A_L and b₁..b_{L−1} never move")
def zero_init_frozen(sizes: tuple = (4, 6, 5, 3, 1), init_scale: float = 0.0,
                     activation: str = "tanh", steps: int = 100, seed: int = 21) -> Evidence:
    moved, _, _ = _train_zero_init(sizes, init_scale, _ACTIVATIONS[activation], steps, seed)
    L = len(sizes) - 1
    frozen = {k: v for k, v in moved.items() if k != f"b_{L}"}
    return Evidence(
        holds=all(v == 0.0 for v in frozen.values()) and moved[f"b_{L}"] > 0,
        measured={"max |θ − θ⁰| after GD": moved},
        expected={"all but b_L": 0.0, f"b_{L}": "> 0"},
        tolerance=0.0,
        explanation=(
            "With all weights 0, every hidden layer outputs tanh(0) = 0. Then ∂loss/∂A_L = "
            "Σ rᵢ y_{L−1}ᵀ = 0 and backprop into layer L−1 multiplies by A_L = 0, so every "
            "gradient except ∂loss/∂b_L = Σ rᵢ vanishes, and stays zero because nothing else ever "
            "moves. Checked exactly (to the last bit) over 100 GD steps on a 4-layer MLP."))


@claim("ryu22.q5b", "Zero-initialised tanh MLP under GD: b_L converges to the mean of the labels")
def zero_init_bias_limit(sizes: tuple = (4, 6, 5, 3, 1), init_scale: float = 0.0,
                         activation: str = "tanh", steps: int = 100, seed: int = 21) -> Evidence:
    _, params, Y = _train_zero_init(sizes, init_scale, _ACTIVATIONS[activation], steps, seed)
    b_L = params[-1][1].item()
    mean_Y = Y.mean().item()
    return Evidence(
        holds=abs(b_L - mean_Y) < 1e-10,
        measured={"b_L after GD": b_L},
        expected={"mean of the labels (1/N)Σ Yᵢ": mean_Y},
        tolerance=1e-10,
        explanation=(
            "By q5a the network is f_θ(x) = b_L throughout, so GD minimises Σ ½(b_L − Yᵢ)², a "
            "strongly convex quadratic whose minimiser is the label mean. With step 1/N the GD "
            "iteration b ← b − (1/N)Σ(b − Yᵢ) reaches it in one step."))


def _he_layer_samples(n_in: int, n_out: int, samples: int, rng, input_law: str,
                      weight_mean: float, shared_rows: bool):
    sigma_A = np.sqrt(2.0 / n_in)
    if input_law == "gaussian":
        y = rng.standard_normal((samples, n_in))
    elif input_law == "laplace":  # symmetric, mean 0, variance 1, not Gaussian
        y = rng.laplace(0.0, 1 / np.sqrt(2), (samples, n_in))
    else:  # "shifted-exponential": mean 0, variance 1, NOT symmetric
        y = rng.exponential(1.0, (samples, n_in)) - 1.0
    A = weight_mean + sigma_A * rng.standard_normal((samples, n_out, n_in))
    if shared_rows:
        A[:, 1:] = A[:, :1]
    y_t, A_t = lemmata.tensor(y), lemmata.tensor(A)
    x = lemmata.relu(y_t)
    y_plus = (A_t @ x.unsqueeze(-1)).squeeze(-1)  # b = 0
    return x.numpy(), y_plus.numpy(), sigma_A


def _he_claim(part: str, n_in: int, n_out: int, samples: int, input_law: str, weight_mean: float,
              shared_rows: bool, seed: int) -> Evidence:
    rng = generator(seed)
    x, y_plus, sigma_A = _he_layer_samples(n_in, n_out, samples, rng, input_law, weight_mean,
                                           shared_rows)
    setting = (f"n_in = {n_in}, n_out = {n_out}, σ_A² = 2/n_in, y ~ {input_law}, "
               f"{samples} Monte Carlo draws of (y, A)")
    if part == "a":
        est = estimate(x ** 2, axis=0)
        return Evidence(
            holds=all(e.agrees(0.5) for e in est),
            measured={"E[x_j²] per j": [e.mean for e in est]}, expected={"E[x_j²]": 0.5},
            tolerance=4.0,
            explanation=("y_j symmetric ⇒ P(y_j > 0) = P(y_j < 0) and E[y_j² 1{y_j>0}] = "
                         "E[y_j² 1{y_j<0}], so E[relu(y_j)²] = ½E[y_j²] = ½. " + setting))
    if part == "b":
        est = estimate(y_plus, axis=0)
        return Evidence(
            holds=all(e.agrees(0.0) for e in est),
            measured={"E[y⁺_i] per i": [e.mean for e in est]}, expected={"E[y⁺_i]": 0.0},
            tolerance=4.0,
            explanation=("E[y⁺_i] = Σ_j E[A_ij] E[x_j] = 0 because A is independent of x and "
                         "zero-mean. " + setting))
    if part == "c":
        est = estimate(y_plus ** 2, axis=0)
        closed = n_in * sigma_A ** 2 / 2
        return Evidence(
            holds=all(e.agrees(closed) for e in est),
            measured={"E[(y⁺_i)²] per i": [e.mean for e in est]},
            expected={"n_in σ_A²/2": closed}, tolerance=4.0,
            explanation=("E[(y⁺_i)²] = Σ_{j,k} E[A_ij A_ik] E[x_j x_k] = σ_A² Σ_j E[x_j²] = "
                         "n_in σ_A²/2 (independent zero-mean A, part a). " + setting))
    if part == "d":
        products = y_plus[:, :, None] * y_plus[:, None, :]
        iu = np.triu_indices(n_out, 1)
        est = estimate(products[:, iu[0], iu[1]], axis=0)
        return Evidence(
            holds=all(e.agrees(0.0) for e in est),
            measured={"largest |E[y⁺_i y⁺_k]|, i ≠ k": max(abs(e.mean) for e in est),
                      "its standard error": max(e.stderr for e in est)},
            expected={"E[y⁺_i y⁺_k], i ≠ k": 0.0}, tolerance=4.0,
            explanation=("For i ≠ k, E[y⁺_i y⁺_k] = Σ_{j,l} E[A_ij] E[A_kl] E[x_j x_l] = 0 "
                         "since rows of A are independent and zero-mean; with means 0 (part b) "
                         "the outputs are uncorrelated. " + setting))
    # part e: y⁺ symmetric — compare odd moments and the empirical laws of y⁺ and −y⁺
    third = estimate(y_plus[:, 0] ** 3)
    positive = estimate((y_plus[:, 0] > 0).astype(np.float64))
    return Evidence(
        holds=third.agrees(0.0) and positive.agrees(0.5),
        measured={"E[(y⁺_1)³]": third.as_dict(), "P(y⁺_1 > 0)": positive.as_dict()},
        expected={"E[(y⁺_1)³]": 0.0, "P(y⁺_1 > 0)": 0.5}, tolerance=4.0,
        explanation=("(A, x) and (−A, x) have the same law and are independent of each other's "
                     "sign, so y⁺ = Ax and −y⁺ = (−A)x have the same law: odd moments vanish and "
                     "P(y⁺ > 0) = ½ (y⁺ has no atom at 0). " + setting))


def _register_he(part: str, title: str):
    @claim(f"ryu22.q6{part}", title)
    def he_statistic(n_in: int = 16, n_out: int = 4, samples: int = 40000,
                     input_law: str = "laplace", weight_mean: float = 0.0,
                     shared_rows: bool = False, seed: int = 22) -> Evidence:
        return _he_claim(part, n_in, n_out, samples, input_law, weight_mean, shared_rows, seed)
    he_statistic.__name__ = f"he_initialisation_q6{part}"
    he_statistic.__doc__ = f"ryu22.q6{part}: {title}."
    return he_statistic


he_q6a = _register_he("a", "He init: E[x_j²] = 1/2 after ReLU of a symmetric input")
he_q6b = _register_he("b", "He init: E[y⁺] = 0")
he_q6c = _register_he("c", "He init: E[(y⁺_i)²] = n_in σ_A²/2")
he_q6d = _register_he("d", "He init: the outputs y⁺_i are uncorrelated")
he_q6e = _register_he("e", "He init: y⁺ is symmetric")


def _optimiser_trajectory(make_optimiser, steps: int, seed: int) -> np.ndarray:
    """Train a small tanh MLP on a regression problem; return the parameters after each step."""
    from lemmata import optim  # noqa: F401  (imported here: claims load before optim is used)
    rng = generator(seed)
    X = lemmata.tensor(rng.standard_normal((64, 5)))
    Y = lemmata.tensor(np.sin(X.numpy().sum(1, keepdims=True)))
    W1 = lemmata.tensor(rng.standard_normal((5, 16)) * 0.5, requires_grad=True)
    W2 = lemmata.tensor(rng.standard_normal((16, 1)) * 0.5, requires_grad=True)
    optimiser = make_optimiser([W1, W2])
    path = []
    for _ in range(steps):
        optimiser.zero_grad()
        loss = ((X @ W1).tanh() @ W2 - Y).square().mean()
        loss.backward()
        optimiser.step()
        path.append(np.concatenate([W1.detach().numpy().ravel(), W2.detach().numpy().ravel()]))
    return np.array(path)


@claim("ryu22.q1a", "RMSProp is Adam without bias correction with β₁ = 0, β₂ = α, same ε")
def rmsprop_is_adam(beta1: float = 0.0, alpha: float = 0.9, eps: float = 1e-8,
                    lr: float = 1e-2, steps: int = 100, seed: int = 23) -> Evidence:
    from lemmata import optim
    adam = _optimiser_trajectory(lambda p: optim.Adam(p, lr=lr, betas=(beta1, alpha), eps=eps,
                                                      bias_correction=False), steps, seed)
    rmsprop = _optimiser_trajectory(lambda p: optim.RMSprop(p, lr=lr, alpha=alpha, eps=eps),
                                    steps, seed)
    gap = float(np.abs(adam - rmsprop).max())
    return Evidence(
        holds=gap <= 1e-12,
        measured={"max |θ_Adam − θ_RMSprop| over 100 steps": gap,
                  "parameter movement over the run": float(np.abs(adam[-1] - adam[0]).max())},
        expected={"(β₁, β₂, ε)": [0.0, alpha, eps], "difference": 0.0},
        tolerance=1e-12,
        explanation=(
            "With β₁ = 0 Adam's first moment is m₁^{k+1} = g^k, and its second moment is "
            "RMSProp's m₂ when β₂ equals RMSProp's decay; without bias correction both steps are "
            "θ − α g^k ⊘ √(m₂ + ε) (the document puts ε under the root in both; lemmata's "
            "optimisers put it outside, as PyTorch does, in both). So RMSProp = Adam(β₁ = 0, "
            "β₂, ε, no bias correction): lemmata.optim.Adam(bias_correction=False) and "
            "lemmata.optim.RMSprop give the same iterates over 100 steps on an MLP."))


@claim("ryu22.q1b", "signSGD is Adam without bias correction with β₁ = β₂ = 0, ε = 0")
def signsgd_is_adam(beta1: float = 0.0, beta2: float = 0.0, eps: float = 0.0, lr: float = 1e-3,
                    steps: int = 100, seed: int = 24) -> Evidence:
    from lemmata import optim
    adam = _optimiser_trajectory(lambda p: optim.Adam(p, lr=lr, betas=(beta1, beta2), eps=eps,
                                                      bias_correction=False), steps, seed)
    sign = _optimiser_trajectory(lambda p: optim.SignSGD(p, lr=lr), steps, seed)
    gap = float(np.abs(adam - sign).max())
    return Evidence(
        holds=gap <= 1e-12,
        measured={"max |θ_Adam − θ_signSGD| over 100 steps": gap},
        expected={"(β₁, β₂, ε)": [0.0, 0.0, 0.0], "difference": 0.0},
        tolerance=1e-12,
        explanation=(
            "β₁ = β₂ = 0 give m₁^{k+1} = g^k and m₂^{k+1} = g^k ⊗ g^k; with ε = 0 the step is "
            "α g^k ⊘ √(g^k ⊗ g^k) = α g^k ⊘ |g^k| = α sign(g^k) for nonzero entries. "
            "lemmata.optim.Adam with these settings and lemmata.optim.SignSGD give the same "
            "iterates."))


_POINTWISE = {"relu": lemmata.relu, "tanh": lemmata.tanh, "sin": lemmata.sin}


@claim("ryu22.q2", "conv→MP→ReLU, conv→ReLU→MP and conv→ReLU→MP→ReLU are the same function")
def conv_pool_relu_commute(activation: str = "relu", in_chan: int = 3, out_chan: int = 4,
                           seed: int = 25) -> Evidence:
    from lemmata.models import model1, model2, model3
    rng = generator(seed)
    models = [model1(in_chan, out_chan), model2(in_chan, out_chan), model3(in_chan, out_chan)]
    randomise(models[0], rng)
    for m in models[1:]:
        m.load_state_dict(models[0].state_dict())
    for m in models:
        m.double()
    act = _POINTWISE[activation]
    conv, mp = models[0].conv, models[0].mp
    compositions = [lambda x: act(mp(conv(x))), lambda x: mp(act(conv(x))),
                    lambda x: act(mp(act(conv(x))))]
    x = lemmata.tensor(rng.standard_normal((4, in_chan, 12, 12)))
    outputs, grads, weights = [], [], None
    for f in compositions:
        out = f(x)
        if weights is None:              # one set of output weights for all three compositions
            weights = lemmata.tensor(rng.standard_normal(out.shape))
        g = lemmata.autograd.grad((out * weights).sum(), [conv.weight, conv.bias])
        outputs.append(out.detach().numpy())
        grads.append(np.concatenate([t.numpy().ravel() for t in g]))
    listing_gap = max(float(np.abs(m(x).detach().numpy() - o).max())
                      for m, o in zip(models, outputs))
    value_gap = max(float(np.abs(o - outputs[0]).max()) for o in outputs[1:])
    grad_gap = max(float(np.abs(g - grads[0]).max()) for g in grads[1:])
    return Evidence(
        holds=value_gap == 0.0 and grad_gap < 1e-12 and listing_gap == 0.0,
        measured={"max |output difference| between the three": value_gap,
                  "max |∂/∂(w, b) difference|": grad_gap,
                  "listings model1..3 vs the compositions": listing_gap},
        expected={"differences": 0.0},
        tolerance=1e-12,
        explanation=(
            "ReLU is non-decreasing, so max(ReLU(a), ReLU(b)) = ReLU(max(a, b)): max pooling "
            "commutes with ReLU (exactly, in floating point), and ReLU∘ReLU = ReLU removes the "
            "second ReLU of model3. The three listings, with the same weights, agree to the last "
            "bit in value and in gradient."))


@claim("ryu22.q3", "A 3×3, padding-1, C→C convolution is the identity iff w[c, c′, i, j] = "
                   "δ_{cc′}δ_{i1}δ_{j1} and b = 0")
def identity_convolution(channels: int = 4, centre: tuple = (1, 1), seed: int = 26) -> Evidence:
    from lemmata import func, nn
    rng = generator(seed)
    conv = nn.Conv2d(channels, channels, kernel_size=3, padding=1).double()
    with lemmata.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()
        for c in range(channels):
            conv.weight[c, c, centre[0], centre[1]] = 1.0
    worst = 0.0
    for v, h in [(5, 7), (8, 8), (1, 3)]:
        X = lemmata.tensor(rng.standard_normal((2, channels, v, h)))
        worst = max(worst, float((conv(X) - X).abs().max().detach()))
    # uniqueness: (w, b) ↦ conv_{w,b}(X) is injective for a generic X (full column rank)
    X = lemmata.tensor(rng.standard_normal((1, channels, 8, 8)))  # 64 pixels > 9C + 1 unknowns
    w, b = conv.weight.detach(), conv.bias.detach()
    J = func.jacobian(lambda wb: lemmata.nn.functional.conv2d(
        X, wb[:w.numel()].reshape(w.shape), wb[w.numel():], padding=1).flatten(),
        lemmata.cat([w.flatten(), b]))
    rank = int(np.linalg.matrix_rank(J.numpy()))
    return Evidence(
        holds=worst == 0.0 and rank == w.numel() + b.numel(),
        measured={"max |conv(X) − X|": worst,
                  "rank of ∂conv(X)/∂(w, b)": rank},
        expected={"difference": 0.0, "rank (unique solution)": w.numel() + b.numel()},
        tolerance=0.0,
        explanation=(
            "Output (c, i, j) is b_c + Σ_{c′,p,q} w[c, c′, p, q] X[c′, i+p−1, j+q−1] (zero "
            "padding). It equals X[c, i, j] for every X iff the only nonzero weight of output "
            "channel c is w[c, c, 1, 1] = 1 (0-based centre tap) and b_c = 0. The map (w, b) ↦ "
            "conv(X) is linear and injective for a generic X, so this solution is the only one."))


def _support(x: lemmata.Tensor) -> tuple[list[int], list[int]]:
    """Rows and columns where any channel of the (1, C, H, W) tensor is nonzero."""
    nonzero = (x.detach().numpy()[0] != 0).any(axis=0)
    return np.flatnonzero(nonzero.any(axis=1)).tolist(), np.flatnonzero(nonzero.any(axis=0)).tolist()


def _propagate(interval: tuple[int, int], size: int, layers) -> tuple[tuple[int, int], int]:
    """Where a nonzero input interval [lo, hi] of a dimension of length ``size`` can make the
    output nonzero, read off each layer's kernel, stride, padding and ceil_mode."""
    from lemmata import nn
    lo, hi = interval
    for layer in layers:
        if isinstance(layer, nn.Conv2d):
            k, pad, s = layer.kernel_size[0], layer.padding[0], layer.stride[0]
        elif isinstance(layer, nn.MaxPool2d):
            k = layer.kernel_size if isinstance(layer.kernel_size, int) else layer.kernel_size[0]
            s = layer.stride if isinstance(layer.stride, int) else layer.stride[0]
            pad = layer.padding if isinstance(layer.padding, int) else layer.padding[0]
        else:
            continue
        span = size + 2 * pad - k
        out = (-(-span // s) if getattr(layer, "ceil_mode", False) else span // s) + 1
        if getattr(layer, "ceil_mode", False) and (out - 1) * s >= size + pad:
            out -= 1
        # output o reads inputs o·s − pad … o·s − pad + k − 1
        lo, hi = max(0, -(-(lo + pad - k + 1) // s)), min(out - 1, (hi + pad) // s)
        size = out
    return (lo, hi), size


@claim("ryu22.q7", "NiN: outputs approximately but not exactly shift-invariant; the nonzero "
                   "entries of out1, out2, out3")
def nin_shift(shift: int = 4, seed: int = 27) -> Evidence:
    from lemmata.models import NiN
    rng = generator(seed)
    model = NiN().double().eval()
    randomise(model, rng, scale=0.05, positive=True)  # positive weights: no cancellation
    X = lemmata.zeros((1, 3, 32, 32), dtype=lemmata.float64)
    X[0, 1, 19, 19] = 1.0  # the document's i = 1, j = k = 19 (0-based)
    X_shifted = lemmata.zeros((1, 3, 32, 32), dtype=lemmata.float64)
    X_shifted[0, 1, 19 + shift, 19] = 1.0
    with lemmata.no_grad():
        out1 = model.mlpconv_layer1(X)
        out2 = model.mlpconv_layer2(out1)
        out3 = model.mlpconv_layer3(out2)
        y, y_shifted = model(X), model(X_shifted)
    measured, expected = {}, {}
    layers = []
    for name, out, seq in [("out1", out1, model.mlpconv_layer1), ("out2", out2,
                            model.mlpconv_layer2), ("out3", out3, model.mlpconv_layer3)]:
        layers += list(seq)
        rows, cols = _support(out)
        (lo, hi), _ = _propagate((19, 19), 32, layers)
        measured[f"{name} nonzero rows j"], measured[f"{name} nonzero cols k"] = rows, cols
        expected[f"{name} rows and cols"] = list(range(lo, hi + 1))
    patterns = all(measured[f"{n} nonzero rows j"] == expected[f"{n} rows and cols"] ==
                   measured[f"{n} nonzero cols k"] for n in ("out1", "out2", "out3"))
    rel = float((y - y_shifted).norm() / y.norm())
    measured["‖out(X) − out(X̃)‖/‖out(X)‖"] = rel
    expected["shifted output"] = "approximately equal (relative difference < 1), not exactly"
    return Evidence(
        holds=bool(patterns and 0 < rel < 1.0),
        measured=measured, expected=expected,
        explanation=(
            "Each 5×5 (padding 2) or 3×3 (padding 1) convolution widens the nonzero interval by "
            "2 or 1 on each side, 1×1 convolutions and ReLU keep it (with positive weights "
            "nothing cancels), and each 3×3 stride-2 ceil-mode max pool maps [lo, hi] to "
            "[⌈(lo − 2)/2⌉, ⌊hi/2⌋]. So out1 is nonzero on rows/cols 8–10 of 16, out2 on 2–6 of "
            "8, out3 on 1–7 of 8. The 4-pixel shift equals the total stride, so interior "
            "features just move one position, and the global average pool nearly undoes that; "
            "but at the border (out3 is clipped at row 7 for X̃) they differ, so the outputs "
            "are approximately, not exactly, equal."))
