"""Function transforms: grad, value_and_grad, vjp, jvp, hvp, jacobian, hessian, functional_call.

These turn a lemmata function of Tensors into the function that computes its derivatives, in the
style of JAX and ``torch.func``.  A differentiated argument may be a Tensor or a tuple, list or
dict of Tensors (a "tree"), so the same transforms apply to a Module's parameters:

    params = dict(model.named_parameters())
    loss = lambda p: F.cross_entropy(functional_call(model, p, x), y)
    g = grad(loss)(params)                      # a dict shaped like params
    Hv = hvp(loss, params, v)                   # Hessian-vector product, v shaped like params

The three ways to a directional second derivative (seed ttic.p5):

* complex step:  f real-analytic ⇒ f(x + i h v) = f(x) + i h ∇f(x)·v − (h²/2) vᵀHv + O(h³), so
  Im f(x + i h v) / h = ∇f(x)·v with an error O(h²) and no subtraction, hence no cancellation:
  with h = 1e-20 the result is exact to rounding.  Running reverse mode at x + i h v gives
  ∇f(x + i h v) = ∇f(x) + i h H v + O(h²), so Im ∇f(x + i h v) / h = H v in one complex pass.
  This works because every lemmata backward rule is holomorphic (no conjugation; piecewise ops
  branch on the real part).
* double backward:  H v = ∇(∇f · v), a reverse pass over the graph of the gradient
  (``create_graph=True``); the Jacobian-vector product J v uses the double-vjp trick: with
  u ↦ Jᵀu linear, J v = ∇ᵤ (Jᵀu · v).
* central finite differences:  H v ≈ (∇f(x + εv) − ∇f(x − εv)) / 2ε, error O(ε²) plus rounding
  O(u/ε) (u the unit roundoff).

A function that leaves the complex plane (takes ``.real``, casts to a real dtype, calls NumPy's
``abs`` on complex data ...) silently loses the imaginary part.  When a complex-step result is
exactly zero while the direction v is not, one real double-backward evaluation checks whether f
really is flat along v; if not, :class:`ComplexStepWarning` is issued and the double-backward
result is returned.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from . import dtypes
from .autograd import enable_grad, grad as _autograd_grad, is_grad_enabled, no_grad
from .tensor import Tensor

__all__ = [
    "grad", "value_and_grad", "vjp", "jvp", "hvp", "grad_and_hvp", "jacobian", "hessian",
    "functional_call", "ravel", "ComplexStepWarning", "COMPLEX_STEP",
]

COMPLEX_STEP = 1e-20
"""The default step h of the complex-step derivative Im f(x + i h v) / h."""

_JVP_METHODS = ("complex-step", "double-backward")
_HVP_METHODS = ("complex-step", "finite-difference", "double-backward")


class ComplexStepWarning(UserWarning):
    """A complex-step derivative came out exactly zero although f does vary along the direction:
    f left the complex plane (``.real``, a cast to a real dtype, NumPy's ``abs`` on complex data),
    so the imaginary part that carries the derivative was lost."""


# ----------------------------------------------------------------------------------------------
# trees of Tensors
# ----------------------------------------------------------------------------------------------
def _flatten(tree: Any, fn: str, what: str) -> tuple[list[Tensor], Any]:
    """The Tensors of a Tensor / tuple / list / dict tree, in order, and the tree's structure."""
    if isinstance(tree, Tensor):
        return [tree], None
    if isinstance(tree, (tuple, list)):
        leaves, specs = [], []
        for i, item in enumerate(tree):
            sub, spec = _flatten(item, fn, f"{what}[{i}]")
            leaves += sub
            specs.append((len(sub), spec))
        return leaves, (type(tree), specs)
    if isinstance(tree, Mapping):
        leaves, specs = [], []
        for key, item in tree.items():
            sub, spec = _flatten(item, fn, f"{what}[{key!r}]")
            leaves += sub
            specs.append((key, len(sub), spec))
        return leaves, (dict, specs)
    raise TypeError(f"{fn}: {what} must be a Tensor or a tuple, list or dict of Tensors, got "
                    f"{type(tree).__name__}")


def _unflatten(spec: Any, leaves: Sequence[Any]) -> Any:
    """Inverse of :func:`_flatten`: put ``leaves`` back into the structure ``spec``."""
    if spec is None:
        return leaves[0]
    kind, specs = spec
    out, start = [], 0
    if kind is dict:
        items = {}
        for key, count, sub in specs:
            items[key] = _unflatten(sub, leaves[start:start + count])
            start += count
        return items
    for count, sub in specs:
        out.append(_unflatten(sub, leaves[start:start + count]))
        start += count
    return kind(out) if kind is not list else out


def _describe(spec: Any) -> str:
    if spec is None:
        return "Tensor"
    kind, specs = spec
    if kind is dict:
        return "dict with keys " + str([key for key, _, _ in specs])
    return f"{kind.__name__} of {len(specs)}"


def _paths(spec: Any, prefix: str) -> list[str]:
    """Names of the leaves of a tree, e.g. v['W1'] or tangent 0[1], in flattening order."""
    if spec is None:
        return [prefix]
    kind, specs = spec
    if kind is dict:
        return [p for key, _, sub in specs for p in _paths(sub, f"{prefix}[{key!r}]")]
    return [p for i, (_, sub) in enumerate(specs) for p in _paths(sub, f"{prefix}[{i}]")]


def _check_differentiable(leaves: Sequence[Tensor], fn: str, what: str) -> None:
    for i, t in enumerate(leaves):
        if t.dtype.kind not in "fc":
            raise TypeError(f"{fn}: {what} {i} has dtype {dtypes.dtype_name(t.dtype)} (shape "
                            f"{tuple(t.shape)}); differentiation needs floating-point or complex "
                            f"inputs (convert with .double() or .float())")


def _matching(tree: Any, leaves: list[Tensor], spec: Any, fn: str, what: str,
              like: str) -> list[Tensor]:
    """The leaves of ``tree`` (a direction or cotangent), checked against ``leaves``/``spec``."""
    other, other_spec = _flatten(tree, fn, what)
    if other_spec != spec:
        raise ValueError(f"{fn}: {what} has structure {_describe(other_spec)} but {like} has "
                         f"structure {_describe(spec)}")
    out = []
    for t, ref, name, ref_name in zip(other, leaves, _paths(spec, what), _paths(spec, like)):
        if tuple(t.shape) != tuple(ref.shape):
            raise ValueError(f"{fn}: {name} has shape {tuple(t.shape)} but {ref_name} has shape "
                             f"{tuple(ref.shape)}")
        if t.dtype.kind == "c" and ref.dtype.kind != "c":
            raise TypeError(f"{fn}: {name} is complex ({dtypes.dtype_name(t.dtype)}) but "
                            f"{ref_name} is real ({dtypes.dtype_name(ref.dtype)})")
        if t.dtype.kind not in "fc":
            t = t.to(ref.dtype if ref.dtype.kind in "fc" else dtypes.get_default_dtype())
        elif t.dtype != ref.dtype and ref.dtype.kind in "fc":
            t = t.to(ref.dtype)
        out.append(t.detach())
    return out


def ravel(tree: Any) -> tuple[Tensor, Callable[[Tensor], Any]]:
    """One flat 1-D Tensor holding every entry of a tree of Tensors, and the map back.

    ``flat, unravel = ravel(dict(model.named_parameters()))`` gives θ ∈ ℝⁿ (a detached copy, of
    the leaves' common dtype) and ``unravel(θ)``, which rebuilds the tree from any 1-D Tensor of
    n entries by slicing and reshaping, so it is differentiable: ``hessian(lambda t: loss(
    unravel(t)), flat)`` is the dense n × n Hessian over all parameters.
    """
    leaves, spec = _flatten(tree, "ravel", "tree")
    shapes = [tuple(t.shape) for t in leaves]
    sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    dtype = np.result_type(*[t.dtype for t in leaves]) if leaves else dtypes.get_default_dtype()
    flat = Tensor(np.concatenate([t.detach().numpy().reshape(-1).astype(dtype)
                                  for t in leaves]) if leaves else np.zeros(0, dtype))

    def unravel(vector: Tensor) -> Any:
        if not isinstance(vector, Tensor) or vector.ndim != 1 or vector.shape[0] != offsets[-1]:
            shape = tuple(vector.shape) if isinstance(vector, Tensor) else type(vector).__name__
            raise ValueError(f"unravel: expected a 1-D Tensor of {int(offsets[-1])} entries, got "
                             f"{shape}")
        parts = [vector[int(a):int(b)].reshape(s)
                 for a, b, s in zip(offsets[:-1], offsets[1:], shapes)]
        return _unflatten(spec, parts)

    return flat, unravel


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------
def _nested(leaves: Sequence[Tensor]) -> bool:
    """True when an enclosing transform is differentiating through these inputs: their
    derivatives must then stay on the graph (``create_graph=True``)."""
    return is_grad_enabled() and any(t.requires_grad for t in leaves)


def _inputs(leaves: Sequence[Tensor], nested: bool) -> list[Tensor]:
    """Tensors to differentiate with respect to: fresh leaves, or the given tensors when nested."""
    return [t if nested and t.requires_grad else t.detach().requires_grad_(True) for t in leaves]


def _zeros_like(t: Tensor, dtype: Any = None) -> Tensor:
    return Tensor(np.zeros(t.shape, dtype=t.dtype if dtype is None else dtype, like=t._data))


def _vjp(outputs: Sequence[Tensor], inputs: Sequence[Tensor], cotangents: Sequence[Tensor | None],
         create_graph: bool, retain_graph: bool) -> list[Tensor]:
    """Σ over outputs of Jᵀ·cotangent for each input; zeros where an input is unused."""
    pairs = [(o, c) for o, c in zip(outputs, cotangents) if o.requires_grad]
    if not pairs:
        return [_zeros_like(t) for t in inputs]
    grads = _autograd_grad([o for o, _ in pairs], list(inputs), [c for _, c in pairs],
                           retain_graph=retain_graph, create_graph=create_graph,
                           allow_unused=True)
    return [_zeros_like(t) if g is None else g for g, t in zip(grads, inputs)]


def _detached(tree: Any) -> Any:
    """A tree of Tensors with every Tensor detached; anything else is returned as it is."""
    try:
        leaves, spec = _flatten(tree, "", "")
    except TypeError:
        return tree
    return _unflatten(spec, [t.detach() for t in leaves])


def _scalar(out: Any, fn: str) -> Tensor:
    if not isinstance(out, Tensor):
        raise TypeError(f"{fn}: f must return a Tensor, got {type(out).__name__}")
    if out.numel() != 1:
        raise ValueError(f"{fn}: f must return a scalar (one-element) Tensor, got shape "
                         f"{tuple(out.shape)}")
    return out


def _split_aux(out: Any, has_aux: bool, fn: str) -> tuple[Any, Any]:
    if not has_aux:
        return out, None
    if not isinstance(out, tuple) or len(out) != 2:
        raise TypeError(f"{fn}: with has_aux=True, f must return a pair (output, aux), got "
                        f"{type(out).__name__}")
    return out


def _argnums(argnums: Any, count: int, fn: str) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, (int, np.integer)) else argnums
    if not isinstance(nums, tuple) or not nums or any(
            isinstance(n, bool) or not isinstance(n, (int, np.integer)) for n in nums):
        raise TypeError(f"{fn}: argnums must be an int or a non-empty tuple of ints, got "
                        f"{argnums!r}")
    for n in nums:
        if not -count <= n < count:
            raise ValueError(f"{fn}: argnums {n} is out of range for f called with {count} "
                             f"positional argument{'s' if count != 1 else ''}")
    return tuple(int(n) % count for n in nums)


def _check_method(method: str, allowed: Sequence[str], fn: str) -> None:
    if method not in allowed:
        raise ValueError(f"{fn}: method must be one of {', '.join(repr(m) for m in allowed)}; got "
                         f"{method!r}")


def _complex_dtype(dtype: np.dtype) -> np.dtype:
    return dtypes.complex128 if dtype == dtypes.float64 else dtypes.complex64


def _complex_point(leaves: Sequence[Tensor], directions: Sequence[Tensor], h: float,
                   fn: str) -> list[Tensor]:
    """x + i h v, leaf by leaf, in the complex dtype matching each x."""
    for i, t in enumerate(leaves):
        if t.dtype.kind == "c":
            raise ValueError(f"{fn}: complex-step needs real inputs, but input {i} is "
                             f"{dtypes.dtype_name(t.dtype)} (shape {tuple(t.shape)}); use "
                             f"method='double-backward'")
    return [Tensor(x.detach().numpy().astype(_complex_dtype(x.dtype)) +
                   (1j * h) * d.detach().numpy().astype(_complex_dtype(x.dtype)))
            for x, d in zip(leaves, directions)]


def _max_abs(tensors: Sequence[Tensor]) -> float:
    return max([float(np.max(np.abs(t.detach().numpy()))) for t in tensors if t.numel()] + [0.0])


def _roundoff(tensors: Sequence[Tensor]) -> float:
    kinds = [t.dtype for t in tensors if t.dtype.kind in "fc"]
    single = any(k in (np.dtype(np.float32), np.dtype(np.complex64), np.dtype(np.float16))
                 for k in kinds)
    return float(np.finfo(np.float32 if single else np.float64).eps)


def _imag_lost(values: Sequence[np.ndarray]) -> bool:
    """True when some non-empty floating result carries no imaginary part at all."""
    return any(v.size and (v.dtype.kind != "c" or not np.any(v.imag)) for v in values)


def _real_part(array: np.ndarray, dtype: np.dtype) -> Tensor:
    return Tensor(np.array(array.real, dtype=dtype))


def _imag_over_h(array: np.ndarray, h: float, dtype: np.dtype) -> Tensor:
    imag = array.imag if array.dtype.kind == "c" else np.zeros(array.shape)
    return Tensor(np.array(imag / h, dtype=dtype))


def _varies_along(f_of_leaves: Callable[[list[Tensor]], list[Tensor]], leaves: list[Tensor],
                  directions: list[Tensor], reference: list[Tensor]) -> bool:
    """Whether the value of f changes, beyond rounding, when x moves by a small step along v."""
    u = _roundoff(leaves)
    step = np.sqrt(u) * max(1.0, _max_abs(leaves)) / max(_max_abs(directions), 1e-300)
    with no_grad():
        moved = f_of_leaves([Tensor(x.detach().numpy() + step * d.numpy())
                             for x, d in zip(leaves, directions)])
    scale = max(1.0, _max_abs(reference))
    return any(float(np.max(np.abs(m.detach().numpy() - r.detach().numpy()), initial=0.0))
               > 64 * u * scale for m, r in zip(moved, reference) if m.dtype.kind in "fc")


def _disagree(exact: list[Tensor], stepped: list[Tensor], reference: float) -> bool:
    u = _roundoff(exact)
    tol = np.sqrt(u) * max(_max_abs(stepped), reference, 1e-300)
    return any(float(np.max(np.abs(a.detach().numpy() - b.detach().numpy()), initial=0.0)) > tol
               for a, b in zip(exact, stepped))


def _warn_complex_step(fn: str, what: str, stacklevel: int) -> None:
    warnings.warn(
        f"{fn}: the complex-step {what} came out exactly zero although f varies along the "
        f"direction (a real double-backward check says so): f left the complex plane (.real, a "
        f"cast to a real dtype, NumPy's abs on complex data, NumPy on .numpy()) and lost the "
        f"imaginary part.  Returning the double-backward result; pass method='double-backward' "
        f"to skip the complex-step attempt.", ComplexStepWarning, stacklevel=stacklevel)


# ----------------------------------------------------------------------------------------------
# grad, value_and_grad, vjp
# ----------------------------------------------------------------------------------------------
def value_and_grad(f: Callable, argnums: int | tuple[int, ...] = 0,
                   has_aux: bool = False) -> Callable:
    """``value_and_grad(f)(*args)`` = (f(*args), ∇f(*args)) for a scalar-valued f.

    ∇ is taken with respect to ``args[argnums]`` (a Tensor or a tree of Tensors; the gradient has
    the same structure), by one reverse pass.  With a tuple ``argnums`` the gradient is a tuple,
    one entry per argument.  With ``has_aux=True`` f returns (value, aux) and the result is
    ((value, aux), gradient).  Inputs that f does not use get zero gradients.  Nested inside
    another transform (inputs that already require grad), the gradient stays differentiable, so
    ``grad(grad(f))`` is the second derivative.
    """
    if not callable(f):
        raise TypeError(f"value_and_grad: f must be callable, got {type(f).__name__}")

    def transformed(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums(argnums, len(args), "grad")
        trees = [_flatten(args[n], "grad", f"argument {n}") for n in nums]
        leaves = [t for leaves_n, _ in trees for t in leaves_n]
        _check_differentiable(leaves, "grad", "input")
        nested = _nested(leaves)
        inputs = _inputs(leaves, nested)
        new_args, start = list(args), 0
        for n, (leaves_n, spec) in zip(nums, trees):
            new_args[n] = _unflatten(spec, inputs[start:start + len(leaves_n)])
            start += len(leaves_n)
        with enable_grad():
            out, aux = _split_aux(f(*new_args, **kwargs), has_aux, "grad")
            out = _scalar(out, "grad")
            grads = _vjp([out], inputs, [None if not out.requires_grad else
                                         Tensor(np.ones(out.shape, out.dtype, like=out._data))],
                         create_graph=nested, retain_graph=nested)
        value = out if nested else out.detach()
        aux = aux if nested else _detached(aux)
        result, start = [], 0
        for leaves_n, spec in trees:
            result.append(_unflatten(spec, grads[start:start + len(leaves_n)]))
            start += len(leaves_n)
        g = result[0] if isinstance(argnums, (int, np.integer)) else tuple(result)
        return ((value, aux) if has_aux else value), g

    return transformed


def grad(f: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Callable:
    """``grad(f)(*args)`` = ∇f(*args) for a scalar-valued f (see :func:`value_and_grad`).

    With ``has_aux=True`` the result is (gradient, aux).
    """
    inner = value_and_grad(f, argnums, has_aux)

    def transformed(*args: Any, **kwargs: Any) -> Any:
        value, g = inner(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return transformed


def vjp(f: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """(f(*primals), vjp_fn) where vjp_fn(cotangent) = Jᵀ·cotangent, one entry per primal.

    J is the Jacobian of f at the primals; the cotangent has the structure and shapes of f's
    output (a Tensor or a tree of Tensors) and the result is a tuple of trees shaped like the
    primals.  The graph of f is kept, so vjp_fn may be called many times (rows of J by basis
    cotangents).  With ``has_aux=True`` f returns (output, aux) and vjp returns
    (output, vjp_fn, aux).
    """
    if not callable(f):
        raise TypeError(f"vjp: f must be callable, got {type(f).__name__}")
    if not primals:
        raise ValueError("vjp: at least one primal is needed")
    trees = [_flatten(p, "vjp", f"primal {i}") for i, p in enumerate(primals)]
    leaves = [t for leaves_n, _ in trees for t in leaves_n]
    _check_differentiable(leaves, "vjp", "primal")
    nested = _nested(leaves)
    inputs = _inputs(leaves, nested)
    args, start = [], 0
    for leaves_n, spec in trees:
        args.append(_unflatten(spec, inputs[start:start + len(leaves_n)]))
        start += len(leaves_n)
    with enable_grad():
        out, aux = _split_aux(f(*args), has_aux, "vjp")
    out_leaves, out_spec = _flatten(out, "vjp", "f's output")

    def vjp_fn(cotangent: Any) -> tuple:
        cots = _matching(cotangent, out_leaves, out_spec, "vjp", "cotangent", "f's output")
        with enable_grad():
            grads = _vjp(out_leaves, inputs, cots, create_graph=nested, retain_graph=True)
        result, begin = [], 0
        for leaves_n, spec in trees:
            result.append(_unflatten(spec, grads[begin:begin + len(leaves_n)]))
            begin += len(leaves_n)
        return tuple(result)

    shown = out if nested else _unflatten(out_spec, [t.detach() for t in out_leaves])
    aux = aux if nested else _detached(aux)
    return (shown, vjp_fn, aux) if has_aux else (shown, vjp_fn)


# ----------------------------------------------------------------------------------------------
# jvp
# ----------------------------------------------------------------------------------------------
def _jvp_double_backward(f: Callable, trees: list, leaves: list[Tensor],
                         directions: list[Tensor]) -> tuple[list[Tensor], list[Tensor], Any, bool]:
    """J v by the double-vjp trick: g(u) = Jᵀu is linear in u, so J v = ∇ᵤ (g(u) · v)."""
    inputs = [t.detach().requires_grad_(True) for t in leaves]
    with enable_grad():
        out = f(*_rebuild(trees, inputs))
        out_leaves, out_spec = _flatten(out, "jvp", "f's output")
        connected = [o.requires_grad for o in out_leaves]
        dummies = [_zeros_like(o).requires_grad_(True) if c else None
                   for o, c in zip(out_leaves, connected)]
        tangents = [_zeros_like(o, o.dtype if o.dtype.kind in "fc" else dtypes.get_default_dtype())
                    for o in out_leaves]
        if any(connected):
            used = [i for i, c in enumerate(connected) if c]
            gs = _autograd_grad([out_leaves[i] for i in used], inputs,
                                [dummies[i] for i in used], create_graph=True,
                                allow_unused=True)
            pairs = [(g, d) for g, d in zip(gs, directions) if g is not None and g.requires_grad]
            if pairs:
                jv = _autograd_grad([g for g, _ in pairs], [dummies[i] for i in used],
                                    [d for _, d in pairs], allow_unused=True)
                for i, t in zip(used, jv):
                    if t is not None:
                        tangents[i] = t
    return [o.detach() for o in out_leaves], tangents, out_spec, any(connected)


def _rebuild(trees: list, leaves: Sequence[Tensor]) -> list:
    args, start = [], 0
    for leaves_n, spec in trees:
        args.append(_unflatten(spec, leaves[start:start + len(leaves_n)]))
        start += len(leaves_n)
    return args


def jvp(f: Callable, primals: Sequence[Any], tangents: Sequence[Any],
        method: str = "complex-step", h: float = COMPLEX_STEP) -> tuple[Any, Any]:
    """(f(*primals), J·tangents): the Jacobian-vector product (forward-mode derivative).

    ``primals`` and ``tangents`` are tuples of the same structure (Tensors or trees of Tensors).

    * ``method="complex-step"`` (default, for real f of real inputs): one evaluation of f at
      x + i h v, with no graph; f(x) = Re f(x + i h v) and J v = Im f(x + i h v) / h, both exact
      to rounding for h = 1e-20 (no subtraction, so no cancellation; seed ttic.p5).
    * ``method="double-backward"``: the double-vjp trick, J v = ∇ᵤ (Jᵀu · v), two reverse passes;
      works for complex inputs and for functions that are not holomorphic.

    If the complex-step tangent of some output is exactly zero while v ≠ 0, one real double-backward
    evaluation checks it; if f does vary along v a :class:`ComplexStepWarning` is issued and the
    double-backward result returned.
    """
    if not callable(f):
        raise TypeError(f"jvp: f must be callable, got {type(f).__name__}")
    _check_method(method, _JVP_METHODS, "jvp")
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError(f"jvp: primals and tangents must be tuples (got "
                        f"{type(primals).__name__} and {type(tangents).__name__}); write "
                        f"jvp(f, (x,), (v,))")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: got {len(primals)} primals but {len(tangents)} tangents")
    trees = [_flatten(p, "jvp", f"primal {i}") for i, p in enumerate(primals)]
    leaves = [t for leaves_n, _ in trees for t in leaves_n]
    _check_differentiable(leaves, "jvp", "primal")
    directions: list[Tensor] = []
    for i, ((leaves_n, spec), t) in enumerate(zip(trees, tangents)):
        directions += _matching(t, leaves_n, spec, "jvp", f"tangent {i}", f"primal {i}")

    if method == "double-backward":
        out, tan, spec, _ = _jvp_double_backward(f, trees, leaves, directions)
        return _unflatten(spec, out), _unflatten(spec, tan)

    points = _complex_point(leaves, directions, h, "jvp")
    with no_grad():
        raw = f(*_rebuild(trees, points))
    raw_leaves, spec = _flatten(raw, "jvp", "f's output")
    arrays = [o.detach().numpy() for o in raw_leaves]
    real_dtypes = [np.zeros(0, a.dtype).real.dtype if a.dtype.kind in "fc"
                   else dtypes.get_default_dtype() for a in arrays]
    out = [_real_part(a, d) if a.dtype.kind in "fc" else Tensor(a)
           for a, d in zip(arrays, real_dtypes)]
    tan = [_imag_over_h(a, h, d) for a, d in zip(arrays, real_dtypes)]
    if _max_abs(directions) > 0 and _imag_lost([a for a in arrays if a.dtype.kind in "fc"]):
        out, tan = _check_jvp(f, trees, leaves, directions, out, tan)
    return _unflatten(spec, out), _unflatten(spec, tan)


def _check_jvp(f: Callable, trees: list, leaves: list[Tensor], directions: list[Tensor],
               out: list[Tensor], tan: list[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
    """The complex-step tangent of some output is exactly zero: confirm with real arithmetic."""
    try:
        out_db, tan_db, _, connected = _jvp_double_backward(f, trees, leaves, directions)
    except RuntimeError as error:
        if _varies_along(lambda xs: _flatten(f(*_rebuild(trees, xs)), "jvp", "f's output")[0],
                         leaves, directions, out):
            raise RuntimeError(
                "jvp: the complex-step tangent is exactly zero although f varies along the "
                "tangent, and double-backward fails on f; f computes outside lemmata ops (e.g. "
                f"NumPy on .numpy()) and cannot be differentiated: {error}") from error
        return out, tan
    if not connected:
        if _varies_along(lambda xs: _flatten(f(*_rebuild(trees, xs)), "jvp", "f's output")[0],
                         leaves, directions, out):
            raise RuntimeError(
                "jvp: f's value changes along the tangent but its output is not connected to "
                "the inputs through lemmata ops (computed with NumPy on .numpy() or after "
                ".detach()?), so neither complex-step nor double-backward can differentiate it")
        return out, tan
    reference = _max_abs(out) * _max_abs(directions) / max(1.0, _max_abs(leaves))
    if _disagree(tan_db, tan, reference):
        _warn_complex_step("jvp", "tangent", 4)
        return out_db, tan_db
    return out, tan


# ----------------------------------------------------------------------------------------------
# Hessian-vector products
# ----------------------------------------------------------------------------------------------
def _hvp_double_backward(f: Callable, leaves: list[Tensor], spec: Any, directions: list[Tensor]
                         ) -> tuple[Tensor, list[Tensor], list[Tensor], bool]:
    """H v = ∇(∇f · v): differentiate the gradient's graph (create_graph=True)."""
    inputs = [t.detach().requires_grad_(True) for t in leaves]
    with enable_grad():
        y = _scalar(f(_unflatten(spec, inputs)), "hvp")
        if not y.requires_grad:
            zeros = [_zeros_like(t) for t in leaves]
            return y.detach(), zeros, [_zeros_like(t) for t in leaves], False
        gs = _autograd_grad(y, inputs, create_graph=True, allow_unused=True)
        terms = [(g * d).sum() for g, d in zip(gs, directions)
                 if g is not None and g.requires_grad]
        hv: Sequence[Tensor | None] = [None] * len(inputs)
        if terms:
            directional = terms[0]
            for term in terms[1:]:
                directional = directional + term
            hv = _autograd_grad(directional, inputs, allow_unused=True)
    grads = [_zeros_like(t) if g is None else g.detach() for g, t in zip(gs, leaves)]
    hvs = [_zeros_like(t) if r is None else r.detach() for r, t in zip(hv, leaves)]
    return y.detach(), grads, hvs, True


def _gradient(f: Callable, leaves: list[Tensor], spec: Any) -> tuple[Tensor, list[Tensor]]:
    inputs = [t.detach().requires_grad_(True) for t in leaves]
    with enable_grad():
        y = _scalar(f(_unflatten(spec, inputs)), "hvp")
        grads = _vjp([y], inputs, [Tensor(np.ones(y.shape, y.dtype, like=y._data))], False, False)
    return y.detach(), grads


def _hvp_complex_step(f: Callable, leaves: list[Tensor], spec: Any, directions: list[Tensor],
                      h: float) -> tuple[Tensor, list[Tensor], list[Tensor], bool]:
    """One reverse pass at x + i h v: ∇f(x + i h v) = ∇f(x) + i h H v + O(h²)."""
    points = [z.requires_grad_(True) for z in _complex_point(leaves, directions, h, "hvp")]
    with enable_grad():
        y = _scalar(f(_unflatten(spec, points)), "hvp")
        grads: Sequence[Tensor | None] = [None] * len(points)
        if y.requires_grad:
            grads = _autograd_grad(y, points, allow_unused=True)
    used = [g.numpy() for g in grads if g is not None]
    arrays = [np.zeros(p.shape, p.dtype) if g is None else g.numpy()
              for g, p in zip(grads, points)]
    value = _real_part(y.detach().numpy(), leaves[0].dtype if leaves else np.float64)
    g_real = [_real_part(a, t.dtype) for a, t in zip(arrays, leaves)]
    hv = [_imag_over_h(a, h, t.dtype) for a, t in zip(arrays, leaves)]
    lost = not used or _imag_lost(used)
    return value, g_real, hv, lost


def _default_eps(leaves: list[Tensor], directions: list[Tensor]) -> float:
    """∛u · max(1, ‖x‖∞) / ‖v‖∞: balances truncation O(ε²) against rounding O(u/ε)."""
    return float(np.cbrt(_roundoff(leaves)) * max(1.0, _max_abs(leaves))
                 / max(_max_abs(directions), 1e-300))


def _hvp(f: Callable, x: Any, v: Any, method: str, h: float, eps: float | None, fn: str,
         need_grad: bool) -> tuple[Any, Any, Any]:
    if not callable(f):
        raise TypeError(f"{fn}: f must be callable, got {type(f).__name__}")
    _check_method(method, _HVP_METHODS, fn)
    leaves, spec = _flatten(x, fn, "x")
    _check_differentiable(leaves, fn, "input")
    directions = _matching(v, leaves, spec, fn, "v", "x")

    if method == "double-backward":
        _, grads, hv, _ = _hvp_double_backward(f, leaves, spec, directions)
    elif method == "finite-difference":
        step = _default_eps(leaves, directions) if eps is None else float(eps)
        if not step > 0:
            raise ValueError(f"{fn}: eps must be positive, got {eps}")
        _, plus = _gradient(f, [Tensor(t.detach().numpy() + step * d.numpy())
                                for t, d in zip(leaves, directions)], spec)
        _, minus = _gradient(f, [Tensor(t.detach().numpy() - step * d.numpy())
                                 for t, d in zip(leaves, directions)], spec)
        hv = [(p - m) / (2 * step) for p, m in zip(plus, minus)]
        grads = _gradient(f, leaves, spec)[1] if need_grad else None
    else:
        value, grads, hv, lost = _hvp_complex_step(f, leaves, spec, directions, h)
        if lost and _max_abs(directions) > 0:
            grads, hv = _check_hvp(f, leaves, spec, directions, value, grads, hv)
    return spec, grads, hv


def _check_hvp(f: Callable, leaves: list[Tensor], spec: Any, directions: list[Tensor],
               value: Tensor, grads: list[Tensor], hv: list[Tensor]
               ) -> tuple[list[Tensor], list[Tensor]]:
    """Some block of the complex-step H v is exactly zero: confirm with real double backward."""
    try:
        _, g_db, hv_db, connected = _hvp_double_backward(f, leaves, spec, directions)
    except RuntimeError as error:
        raise RuntimeError(
            "hvp: the complex-step Hessian-vector product is exactly zero in some block and "
            f"double-backward fails on f ({error}); f computes outside lemmata ops (e.g. NumPy on "
            ".numpy()) and cannot be differentiated") from error
    if not connected:
        if _varies_along(lambda xs: [f(_unflatten(spec, xs))], leaves, directions, [value]):
            raise RuntimeError(
                "hvp: f's value changes along v but its output is not connected to x through "
                "lemmata ops (computed with NumPy on .numpy() or after .detach()?), so it cannot "
                "be differentiated")
        return grads, hv
    reference = _max_abs(g_db) * _max_abs(directions) / max(1.0, _max_abs(leaves))
    if _disagree(hv_db, hv, reference):
        _warn_complex_step("hvp", "Hessian-vector product", 5)
        return g_db, hv_db
    return grads, hv


def hvp(f: Callable, x: Any, v: Any, method: str = "complex-step", h: float = COMPLEX_STEP,
        eps: float | None = None) -> Any:
    """H v, the Hessian of the scalar f at x times the direction v (seed ttic.p5).

    x is a Tensor or a tree of Tensors (e.g. a Module's parameter dict used through
    :func:`functional_call`); v has the same structure and shapes, and so has the result.

    * ``"complex-step"`` (default): one reverse pass at x + i h v;
      H v = Im ∇f(x + i h v) / h, exact to rounding (h = 1e-20).
    * ``"double-backward"``: H v = ∇(∇f · v), reverse mode over the gradient's graph.
    * ``"finite-difference"``: (∇f(x + εv) − ∇f(x − εv)) / 2ε with error O(ε²); ε defaults to
      ∛u · max(1, ‖x‖∞) / ‖v‖∞ (u the unit roundoff).

    A piecewise-linear op (ReLU, max pool) has zero second derivative off its kinks, which all
    three methods agree on.  A complex-step block that is exactly zero while v ≠ 0 triggers one
    double-backward check (see :class:`ComplexStepWarning`).
    """
    spec, _, hv = _hvp(f, x, v, method, h, eps, "hvp", need_grad=False)
    return _unflatten(spec, hv)


def grad_and_hvp(f: Callable, x: Any, v: Any, method: str = "complex-step",
                 h: float = COMPLEX_STEP, eps: float | None = None) -> tuple[Any, Any]:
    """(∇f(x), H v) together; with complex step both come from the same single reverse pass:
    Re ∇f(x + i h v) = ∇f(x) + O(h²) and Im ∇f(x + i h v) / h = H v + O(h²) (seed ttic.p5).

    With v = ∇f(x) = g this gives the exact line-search step of a quadratic, ‖g‖² / (gᵀHg).
    """
    spec, grads, hv = _hvp(f, x, v, method, h, eps, "grad_and_hvp", need_grad=True)
    return _unflatten(spec, grads), _unflatten(spec, hv)


# ----------------------------------------------------------------------------------------------
# jacobian, hessian
# ----------------------------------------------------------------------------------------------
def _basis(t: Tensor) -> Iterator[Tensor]:
    """The standard basis e₀, e₁, ... of t's shape, one Tensor at a time."""
    flat = np.zeros(t.numel(), dtype=t.dtype)
    for k in range(t.numel()):
        flat[k] = 1
        yield Tensor(flat.reshape(t.shape).copy())
        flat[k] = 0


def jacobian(f: Callable, x: Tensor | tuple[Tensor, ...], method: str = "reverse") -> Any:
    """∂f/∂x as a Tensor of shape f(x).shape + x.shape (as ``torch.autograd.functional.jacobian``).

    x is a Tensor (f is called as f(x)) or a tuple of Tensors (f(*x); the result is then a tuple,
    one block per input).  If f returns a tuple of Tensors the result is a tuple over outputs.

    * ``"reverse"`` (default): one forward pass, then one reverse pass per output entry (rows
      Jᵀeᵢ, the graph kept between them) — cheap when f has fewer outputs than inputs.
    * ``"forward"``: one complex-step evaluation per input entry (columns J eⱼ), no graph —
      cheap when f has more outputs than inputs; needs real inputs and a holomorphic f.
    """
    if not callable(f):
        raise TypeError(f"jacobian: f must be callable, got {type(f).__name__}")
    _check_method(method, ("reverse", "forward"), "jacobian")
    single_in = isinstance(x, Tensor)
    if not single_in and not (isinstance(x, tuple) and all(isinstance(t, Tensor) for t in x)):
        raise TypeError(f"jacobian: x must be a Tensor or a tuple of Tensors, got "
                        f"{type(x).__name__}")
    xs = [x] if single_in else list(x)
    _check_differentiable(xs, "jacobian", "input")

    if method == "reverse":
        inputs = [t.detach().requires_grad_(True) for t in xs]
        with enable_grad():
            out = f(*inputs)
        outs, single_out = _outputs(out)
        blocks = []
        for o in outs:
            rows = [[] for _ in inputs]
            for e in _basis(o):
                with enable_grad():
                    gs = _vjp([o], inputs, [e], create_graph=False, retain_graph=True)
                for r, g in zip(rows, gs):
                    r.append(g.detach().numpy())
            blocks.append([Tensor(np.stack(r).reshape(tuple(o.shape) + tuple(t.shape))
                                  if r else np.zeros(tuple(o.shape) + tuple(t.shape), t.dtype))
                           for r, t in zip(rows, xs)])
    else:
        with no_grad():
            outs, single_out = _outputs(f(*xs))
        cols = [[[] for _ in xs] for _ in outs]
        for j, t in enumerate(xs):
            for e in _basis(t):
                tangents = tuple(e if i == j else _zeros_like(s) for i, s in enumerate(xs))
                _, tan = jvp(f, tuple(xs), tangents, method="complex-step")
                tan = [tan] if isinstance(tan, Tensor) else list(tan)
                for k, column in enumerate(tan):
                    cols[k][j].append(column.numpy())
        blocks = []
        for o, per_input in zip(outs, cols):
            row = []
            for t, c in zip(xs, per_input):
                shape = tuple(o.shape) + tuple(t.shape)
                dense = (np.moveaxis(np.stack(c), 0, -1) if c else
                         np.zeros(tuple(o.shape) + (0,), o.dtype))
                row.append(Tensor(dense.reshape(shape)))
            blocks.append(row)

    per_output = [b[0] if single_in else tuple(b) for b in blocks]
    return per_output[0] if single_out else tuple(per_output)


def _outputs(out: Any) -> tuple[list[Tensor], bool]:
    if isinstance(out, Tensor):
        return [out], True
    if isinstance(out, tuple) and all(isinstance(o, Tensor) for o in out):
        return list(out), False
    raise TypeError(f"jacobian: f must return a Tensor or a tuple of Tensors, got "
                    f"{type(out).__name__}")


def hessian(f: Callable, x: Tensor, method: str = "double-backward") -> Tensor:
    """∂²f/∂x² for a scalar f, as a Tensor of shape x.shape + x.shape.

    * ``"double-backward"`` (default): the gradient's graph is built once, then one reverse pass
      per entry of x gives a row ∇(∂f/∂xᵢ).
    * ``"complex-step"`` / ``"finite-difference"``: one :func:`hvp` per basis vector eⱼ gives
      the column H eⱼ.

    Use :func:`ravel` to take the Hessian over a whole parameter dict.
    """
    if not callable(f):
        raise TypeError(f"hessian: f must be callable, got {type(f).__name__}")
    _check_method(method, _HVP_METHODS, "hessian")
    if not isinstance(x, Tensor):
        raise TypeError(f"hessian: x must be a Tensor, got {type(x).__name__} (use "
                        f"lemmata.func.ravel for a tree of Tensors)")
    _check_differentiable([x], "hessian", "input")
    n, shape = x.numel(), tuple(x.shape)
    if method == "double-backward":
        leaf = x.detach().requires_grad_(True)
        with enable_grad():
            y = _scalar(f(leaf), "hessian")
            if not y.requires_grad:
                return Tensor(np.zeros(shape + shape, x.dtype))
            g, = _vjp([y], [leaf], [Tensor(np.ones(y.shape, y.dtype, like=y._data))], True, True)
        if not g.requires_grad:
            return Tensor(np.zeros(shape + shape, x.dtype))
        rows = []
        for e in _basis(x):
            with enable_grad():
                r, = _vjp([g], [leaf], [e], create_graph=False, retain_graph=True)
            rows.append(r.detach().numpy())
        return Tensor(np.stack(rows).reshape(shape + shape) if rows else
                      np.zeros(shape + shape, x.dtype))
    cols = [hvp(f, x, e, method=method).numpy() for e in _basis(x)]
    dense = np.stack(cols, axis=-1).reshape(shape + (n,)) if cols else np.zeros(shape + (0,))
    return Tensor(dense.reshape(shape + shape).astype(x.dtype, copy=False))


# ----------------------------------------------------------------------------------------------
# functional_call
# ----------------------------------------------------------------------------------------------
def _module_arguments(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """functional_call's arguments for the module: PyTorch's ``args`` (a tuple, or one argument)
    and ``kwargs`` (a dict), by position or by name, or else lemmata's, passed on as they are."""
    if kwargs and not set(kwargs) <= {"args", "kwargs"}:
        return args, kwargs
    torch_like = bool(kwargs) or (len(args) == 1 and isinstance(args[0], tuple)) or (
        len(args) == 2 and isinstance(args[0], tuple) and isinstance(args[1], Mapping))
    if not torch_like:
        return args, kwargs
    names = ("args", "kwargs")
    if len(args) > 2 or any(name in kwargs for name in names[:len(args)]):
        raise TypeError(f"functional_call: the module's arguments are given twice (positional "
                        f"{len(args)}, by name {sorted(kwargs)})")
    given = {**dict(zip(names, args)), **kwargs}
    positional, keywords = given.get("args", ()), given.get("kwargs") or {}
    if not isinstance(keywords, Mapping):
        raise TypeError(f"functional_call: kwargs must be a dict, got {type(keywords).__name__}")
    return positional if isinstance(positional, tuple) else (positional,), dict(keywords)


def functional_call(module: Any, parameters_and_buffers: Mapping[str, Tensor] | Sequence[Mapping],
                    *args: Any, **kwargs: Any) -> Any:
    """Run ``module(*args, **kwargs)`` with some parameters and buffers replaced by given Tensors.

    ``parameters_and_buffers`` maps dotted names (as in ``named_parameters()`` and
    ``named_buffers()``) to Tensors; names left out keep the module's own tensors.  A tensor shared
    by two layers (tied weights) is replaced everywhere it appears.  The originals are put back
    afterwards, even if the call raises.  This is what lets :func:`grad`, :func:`hvp` ... treat a
    model's loss as a function of a parameter dict:

        loss = lambda p: F.cross_entropy(functional_call(model, p, x), y)

    The module's arguments come as in ``torch.func.functional_call``: a tuple of positional
    arguments (``functional_call(model, params, (x, y))``; a single argument that is not a tuple
    is the only one) and optionally a dict of keyword arguments after it, or as ``args=`` and
    ``kwargs=``.  lemmata also takes them directly after the dict, as the module's own call does
    (``functional_call(model, params, x, y, key=value)``).  A module that updates a buffer in
    place (batch norm in train mode) updates the tensor given in the dict.
    """
    if not (hasattr(module, "named_parameters") and hasattr(module, "named_buffers")
            and hasattr(module, "modules") and callable(module)):
        raise TypeError(f"functional_call: module must be an nn.Module, got "
                        f"{type(module).__name__}")
    args, kwargs = _module_arguments(args, kwargs)
    dicts = ([parameters_and_buffers] if isinstance(parameters_and_buffers, Mapping)
             else list(parameters_and_buffers) if isinstance(parameters_and_buffers, (tuple, list))
             else None)
    if dicts is None or not all(isinstance(d, Mapping) for d in dicts):
        raise TypeError(f"functional_call: parameters_and_buffers must be a dict (or a tuple of "
                        f"dicts) of name → Tensor, got {type(parameters_and_buffers).__name__}")
    given: dict[str, Tensor] = {}
    for d in dicts:
        for name, value in d.items():
            if name in given:
                raise ValueError(f"functional_call: {name!r} appears in more than one dict")
            given[name] = value

    originals = dict(module.named_parameters(remove_duplicate=False))
    originals.update(dict(module.named_buffers(remove_duplicate=False)))
    unknown = sorted(set(given) - set(originals))
    if unknown:
        raise ValueError(f"functional_call: {type(module).__name__} has no parameters or buffers "
                         f"named {unknown}")
    by_id: dict[int, Tensor] = {}
    for name, value in given.items():
        old = originals[name]
        if not isinstance(value, Tensor):
            raise TypeError(f"functional_call: {name!r} must be a Tensor, got "
                            f"{type(value).__name__}")
        if tuple(value.shape) != tuple(old.shape):
            raise ValueError(f"functional_call: {name!r} has shape {tuple(value.shape)} but the "
                             f"module's tensor has shape {tuple(old.shape)}")
        if id(old) in by_id and by_id[id(old)] is not value:
            raise ValueError(f"functional_call: {name!r} is tied to another given name but "
                             f"given a different tensor")
        by_id[id(old)] = value

    swapped: list[tuple[dict, str, Any]] = []
    try:
        for sub in module.modules():
            for registry in (sub._parameters, sub._buffers):
                for key, value in list(registry.items()):
                    if value is not None and id(value) in by_id:
                        swapped.append((registry, key, value))
                        registry[key] = by_id[id(value)]
        return module(*args, **kwargs)
    finally:
        for registry, key, value in reversed(swapped):
            registry[key] = value
