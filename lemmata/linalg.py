"""Linear algebra around networks: convolutions as matrices, and the Hessian's top eigenvalue.

* :func:`conv_matrix` writes a 1-D or 2-D convolution as the dense matrix A with
  conv(x).flatten() = A · x.flatten(), so its adjoint is Aᵀ (seed bouman.q5: the matrices A and B
  of a 'valid' true convolution, and why the adjoint is again a convolution).
* :func:`power_iteration` and :func:`lanczos` find extreme eigenvalues of a symmetric operator
  given only v ↦ Av; with :func:`hessian_operator` the operator is v ↦ Hv of a loss (one
  Hessian-vector product per step, seed ttic.p5), and :func:`sharpness` is the top Hessian
  eigenvalue.  The small tridiagonal eigenproblem of Lanczos is solved with NumPy.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from . import func
from .ops import flip as _flip
from .tensor import Tensor

__all__ = ["conv_matrix", "power_iteration", "lanczos", "hessian_operator", "sharpness"]


# ----------------------------------------------------------------------------------------------
# convolutions as matrices
# ----------------------------------------------------------------------------------------------
def _conv_op(spatial: int) -> Callable:
    from .ops import conv as conv_ops
    return conv_ops.conv1d if spatial == 1 else conv_ops.conv2d


def conv_matrix(weight: Tensor, input_shape: Sequence[int], stride: Any = 1, padding: Any = 0,
                dilation: Any = 1, groups: int = 1, true_convolution: bool = False) -> Tensor:
    """The dense matrix A of a bias-free convolution: conv(x).flatten() = A · x.flatten().

    ``weight`` has shape (C_out, C_in/groups, k) for a 1-D or (C_out, C_in/groups, kH, kW) for a
    2-D convolution; ``input_shape`` is one input without the batch dim, (C_in, L) or
    (C_in, H, W); stride, padding, dilation and groups mean what they mean to ``conv1d``/``conv2d``.
    A has shape (C_out·L_out, C_in·L) (or (C_out·H_out·W_out, C_in·H·W)) and the weight's dtype.

    Column j of A is the response to the j-th basis input eⱼ, so A is built by one convolution of
    the whole basis as a batch of n = C_in·L inputs: (conv(I) reshaped to n × m)ᵀ.  Built from the
    weight Tensor with ops, A is differentiable in the weight.

    ``true_convolution=True`` flips the kernel first: (w ∗ y)ᵢ = Σⱼ w_{i−j} yⱼ instead of the
    correlation Σₖ wₖ y_{i+k}.  For seed bouman.q5 (w = [w₀, w₁, w₂], y ∈ ℝ⁵, 'valid') this gives
    A_{i,j} = w_{2+i−j}; the adjoint gradient Aᵀε is the correlation of the zero-padded ε with
    the flipped kernel, i.e. ``conv_transpose1d(ε, w_flipped)``.
    """
    if not isinstance(weight, Tensor):
        raise TypeError(f"conv_matrix: weight must be a Tensor, got {type(weight).__name__}")
    if weight.ndim not in (3, 4):
        raise ValueError(f"conv_matrix: weight must have 3 dims (1-D convolution) or 4 dims (2-D), "
                         f"got shape {tuple(weight.shape)}")
    if weight.dtype.kind not in "fc":
        raise TypeError(f"conv_matrix: weight must be floating point, got {weight.dtype}")
    spatial = weight.ndim - 2
    try:
        shape = tuple(int(n) for n in input_shape)
    except TypeError:
        raise TypeError(f"conv_matrix: input_shape must be a sequence of ints, got "
                        f"{input_shape!r}") from None
    if len(shape) != spatial + 1:
        dims = "L" if spatial == 1 else "H, W"
        raise ValueError(f"conv_matrix: input_shape {shape} must be (C, {dims}) without the "
                         f"batch dim for weight of shape {tuple(weight.shape)}")
    if any(n <= 0 for n in shape):
        raise ValueError(f"conv_matrix: input_shape {shape} must be positive")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"conv_matrix: groups must be a positive int, got {groups!r}")
    if shape[0] != weight.shape[1] * groups:
        raise ValueError(f"conv_matrix: input has {shape[0]} channels but weight of shape "
                         f"{tuple(weight.shape)} with groups={groups} expects "
                         f"{weight.shape[1] * groups}")
    n = int(np.prod(shape))
    basis = Tensor(np.eye(n, dtype=weight.dtype).reshape((n,) + shape))
    kernel = _flip(weight, tuple(range(2, weight.ndim))) if true_convolution else weight
    responses = _conv_op(spatial)(basis, kernel, None, stride, padding, dilation, groups)
    return responses.reshape(n, -1).transpose(0, 1)


# ----------------------------------------------------------------------------------------------
# eigenvalues of a symmetric operator given by its matrix-vector product
# ----------------------------------------------------------------------------------------------
def _as_operator(operator: Callable, fn: str) -> Callable[[np.ndarray], np.ndarray]:
    if not callable(operator):
        raise TypeError(f"{fn}: operator must be callable (v ↦ A v on 1-D Tensors), got "
                        f"{type(operator).__name__}")

    def apply(v: np.ndarray) -> np.ndarray:
        out = operator(Tensor(v))
        out = out.detach().numpy() if isinstance(out, Tensor) else np.asarray(out)
        if out.shape != v.shape:
            raise ValueError(f"{fn}: operator maps a vector of shape {v.shape} to shape "
                             f"{out.shape}; it must be square")
        return out.astype(v.dtype, copy=False)

    return apply


def _start(start: Tensor | int, seed: int, fn: str) -> np.ndarray:
    if isinstance(start, Tensor):
        if start.ndim != 1 or start.numel() == 0:
            raise ValueError(f"{fn}: the start vector must be a non-empty 1-D Tensor, got shape "
                             f"{tuple(start.shape)}")
        v = start.detach().numpy().astype(np.float64 if start.dtype != np.float32 else np.float32)
    elif isinstance(start, (int, np.integer)) and not isinstance(start, bool) and start > 0:
        v = np.random.default_rng(seed).standard_normal(int(start))
    else:
        raise TypeError(f"{fn}: start must be a 1-D Tensor or a positive dimension n, got "
                        f"{start!r}")
    norm = np.linalg.norm(v)
    if not norm > 0:
        raise ValueError(f"{fn}: the start vector is zero")
    return v / norm


def power_iteration(operator: Callable[[Tensor], Tensor], start: Tensor | int,
                    num_iters: int = 500, tol: float = 1e-10, seed: int = 0
                    ) -> tuple[float, Tensor]:
    """The eigenvalue of largest magnitude of a symmetric A, and its unit eigenvector.

    vₖ₊₁ = A vₖ / ‖A vₖ‖, λₖ = vₖ · A vₖ (the Rayleigh quotient), stopped when the residual
    ‖A vₖ − λₖ vₖ‖ ≤ tol · |λₖ|.  Convergence goes like |λ₂/λ₁|ᵏ, so it is slow when the two largest
    magnitudes are close; :func:`lanczos` converges much faster.  ``operator`` maps a 1-D Tensor v
    to A v; ``start`` is the first vector or the dimension n (then a seeded Gaussian vector).
    Note that for a Hessian with a large negative eigenvalue this returns that one, not the top.
    """
    apply = _as_operator(operator, "power_iteration")
    v = _start(start, seed, "power_iteration")
    if num_iters < 1:
        raise ValueError(f"power_iteration: num_iters must be positive, got {num_iters}")
    eigenvalue = 0.0
    for _ in range(int(num_iters)):
        w = apply(v)
        eigenvalue = float(v @ w)
        if np.linalg.norm(w - eigenvalue * v) <= tol * abs(eigenvalue):
            break
        norm = np.linalg.norm(w)
        if norm == 0:
            return 0.0, Tensor(v)
        v = w / norm
    return eigenvalue, Tensor(v)


def lanczos(operator: Callable[[Tensor], Tensor], start: Tensor | int, num_iters: int = 30,
            tol: float = 1e-10, seed: int = 0) -> tuple[np.ndarray, Tensor]:
    """Ritz values and vectors of a symmetric A from a Krylov space, with full reorthogonalisation.

    With q₁ = start/‖start‖ the three-term recurrence
        βⱼ qⱼ₊₁ = A qⱼ − αⱼ qⱼ − βⱼ₋₁ qⱼ₋₁,   αⱼ = qⱼ · A qⱼ,
    makes Qₖᵀ A Qₖ = Tₖ tridiagonal (α on the diagonal, β beside it).  In floating point the q's
    lose orthogonality, so each new vector is projected off all previous ones (twice, classical
    Gram–Schmidt).  The eigenvalues θ of Tₖ (NumPy's eigh) approximate the extreme eigenvalues of A;
    the residual of the pair (θ, Qₖ s) is βₖ |sₖ|, and iteration stops once the top one is below
    tol · |θ| or the Krylov space is invariant (β below n·u·‖T‖, u the unit roundoff); with
    ``tol=0`` and ``num_iters=n`` it runs to the whole spectrum.

    Returns the Ritz values in ascending order (a NumPy array) and the Ritz vectors as the columns
    of a Tensor of shape (n, k).
    """
    apply = _as_operator(operator, "lanczos")
    q = _start(start, seed, "lanczos")
    n = q.shape[0]
    if num_iters < 1:
        raise ValueError(f"lanczos: num_iters must be positive, got {num_iters}")
    k_max = min(int(num_iters), n)
    basis = np.zeros((n, k_max), dtype=q.dtype)
    alphas: list[float] = []
    betas: list[float] = []
    values = vectors = None
    for j in range(k_max):
        basis[:, j] = q
        w = apply(q)
        alphas.append(float(q @ w))
        done = basis[:, :j + 1]
        for _ in range(2):  # w ← (I − Q Qᵀ) w, twice for orthogonality to rounding
            w = w - done @ (done.T @ w)
        beta = float(np.linalg.norm(w))
        tridiagonal = np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1)
        values, vectors = np.linalg.eigh(tridiagonal)
        residual = beta * abs(vectors[-1, -1])
        scale = max(abs(values[-1]), abs(values[0]), 1e-300)
        invariant = beta <= max(tol, n * np.finfo(q.dtype).eps) * scale
        if invariant or residual < tol * max(abs(values[-1]), 1e-300):
            break
        betas.append(beta)
        q = w / beta
    k = len(alphas)
    return values, Tensor(basis[:, :k] @ vectors)


def hessian_operator(f: Callable, x: Any, method: str = "complex-step"
                     ) -> tuple[Callable[[Tensor], Tensor], int]:
    """v ↦ H v for the Hessian of the scalar f at x, as an operator on flat 1-D Tensors.

    x may be a Tensor or a tree of Tensors (a parameter dict); vectors are flattened in the order
    of :func:`lemmata.func.ravel`.  Each application is one :func:`lemmata.func.hvp` (``method``
    as there).  Returns (operator, n).
    """
    flat, unravel = func.ravel(x)
    n = flat.numel()

    def apply(v: Tensor) -> Tensor:
        hv = func.hvp(f, x, unravel(v.to(flat.dtype)), method=method)
        return func.ravel(hv)[0]

    return apply, n


def sharpness(f: Callable, x: Any, method: str = "lanczos", hvp_method: str = "complex-step",
              num_iters: int = 30, tol: float = 1e-10, seed: int = 0) -> float:
    """The top (algebraically largest) eigenvalue of the Hessian of the scalar f at x.

    ``method="lanczos"`` (default) or ``"power"`` (which finds the eigenvalue of largest
    magnitude; the same when the Hessian's spectrum is dominated by its top, as near a minimum).
    Only Hessian-vector products are used (``hvp_method``), never the dense Hessian.
    """
    if method not in ("lanczos", "power"):
        raise ValueError(f"sharpness: method must be 'lanczos' or 'power', got {method!r}")
    operator, n = hessian_operator(f, x, hvp_method)
    if method == "power":
        return power_iteration(operator, n, num_iters=num_iters, tol=tol, seed=seed)[0]
    return float(lanczos(operator, n, num_iters=num_iters, tol=tol, seed=seed)[0][-1])
