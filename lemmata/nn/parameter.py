"""``nn.Parameter``: a Tensor that a Module registers as one of its learnable weights.

Assigning a Parameter to a Module attribute (``self.weight = nn.Parameter(...)``) registers it, so
it appears in ``parameters()``, ``named_parameters()`` and ``state_dict()``.  A Parameter requires a
gradient unless told otherwise, as in PyTorch.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes
from ..tensor import Tensor

__all__ = ["Parameter", "Buffer"]


class Parameter(Tensor):
    """A leaf Tensor marked as a module's learnable weight; ``requires_grad=True`` by default.

    ``Parameter(t)`` shares ``t``'s array (no copy), as ``torch.nn.Parameter`` shares storage.
    Ops applied to a Parameter return plain Tensors.
    """

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            array = np.empty((0,), dtype=dtypes.get_default_dtype())
        elif isinstance(data, Tensor):
            array = data._data
        elif isinstance(data, np.ndarray):
            array = data
        else:
            raise TypeError(f"Parameter: data must be a Tensor or an ndarray, got "
                            f"{type(data).__name__}")
        super().__init__(array, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (Parameter, (self._data, self.requires_grad))

    def __deepcopy__(self, memo: dict) -> "Parameter":
        if id(self) in memo:
            return memo[id(self)]
        result = Parameter(self._data.copy(), self.requires_grad)
        if self.grad is not None:
            result.grad = Tensor(self.grad._data.copy())
        memo[id(self)] = result
        return result


class Buffer(Tensor):
    """A Tensor marked as a module's buffer: ``self.running_mean = nn.Buffer(zeros(3))``
    registers it (as ``register_buffer``); ``persistent=False`` keeps it out of ``state_dict``."""

    def __init__(self, data: Any, *, persistent: bool = True) -> None:
        array = data._data if isinstance(data, Tensor) else np.asarray(data)
        super().__init__(array)
        self.persistent = persistent
