"""Helpers for the nn tests: copy weights between a torch module and its lemmata twin and check
that forward values, input gradients, parameter gradients and buffers agree."""
from __future__ import annotations

import numpy as np
import torch

import lemmata

TOL = {"float64": 1e-10, "float32": 1e-4}


def to_numpy_state(module: torch.nn.Module) -> dict:
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}


def copy_torch_to_lemmata(theirs: torch.nn.Module, ours: lemmata.nn.Module) -> None:
    result = ours.load_state_dict(to_numpy_state(theirs))
    assert not result.missing_keys and not result.unexpected_keys


def close(ours, theirs, dtype: str, what: str, rtol: float | None = None) -> None:
    """Relative closeness on the scale of the reference (entries near 0 judged on that scale)."""
    rtol = TOL[dtype] if rtol is None else rtol
    a = ours.detach().numpy() if isinstance(ours, lemmata.Tensor) else np.asarray(ours)
    b = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != torch's {b.shape}"
    scale = max(float(np.abs(b).max()) if b.size else 0.0, 1e-30)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * scale, err_msg=what)


def assert_module_parity(ours: lemmata.nn.Module, theirs: torch.nn.Module, *inputs: np.ndarray,
                         dtype: str = "float64", train: bool = True, steps: int = 1,
                         rtol: float | None = None, seed: int = 0) -> None:
    """Same weights, same inputs: outputs, input and parameter gradients and buffers agree,
    over ``steps`` forward/backward passes (so running statistics evolve)."""
    theirs.to(getattr(torch, dtype))
    ours.to(getattr(lemmata, dtype))
    copy_torch_to_lemmata(theirs, ours)
    ours.train(train)
    theirs.train(train)
    rng = np.random.default_rng(seed)
    for step in range(steps):
        arrays = [np.asarray(x).astype(dtype) if np.asarray(x).dtype.kind == "f" else np.asarray(x)
                  for x in inputs]
        xs_l = [lemmata.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
        xs_t = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
        out_l, out_t = ours(*xs_l), theirs(*xs_t)
        close(out_l, out_t, dtype, f"forward (step {step})", rtol)
        w = rng.standard_normal(tuple(out_t.shape)).astype(dtype)
        (out_l * lemmata.tensor(w)).sum().backward()
        (out_t * torch.tensor(w)).sum().backward()
        for i, (xl, xt) in enumerate(zip(xs_l, xs_t)):
            if xt.grad is not None:
                close(xl.grad, xt.grad, dtype, f"input {i} gradient (step {step})", rtol)
        named_t = dict(theirs.named_parameters())
        named_l = dict(ours.named_parameters())
        assert list(named_l) == list(named_t)
        for name, pt in named_t.items():
            pl = named_l[name]
            if pt.grad is None:
                assert pl.grad is None or not np.any(pl.grad.numpy()), name
                continue
            close(pl.grad, pt.grad, dtype, f"gradient of {name} (step {step})", rtol)
        buffers_t = dict(theirs.named_buffers())
        buffers_l = dict(ours.named_buffers())
        assert list(buffers_l) == list(buffers_t)
        for name, bt in buffers_t.items():
            close(buffers_l[name], bt, dtype, f"buffer {name} (step {step})", rtol)
        ours.zero_grad()
        theirs.zero_grad()


def load_torch_twin(path: str) -> dict:
    """Execute a lemmata source file with torch in place of lemmata: the same classes, built on
    torch.nn (for files written only against ``nn``, ``F`` and ``torch.*``)."""
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    source = (source.replace("from .. import nn", "from torch import nn")
              .replace("from ..nn import functional as F", "import torch.nn.functional as F")
              .replace("import lemmata as torch", "import torch"))
    namespace: dict = {"__name__": "torch_twin"}
    exec(compile(source, path + " (torch twin)", "exec"), namespace)
    return namespace
