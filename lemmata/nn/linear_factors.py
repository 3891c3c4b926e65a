"""A linear layer's weight gradient kept as its two factors, to be multiplied out later.

For y = x Wᵀ (one sample per row of x and y), the weight gradient is an outer-product sum,

    ∂L/∂W = (∂L/∂y)ᵀ x,

so the gradients of several batches (the shards of a data-parallel step) add up to one product
over all their rows:

    Σ_t w_t (∂L_t/∂y_t)ᵀ x_t = Gᵀ X,    G = [w_1 ∂L_1/∂y_1; w_2 ∂L_2/∂y_2; …],  X = [x_1; x_2; …].

Within :func:`recording_linear_factors`, :func:`lemmata.nn.functional.linear` with one of the
given weights multiplies by a gradient-free alias of the weight and records x (a copy, so that
later in-place changes cannot reach it) and, through a hook on the product, ∂L/∂y, instead of
letting autograd form (∂L/∂y)ᵀ x itself.  Every other use of the weight keeps its gradient
from autograd, to be added to Gᵀ X.  Only a use whose input requires grad is recorded (a product
that nothing else ties to the graph would carry no hook), and only for first derivatives: the
recorded factors are arrays, not part of any graph.
"""
from __future__ import annotations

import contextlib
import threading
from typing import Iterable, Iterator

import numpy as np

from ..tensor import Tensor

__all__ = ["LinearFactors", "recording_linear_factors", "factors_of"]

_local = threading.local()


class LinearFactors:
    """The recorded uses of one weight W (out × in): per use, x as rows (n × in) and, once the
    backward pass has reached the product, ∂L/∂y as rows (n × out)."""

    def __init__(self) -> None:
        self.inputs: list[np.ndarray] = []
        self.output_grads: list[np.ndarray | None] = []

    def record(self, x: Tensor, product: Tensor) -> None:
        """Keep x, and ∂L/∂(x Wᵀ) when the backward pass brings it to ``product``."""
        self.inputs.append(np.array(x._data, copy=True).reshape(-1, x.shape[-1]))
        self.output_grads.append(None)
        use = len(self.inputs) - 1

        def keep(g: Tensor) -> None:
            self.output_grads[use] = g._data.reshape(-1, g.shape[-1])

        product.register_hook(keep)

    def pairs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(∂L/∂y rows, x rows) of every use that the backward pass reached."""
        return [(g, x) for g, x in zip(self.output_grads, self.inputs) if g is not None]


@contextlib.contextmanager
def recording_linear_factors(weights: Iterable[Tensor]) -> Iterator[dict[int, LinearFactors]]:
    """Within the block, in this thread, F.linear records the factors of ``weights``' gradients
    (see the module docstring); yields them by ``id`` of the weight."""
    tables = _local.__dict__.setdefault("tables", [])      # innermost block last
    tables.append({id(w): LinearFactors() for w in weights})
    try:
        yield tables[-1]
    finally:
        tables.pop()


def factors_of(weight: Tensor) -> LinearFactors | None:
    """Where F.linear should record ``weight``'s factors in this thread (the innermost block's
    table), or None."""
    tables = getattr(_local, "tables", None)
    return tables[-1].get(id(weight)) if tables else None
