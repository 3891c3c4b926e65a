"""``lemmata.cuda``: whether CUDA tensors can be made here (``torch.cuda``'s first questions).

Tensors on ``"cuda"`` hold CuPy arrays; see :mod:`lemmata.backend`.
"""
from __future__ import annotations

from . import backend

__all__ = ["is_available", "device_count"]


def is_available() -> bool:
    """Whether CuPy is installed and finds a CUDA device."""
    return backend.is_available("cuda")


def device_count() -> int:
    """The number of CUDA devices (0 without CuPy or a GPU)."""
    return backend.device_count("cuda")
