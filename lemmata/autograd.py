"""Reverse-mode automatic differentiation.

Every differentiable op is a :class:`Function` with a ``forward`` on NumPy arrays and a
``backward`` on Tensors, side by side.  ``Function.apply`` runs the forward and, when any input
requires a gradient and grad mode is on, links the output to its inputs through a :class:`Node`
(the output's ``grad_fn``).  ``backward`` walks that graph once, in reverse topological order and
without recursion, giving every tensor the sum of the gradients of its uses (chain rule plus
multivariate sum rule):

    ∂L/∂x = Σ over uses u of x   (∂u/∂x)ᵀ ∂L/∂u.

Because the backward rules are themselves written with lemmata ops, running them with grad mode
*on* (``create_graph=True``) records their graph too, which gives second and higher derivatives.
With ``create_graph=False`` they run under ``no_grad`` and cost no more than the NumPy inside.

Backward rules are holomorphic (no conjugation; piecewise rules branch on the real part), so a
real function evaluated at ``x + i·h·v`` carries its directional derivative in the imaginary part:
the complex-step derivative ``Im f(x + i h v) / h`` is exact to rounding (seed ttic.p5).
"""
from __future__ import annotations

import functools
import os
import threading
import traceback
import weakref
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

import numpy as np

from . import backend

if TYPE_CHECKING:  # pragma: no cover
    from .tensor import Tensor
else:
    # bound by lemmata.tensor once the class exists (the two modules import each other); a
    # function-level import instead cost 1.7 µs on every op and every backward step
    Tensor = None

__all__ = [
    "Function", "Context", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
    "backward", "grad", "detect_anomaly", "is_anomaly_enabled", "AnomalyError",
]

# ----------------------------------------------------------------------------------------------
# grad mode (thread-local, as in PyTorch, so that data-parallel worker threads are independent)
# ----------------------------------------------------------------------------------------------
class _ThreadState(threading.local):
    """Each thread's modes, starting from these defaults.  Class attributes, not getattr with a
    default: a missing attribute of a thread-local costs a raised and caught AttributeError,
    0.5–0.9 µs, and every op application reads two of them."""
    grad_enabled = True
    anomaly = False
    in_backward = False


_state = _ThreadState()


def is_grad_enabled() -> bool:
    """True when ops record the graph needed for backward."""
    return _state.grad_enabled


def is_anomaly_enabled() -> bool:
    """True inside :class:`detect_anomaly`."""
    return _state.anomaly


class _Mode:
    """A context manager that is also a decorator (``@no_grad()`` and ``@no_grad`` both work)."""

    attribute = "grad_enabled"

    def __init__(self, enabled: bool) -> None:
        self.enabled = bool(enabled)
        self._previous: list[bool] = []

    def __enter__(self) -> "_Mode":
        self._previous.append(getattr(_state, self.attribute))
        setattr(_state, self.attribute, self.enabled)
        return self

    def __exit__(self, *exc: Any) -> None:
        setattr(_state, self.attribute, self._previous.pop())

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with type(self)._fresh(self.enabled):
                return fn(*args, **kwargs)
        return wrapped

    @classmethod
    def _fresh(cls, enabled: bool) -> "_Mode":
        mode = object.__new__(cls)
        _Mode.__init__(mode, enabled)
        return mode


class set_grad_enabled(_Mode):
    """Turn graph recording on or off, as PyTorch: a plain call ``set_grad_enabled(False)`` takes
    effect at once; ``with set_grad_enabled(False): ...`` restores the previous mode on exit; and
    ``@set_grad_enabled(False)`` applies to the decorated function's calls only."""

    def __init__(self, enabled: bool) -> None:
        super().__init__(enabled)
        self._previous.append(is_grad_enabled())
        _state.grad_enabled = self.enabled
        self._applied = True  # __enter__ must not push a second time

    def __enter__(self) -> "_Mode":
        if getattr(self, "_applied", False):
            self._applied = False
            return self
        return super().__enter__()

    def __call__(self, fn: Callable) -> Callable:
        if getattr(self, "_applied", False):  # a decorator: undo the construction's effect
            _state.grad_enabled, self._applied = self._previous.pop(), False
        return super().__call__(fn)


class no_grad(_Mode):
    """Ops inside record no graph; results do not require grad.  Usable as ``@no_grad()``."""

    def __new__(cls, fn: Callable | None = None):
        mode = super().__new__(cls)
        _Mode.__init__(mode, False)
        return mode(fn) if callable(fn) else mode

    def __init__(self, fn: Callable | None = None) -> None:
        pass


class enable_grad(_Mode):
    """Re-enable graph recording inside a ``no_grad`` block.  Usable as ``@enable_grad()``."""

    def __new__(cls, fn: Callable | None = None):
        mode = super().__new__(cls)
        _Mode.__init__(mode, True)
        return mode(fn) if callable(fn) else mode

    def __init__(self, fn: Callable | None = None) -> None:
        pass


class detect_anomaly(_Mode):
    """Check every forward result and every backward gradient for NaN/inf.

    The first op that produces one raises :class:`AnomalyError` (a RuntimeError, as PyTorch's,
    and a FloatingPointError) naming the op, the shapes of its inputs, and (for backward) the
    line of user code where the op's output was created.
    """

    attribute = "anomaly"

    def __init__(self, enabled: bool = True) -> None:
        super().__init__(enabled)


class AnomalyError(RuntimeError, FloatingPointError):
    """Raised by :class:`detect_anomaly`: a RuntimeError as in PyTorch, and a FloatingPointError."""


def _nonfinite(array: np.ndarray) -> bool:
    return array.dtype.kind in "fc" and not np.isfinite(array).all()


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _creation_trace(limit: int = 8) -> str:
    """The innermost ``limit`` frames of the current stack outside lemmata: the last one is the
    line of user code that created the op's output (however deep the layers calling it)."""
    frames = [f for f in traceback.extract_stack()[:-2] if not f.filename.startswith(_PACKAGE)]
    return "".join(traceback.format_list(frames[-limit:]))


# ----------------------------------------------------------------------------------------------
# Function, Context, Node
# ----------------------------------------------------------------------------------------------
class Context:
    """What ``forward`` leaves for ``backward``: saved arrays and any other attributes.

    ``save_for_backward(a, b)`` takes arrays.  ``saved_tensors`` gives them back as Tensors; an
    array that *is* one of the op's inputs (or its output) comes back as that very Tensor, so a
    backward rule written with ops stays connected to the graph and can itself be differentiated.
    """

    def __init__(self) -> None:
        self.needs_input_grad: tuple[bool, ...] = ()
        self._to_save: tuple = ()
        self._saved: tuple | None = ()
        self._versions: tuple = ()
        self._freed = False

    def save_for_backward(self, *arrays: Any) -> None:
        self._to_save = arrays

    def _resolve(self, inputs: Sequence[Any], output: "Tensor", raw_output: Any) -> None:
        """Map saved arrays to Tensors; ``raw_output`` is what forward returned (a NumPy scalar
        for 0-d results, which the output Tensor wraps in a new array)."""
        by_id = {id(t._data): t for t in inputs if isinstance(t, Tensor)}
        saved, versions = [], []
        for value in self._to_save:
            if value is None:
                saved.append(None)
            elif isinstance(value, Tensor):
                saved.append(value)
            elif value is output._data or value is raw_output:
                saved.append(weakref.ref(output))  # a strong reference would make a cycle
                versions.append(output._version)
                continue
            elif id(value) in by_id:
                saved.append(by_id[id(value)])
            else:
                saved.append(Tensor(value))
            versions.append(saved[-1]._version if isinstance(saved[-1], Tensor) else None)
        self._saved, self._versions, self._to_save = tuple(saved), tuple(versions), ()

    @property
    def saved_tensors(self) -> tuple:
        if self._freed:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Saved intermediate values of the "
                "graph are freed when you call .backward() or autograd.grad(). Specify "
                "retain_graph=True if you need to backward through the graph a second time.")
        out = []
        for value, version in zip(self._saved, self._versions):
            if isinstance(value, weakref.ref):
                value = value()
            if version is not None and value._version != version:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: a tensor of shape {tuple(value.shape)} is at version "
                    f"{value._version}; expected version {version} instead.")
            out.append(value)
        return tuple(out)

    def _rebind_output(self, old: "Tensor", new: "Tensor") -> None:
        """An in-place op moved its result into ``new``: saved references to ``old`` follow it."""
        if self._saved:
            moved = [isinstance(v, weakref.ref) and v() is old for v in self._saved]
            self._saved = tuple(weakref.ref(new) if m else v for v, m in zip(self._saved, moved))
            self._versions = tuple(new._version if m else v
                                   for v, m in zip(self._versions, moved))

    def free(self) -> None:
        if self._saved:
            self._saved, self._freed = None, True


class Node:
    """The backward half of one op application: ``grad_fn`` of the op's output.

    ``inputs`` are the input Tensors as given.  ``parents()`` gives, for each, the tensor that
    carries the history this op saw (None where the op needed no gradient for it): an input
    modified in place later has a new ``grad_fn``, and its old history lives on in the snapshot
    that the in-place op left in the tensor's ``_history`` — as PyTorch's graph links nodes, not
    tensors, so earlier uses of a tensor are not rerouted through later in-place updates.
    """

    __slots__ = ("function", "ctx", "inputs", "trace", "_seen", "output_meta", "_released",
                 "hooks", "__weakref__")

    def __init__(self, function: type, ctx: Context, inputs: tuple, trace: str | None) -> None:
        self.function, self.ctx, self.trace = function, ctx, trace
        # the output's gradient hooks (Tensor.register_hook): kept here, not on the tensor, so
        # that they still run when the tensor itself was freed (PyTorch's behaviour), and a
        # hook registered before an in-place update sees the gradient of the value it was
        # registered on
        self.hooks: list = []
        self._seen = tuple(None if t is None else t.grad_fn for t in inputs)
        # An intermediate input that neither this op nor the op that made it saved is held
        # weakly: the graph needs only its history (kept in _seen), and a strong reference would
        # keep its data alive until the whole graph is released (a conv output behind a ReLU,
        # say).  As in PyTorch, the graph then links nodes, not tensors.
        saved = {id(t) for t in ctx._saved or () if not isinstance(t, weakref.ref)}
        self.inputs = tuple(weakref.ref(t) if t is not None and t.grad_fn is not None
                            and id(t) not in saved and not _saves_its_output(t) else t
                            for t in inputs)
        self.output_meta: tuple = ()       # (shape, dtype) of the output, set by Function.apply
        self._released: _Released | None = None

    def release_inputs(self) -> None:
        """Hold the intermediate inputs weakly, once this node's backward has run and its saved
        values are freed: they were held only for that backward (or for their maker's, which
        the walk reaches while it still holds them).  Otherwise every activation a node saved
        stayed alive until the whole graph was released: NiN's first block kept 100 MB of the
        later blocks' activations through its own backward."""
        self.inputs = tuple(weakref.ref(t) if t is not None and not isinstance(t, weakref.ref)
                            and t.grad_fn is not None else t for t in self.inputs)

    def parents(self) -> tuple:
        needs = self.ctx.needs_input_grad
        out = []
        for i, (t, seen) in enumerate(zip(self.inputs, self._seen)):
            if isinstance(t, weakref.ref):
                t = t()
                if t is None:            # freed: only the graph knew it; its history remains
                    needed = needs[i] if i < len(needs) else True
                    out.append(seen.released() if needed else None)
                    continue
            if t is None or not (needs[i] if i < len(needs) else t.requires_grad):
                out.append(None)
            elif t.grad_fn is seen:
                out.append(t)
            else:
                out.append(t._history.get(seen, t))
        return tuple(out)

    def released(self) -> "_Released":
        """The stand-in for this node's output once that tensor is freed (one per node, so
        every use of the tensor adds its gradient to the same key)."""
        if self._released is None:
            self._released = _Released(self, *self.output_meta)
        return self._released

    def name(self) -> str:
        return f"{self.function.__name__}Backward"

    @property
    def next_functions(self) -> tuple:
        return tuple((t.grad_fn if t is not None else None, 0) for t in self.parents())

    def __repr__(self) -> str:
        return f"<{self.name()}>"


def _saves_its_output(t: "Tensor") -> bool:
    """True when an op that made t (its grad_fn, or one before an in-place update) saved t
    weakly, to avoid a cycle: then t's users must hold it."""
    makers = [t.grad_fn, *t._history]
    return any(isinstance(v, weakref.ref) and v() is t
               for node in makers if node is not None for v in node.ctx._saved or ())


class _Released:
    """An intermediate tensor that was freed while the graph still leads through it: nothing
    outside the graph can ask for its gradient, so its history, shape and dtype are all the
    engine needs."""

    __slots__ = ("_node", "shape", "dtype")
    requires_grad, grad, _hooks, _retains_grad = True, None, (), False

    def __init__(self, grad_fn: Node, shape: tuple, dtype: np.dtype) -> None:
        # the node holds its stand-in, so the stand-in holds the node weakly (no cycle)
        self._node, self.shape, self.dtype = weakref.ref(grad_fn), shape, dtype

    @property
    def grad_fn(self) -> Node | None:
        return self._node()


class Function:
    """Base class of every differentiable op.

    Subclasses define ``forward(ctx, *args, **kwargs)`` on NumPy arrays (Tensor arguments arrive as
    their arrays; other arguments as they are) and ``backward(ctx, grad)`` on Tensors, returning one
    gradient per positional argument (``None`` where there is none).  The engine sums each gradient
    back to its input's shape, so rules may return broadcast-shaped gradients.
    """

    # the base's own forward and backward only say which one a subclass left out
    @classmethod
    def forward(cls, ctx: Context, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError(f"{cls.__name__} defines no forward: a Function subclass defines "
                        f"forward(ctx, *args, **kwargs) on arrays")

    @classmethod
    def backward(cls, ctx: Context, grad: "Tensor") -> Any:
        raise TypeError(f"{cls.__name__} defines no backward: a Function subclass defines "
                        f"backward(ctx, grad) on Tensors")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> "Tensor":
        ctx = Context()
        arrays = [a._data if isinstance(a, Tensor) else a for a in args]
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        recording = any(needs) and is_grad_enabled()
        # known before forward, so that forward saves only what the needed gradients use (as
        # PyTorch: an unsaved input may then be modified in place without breaking backward)
        ctx.needs_input_grad = needs if recording else (False,) * len(args)
        with np.errstate(all="ignore"):  # inf/nan follow IEEE as in NumPy and PyTorch
            data = cls.forward(ctx, *arrays, **kwargs)
        anomaly = is_anomaly_enabled()
        # inside a backward rule the engine checks the rule's result and names that node
        if anomaly and not _state.in_backward and _nonfinite(data) and not any(
                isinstance(a, np.ndarray) and _nonfinite(a) for a in arrays):
            raise AnomalyError(
                f"detect_anomaly: {cls.__name__} forward produced NaN or inf from finite inputs "
                f"(input shapes {[tuple(a.shape) for a in arrays if isinstance(a, np.ndarray)]})")
        out = Tensor(data)
        if recording:
            inputs = tuple(a if isinstance(a, Tensor) else None for a in args)
            ctx._resolve(inputs, out, data)
            trace = _creation_trace() if anomaly else None
            out.grad_fn = Node(cls, ctx, inputs, trace)
            out.grad_fn.output_meta = (tuple(out.shape), out.dtype)
            out._requires_grad = True
        return out


# ----------------------------------------------------------------------------------------------
# the engine
# ----------------------------------------------------------------------------------------------
def _topological_order(roots: Iterable["Tensor"]) -> list["Tensor"]:
    """Tensors reachable from ``roots`` through grad_fn links, inputs before outputs.

    An explicit stack instead of recursion, so a 10,000-op chain needs no recursion limit.
    """
    order, seen = [], set()
    stack = [(root, False) for root in roots]
    while stack:
        tensor, expanded = stack.pop()
        if expanded:
            order.append(tensor)
            continue
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        stack.append((tensor, True))
        if tensor.grad_fn is not None:
            for parent in tensor.grad_fn.parents():
                if parent is not None and id(parent) not in seen:
                    stack.append((parent, False))
    return order


def unbroadcast(grad: "Tensor", shape: tuple) -> "Tensor":
    """Sum ``grad`` over the axes that broadcasting added or stretched, giving it ``shape``.

    If y = broadcast(x), each x entry feeds several y entries, so ∂L/∂x is the sum of their
    gradients (the multivariate chain rule).
    """
    shape = tuple(shape)
    if tuple(grad.shape) == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    summed = grad.sum(dim=axes, keepdim=True) if axes else grad
    return summed.reshape(shape)


def _as_gradient(value: Any, like: "Tensor", op: str) -> "Tensor":
    g = value if isinstance(value, Tensor) else Tensor(np.asarray(value, like=like._data))
    if tuple(g.shape) != tuple(like.shape):
        try:
            g = unbroadcast(g, like.shape)
        except (ValueError, RuntimeError) as error:
            raise RuntimeError(f"{op}: gradient of shape {tuple(g.shape)} cannot be summed to the "
                               f"input's shape {tuple(like.shape)}") from error
    # keep a float32 parameter's gradient float32; a complex gradient of a real input is kept
    # complex, because it carries the complex-step derivative in its imaginary part.
    if g.dtype != like.dtype and not (g.dtype.kind == "c" and like.dtype.kind != "c"):
        g = g.to(like.dtype)
    return g


def _memory_of(array: Any) -> Any:
    """The array that owns ``array``'s memory (itself, or the base of a chain of views)."""
    while getattr(array, "base", None) is not None:
        array = array.base
    return array


def _own_gradient(g: "Tensor", held: set[int]) -> "Tensor":
    """g, or a copy of it where its memory is read-only (a broadcast view: the gradient of a sum)
    or already ``held``; the memory it ends up with is added to ``held``.  So every .grad can be
    changed in place alone, as in PyTorch."""
    memory = _memory_of(g._data)
    if id(memory) in held or not backend.writeable(g._data):
        g = g.clone()
        memory = _memory_of(g._data)
    held.add(id(memory))
    return g


def _run_backward(roots: Sequence["Tensor"], root_grads: Sequence["Tensor"],
                  retain_graph: bool, create_graph: bool,
                  inputs: Sequence["Tensor"] | None) -> dict[int, "Tensor"]:
    """Propagate ``root_grads`` from ``roots``.

    With ``inputs=None`` gradients are accumulated into ``.grad`` of leaves (and of non-leaves
    that called ``retain_grad``); otherwise they are returned for ``inputs`` only.
    """
    order = _topological_order(roots)
    wanted = None if inputs is None else {id(t) for t in inputs}
    if wanted is not None:  # prune: only nodes that lead to a wanted tensor need their backward
        useful: set[int] = set()
        for t in order:
            if id(t) in wanted or (t.grad_fn is not None and any(
                    p is not None and id(p) in useful for p in t.grad_fn.parents())):
                useful.add(id(t))
    grads: dict[int, Tensor] = {}
    for root, g in zip(roots, root_grads):
        grads[id(root)] = grads[id(root)] + g if id(root) in grads else g
    captured: dict[int, Tensor] = {}
    # the memory of every .grad stored in this walk, and of the caller's root gradients: a .grad
    # is written in place later (p.grad.mul_, gradient clipping), so it must not share memory
    # with another .grad (Add hands both inputs the same g) or with the caller's tensors
    held = {id(_memory_of(g._data)) for g in root_grads}
    anomaly = is_anomaly_enabled()
    with set_grad_enabled(create_graph):
        for index in range(len(order) - 1, -1, -1):
            # the walk holds each tensor until it is processed (so no pending id is reused),
            # not after: a processed activation is freed as soon as nothing else needs it.  A
            # tensor updated in place stays held: an op of its earlier history may have saved
            # it (weakly) and runs later
            tensor = order[index]
            if not getattr(tensor, "_history", None):
                order[index] = None
            g = grads.pop(id(tensor), None)
            if g is None:
                continue
            for hook in (tensor._hooks if tensor.grad_fn is None else tensor.grad_fn.hooks):
                result = hook(g)
                g = result if result is not None else g
            if wanted is not None:
                if id(tensor) in wanted:
                    captured[id(tensor)] = g
                if id(tensor) not in useful or tensor.grad_fn is None:
                    continue
            elif tensor.grad_fn is None or tensor._retains_grad:
                stored = g if create_graph else _own_gradient(g.detach(), held)
                tensor.grad = stored if tensor.grad is None else tensor.grad + stored
            node = tensor.grad_fn
            if node is None:
                continue
            inside, _state.in_backward = _state.in_backward, True
            try:
                results = node.function.backward(node.ctx, g)
            finally:
                _state.in_backward = inside
            if not isinstance(results, tuple):
                results = (results,)
            if len(results) != len(node.inputs):
                raise RuntimeError(f"{node.name()} returned {len(results)} gradients for "
                                   f"{len(node.inputs)} inputs")
            for parent, pg in zip(node.parents(), results):
                if parent is None or pg is None:
                    continue
                pg = _as_gradient(pg, parent, node.name())
                if anomaly and _nonfinite(pg._data) and not _nonfinite(g._data):
                    raise AnomalyError(
                        f"detect_anomaly: {node.name()} returned NaN or inf in its gradient for an "
                        f"input of shape {tuple(parent.shape)}; the op was created at:\n"
                        f"{node.trace or '(trace unavailable)'}")
                key = id(parent)
                grads[key] = grads[key] + pg if key in grads else pg
            if not retain_graph:
                node.ctx.free()
                node.release_inputs()
    return captured


def _seed_gradients(outputs: Sequence["Tensor"], grad_outputs: Sequence[Any] | None,
                    op: str) -> list["Tensor"]:
    seeds = []
    grad_outputs = [None] * len(outputs) if grad_outputs is None else list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"{op}: got {len(grad_outputs)} gradients for {len(outputs)} outputs")
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(out, Tensor):
            raise TypeError(f"{op}: outputs must be Tensors, got {type(out).__name__}")
        if not out.requires_grad:
            raise RuntimeError(f"{op}: element {i} of tensors does not require grad and does not "
                               f"have a grad_fn")
        if g is None:
            if out.numel() != 1:
                raise RuntimeError(f"{op}: grad can be implicitly created only for scalar outputs "
                                   f"(output {i} has shape {tuple(out.shape)})")
            g = Tensor(np.ones(out.shape, dtype=out.dtype, like=out._data))
        elif not isinstance(g, Tensor):
            try:
                g = Tensor(np.asarray(g, dtype=out.dtype, like=out._data))
            except (TypeError, ValueError):
                raise TypeError(f"{op}: gradient for output {i} must be a Tensor or numeric "
                                f"array, got {type(g).__name__} {g!r}") from None
        if tuple(g.shape) != tuple(out.shape):
            raise RuntimeError(f"{op}: gradient has shape {tuple(g.shape)} but output {i} has "
                               f"shape {tuple(out.shape)}")
        seeds.append(g)
    return seeds


def backward(tensors: "Tensor | Sequence[Tensor]", grad_tensors: Any = None,
             retain_graph: bool | None = None, create_graph: bool = False) -> None:
    """Accumulate d(tensors)/d(leaf) · grad_tensors into every leaf's ``.grad``."""
    outputs = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is not None and (isinstance(grad_tensors, Tensor) or
                                     not isinstance(grad_tensors, (list, tuple))):
        grad_tensors = [grad_tensors]
    seeds = _seed_gradients(outputs, grad_tensors, "backward")
    retain = create_graph if retain_graph is None else retain_graph
    _run_backward(outputs, seeds, retain, create_graph, None)


def grad(outputs: "Tensor | Sequence[Tensor]", inputs: "Tensor | Sequence[Tensor]",
         grad_outputs: Any = None, retain_graph: bool | None = None, create_graph: bool = False,
         allow_unused: bool = False) -> tuple:
    """Return the gradients of ``outputs`` with respect to ``inputs`` without touching ``.grad``.

    As ``torch.autograd.grad``: ``grad_outputs`` weights each output (the vector of a
    vector-Jacobian product); ``create_graph=True`` makes the result differentiable again.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: inputs[{i}] is a {type(t).__name__}, not a Tensor")
        if not t.requires_grad:
            raise RuntimeError(f"grad: inputs[{i}] (shape {tuple(t.shape)}) does not require grad")
    if isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    seeds = _seed_gradients(outputs, grad_outputs, "grad")
    retain = create_graph if retain_graph is None else retain_graph
    captured = _run_backward(outputs, seeds, retain, create_graph, inputs)
    result = []
    for i, t in enumerate(inputs):
        g = captured.get(id(t))
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: inputs[{i}] (shape {tuple(t.shape)}) was not used to compute "
                               f"the outputs; pass allow_unused=True to get None for it")
        result.append(g)
    return tuple(result)
