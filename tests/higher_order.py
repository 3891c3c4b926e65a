"""Higher derivatives against PyTorch, and the input generators shared by the core op tests.

For weights w and probe directions v₁, v₂ … the scalars

    s₀ = Σ w ⊙ f(x),   s₁ = Σᵢ ⟨∂s₀/∂xᵢ, v₁ᵢ⟩,   s₂ = Σᵢ ⟨∂s₁/∂xᵢ, v₂ᵢ⟩

have gradients that are the first, second and third derivatives of f contracted with w and the
v's.  Each ∂sₖ/∂x is computed by ``autograd.grad(..., create_graph=True)`` in lemmata and in
PyTorch on the same float64 inputs and compared; a derivative that PyTorch reports as unused (or
that no longer depends on x) must be zero in lemmata too.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

import lemmata

# ---------------------------------------------------------------------------------- inputs


def values(shape: tuple, domain: str, seed: int) -> np.ndarray:
    """Random float64 values of ``shape`` drawn from a domain that keeps away from kinks.

    any       standard normal
    moderate  standard normal clipped to [−3, 3] (erf, erfc: farther out they lie within 1e-9 of
              ±1 or 2, and central differences of such values lose the digits the check needs:
              erf′(−4.38) came out 4.7e-5 off)
    positive  uniform on [0.5, 2]            (log, sqrt, pow bases)
    away0     ±uniform on [0.1, 2]           (abs, relu, reciprocal: |x| > 1e-3)
    inside1   uniform on [−0.9, 0.9]         (asin, acos, tan: away from ±1 and ±π/2)
    odd       (k + ½)/10 for integers k     (never 0, never ±0.5, never an 'even' value)
    even      k/10 for integers k           (clamp bounds: 0.05 away from every 'odd' value)
    shifted   k/10 + 1/40                   (a second bound, never equal to 'odd' or 'even')
    grid      k/5 + 1/20                    (maximum, minimum: 0.1 away from every 'grid2'
    grid2     k/5 + 3/20                     value, so the two operands never tie)
    distinct  a shuffled arithmetic progression with step 0.1 (arg-extrema, max over a dim)
    """
    rng = np.random.default_rng(seed)
    if domain == "any":
        return rng.standard_normal(shape)
    if domain == "moderate":
        return np.clip(rng.standard_normal(shape), -3.0, 3.0)
    if domain == "positive":
        return rng.uniform(0.5, 2.0, shape)
    if domain == "inside1":
        return rng.uniform(-0.9, 0.9, shape)
    if domain == "away0":
        return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.1, 2.0, shape)
    if domain == "odd":       # (k + 0.5)/10: ±0.05, ±0.15, …  never 0, never ±0.5
        return (rng.integers(-15, 15, shape) + 0.5) / 10
    if domain == "even":      # k/10: never equal to an 'odd' value
        return rng.integers(-15, 15, shape) / 10.0
    if domain == "shifted":
        return rng.integers(-15, 15, shape) / 10.0 + 0.025
    if domain == "grid":
        return rng.integers(-6, 6, shape) / 5 + 0.05
    if domain == "grid2":
        return rng.integers(-6, 6, shape) / 5 + 0.15
    if domain == "distinct":  # all entries distinct, at least 0.1 apart (arg-extrema, max(dim))
        n = int(np.prod(shape, dtype=np.int64))
        return (rng.permutation(n) * 0.1 - 0.05 * n + 0.03).reshape(shape)
    raise ValueError(domain)


# ---------------------------------------------------------------------------------- derivatives


def _np(t) -> np.ndarray:
    return t.detach().numpy(force=True)  # force: PyTorch may hand back a lazy ZeroTensor


def _assert_close(ours, theirs, like: np.ndarray, rtol: float, what: str) -> None:
    a = np.zeros_like(like) if ours is None else _np(ours)
    b = np.zeros_like(like) if theirs is None else _np(theirs)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    scale = max(float(np.abs(b).max()) if b.size else 0.0, 1.0)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * scale, err_msg=what)


def check_higher_derivatives(f_lemmata: Callable, f_torch: Callable, arrays: Sequence[np.ndarray],
                             order: int = 3, rtol: float = 1e-10, seed: int = 99) -> None:
    """Derivatives of orders 1..``order`` of Σ w ⊙ f(x) agree with PyTorch (float64)."""
    import torch
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    rng = np.random.default_rng(seed)
    ours = [lemmata.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_l, out_t = f_lemmata(*ours), f_torch(*theirs)
    w = rng.standard_normal(tuple(out_t.shape))
    s_l = (out_l * lemmata.tensor(w)).sum()
    s_t = (out_t * torch.tensor(w)).sum()
    for k in range(1, order + 1):
        if not s_t.requires_grad:   # the previous derivative is constant in x: this one is 0
            if s_l.requires_grad:
                rest = lemmata.autograd.grad(s_l, ours, allow_unused=True)
                for g, a in zip(rest, arrays):
                    _assert_close(g, None, a, rtol, f"derivative {k} should vanish")
            return
        g_t = torch.autograd.grad(s_t, theirs, create_graph=True, allow_unused=True)
        g_l = (lemmata.autograd.grad(s_l, ours, create_graph=True, allow_unused=True)
               if s_l.requires_grad else [None] * len(ours))
        for i, (gl, gt, a) in enumerate(zip(g_l, g_t, arrays)):
            _assert_close(gl, gt, a, rtol, f"derivative {k} with respect to input {i}")
        probes = [rng.standard_normal(a.shape) for a in arrays]
        terms_t = [(g * torch.tensor(v)).sum() for g, v in zip(g_t, probes) if g is not None]
        terms_l = [(g * lemmata.tensor(v)).sum() for g, v in zip(g_l, probes) if g is not None]
        s_t = sum(terms_t[1:], terms_t[0]) if terms_t else torch.zeros(())
        s_l = sum(terms_l[1:], terms_l[0]) if terms_l else lemmata.zeros(())
