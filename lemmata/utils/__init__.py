"""PyTorch's ``torch.utils`` namespace: ``lemmata.utils.data`` *is* :mod:`lemmata.data`.

The module is registered under both names, so ``from lemmata.utils.data import DataLoader`` and
``import lemmata.utils.data`` work like their torch counterparts and give the same objects.
"""
import sys

from .. import data

sys.modules[__name__ + ".data"] = data

__all__ = ["data"]
