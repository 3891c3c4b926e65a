"""Gradient clipping and flat parameter vectors, as ``torch.nn.utils``.

``clip_grad_norm_`` rescales the gradients of a list of parameters together so that the norm of
all of them, as one long vector, is at most ``max_norm``:

    total = ‖(‖g₁‖_p, ‖g₂‖_p, …)‖_p,    gᵢ ← gᵢ · min(1, max_norm / (total + 1e-6)),

which keeps the direction of the full gradient (an update of length at most lr·max_norm) and
changes nothing while the norm is small.  ``clip_grad_value_`` clamps each entry to
[−clip_value, clip_value] instead, which bends the direction.  ``parameters_to_vector`` and
``vector_to_parameters`` flatten a model's parameters into one vector and back (for methods that
see the model as a point θ ∈ ℝⁿ).
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Iterable

import numpy as np

from .. import ops
from ..autograd import no_grad
from ..tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector",
           "vector_to_parameters"]


def _tensors(parameters: Any, op: str) -> list[Tensor]:
    """A single Tensor or an iterable of Tensors (a generator is read once), as a list."""
    if isinstance(parameters, Tensor):
        return [parameters]
    try:
        tensors = list(parameters)
    except TypeError:
        raise TypeError(f"{op}: parameters must be a Tensor or an iterable of Tensors, got "
                        f"{type(parameters).__name__}") from None
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: parameters must be Tensors, got a {type(t).__name__} at "
                            f"position {i}")
    return tensors


def _number(value: Any, name: str, op: str) -> float:
    if isinstance(value, Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{op}: {name} must be a number, got {type(value).__name__}")
    return float(value)


def clip_grad_norm_(parameters: Any, max_norm: float, norm_type: float | str = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Scale the parameters' gradients in place so that their total ``norm_type``-norm is at
    most ``max_norm`` (see the module docstring); returns the total norm before scaling, as a
    0-d Tensor.  Parameters without a gradient are skipped.  ``error_if_nonfinite``: raise
    instead of scaling by a NaN or infinite norm.  ``foreach`` is accepted for PyTorch's sake
    (the gradients are scaled one after another either way)."""
    op = "clip_grad_norm_"
    tensors = _tensors(parameters, op)
    max_norm = _number(max_norm, "max_norm", op)
    p = math.inf if norm_type in ("inf", math.inf) else _number(norm_type, "norm_type", op)
    grads = [t.grad for t in tensors if t.grad is not None]
    if not grads:
        return Tensor(np.asarray(0.0, dtype=np.float32))
    with no_grad():
        total = ops.norm(ops.stack([ops.norm(g, p) for g in grads]), p)
        if error_if_nonfinite and not math.isfinite(total.item()):
            raise RuntimeError(f"{op}: the total norm of order {norm_type} of the gradients is "
                               f"{total.item()}, so it cannot be clipped; pass "
                               f"error_if_nonfinite=False to scale the gradients by it anyway")
        coefficient = ops.clamp(max_norm / (total + 1e-6), max=1.0)
        for g in grads:
            g.mul_(coefficient)
    return total


def clip_grad_value_(parameters: Any, clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient entry of the parameters to [−clip_value, clip_value], in place.
    Parameters without a gradient are skipped."""
    op = "clip_grad_value_"
    tensors = _tensors(parameters, op)
    clip_value = _number(clip_value, "clip_value", op)
    with no_grad():
        for t in tensors:
            if t.grad is not None:
                t.grad.clamp_(-clip_value, clip_value)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """The parameters flattened and concatenated into one vector (differentiable)."""
    tensors = _tensors(parameters, "parameters_to_vector")
    if not tensors:
        raise RuntimeError("parameters_to_vector: no parameters given")
    return ops.cat([t.reshape(-1) for t in tensors])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into the parameters (outside any graph): the inverse
    of :func:`parameters_to_vector`."""
    op = "vector_to_parameters"
    if not isinstance(vec, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(vec).__name__}")
    tensors = _tensors(parameters, op)
    total = sum(t.numel() for t in tensors)
    if vec.ndim != 1 or vec.numel() != total:
        raise RuntimeError(f"{op}: vec of shape {tuple(vec.shape)} does not hold the "
                           f"parameters' {total} entries in one dimension")
    start = 0
    with no_grad():
        for t in tensors:
            t.copy_(vec[start:start + t.numel()].reshape(tuple(t.shape)))
            start += t.numel()
