"""Gradient checks shared by the test suite.

For an op f and random weights w, the scalar L(x) = Σ w ⊙ f(x) has gradient ∇L = J_fᵀ w, the
quantity reverse mode computes.  It is checked three ways:

* central finite differences in float64:  (L(x + εeⱼ) − L(x − εeⱼ)) / 2ε, error O(ε²);
* the complex step:  Im L(x + i h eⱼ) / h with h = 1e-20, exact to rounding (no subtraction);
* PyTorch 2.13.0 on the same inputs, for values and gradients.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

import lemmata

Arrays = Sequence[np.ndarray]


def weights_like(out: np.ndarray, seed: int = 1234) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(np.shape(out))


def _weighted(f: Callable, tensors: list, w: np.ndarray):
    out = f(*tensors)
    return (out * lemmata.tensor(w, dtype=out.dtype)).sum()


def reverse_grads(f: Callable, arrays: Arrays, w: np.ndarray | None = None) -> list[np.ndarray]:
    """∇ of Σ w ⊙ f(x) by lemmata's reverse mode, for each float input."""
    tensors = [lemmata.tensor(a, requires_grad=True) for a in arrays]
    out = f(*tensors)
    w = weights_like(out.detach().numpy()) if w is None else w
    (out * lemmata.tensor(w, dtype=out.dtype)).sum().backward()
    return [np.zeros_like(a) if t.grad is None else t.grad.numpy() for a, t in zip(arrays, tensors)]


def finite_difference_grads(f: Callable, arrays: Arrays, w: np.ndarray,
                            eps: float = 1e-6) -> list[np.ndarray]:
    grads = []
    for k, a in enumerate(arrays):
        g = np.zeros_like(a, dtype=np.float64)
        for j in np.ndindex(a.shape):
            step = eps * max(1.0, abs(float(a[j])))
            values = []
            for sign in (1, -1):
                moved = [x.copy() for x in arrays]
                moved[k][j] += sign * step
                with lemmata.no_grad():
                    values.append(_weighted(f, [lemmata.tensor(x) for x in moved], w).item())
            g[j] = (values[0] - values[1]) / (2 * step)
        grads.append(g)
    return grads


def complex_step_grads(f: Callable, arrays: Arrays, w: np.ndarray,
                       h: float = 1e-20) -> list[np.ndarray]:
    grads = []
    for k, a in enumerate(arrays):
        g = np.zeros_like(a, dtype=np.float64)
        for j in np.ndindex(a.shape):
            moved = [x.astype(np.complex128) for x in arrays]
            moved[k][j] += 1j * h
            with lemmata.no_grad():
                value = _weighted(f, [lemmata.tensor(x) for x in moved], w).item()
            g[j] = value.imag / h
        grads.append(g)
    return grads


def _scale(grads: list[np.ndarray]) -> float:
    return max([float(np.abs(g).max()) for g in grads if g.size] + [1e-300])


def check_gradients(f: Callable, arrays: Arrays, fd_rtol: float = 1e-6,
                    cs_rtol: float = 1e-12, complex_step: bool = True) -> None:
    """Reverse mode against finite differences and (optionally) the complex step, in float64.

    Tolerances are relative to the largest gradient entry, so entries near zero are judged on
    the gradient's scale.
    """
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    with lemmata.no_grad():
        w = weights_like(f(*[lemmata.tensor(a) for a in arrays]).numpy())
    reverse = reverse_grads(f, arrays, w)
    scale = _scale(reverse)
    for fd, rv in zip(finite_difference_grads(f, arrays, w), reverse):
        np.testing.assert_allclose(rv, fd, rtol=fd_rtol, atol=fd_rtol * scale,
                                   err_msg="reverse mode vs central finite differences")
    if complex_step:
        for cs, rv in zip(complex_step_grads(f, arrays, w), reverse):
            np.testing.assert_allclose(rv, cs, rtol=cs_rtol, atol=cs_rtol * scale,
                                       err_msg="reverse mode vs complex step")


def check_torch_parity(f_lemmata: Callable, f_torch: Callable, arrays: Arrays,
                       dtype: str = "float64", rtol: float | None = None,
                       atol: float | None = None) -> None:
    """Values and gradients of lemmata and PyTorch agree on the same inputs."""
    import torch
    rtol = rtol if rtol is not None else (1e-12 if dtype == "float64" else 1e-5)
    atol = atol if atol is not None else rtol
    arrays = [np.asarray(a).astype(dtype) for a in arrays]
    ours = [lemmata.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_l, out_t = f_lemmata(*ours), f_torch(*theirs)
    assert tuple(out_l.shape) == tuple(out_t.shape), (out_l.shape, out_t.shape)
    assert out_l.dtype == np.dtype(str(out_t.dtype).replace("torch.", "")), (out_l.dtype,
                                                                              out_t.dtype)
    scale_v = max(float(np.abs(out_t.detach().numpy()).max()) if out_t.numel() else 0.0, 1.0)
    np.testing.assert_allclose(out_l.detach().numpy(), out_t.detach().numpy(), rtol=rtol,
                               atol=atol * scale_v, err_msg="forward values differ from torch")
    if not out_t.requires_grad:
        return
    w = weights_like(out_t.detach().numpy())
    (out_l * lemmata.tensor(w.astype(dtype))).sum().backward()
    (out_t * torch.tensor(w.astype(dtype))).sum().backward()
    for ours_t, theirs_t in zip(ours, theirs):
        if theirs_t.grad is None:
            assert ours_t.grad is None or not np.any(ours_t.grad.numpy())
            continue
        g_t = theirs_t.grad.numpy()
        scale = max(float(np.abs(g_t).max()) if g_t.size else 0.0, 1.0)
        np.testing.assert_allclose(ours_t.grad.numpy(), g_t, rtol=rtol, atol=atol * scale,
                                   err_msg="gradients differ from torch")


def conv_double_backward(lib, op, arrays, probes, kwargs):
    """For a convolution-like op(x, w, b): the grad of Σ u·∂x + Σ u·∂w + Σ u·∂b + |∂w|² + |∂x|²
    with respect to x, w and the upstream v, where (∂x, ∂w, ∂b) = vᵀ J is the first backward
    taken with create_graph=True."""
    x, w, b, v = [lib.tensor(a, requires_grad=True) for a in arrays]
    y = op(x, w, b, **kwargs)
    gx, gw, gb = lib.autograd.grad(y, [x, w, b], v, create_graph=True)
    u_x, u_w, u_b = [lib.tensor(u) for u in probes]
    loss = (gx * u_x).sum() + (gw * u_w).sum() + (gb * u_b).sum() + (gw * gw).sum() \
        + (gx * gx).sum()
    return [g.detach().numpy() for g in lib.autograd.grad(loss, [x, w, v])]
