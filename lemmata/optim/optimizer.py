"""The Optimizer base: parameter groups, per-parameter state, state dicts, update arithmetic.

An optimiser owns a list of *parameter groups*: dicts with the key ``'params'`` (a list of
Tensors) and one value per hyper-parameter (``'lr'``, ``'momentum'`` ...), missing ones taken
from ``defaults``.  ``state[p]`` is a dict of per-parameter tensors (momentum buffers, moment
estimates) and numbers.  ``step()`` reads each ``p.grad`` and overwrites ``p``'s array in place,
outside any recorded graph.

Exactness.  Each update rule replays PyTorch's single-tensor (``foreach=False``) implementation
operation by operation.  PyTorch's CPU kernels evaluate ``add(a, b, alpha)``, ``addcmul`` and
``lerp`` as fused multiply-adds (one rounding for x·y + z); :func:`fma` reproduces that for float32
(and float16) by evaluating in float64, where the product of two float32 numbers is exact, and
rounding once.  So float32 SGD trajectories equal PyTorch's bit for bit; the rules that take a
square root (Adam, RMSprop, Adagrad) differ by an ulp here and there, because PyTorch's vectorised
float32 sqrt is not always correctly rounded while NumPy's is.  For float64 the product is
rounded before the addition, so trajectories agree to about one unit in the last place per step.

``state_dict()`` has PyTorch's layout: ``{'state': {0: {...}, 1: {...}}, 'param_groups': [{...,
'params': [0, 1]}]}`` with parameters replaced by integer ids in group order; the state tensors
are copies, so the dict is a snapshot that later steps do not change.
"""
from __future__ import annotations

import copy
import math
import numbers
import warnings
from collections import defaultdict
from itertools import chain
from typing import Any, Callable

import numpy as np

from .. import backend, dtypes
from ..autograd import enable_grad
from ..ops.arguments import broadcast_shape
from ..ops.workspace import scratch
from ..tensor import Tensor

__all__ = ["Optimizer", "required", "fma", "lerp_", "real_view"]


class _RequiredParameter:
    """Marks a hyper-parameter that every parameter group must give (PyTorch's ``required``)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


# ----------------------------------------------------------------------------------------------
# update arithmetic on arrays, in PyTorch's rounding order
# ----------------------------------------------------------------------------------------------
def _fused(dtype: np.dtype) -> bool:
    """Whether x·y + z can be evaluated exactly-then-rounded by going through float64."""
    return dtype.char in "ef"                   # float16, float32 (a char test: 0.2 µs less)


def _exact_scale(x: np.ndarray) -> bool:
    """A scalar ±2ᵏ: multiplying by it is exact, so x·y + z needs no widening to round once."""
    if x.ndim or x.dtype.kind != "f":
        return False
    value = float(x)
    return value != 0 and math.isfinite(value) and math.frexp(abs(value))[0] == 0.5


def _is_one(x: np.ndarray) -> bool:
    return x.ndim == 0 and x.dtype.kind == "f" and float(x) == 1.0


#: elements per block when :func:`fma` widens to float64: a block's float64 product (256 KiB)
#: stays in cache.  Widening a whole 16.8 M-element float32 weight at once streamed 134 MB
#: through memory several times and cost about a third of a Net (seed 002) training step.
FMA_BLOCK = 1 << 15


def fma(a: Any, b: Any, c: Any, out: np.ndarray | None = None) -> np.ndarray:
    """a·b + c with a single rounding, as PyTorch's fused CPU kernels give it.

    The result has the dtype of ``c`` (or ``out``); Python numbers are first rounded to that
    dtype, as PyTorch rounds scalar arguments to the tensor's type.  float16/float32 inputs are
    multiplied in float64 (exact) and rounded once; float64 inputs are evaluated as a·b + c.
    The work goes a cache-sized block of rows at a time, with no full-size temporary.
    """
    dtype = out.dtype if out is not None else np.result_type(c)
    # numbers become scalars of the dtype (a device library takes those, not host arrays)
    a, b, c = [x if backend.is_array(x) else np.asarray(x, dtype)[()] for x in (a, b, c)]
    if out is not None and (_is_one(a) or _is_one(b)):
        # 1·x + c is the sum alone, rounded once: one pass (SGD's momentum update v ← v + g)
        return np.add(b if _is_one(a) else a, c, out=out, casting="same_kind")
    device = next((x for x in (out, a, b, c) if backend.is_array(x)), None)
    if _fused(dtype) and not (_exact_scale(a) or _exact_scale(b)):
        work = np.dtype(np.float64)          # the product of two float32 numbers is exact there
    else:
        work = np.result_type(a, b, c)       # an exact product, or float64's own rounding
        dtype = dtype if out is not None else work
    shape = broadcast_shape(a.shape, b.shape, c.shape)
    if out is None:
        out = np.empty(shape, dtype=dtype, like=device)
    if math.prod(shape) <= FMA_BLOCK:
        # one block: a small temporary, no scratch buffer or loop (an optimizer's step over a
        # small model's parameters is mostly this call: LeNet-5's SGD step 292 → 225 µs)
        np.copyto(out, np.add(np.multiply(a, b, dtype=work), c, dtype=work),
                  casting="same_kind")
        return out
    rows = shape[0] if shape else 1
    step = max(1, FMA_BLOCK // max(1, math.prod(shape[1:])))
    part_of = scratch("fma-work", (min(step, rows),) + shape[1:], work, like=device)

    def block(x: np.ndarray, start: int, stop: int) -> np.ndarray:
        # operands that broadcast along the first axis are used whole
        return x[start:stop] if x.ndim == len(shape) > 0 and x.shape[0] == rows else x

    for start in range(0, rows, step):
        stop = min(start + step, rows)
        part = part_of[:stop - start] if shape else part_of.reshape(())
        np.multiply(block(a, start, stop), block(b, start, stop), out=part, dtype=work)
        part += block(c, start, stop)
        np.copyto(out[start:stop] if shape else out, part, casting="same_kind")
    return out


def lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
    """start ← start + weight·(end − start), in place, as PyTorch's ``lerp_`` computes it.

    For |weight| < 0.5: start + weight·(end − start); otherwise end + (weight − 1)·(end − start)
    (exact at weight = 1); each as one fused multiply-add.
    """
    w = start.dtype.type(weight)
    diff = end - start
    if abs(float(w)) < 0.5:
        return fma(w, diff, start, out=start)
    return fma(w - start.dtype.type(1), diff, end, out=start)


def real_view(array: np.ndarray) -> np.ndarray:
    """A complex array seen as interleaved (real, imaginary) pairs, as ``torch.view_as_real``:
    the moment estimates of a complex parameter are kept for each part separately."""
    if array.dtype.kind != "c":
        return array
    if not array.flags.c_contiguous:
        raise RuntimeError(f"optimiser: a complex parameter of shape {array.shape} must be "
                           f"contiguous to be updated in place")
    return array.view(array.real.dtype)


def _number(value: Any, name: str, owner: str) -> float:
    """A hyper-parameter as a Python number (a one-element Tensor is accepted, as in PyTorch)."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"{owner}: Tensor {name} must be 1-element, got shape "
                             f"{tuple(value.shape)}")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r}")
    return value


def check_nonnegative(value: Any, name: str, owner: str, what: str | None = None) -> float:
    """Raise ``ValueError`` naming the optimiser unless value ≥ 0 (NaN fails too)."""
    value = _number(value, name, owner)
    if not 0.0 <= value:
        raise ValueError(f"{owner}: Invalid {what or name} value: {value} ({name} must be ≥ 0)")
    return value


def check_unit_interval(value: Any, name: str, owner: str) -> float:
    """Raise ``ValueError`` naming the optimiser unless 0 ≤ value < 1."""
    value = _number(value, name, owner)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{owner}: Invalid {name} value: {value} ({name} must be in [0, 1))")
    return value


def check_lr(lr: Any, owner: str) -> float:
    lr = _number(lr, "lr", owner)
    if not 0.0 <= lr:
        raise ValueError(f"{owner}: Invalid learning rate: {lr} (lr must be ≥ 0)")
    return lr


def scalar_dtype() -> np.dtype:
    """The dtype of the ``step`` counters: float64 when that is the default dtype, else float32."""
    wide = dtypes.get_default_dtype() == np.float64
    return np.dtype(np.float64) if wide else np.dtype(np.float32)


def step_tensor(value: float = 0.0) -> Tensor:
    return Tensor(np.array(value, dtype=scalar_dtype()))


# ----------------------------------------------------------------------------------------------
# the base class
# ----------------------------------------------------------------------------------------------
class Optimizer:
    """Base class of all optimisers (PyTorch's ``torch.optim.Optimizer``).

    ``params`` is an iterable of Tensors, of ``(name, Tensor)`` pairs, or of dicts (parameter
    groups, each with its own hyper-parameters).  Subclasses give ``defaults`` and define
    ``_update(p, grad, group)``, the rule for one parameter with a gradient (``grad`` is the
    array of ``p.grad``); :meth:`step` calls it for every such parameter, outside any graph.
    A subclass may instead override :meth:`step` entirely, as in PyTorch.
    """

    def __init__(self, params: Any, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params argument given to the optimizer should "
                            f"be an iterable of Tensors or dicts, but got a Tensor")
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError(f"{type(self).__name__}: optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(dict(group))

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyper-parameters (missing ones from defaults)."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: param_group must be a dict, but got "
                            f"{type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{name}: a parameter group needs the key 'params'")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(f"{name}: optimizer parameters need to be organized in ordered "
                            f"collections, but the ordering of tensors in sets will change between "
                            f"runs. Please use a list instead.")
        else:
            params = list(params)
        tensors, names = [], []
        for item in params:
            if isinstance(item, tuple):
                names.append(item[0])
                item = item[1]
            tensors.append(item)
        if names:
            if len(names) != len(tensors):
                raise ValueError(f"{name}: all optimizer params should be with/without names. "
                                 f"Some param names are missing")
            param_group["param_names"] = names
        for i, p in enumerate(tensors):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: optimizer can only optimize Tensors, but parameter {i} "
                                f"is a {type(p).__name__}")
            if not (p.is_leaf or p.retains_grad):
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (parameter {i}, shape "
                                 f"{tuple(p.shape)})")
            if p.dtype.kind not in "fc":
                raise TypeError(f"{name}: parameter {i} has dtype {dtypes.dtype_name(p.dtype)}; "
                                f"only floating point and complex tensors can be optimised")
        param_group["params"] = tensors
        for key, default in self.defaults.items():
            if default is required and key not in param_group:
                raise ValueError(f"{name}: parameter group didn't specify a value of required "
                                 f"optimization parameter {key}")
            param_group.setdefault(key, default)
        ids = [id(p) for p in tensors]
        if len(ids) != len(set(ids)):
            warnings.warn(f"{name}: optimizer contains a parameter group with duplicate parameters",
                          stacklevel=3)
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        for group in self.param_groups:
            if ("param_names" in param_group) != ("param_names" in group):
                raise ValueError(f"{name}: all optimizer param groups should be with/without names")
        if not existing.isdisjoint(ids):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ------------------------------------------------------------------ gradients and steps
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: ``p.grad = None`` (default), or fill them with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                g = p.grad
                if g.grad_fn is not None:
                    g.detach_()
                if backend.writeable(g._data):
                    g._data[...] = 0
                else:
                    g._data = np.zeros_like(g._data)

    def _gradient(self, p: Tensor) -> np.ndarray:
        """The array of ``p.grad``, checked against the parameter."""
        g = p.grad
        if not isinstance(g, Tensor):
            raise TypeError(f"{type(self).__name__}: the gradient of a parameter of shape "
                            f"{tuple(p.shape)} is a {type(g).__name__}, not a Tensor")
        array = g._data
        if array.shape != p._data.shape:
            raise RuntimeError(f"{type(self).__name__}: gradient of shape {array.shape} does not "
                               f"match its parameter's shape {p._data.shape}")
        if array.dtype != p._data.dtype:
            if array.dtype.kind == "c" and p._data.dtype.kind != "c":
                raise TypeError(f"{type(self).__name__}: a real parameter of shape {p._data.shape} "
                                f"has a complex gradient ({array.dtype})")
            array = array.astype(p._data.dtype)
        if not backend.same_device(array, p._data):
            raise RuntimeError(f"{type(self).__name__}: the gradient of a parameter on "
                               f"{p.device} is on {g.device}")
        return array

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient; returns ``closure()`` if given.

        ``closure`` re-evaluates the model and returns the loss (run with grad mode on, before
        the update).
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for p, group in self._pending():
            self._step_parameter(p, group)
        return loss

    def _pending(self) -> list[tuple[Tensor, dict[str, Any]]]:
        """The parameters that have a gradient, each with its group, in order."""
        return [(p, group) for group in self.param_groups for p in group["params"]
                if p.grad is not None]

    def _step_parameter(self, p: Tensor, group: dict[str, Any]) -> None:
        """One parameter's update.  Parameters are updated independently of each other, so
        :class:`lemmata.parallel.DataParallelStep` runs these on several threads at once."""
        self._update(p, self._gradient(p), group)
        p._version += 1

    def _update(self, p: Tensor, grad: np.ndarray, group: dict[str, Any]) -> None:
        raise TypeError(f"{type(self).__name__} defines no update rule: a subclass of Optimizer "
                        f"overrides step() or _update(p, grad, group)")

    # ------------------------------------------------------------------ state dicts
    def state_dict(self) -> dict[str, Any]:
        """``{'state': {id: {...}}, 'param_groups': [{..., 'params': [ids]}]}`` (PyTorch's layout).

        Parameter ids number the parameters in group order.  State tensors are copied.
        """
        mapping: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            for p in group["params"]:
                mapping.setdefault(id(p), len(mapping))
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {}
        for p, values in self.state.items():
            key = mapping[id(p)] if isinstance(p, Tensor) and id(p) in mapping else p
            state[key] = {k: _snapshot(v) for k, v in values.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyper-parameters and state from :meth:`state_dict` output.

        Groups are matched in order and parameters by position within them.  State arrays
        (lemmata Tensors, NumPy arrays, or any tensor with a ``.numpy()`` method) are copied and
        cast to their parameter's dtype; ``step`` counters keep theirs (a plain number becomes a
        counter tensor).  Integer ids may also be given as strings, as a JSON round trip leaves them.
        """
        name = type(self).__name__
        if not isinstance(state_dict, dict) or "param_groups" not in state_dict \
                or "state" not in state_dict:
            raise ValueError(f"{name}: load_state_dict expects a dict with keys 'state' and "
                             f"'param_groups'")
        saved_groups = copy.deepcopy(list(state_dict["param_groups"]))
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}: loaded state dict has {len(saved_groups)} parameter groups, "
                             f"the optimizer has {len(self.param_groups)}")
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"{name}: loaded state dict contains a parameter group ({i}) with "
                                 f"{len(saved['params'])} parameters that doesn't match the size "
                                 f"of optimizer's group ({len(group['params'])} parameters)")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in self.param_groups)))
        state: defaultdict[Any, dict[str, Any]] = defaultdict(dict)
        for key, values in state_dict["state"].items():
            if isinstance(key, str) and key.lstrip("-").isdigit():
                key = int(key)
            if key not in id_map:
                state[key] = copy.deepcopy(values)
                continue
            p = id_map[key]
            state[p] = {k: _restore(v, p, k, name) for k, v in values.items()}
        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
            for k, default in self.defaults.items():
                saved.setdefault(k, default)
            if isinstance(saved.get("betas"), list):
                saved["betas"] = tuple(saved["betas"])
            new_groups.append(saved)
        self.state = state
        self.param_groups = new_groups

    # ------------------------------------------------------------------ pickling, printing
    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        return "\n".join(lines) + "\n)"


def _snapshot(value: Any) -> Any:
    if isinstance(value, Tensor):
        return Tensor(value._data.copy())
    return copy.deepcopy(value)


def _as_array(value: Any) -> np.ndarray | None:
    if isinstance(value, Tensor):
        return value._data
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "numpy") and hasattr(value, "shape"):  # a tensor of another library
        detached = value.detach() if hasattr(value, "detach") else value
        return np.asarray(detached.cpu().numpy() if hasattr(detached, "cpu") else detached.numpy())
    return None


def _restore(value: Any, p: Tensor, key: str, owner: str) -> Any:
    if key == "step" and isinstance(value, numbers.Real) and not isinstance(value, bool):
        return step_tensor(float(value))  # a counter saved as a plain number
    array = _as_array(value)
    if array is None:
        return copy.deepcopy(value)
    array = backend.to_host(array).copy()  # step counters stay on the host, as PyTorch's
    if key == "step":
        return Tensor(array)
    if array.shape != p._data.shape and array.size != 1:
        raise ValueError(f"{owner}: state '{key}' of shape {array.shape} does not match its "
                         f"parameter's shape {p._data.shape}")
    if p.dtype.kind in "fc" and array.dtype != p.dtype:
        array = array.astype(p.dtype)
    return Tensor(backend.like(array, p._data))
