"""Random computation graphs run on two libraries: a tiny interpreter over an op table.

A *program* is a list of nodes.  A node is either a leaf (an input tensor of a given shape and
dtype, filled from a seeded normal distribution) or an op applied to earlier nodes with fixed
parameters (dims, strides, index arrays, class targets ...).  The generator draws the program
one op at a time, keeping track of every node's shape, dtype and a bound on its magnitude, so
that each op is only ever applied where it is defined and finite:

* logarithms and square roots see x² + 1 (or eˣ), divisions divide by 1 + x²;
* exp, powers and products are only applied where the result stays below ``MAX_BOUND``;
* std and the normalisation layers see x plus an independent random leaf (never constant);
* pools and convolutions get parameters whose windows fit the input.

In *grid mode* the leaves take values in {−2, −1.5, …, 2} and only ops that are exact on them
(or piecewise) are drawn, so that exact zeros and ties test the subgradient conventions.

``execute(program, lib)`` runs the same program with ``lib`` = ``lemmata`` or ``torch`` — the
op table calls ``L.exp``, ``F.conv2d``, ``x.permute`` ... on whichever library it is handed, so
one random program exercises the same API on both.  ``compare(program)`` runs it on both and
checks every node's shape, dtype and value, the gradient of Σₖ ⟨wₖ, sinkₖ⟩ (random weights wₖ,
over the nodes no other node uses) with respect to every leaf, and batch_norm's running
statistics.

Draws go through a small interface (``integers``, ``choice``, ``boolean``) implemented by
hypothesis (``HypothesisDraw``, shrinkable) and by ``random.Random`` (``SeededDraw``, for the
deterministic per-op tests).
"""
from __future__ import annotations

import math
import random as _pyrandom
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

MAX_BOUND = 1e4        # no node may exceed this magnitude (so no op overflows anywhere)
MAX_NUMEL = 400        # graphs stay small: fast on both libraries
LEAF_BOUND = 4.0       # |standard normal| < 4 with overwhelming probability; the leaves are clipped
TOLERANCE = {"float64": 1e-10, "float32": 1e-4}
CHECKED: Counter = Counter()   # random programs (and their ops) checked in this process


# ----------------------------------------------------------------------------------------------
# draws
# ----------------------------------------------------------------------------------------------
class HypothesisDraw:
    """Draws from ``hypothesis.strategies.data()``: every choice is shrinkable."""

    def __init__(self, data: Any) -> None:
        from hypothesis import strategies as st
        self._data, self._st = data, st

    def integers(self, lo: int, hi: int) -> int:
        return self._data.draw(self._st.integers(lo, hi))

    def choice(self, options: Sequence[Any]) -> Any:
        return self._data.draw(self._st.sampled_from(list(options)))

    def boolean(self) -> bool:
        return self._data.draw(self._st.booleans())


class SeededDraw:
    """The same interface from a seeded ``random.Random``."""

    def __init__(self, seed: int) -> None:
        self._rng = _pyrandom.Random(seed)

    def integers(self, lo: int, hi: int) -> int:
        return self._rng.randint(lo, hi)

    def choice(self, options: Sequence[Any]) -> Any:
        return self._rng.choice(list(options))

    def boolean(self) -> bool:
        return self._rng.random() < 0.5


# ----------------------------------------------------------------------------------------------
# programs
# ----------------------------------------------------------------------------------------------
@dataclass
class Node:
    shape: tuple
    dtype: str
    bound: float
    op: str = "leaf"
    inputs: tuple = ()
    params: dict = field(default_factory=dict)
    seed: int = 0                 # leaves: values are drawn from this seed
    grid: bool = False            # leaves: values on the grid {-2, -1.5, ..., 2} (zeros and ties)

    def values(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        if self.grid:
            return (rng.integers(-4, 5, size=self.shape) / 2).astype(self.dtype)
        return np.clip(rng.standard_normal(self.shape), -LEAF_BOUND, LEAF_BOUND).astype(self.dtype)


@dataclass
class Program:
    nodes: list = field(default_factory=list)

    def leaves(self) -> list[int]:
        return [i for i, n in enumerate(self.nodes) if n.op == "leaf"]

    def sinks(self) -> list[int]:
        used = {j for n in self.nodes for j in n.inputs}
        return [i for i, n in enumerate(self.nodes) if n.op != "leaf" and i not in used]

    def ops(self) -> list[str]:
        return [n.op for n in self.nodes if n.op != "leaf"]

    def describe(self) -> str:
        lines = []
        for i, n in enumerate(self.nodes):
            if n.op == "leaf":
                kind = ", grid" if n.grid else ""
                lines.append(f"v{i} = leaf({n.shape}, {n.dtype}, seed={n.seed}{kind})")
            else:
                params = {k: (v.tolist() if isinstance(v, np.ndarray) else v)
                          for k, v in n.params.items()}
                args = ", ".join(f"v{j}" for j in n.inputs)
                lines.append(f"v{i} = {n.op}({args}; {params}) -> {n.shape} {n.dtype}")
        return "\n".join(lines)


@dataclass
class Made:
    """What an op's generator returns: its input nodes, parameters and the result's metadata."""
    inputs: list
    params: dict
    shape: tuple
    dtype: str
    bound: float


@dataclass
class Op:
    name: str
    family: str
    make: Callable[["Builder", int], "Made | None"]
    run: Callable[..., Any]
    terminal: bool = False        # a loss: ends the program


OPS: dict[str, Op] = {}


def register(name: str, family: str, terminal: bool = False) -> Callable:
    """Add an op: decorate a function returning (make, run), or call with the pair."""
    def wrap(pair: Any) -> Any:
        make, run = pair() if callable(pair) else pair
        OPS[name] = Op(name, family, make, run, terminal)
        return pair
    return wrap


# In grid mode (leaves on {−2, −1.5, …, 2}) only ops that are exact on such values, or
# piecewise, are drawn: ties and zeros are then exact in both libraries, and the subgradient
# conventions (relu and abs at 0, ties in max, amax, pooling, maximum, clamp at its bounds) are
# what is compared.  A rounded op would turn mathematically equal values into values that differ
# in the last bit differently in each library (silu(x) − x/2 is even, for one), and a following
# max would then pick different winners.
GRID_OPS = {
    "neg", "relu", "abs", "hardtanh", "clamp", "clamp_min", "square", "cube", "scale", "shift",
    "divide_by_scalar", "add", "sub", "mul", "maximum", "minimum", "where_positive", "add_alpha",
    "sum", "sum_all", "amax", "amin", "max_dim", "min_dim", "prod", "reshape", "flatten",
    "unflatten", "permute", "transpose", "matrix_transpose", "unsqueeze", "squeeze", "cat",
    "stack", "slice", "integer_index", "array_index", "boolean_mask", "pad_constant", "pad_mode",
    "expand", "flip", "repeat", "split_chunk_unbind", "gather", "clone", "cast", "matmul",
    "linear", "mm_bmm_mv_dot_outer", "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d",
    "max_pool1d", "max_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
}


class Builder:
    """Grows a program by drawing ops; ``mode`` 'chain' feeds each op the previous node,
    'dag' any earlier node (and partners may be earlier nodes too)."""

    def __init__(self, draw: Any, mode: str = "chain", dtypes: Sequence[str] = ("float64",),
                 families: Sequence[str] | None = None, grid: bool = False) -> None:
        self.draw, self.mode, self.dtypes, self.grid = draw, mode, tuple(dtypes), grid
        self.families = None if families is None else set(families)
        self.program = Program()

    # -- nodes
    @property
    def nodes(self) -> list[Node]:
        return self.program.nodes

    def leaf(self, shape: Sequence[int], dtype: str | None = None,
             continuous: bool = False) -> int:
        """A new input; on the grid in grid mode unless ``continuous``."""
        dtype = dtype if dtype is not None else self.draw.choice(self.dtypes)
        seed = self.draw.integers(0, 2 ** 31 - 1)
        self.nodes.append(Node(tuple(int(n) for n in shape), dtype, LEAF_BOUND, seed=seed,
                               grid=self.grid and not continuous))
        return len(self.nodes) - 1

    def random_shape(self, min_rank: int = 0, max_rank: int = 4, low: int = 1,
                     high: int = 4) -> tuple:
        rank = self.draw.integers(min_rank, max_rank)
        return tuple(self.draw.integers(low, high) for _ in range(rank))

    def partner(self, shape: tuple, dtype: str, accept: Callable[[Node], bool] | None = None,
                own: int | None = None) -> int:
        """A second operand of exactly ``shape``: an earlier node (dag mode), ``own`` itself, or a
        fresh leaf (of ``dtype``, or of another allowed dtype)."""
        accept = accept or (lambda n: n.shape == shape)
        options = ["leaf"]
        earlier = [i for i, n in enumerate(self.nodes) if accept(n)]
        if self.mode == "dag" and earlier:
            options.append("node")
        if own is not None:
            options.append("own")
        pick = self.draw.choice(options)
        if pick == "node":
            return self.draw.choice(earlier)
        if pick == "own":
            return own
        return self.leaf(shape, self.draw.choice(self.dtypes) if len(self.dtypes) > 1 else dtype)

    def broadcast_partner(self, x: int) -> int:
        """A second operand whose shape broadcasts against x's (dims dropped, set to 1 or, when
        x's size is 1, widened; occasionally one extra leading dim)."""
        shape = self.nodes[x].shape
        if self.mode == "dag" and self.draw.boolean():
            earlier = [i for i, n in enumerate(self.nodes) if _broadcasts(n.shape, shape)
                       and _numel(np.broadcast_shapes(n.shape, shape)) <= MAX_NUMEL]
            if earlier:
                return self.draw.choice(earlier)
        drop = self.draw.integers(0, len(shape))
        dims = []
        for n in shape[drop:]:
            kind = self.draw.choice(["same", "one"] + (["wide"] if n == 1 else []))
            dims.append(n if kind == "same" else 1 if kind == "one" else self.draw.integers(2, 3))
        if len(dims) == len(shape) and len(shape) < 4 and self.draw.integers(0, 3) == 0:
            dims.insert(0, self.draw.integers(1, 3))
        dims = tuple(dims)
        if _numel(np.broadcast_shapes(dims, shape)) > MAX_NUMEL:
            dims = tuple(1 for _ in dims)
        return self.leaf(dims)

    # -- ops
    def grow(self, x: int, allow_terminal: bool = False, only: str | None = None) -> bool:
        """Apply one random applicable op to node x; False if none applies."""
        names = [only] if only is not None else [
            name for name, op in OPS.items()
            if (allow_terminal or not op.terminal)
            and (self.families is None or op.family in self.families)
            and (not self.grid or op.terminal or name in GRID_OPS)]
        # draw a family, then an op of it (so the 38 unary ops do not crowd out the 4
        # convolutions), until one applies: generators decline where an op is undefined
        by_family: dict[str, list[str]] = {}
        for name in names:
            by_family.setdefault(OPS[name].family, []).append(name)
        while by_family:
            family = self.draw.choice(sorted(by_family))
            name = self.draw.choice(by_family[family])
            by_family[family].remove(name)
            if not by_family[family]:
                del by_family[family]
            before = len(self.nodes)
            made = OPS[name].make(self, x)
            if made is None or made.bound > MAX_BOUND or _numel(made.shape) > MAX_NUMEL:
                del self.nodes[before:]      # drop partner leaves of a declined op
                continue
            self.nodes.append(Node(tuple(made.shape), made.dtype, float(made.bound), name,
                                   tuple(made.inputs), made.params))
            return True
        return False

    def pick_input(self) -> int:
        if self.mode == "chain":
            return len(self.nodes) - 1
        return self.draw.integers(0, len(self.nodes) - 1)


def build(draw: Any, mode: str, dtypes: Sequence[str], steps: int,
          families: Sequence[str] | None = None, start_shape: tuple | None = None,
          end_with_loss: bool = False, grid: bool = False) -> Program:
    b = Builder(draw, mode, dtypes, families, grid)
    b.leaf(start_shape if start_shape is not None else b.random_shape())
    for _ in range(steps):
        b.grow(b.pick_input())
    if end_with_loss:
        b.families = None
        last = len(b.nodes) - 1
        losses = [n for n, op in OPS.items() if op.terminal]
        while losses:
            name = draw.choice(losses)
            losses.remove(name)
            if b.grow(last, allow_terminal=True, only=name):
                break
    if not b.program.sinks():      # a program of leaves only: give it one op
        b.grow(len(b.nodes) - 1, only="tanh")
    return b.program


# ----------------------------------------------------------------------------------------------
# shape helpers
# ----------------------------------------------------------------------------------------------
def _numel(shape: Sequence[int]) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _broadcasts(a: tuple, b: tuple) -> bool:
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


def promote(a: Node, b: Node) -> str:
    """PyTorch's rule for two float tensors: a 0-d tensor does not promote a dimensioned one."""
    if a.dtype == b.dtype:
        return a.dtype
    if len(a.shape) == 0 and len(b.shape) > 0:
        return b.dtype
    if len(b.shape) == 0 and len(a.shape) > 0:
        return a.dtype
    return "float64"


def _dims(b: Builder, ndim: int, allow_tuple: bool = True) -> Any:
    """A dim (int, maybe negative) or a tuple of distinct dims."""
    if allow_tuple and ndim >= 2 and b.draw.boolean():
        k = b.draw.integers(1, ndim)
        chosen = []
        pool = list(range(ndim))
        for _ in range(k):
            d = b.draw.choice(pool)
            pool.remove(d)
            chosen.append(d - ndim if b.draw.boolean() else d)
        return tuple(chosen)
    d = b.draw.integers(0, ndim - 1)
    return d - ndim if b.draw.boolean() else d


def _as_tuple(dims: Any, ndim: int) -> tuple:
    dims = dims if isinstance(dims, tuple) else (dims,)
    return tuple(sorted(d % ndim for d in dims))


def _reduced(shape: tuple, dims: tuple, keepdim: bool) -> tuple:
    return tuple(1 if i in dims else n for i, n in enumerate(shape)) if keepdim else tuple(
        n for i, n in enumerate(shape) if i not in dims)


def _factor(n: int) -> list[int]:
    out, p = [], 2
    while n > 1 and p * p <= n:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    if n > 1:
        out.append(n)
    return out


def _const(L: Any, array: np.ndarray) -> Any:
    """A constant (no gradient) of the library ``L``."""
    return L.tensor(array)


# ----------------------------------------------------------------------------------------------
# elementwise unary ops: (name, run, output bound from input bound b, largest allowed b)
# ----------------------------------------------------------------------------------------------
_UNARY = [
    ("neg", lambda L, F, x: -x, lambda b: b, MAX_BOUND),
    ("tanh", lambda L, F, x: L.tanh(x), lambda b: 1.0, MAX_BOUND),
    ("sigmoid", lambda L, F, x: x.sigmoid(), lambda b: 1.0, MAX_BOUND),
    ("sin", lambda L, F, x: L.sin(x), lambda b: 1.0, 1e3),
    ("cos", lambda L, F, x: x.cos(), lambda b: 1.0, 1e3),
    ("relu", lambda L, F, x: F.relu(x), lambda b: b, MAX_BOUND),
    ("abs", lambda L, F, x: x.abs(), lambda b: b, MAX_BOUND),
    ("exp", lambda L, F, x: L.exp(x), lambda b: math.exp(b), 6.0),
    ("expm1", lambda L, F, x: x.expm1(), lambda b: math.exp(b), 6.0),
    ("log_of_square_plus_one", lambda L, F, x: L.log(x * x + 1), lambda b: math.log1p(b * b),
     1e3),
    ("log1p_of_square", lambda L, F, x: L.log1p(x.square()), lambda b: math.log1p(b * b), 1e3),
    ("log_of_exp", lambda L, F, x: L.exp(x).log(), lambda b: b, 6.0),
    ("sqrt_of_square_plus_one", lambda L, F, x: L.sqrt(x * x + 1), lambda b: b + 1, 1e3),
    ("rsqrt_of_square_plus_one", lambda L, F, x: L.rsqrt(1 + x * x), lambda b: 1.0, 1e3),
    ("reciprocal_of_one_plus_square", lambda L, F, x: L.reciprocal(x.pow(2) + 1), lambda b: 1.0,
     1e3),
    ("scalar_over_one_plus_square", lambda L, F, x: 2.5 / (1 + x * x), lambda b: 2.5, 1e3),
    ("erf", lambda L, F, x: L.erf(x), lambda b: 1.0, MAX_BOUND),
    ("softplus", lambda L, F, x: F.softplus(x), lambda b: b + 1, MAX_BOUND),
    ("softplus_beta2_threshold3", lambda L, F, x: F.softplus(x, beta=2.0, threshold=3.0),
     lambda b: b + 1, MAX_BOUND),
    ("gelu", lambda L, F, x: F.gelu(x), lambda b: b, MAX_BOUND),
    ("gelu_tanh", lambda L, F, x: F.gelu(x, approximate="tanh"), lambda b: b, 1e3),
    ("leaky_relu", lambda L, F, x: F.leaky_relu(x, 0.2), lambda b: b, MAX_BOUND),
    ("elu", lambda L, F, x: F.elu(x), lambda b: b + 1, MAX_BOUND),
    ("silu", lambda L, F, x: F.silu(x), lambda b: b, MAX_BOUND),
    ("mish", lambda L, F, x: F.mish(x), lambda b: b, MAX_BOUND),
    ("logsigmoid", lambda L, F, x: F.logsigmoid(x), lambda b: b + 1, MAX_BOUND),
    ("softsign", lambda L, F, x: F.softsign(x), lambda b: 1.0, MAX_BOUND),
    ("hardtanh", lambda L, F, x: F.hardtanh(x, -1.5, 2.0), lambda b: 2.0, MAX_BOUND),
    ("clamp", lambda L, F, x: x.clamp(min=-1.0, max=0.5), lambda b: 1.0, MAX_BOUND),
    ("clamp_min", lambda L, F, x: L.clamp(x, min=-0.3), lambda b: b, MAX_BOUND),
    ("square", lambda L, F, x: x ** 2, lambda b: b * b, 1e2),
    ("cube", lambda L, F, x: x.pow(3), lambda b: b ** 3, 20.0),
    ("power_1_5_of_square_plus_one", lambda L, F, x: (x * x + 1) ** 1.5,
     lambda b: (b * b + 1) ** 1.5, 20.0),
    ("power_minus_half_of_square_plus_one", lambda L, F, x: L.pow(x * x + 1, -0.5),
     lambda b: 1.0, 1e3),
    ("two_to_the_x", lambda L, F, x: 2.0 ** x, lambda b: 2.0 ** b, 10.0),
    ("scale", lambda L, F, x: x * -2.5, lambda b: 2.5 * b, MAX_BOUND),
    ("shift", lambda L, F, x: 0.75 - x, lambda b: b + 0.75, MAX_BOUND),
    ("divide_by_scalar", lambda L, F, x: x / 4.0, lambda b: b / 4, MAX_BOUND),
]


def _unary_make(bound: Callable, largest: float) -> Callable:
    def make(b: Builder, x: int) -> Made | None:
        n = b.nodes[x]
        if n.bound > largest:
            return None
        return Made([x], {}, n.shape, n.dtype, bound(n.bound))
    return make


def _unary_run(fn: Callable) -> Callable:
    def run(L: Any, F: Any, args: list, p: dict) -> Any:
        return fn(L, F, args[0])
    return run


for _name, _fn, _bound, _largest in _UNARY:
    register(_name, "unary")((_unary_make(_bound, _largest), _unary_run(_fn)))


# ----------------------------------------------------------------------------------------------
# elementwise binary ops with broadcasting
# ----------------------------------------------------------------------------------------------
_BINARY = [
    ("add", lambda L, F, x, y: x + y, lambda a, c: a + c),
    ("sub", lambda L, F, x, y: L.sub(x, y), lambda a, c: a + c),
    ("mul", lambda L, F, x, y: x * y, lambda a, c: a * c),
    ("div_by_one_plus_square", lambda L, F, x, y: x / (1 + y * y), lambda a, c: a),
    ("maximum", lambda L, F, x, y: L.maximum(x, y), lambda a, c: max(a, c)),
    ("minimum", lambda L, F, x, y: L.minimum(x, y), lambda a, c: max(a, c)),
    ("where_positive", lambda L, F, x, y: L.where(y > 0, x, y), lambda a, c: max(a, c)),
    ("power_with_tensor_exponent", lambda L, F, x, y: (x * x + 1) ** L.tanh(y),
     lambda a, c: a * a + 1),
    ("lerp", lambda L, F, x, y: L.lerp(x, y, 0.3), lambda a, c: a + c),
    ("add_alpha", lambda L, F, x, y: L.add(x, y, alpha=-0.5), lambda a, c: a + c),
]


def _binary_make(bound: Callable, same_dtype: bool) -> Callable:
    def make(b: Builder, x: int) -> Made | None:
        y = b.broadcast_partner(x)
        nx, ny = b.nodes[x], b.nodes[y]
        if max(nx.bound, ny.bound) > 1e3 or (same_dtype and nx.dtype != ny.dtype):
            return None
        shape = tuple(np.broadcast_shapes(nx.shape, ny.shape))
        return Made([x, y], {}, shape, promote(nx, ny), bound(nx.bound, ny.bound))
    return make


def _binary_run(fn: Callable) -> Callable:
    def run(L: Any, F: Any, args: list, p: dict) -> Any:
        return fn(L, F, args[0], args[1])
    return run


for _name, _fn, _bound in _BINARY:   # torch.lerp does not promote dtypes
    register(_name, "binary")((_binary_make(_bound, _name == "lerp"), _binary_run(_fn)))


# ----------------------------------------------------------------------------------------------
# reductions, softmax family
# ----------------------------------------------------------------------------------------------
def _reduction(kind: str) -> tuple:
    def make(b: Builder, x: int) -> Made | None:
        n = b.nodes[x]
        if not n.shape:
            return None
        dims = _dims(b, len(n.shape), allow_tuple=kind not in ("max_dim", "min_dim", "prod"))
        keep = b.draw.boolean()
        axes = _as_tuple(dims, len(n.shape))
        count = _numel([n.shape[d] for d in axes])
        params = {"dim": dims, "keepdim": keep}
        inputs = [x]
        bound = n.bound
        if kind == "sum":
            bound = n.bound * count
        elif kind == "logsumexp":
            bound = n.bound + math.log(count)
        elif kind in ("var", "std"):
            correction = b.draw.integers(0, 1) if count > 1 else 0
            params["correction"] = correction
            bound = 4 * (n.bound + LEAF_BOUND) ** 2 * count
            if kind == "std":   # never constant: x plus an independent continuous random leaf
                inputs.append(b.leaf(n.shape, n.dtype, continuous=True))
                bound = math.sqrt(bound)
        elif kind == "prod":
            if count > 4:
                return None
            bound = n.bound ** count
        elif kind == "norm":
            params["p"] = b.draw.choice([1, 2, 3, float("inf")])
            bound = n.bound * count
        return Made(inputs, params, _reduced(n.shape, axes, keep), n.dtype, bound)

    def run(L: Any, F: Any, args: list, p: dict) -> Any:
        x, dim, keep = args[0], p["dim"], p["keepdim"]
        if kind == "sum":
            return x.sum(dim=dim, keepdim=keep)
        if kind == "mean":
            return L.mean(x, dim, keep)
        if kind == "amax":
            return L.amax(x, dim=dim, keepdim=keep)
        if kind == "amin":
            return x.amin(dim=dim, keepdim=keep)
        if kind == "max_dim":
            return x.max(dim=dim, keepdim=keep).values
        if kind == "min_dim":
            return L.min(x, dim, keep)[0]
        if kind == "logsumexp":
            return L.logsumexp(x, dim=dim, keepdim=keep)
        if kind == "var":
            return x.var(dim=dim, correction=p["correction"], keepdim=keep)
        if kind == "std":
            return L.std(x + args[1], dim=dim, correction=p["correction"], keepdim=keep)
        if kind == "prod":
            return x.prod(dim=dim, keepdim=keep)
        if kind == "norm":
            return x.norm(p=p["p"], dim=dim, keepdim=keep)
        raise AssertionError(kind)
    return make, run


for _kind in ("sum", "mean", "amax", "amin", "max_dim", "min_dim", "logsumexp", "var", "std",
              "prod", "norm"):
    register(_kind, "reduce")(_reduction(_kind))


@register("sum_all", "reduce")
def _sum_all():
    def make(b, x):
        n = b.nodes[x]
        return Made([x], {}, (), n.dtype, n.bound * max(_numel(n.shape), 1))
    return make, lambda L, F, a, p: L.sum(a[0])


@register("mean_all", "reduce")
def _mean_all():
    def make(b, x):
        n = b.nodes[x]
        return Made([x], {}, (), n.dtype, n.bound) if _numel(n.shape) else None
    return make, lambda L, F, a, p: a[0].mean()


def _softmax_family(kind: str) -> tuple:
    def make(b: Builder, x: int) -> Made | None:
        n = b.nodes[x]
        if not n.shape:
            return None
        d = b.draw.integers(-len(n.shape), len(n.shape) - 1)
        bound = 1.0 if kind in ("softmax", "softmin") else 2 * n.bound + math.log(n.shape[d])
        return Made([x], {"dim": d}, n.shape, n.dtype, bound)

    def run(L: Any, F: Any, args: list, p: dict) -> Any:
        x, d = args[0], p["dim"]
        if kind == "softmax":
            return F.softmax(x, dim=d)
        if kind == "softmin":
            return F.softmin(x, dim=d)
        if kind == "log_softmax":
            return F.log_softmax(x, dim=d)
        return L.log_softmax(x, d)
    return make, run


for _kind in ("softmax", "softmin", "log_softmax", "log_softmax_fn"):
    register(_kind, "softmax")(_softmax_family(_kind))


# ----------------------------------------------------------------------------------------------
# shape ops
# ----------------------------------------------------------------------------------------------
def _same(b: Builder, x: int, shape: tuple, params: dict, inputs: list | None = None) -> Made:
    n = b.nodes[x]
    return Made(inputs or [x], params, tuple(shape), n.dtype, n.bound)


@register("reshape", "shape")
def _reshape():
    def make(b, x):
        n = b.nodes[x]
        factors = _factor(_numel(n.shape))
        rank = b.draw.integers(1, 4)
        shape = [1] * rank
        for f in factors:
            shape[b.draw.integers(0, rank - 1)] *= f
        target = list(shape)
        if b.draw.boolean():
            target[b.draw.integers(0, rank - 1)] = -1
        return _same(b, x, tuple(shape), {"shape": tuple(target)})
    return make, lambda L, F, a, p: a[0].reshape(p["shape"])


@register("flatten", "shape")
def _flatten():
    def make(b, x):
        n = b.nodes[x]
        if not n.shape:
            return None
        s = b.draw.integers(0, len(n.shape) - 1)
        e = b.draw.integers(s, len(n.shape) - 1)
        shape = n.shape[:s] + (_numel(n.shape[s:e + 1]),) + n.shape[e + 1:]
        return _same(b, x, shape, {"start": s, "end": e - len(n.shape)})
    return make, lambda L, F, a, p: L.flatten(a[0], p["start"], p["end"])


@register("unflatten", "shape")
def _unflatten():
    def make(b, x):
        n = b.nodes[x]
        if not n.shape:
            return None
        d = b.draw.integers(0, len(n.shape) - 1)
        factors = _factor(n.shape[d])
        sizes = [1, 1]
        for f in factors:
            sizes[b.draw.integers(0, 1)] *= f
        return _same(b, x, n.shape[:d] + tuple(sizes) + n.shape[d + 1:],
                     {"dim": d, "sizes": tuple(sizes)})
    return make, lambda L, F, a, p: a[0].unflatten(p["dim"], p["sizes"])


@register("permute", "shape")
def _permute():
    def make(b, x):
        n = b.nodes[x]
        if len(n.shape) < 2:
            return None
        pool, perm = list(range(len(n.shape))), []
        while pool:
            d = b.draw.choice(pool)
            pool.remove(d)
            perm.append(d)
        return _same(b, x, tuple(n.shape[d] for d in perm), {"dims": tuple(perm)})
    return make, lambda L, F, a, p: a[0].permute(*p["dims"])


@register("transpose", "shape")
def _transpose():
    def make(b, x):
        n = b.nodes[x]
        if len(n.shape) < 2:
            return None
        d0 = b.draw.integers(-len(n.shape), len(n.shape) - 1)
        d1 = b.draw.integers(-len(n.shape), len(n.shape) - 1)
        shape = list(n.shape)
        shape[d0], shape[d1] = shape[d1], shape[d0]
        return _same(b, x, tuple(shape), {"d0": d0, "d1": d1})
    return make, lambda L, F, a, p: L.transpose(a[0], p["d0"], p["d1"])


@register("matrix_transpose", "shape")
def _mt():
    def make(b, x):
        n = b.nodes[x]
        if len(n.shape) != 2:
            return None
        return _same(b, x, n.shape[::-1], {"form": b.draw.choice(["t", "mT", "T"])})

    def run(L, F, a, p):
        return {"t": lambda v: v.t(), "mT": lambda v: v.mT, "T": lambda v: v.T}[p["form"]](a[0])
    return make, run


@register("unsqueeze", "shape")
def _unsqueeze():
    def make(b, x):
        n = b.nodes[x]
        if len(n.shape) >= 5:
            return None
        d = b.draw.integers(-len(n.shape) - 1, len(n.shape))
        shape = list(n.shape)
        shape.insert(d % (len(n.shape) + 1), 1)
        return _same(b, x, tuple(shape), {"dim": d})
    return make, lambda L, F, a, p: a[0].unsqueeze(p["dim"])


@register("squeeze", "shape")
def _squeeze():
    def make(b, x):
        n = b.nodes[x]
        ones = [i for i, s in enumerate(n.shape) if s == 1]
        if not ones:
            return None
        form = b.draw.choice(["all", "dim", "other"])
        if form == "all":
            return _same(b, x, tuple(s for s in n.shape if s != 1), {"dim": None})
        d = b.draw.choice(ones) if form == "dim" else b.draw.integers(0, len(n.shape) - 1)
        shape = tuple(s for i, s in enumerate(n.shape) if not (i == d and s == 1))
        return _same(b, x, shape, {"dim": d})

    def run(L, F, a, p):
        return a[0].squeeze() if p["dim"] is None else L.squeeze(a[0], p["dim"])
    return make, run


@register("cat", "shape")
def _cat():
    def make(b, x):
        n = b.nodes[x]
        if not n.shape:
            return None
        d = b.draw.integers(0, len(n.shape) - 1)
        size = b.draw.integers(1, 3)
        shape = n.shape[:d] + (size,) + n.shape[d + 1:]
        accept = lambda m: len(m.shape) == len(n.shape) and all(
            s == t for i, (s, t) in enumerate(zip(m.shape, n.shape)) if i != d)
        others = [b.partner(shape, n.dtype, accept, own=x) for _ in range(b.draw.integers(1, 2))]
        total = n.shape[d] + sum(b.nodes[o].shape[d] for o in others)
        dtype = n.dtype
        for o in others:
            dtype = "float64" if b.nodes[o].dtype != dtype else dtype
        bound = max(b.nodes[i].bound for i in [x] + others)
        return Made([x] + others, {"dim": d - len(n.shape) if b.draw.boolean() else d},
                    n.shape[:d] + (total,) + n.shape[d + 1:], dtype, bound)
    return make, lambda L, F, a, p: L.cat(list(a), dim=p["dim"])


@register("stack", "shape")
def _stack():
    def make(b, x):
        n = b.nodes[x]
        if len(n.shape) >= 4:
            return None
        y = b.partner(n.shape, n.dtype, own=x)
        if b.nodes[y].dtype != n.dtype:
            return None    # torch.stack does not promote
        d = b.draw.integers(-len(n.shape) - 1, len(n.shape))
        shape = list(n.shape)
        shape.insert(d % (len(n.shape) + 1), 2)
        return Made([x, y], {"dim": d}, tuple(shape), n.dtype,
                    max(n.bound, b.nodes[y].bound))
    return make, lambda L, F, a, p: L.stack(list(a), p["dim"])


@register("slice", "shape")
def _slice():
    def make(b, x):
        n = b.nodes[x]
        if not n.shape:
            return None
        d = b.draw.integers(0, len(n.shape) - 1)
        size = n.shape[d]
        start = b.draw.integers(-size, size - 1)
        stop = b.draw.integers(-size, size + 2)
        step = b.draw.integers(1, 3)
        length = len(range(*slice(start, stop, step).indices(size)))
        if length == 0:
            return None
        return _same(b, x, n.shape[:d] + (length,) + n.shape[d + 1:],
                     {"dim": d, "slice": (start, stop, step)})
    return make, lambda L, F, a, p: a[0][(slice(None),) * p["dim"] + (slice(*p["slice"]),)]


@register("integer_index", "shape")
def _integer_index():
    def make(b, x):
        n = b.nodes[x]
        if not n.shape:
            return None
        d = b.draw.integers(0, len(n.shape) - 1)
        i = b.draw.integers(-n.shape[d], n.shape[d] - 1)
        return _same(b, x, n.shape[:d] + n.shape[d + 1:], {"dim": d, "index": i,
                                                            "ellipsis": b.draw.boolean()})

    def run(L, F, a, p):
        x, d = a[0], p["dim"]
        if p["ellipsis"]:
            return x[(Ellipsis, p["index"]) + (slice(None),) * (x.ndim - d - 1)]
        return x[(slice(None),) * d + (p["index"],)]
    return make, run


@register("array_index", "shape")
def _array_index():
    def make(b, x):
        n = b.nodes[x]
        if not n.shape:
            return None
        d = b.draw.integers(0, len(n.shape) - 1)
        k = b.draw.integers(1, 4)
        idx = np.array([b.draw.integers(-n.shape[d], n.shape[d] - 1) for _ in range(k)],
                       dtype=np.int64)
        return _same(b, x, n.shape[:d] + (k,) + n.shape[d + 1:],
                     {"dim": d, "index": idx, "as_list": b.draw.boolean()})

    def run(L, F, a, p):
        index = p["index"].tolist() if p["as_list"] and p["dim"] == 0 else L.tensor(p["index"])
        return a[0][(slice(None),) * p["dim"] + (index,)]
    return make, run


@register("boolean_mask", "shape")
def _boolean_mask():
    def make(b, x):
        n = b.nodes[x]
        if not n.shape:
            return None
        mask = np.array([b.draw.boolean() for _ in range(n.shape[0])])
        if not mask.any():
            return None
        return _same(b, x, (int(mask.sum()),) + n.shape[1:], {"mask": mask})
    return make, lambda L, F, a, p: a[0][L.tensor(p["mask"])]


@register("pad_constant", "shape")
def _pad_constant():
    def make(b, x):
        n = b.nodes[x]
        if not n.shape:
            return None
        k = b.draw.integers(1, len(n.shape))
        pads, shape = [], list(n.shape)
        for i in range(k):   # pairs start from the last dim
            d = len(n.shape) - 1 - i
            lo, hi = b.draw.integers(-1, 2), b.draw.integers(-1, 2)
            if shape[d] + lo + hi < 1:
                lo = hi = 0
            shape[d] += lo + hi
            pads += [lo, hi]
        value = b.draw.choice([0.0, 1.5, -0.25])
        return Made([x], {"pad": tuple(pads), "value": value}, tuple(shape), n.dtype,
                    max(n.bound, 1.5))
    return make, lambda L, F, a, p: F.pad(a[0], p["pad"], mode="constant", value=p["value"])


@register("pad_mode", "shape")
def _pad_mode():
    def make(b, x):
        n = b.nodes[x]
        r = len(n.shape)
        k = 1 if r == 2 else b.draw.integers(1, 2) if r == 3 else 2 if r == 4 else 0
        if not k:
            return None
        mode = b.draw.choice(["reflect", "replicate", "circular"])
        pads, shape = [], list(n.shape)
        for i in range(k):
            d = r - 1 - i
            limit = shape[d] - 1 if mode == "reflect" else shape[d] if mode == "circular" else 2
            lo, hi = b.draw.integers(0, min(limit, 2)), b.draw.integers(0, min(limit, 2))
            shape[d] += lo + hi
            pads += [lo, hi]
        return _same(b, x, tuple(shape), {"pad": tuple(pads), "mode": mode})
    return make, lambda L, F, a, p: F.pad(a[0], p["pad"], mode=p["mode"])


@register("expand", "shape")
def _expand():
    def make(b, x):
        n = b.nodes[x]
        sizes, shape = [], []
        for s in n.shape:
            if s == 1 and b.draw.boolean():
                t = b.draw.integers(2, 3)
                sizes.append(t)
                shape.append(t)
            else:
                sizes.append(b.draw.choice([-1, s]))
                shape.append(s)
        if len(n.shape) < 4 and (b.draw.boolean() or shape == list(n.shape)):
            lead = b.draw.integers(2, 3)
            sizes.insert(0, lead)
            shape.insert(0, lead)
        form = b.draw.choice(["expand", "broadcast_to", "expand_as"])
        return _same(b, x, tuple(shape), {"sizes": tuple(sizes), "shape": tuple(shape),
                                          "form": form})

    def run(L, F, a, p):
        if p["form"] == "expand":
            return a[0].expand(*p["sizes"])
        if p["form"] == "broadcast_to":
            return L.broadcast_to(a[0], p["shape"])
        return a[0].expand_as(L.zeros(p["shape"]))
    return make, run


@register("flip", "shape")
def _flip():
    def make(b, x):
        n = b.nodes[x]
        if not n.shape:
            return None
        dims = _dims(b, len(n.shape))
        return _same(b, x, n.shape, {"dims": dims if isinstance(dims, tuple) else (dims,)})
    return make, lambda L, F, a, p: L.flip(a[0], p["dims"])


@register("repeat", "shape")
def _repeat():
    def make(b, x):
        n = b.nodes[x]
        extra = b.draw.integers(0, 1) if len(n.shape) < 4 else 0
        sizes = tuple(b.draw.integers(1, 2) for _ in range(len(n.shape) + extra))
        if not sizes:
            return None
        full = (1,) * extra + n.shape
        return _same(b, x, tuple(r * s for r, s in zip(sizes, full)), {"sizes": sizes})
    return make, lambda L, F, a, p: a[0].repeat(*p["sizes"])


@register("split_chunk_unbind", "shape")
def _split():
    def make(b, x):
        n = b.nodes[x]
        if not n.shape:
            return None
        d = b.draw.integers(0, len(n.shape) - 1)
        size = n.shape[d]
        form = b.draw.choice(["split", "split_sizes", "chunk", "unbind", "narrow", "select"])
        if form == "split":
            s = b.draw.integers(1, size)
            pieces = [min(s, size - i) for i in range(0, size, s)]
            k = b.draw.integers(0, len(pieces) - 1)
            return _same(b, x, n.shape[:d] + (pieces[k],) + n.shape[d + 1:],
                         {"form": form, "dim": d, "arg": s, "k": k})
        if form == "split_sizes":
            cut = b.draw.integers(1, size - 1) if size > 1 else size
            sizes = [cut, size - cut] if size > 1 else [size]
            k = b.draw.integers(0, len(sizes) - 1)
            return _same(b, x, n.shape[:d] + (sizes[k],) + n.shape[d + 1:],
                         {"form": form, "dim": d, "arg": sizes, "k": k})
        if form == "chunk":
            c = b.draw.integers(1, 4)
            step = -(-size // c)
            pieces = [min(step, size - i) for i in range(0, size, step)]
            k = b.draw.integers(0, len(pieces) - 1)
            return _same(b, x, n.shape[:d] + (pieces[k],) + n.shape[d + 1:],
                         {"form": form, "dim": d, "arg": c, "k": k})
        if form == "narrow":
            start = b.draw.integers(0, size - 1)
            length = b.draw.integers(1, size - start)
            return _same(b, x, n.shape[:d] + (length,) + n.shape[d + 1:],
                         {"form": form, "dim": d, "arg": (start, length), "k": 0})
        k = b.draw.integers(0, size - 1)
        return _same(b, x, n.shape[:d] + n.shape[d + 1:], {"form": form, "dim": d, "arg": None,
                                                          "k": k})

    def run(L, F, a, p):
        x, d, k = a[0], p["dim"], p["k"]
        if p["form"] in ("split", "split_sizes"):
            return L.split(x, p["arg"], d)[k]
        if p["form"] == "chunk":
            return x.chunk(p["arg"], d)[k]
        if p["form"] == "narrow":
            return x.narrow(d, *p["arg"])
        if p["form"] == "unbind":
            return x.unbind(d)[k]
        return x.select(d, k)
    return make, run


@register("gather", "shape")
def _gather():
    def make(b, x):
        n = b.nodes[x]
        if not n.shape:
            return None
        d = b.draw.integers(0, len(n.shape) - 1)
        shape = tuple(b.draw.integers(1, 3) if i == d else b.draw.integers(1, s)
                      for i, s in enumerate(n.shape))
        rng = np.random.default_rng(b.draw.integers(0, 2 ** 31 - 1))
        index = rng.integers(0, n.shape[d], size=shape)
        return _same(b, x, shape, {"dim": d, "index": index})
    return make, lambda L, F, a, p: L.gather(a[0], p["dim"], L.tensor(p["index"]))


@register("clone", "shape")
def _clone():
    return (lambda b, x: _same(b, x, b.nodes[x].shape, {}),
            lambda L, F, a, p: a[0].clone())


@register("cast", "shape")
def _cast():
    def make(b, x):
        n = b.nodes[x]
        if len(b.dtypes) < 2:
            return None
        target = "float32" if n.dtype == "float64" else "float64"
        return Made([x], {"dtype": target}, n.shape, target, n.bound)
    return make, lambda L, F, a, p: a[0].to(getattr(L, p["dtype"]))


# ----------------------------------------------------------------------------------------------
# matrix products
# ----------------------------------------------------------------------------------------------
@register("matmul", "matmul")
def _matmul():
    def make(b, x):
        n = b.nodes[x]
        if not n.shape or n.bound > 1e2:
            return None
        m = n.shape[-1]
        form = b.draw.choice(["weight", "vector", "left_vector", "left_matrix", "gram",
                              "batched_weight"])
        if form in ("left_vector", "left_matrix", "gram") and len(n.shape) < 2:
            form = "weight"
        if form == "batched_weight" and len(n.shape) < 2:
            form = "vector"
        if form == "weight":
            k = b.draw.integers(1, 4)
            w = b.leaf((m, k), n.dtype)
            shape = n.shape[:-1] + (k,)
            return Made([x, w], {"form": form}, shape, n.dtype, n.bound * LEAF_BOUND * m)
        if form == "vector":
            v = b.leaf((m,), n.dtype)
            return Made([x, v], {"form": form}, n.shape[:-1], n.dtype, n.bound * LEAF_BOUND * m)
        if form == "left_vector":
            v = b.leaf((n.shape[-2],), n.dtype)
            return Made([v, x], {"form": form}, n.shape[:-2] + n.shape[-1:], n.dtype,
                        n.bound * LEAF_BOUND * n.shape[-2])
        if form == "left_matrix":
            k = b.draw.integers(1, 3)
            w = b.leaf((k, n.shape[-2]), n.dtype)
            return Made([w, x], {"form": form}, n.shape[:-2] + (k, n.shape[-1]), n.dtype,
                        n.bound * LEAF_BOUND * n.shape[-2])
        if form == "gram":
            return Made([x], {"form": form}, n.shape[:-1] + (n.shape[-2],), n.dtype,
                        n.bound ** 2 * m)
        k = b.draw.integers(1, 3)
        lead = b.draw.choice([1, n.shape[-3]]) if len(n.shape) >= 3 else b.draw.integers(1, 2)
        w = b.leaf((lead, m, k), n.dtype)
        shape = tuple(np.broadcast_shapes(n.shape[:-2], (lead,))) + (n.shape[-2], k)
        return Made([x, w], {"form": form}, shape, n.dtype, n.bound * LEAF_BOUND * m)

    def run(L, F, a, p):
        if p["form"] == "gram":
            return a[0] @ a[0].transpose(-2, -1)
        if p["form"] == "left_matrix":
            return L.matmul(a[0], a[1])
        return a[0] @ a[1]
    return make, run


@register("linear", "matmul")
def _linear():
    def make(b, x):
        n = b.nodes[x]
        if not n.shape or n.bound > 1e2:
            return None
        k, m = b.draw.integers(1, 4), n.shape[-1]
        inputs = [x, b.leaf((k, m), n.dtype)]
        if b.draw.boolean():
            inputs.append(b.leaf((k,), n.dtype))
        return Made(inputs, {}, n.shape[:-1] + (k,), n.dtype, (n.bound * m + 1) * LEAF_BOUND)
    return make, lambda L, F, a, p: F.linear(*a)


@register("mm_bmm_mv_dot_outer", "matmul")
def _mm_family():
    def make(b, x):
        n = b.nodes[x]
        if n.bound > 1e2 or len(n.shape) not in (1, 2, 3):
            return None
        r, m = len(n.shape), n.shape[-1]
        if r == 1:
            form = b.draw.choice(["dot", "outer"])
            other = b.leaf((m if form == "dot" else b.draw.integers(1, 4),), n.dtype)
            shape = () if form == "dot" else (m, b.nodes[other].shape[0])
        elif r == 2:
            form = b.draw.choice(["mm", "mv"])
            other = b.leaf((m, b.draw.integers(1, 4)) if form == "mm" else (m,), n.dtype)
            shape = (n.shape[0], b.nodes[other].shape[1]) if form == "mm" else (n.shape[0],)
        else:
            form = "bmm"
            other = b.leaf((n.shape[0], m, b.draw.integers(1, 3)), n.dtype)
            shape = (n.shape[0], n.shape[1], b.nodes[other].shape[2])
        return Made([x, other], {"form": form}, shape, n.dtype, n.bound * LEAF_BOUND * m)
    return make, lambda L, F, a, p: getattr(L, p["form"])(a[0], a[1])


# ----------------------------------------------------------------------------------------------
# convolution and pooling
# ----------------------------------------------------------------------------------------------
def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _conv(nd: int, transposed: bool = False) -> tuple:
    def make(b: Builder, x: int) -> Made | None:
        n = b.nodes[x]
        if len(n.shape) not in (nd + 1, nd + 2) or n.bound > 1e2:
            return None
        batched = len(n.shape) == nd + 2
        c_in, spatial = n.shape[-nd - 1], n.shape[-nd:]
        groups = b.draw.choice(_divisors(c_in))
        c_out = groups * b.draw.integers(1, 2)
        kernel = tuple(b.draw.integers(1, 3) for _ in range(nd))
        stride = tuple(b.draw.integers(1, 2) for _ in range(nd))
        dilation = tuple(b.draw.integers(1, 2) for _ in range(nd))
        if transposed:
            padding = tuple(b.draw.integers(0, 1) for _ in range(nd))
            extra = tuple(b.draw.integers(0, max(s, d) - 1) for s, d in zip(stride, dilation))
            out = tuple((i - 1) * s - 2 * p + d * (k - 1) + e + 1 for i, s, p, d, k, e in
                        zip(spatial, stride, padding, dilation, kernel, extra))
            if any(o < 1 for o in out):
                return None
            weight = b.leaf((c_in, c_out // groups) + kernel, n.dtype)
            params = {"stride": stride, "padding": padding, "output_padding": extra,
                      "groups": groups, "dilation": dilation}
        else:
            choice = b.draw.choice(["int", "tuple", "same", "valid"])
            if choice == "same" and all(s == 1 for s in stride):
                padding, pads = "same", tuple(d * (k - 1) for k, d in zip(kernel, dilation))
            elif choice == "valid":
                padding, pads = "valid", (0,) * nd
            elif choice == "int":
                padding = b.draw.integers(0, 2)
                pads = (2 * padding,) * nd
            else:
                padding = tuple(b.draw.integers(0, 2) for _ in range(nd))
                pads = tuple(2 * p for p in padding)
            extent = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
            if any(e > s + p for e, s, p in zip(extent, spatial, pads)):
                return None
            out = tuple((s + p - e) // st + 1 for s, p, e, st in zip(spatial, pads, extent,
                                                                    stride))
            weight = b.leaf((c_out, c_in // groups) + kernel, n.dtype)
            params = {"stride": stride if b.draw.boolean() else stride[0] if len(set(stride)) == 1
                      else stride, "padding": padding, "dilation": dilation, "groups": groups}
        inputs = [x, weight]
        if b.draw.boolean():
            inputs.append(b.leaf((c_out,), n.dtype))
        shape = ((n.shape[0],) if batched else ()) + (c_out,) + out
        fan = c_in // groups * _numel(kernel)
        return Made(inputs, params, shape, n.dtype, (n.bound * fan + 1) * LEAF_BOUND)

    def run(L: Any, F: Any, a: list, p: dict) -> Any:
        fn = getattr(F, f"conv_transpose{nd}d" if transposed else f"conv{nd}d")
        bias = a[2] if len(a) > 2 else None
        return fn(a[0], a[1], bias, **p)
    return make, run


register("conv1d", "conv")(_conv(1))
register("conv2d", "conv")(_conv(2))
register("conv_transpose1d", "conv")(_conv(1, transposed=True))
register("conv_transpose2d", "conv")(_conv(2, transposed=True))


def _pool_out(n: int, k: int, s: int, p: int, d: int, ceil: bool) -> int | None:
    """PyTorch's pooling output size, or None where a window would hold only padding."""
    span = n + 2 * p - d * (k - 1) - 1
    if span < 0:
        return None
    o = (span + (s - 1 if ceil else 0)) // s + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    for i in range(o):
        taps = [i * s - p + j * d for j in range(k)]
        if not any(0 <= t < n for t in taps):
            return None
    return o


def _pool(nd: int, kind: str) -> tuple:
    def make(b: Builder, x: int) -> Made | None:
        n = b.nodes[x]
        if len(n.shape) not in (nd + 1, nd + 2):
            return None
        spatial = n.shape[-nd:]
        if kind == "adaptive_avg" or kind == "adaptive_max":
            size = tuple(b.draw.integers(1, s + 1) for s in spatial)
            return Made([x], {"output_size": size if nd > 1 else size[0]},
                        n.shape[:-nd] + size, n.dtype, n.bound)
        kernel = tuple(b.draw.integers(1, 3) for _ in range(nd))
        stride = tuple(b.draw.integers(1, 3) for _ in range(nd))
        padding = tuple(b.draw.integers(0, k // 2) for k in kernel)
        dilation = tuple(b.draw.integers(1, 2) for _ in range(nd)) if kind == "max" else (1,) * nd
        ceil = b.draw.boolean()
        out = [_pool_out(s, k, st, p, d, ceil) for s, k, st, p, d in
               zip(spatial, kernel, stride, padding, dilation)]
        if any(o is None or o < 1 for o in out):
            return None
        params = {"kernel_size": kernel, "stride": stride if b.draw.boolean() else None,
                  "padding": padding, "ceil_mode": ceil}
        if params["stride"] is None:   # stride defaults to the kernel: recompute
            out = [_pool_out(s, k, k, p, d, ceil) for s, k, p, d in
                   zip(spatial, kernel, padding, dilation)]
            if any(o is None or o < 1 for o in out):
                return None
        if kind == "max":
            params["dilation"] = dilation
        else:
            params["count_include_pad"] = b.draw.boolean()
        return Made([x], params, n.shape[:-nd] + tuple(out), n.dtype, n.bound)

    def run(L: Any, F: Any, a: list, p: dict) -> Any:
        if kind in ("adaptive_avg", "adaptive_max"):
            y = getattr(F, f"{kind}_pool{nd}d")(a[0], p["output_size"])
            return y
        return getattr(F, f"{kind}_pool{nd}d")(a[0], **p)
    return make, run


for _nd in (1, 2):
    for _kind in ("max", "avg", "adaptive_avg", "adaptive_max"):
        register(f"{_kind}_pool{_nd}d", "pool")(_pool(_nd, _kind))


# ----------------------------------------------------------------------------------------------
# normalisation layers (functional)
# ----------------------------------------------------------------------------------------------
def _eps(b: Builder, n: Node) -> float:
    """The ε of a normalisation layer.  Over identical entries (after expand or repeat) the
    variance is 0 up to rounding, which 1/√ε amplifies; in float32 ε = 1e-3 keeps that
    amplification (×30) inside the comparison's tolerance."""
    return 1e-3 if n.dtype == "float32" else b.draw.choice([1e-5, 1e-3])


def _noisy(args: list) -> Any:
    """The normalisation layers see x plus an independent continuous leaf.  A group of equal
    entries (after expand, repeat or cat(x, x)) would be normalised to exact zeros in one library
    and to ±rounding noise in the other, and a kink after it (relu, max) would then take
    different branches; with the noise no group is constant."""
    return args[0] + args[1]


@register("layer_norm", "norm")
def _layer_norm():
    def make(b, x):
        n = b.nodes[x]
        if not n.shape:
            return None
        k = b.draw.integers(1, len(n.shape))
        shape = n.shape[len(n.shape) - k:]
        if _numel(shape) < 2:
            return None
        inputs = [x, b.leaf(n.shape, n.dtype, continuous=True)]   # see _noisy
        affine = b.draw.choice(["none", "weight", "both"])
        if affine != "none":
            inputs.append(b.leaf(shape, n.dtype))
        if affine == "both":
            inputs.append(b.leaf(shape, n.dtype))
        bound = (math.sqrt(_numel(shape)) + 1) * LEAF_BOUND + LEAF_BOUND
        return Made(inputs, {"shape": shape, "eps": _eps(b, n)}, n.shape, n.dtype, bound)

    def run(L, F, a, p):
        weight = a[2] if len(a) > 2 else None
        bias = a[3] if len(a) > 3 else None
        return F.layer_norm(_noisy(a), p["shape"], weight, bias, eps=p["eps"])
    return make, run


@register("batch_norm", "norm")
def _batch_norm():
    def make(b, x):
        n = b.nodes[x]
        if len(n.shape) < 2 or _numel(n.shape) // n.shape[1] < 2:
            return None
        c = n.shape[1]
        inputs = [x, b.leaf(n.shape, n.dtype, continuous=True)]   # see _noisy
        affine = b.draw.boolean()
        if affine:
            inputs += [b.leaf((c,), n.dtype), b.leaf((c,), n.dtype)]
        params = {"affine": affine, "running": b.draw.boolean(),
                  "momentum": b.draw.choice([0.1, 0.5]), "channels": c, "eps": _eps(b, n)}
        bound = (math.sqrt(_numel(n.shape)) + 1) * LEAF_BOUND + LEAF_BOUND
        return Made(inputs, params, n.shape, n.dtype, bound)

    def run(L, F, a, p, state=None):
        weight, bias = (a[2], a[3]) if p["affine"] else (None, None)
        mean = var = None
        if p["running"]:
            dtype = getattr(L, str(a[0].dtype).replace("torch.", ""))
            mean = L.zeros(p["channels"], dtype=dtype)
            var = L.ones(p["channels"], dtype=dtype)
            if state is not None:
                state.extend([mean, var])
        return F.batch_norm(_noisy(a), mean, var, weight, bias, training=True,
                            momentum=p["momentum"], eps=p["eps"])
    return make, run


@register("group_norm", "norm")
def _group_norm():
    def make(b, x):
        n = b.nodes[x]
        if len(n.shape) < 2:
            return None
        c = n.shape[1]
        g = b.draw.choice(_divisors(c))
        if _numel(n.shape) // (n.shape[0] * g) < 2:
            return None     # a group of one entry is all rounding noise (and PyTorch refuses it)
        inputs = [x, b.leaf(n.shape, n.dtype, continuous=True)]   # see _noisy
        if b.draw.boolean():
            inputs += [b.leaf((c,), n.dtype), b.leaf((c,), n.dtype)]
        bound = (math.sqrt(_numel(n.shape)) + 1) * LEAF_BOUND + LEAF_BOUND
        return Made(inputs, {"groups": g, "eps": _eps(b, n)}, n.shape, n.dtype, bound)

    def run(L, F, a, p):
        return F.group_norm(_noisy(a), p["groups"], *a[2:], eps=p["eps"])
    return make, run


@register("normalize", "norm")
def _normalize():
    def make(b, x):
        n = b.nodes[x]
        if not n.shape:
            return None
        d = b.draw.integers(-len(n.shape), len(n.shape) - 1)
        return Made([x], {"p": b.draw.choice([1.0, 2.0]), "dim": d}, n.shape, n.dtype, 1.0)
    # ε = 0.1, not 1e-12: dividing by 1e-12 at a zero vector would turn rounding noise into
    # gradients of order 1e-4 that no two libraries share
    return make, lambda L, F, a, p: F.normalize(a[0], p=p["p"], dim=p["dim"], eps=0.1)


# ----------------------------------------------------------------------------------------------
# losses (terminal ops)
# ----------------------------------------------------------------------------------------------
def _class_layout(shape: tuple) -> tuple | None:
    """(class dim, number of classes, target shape) for a logits tensor of ``shape``."""
    if not shape:
        return None
    if len(shape) == 1:
        return 0, shape[0], ()
    return 1, shape[1], (shape[0],) + shape[2:]


@register("cross_entropy", "loss", terminal=True)
def _cross_entropy():
    def make(b, x):
        n = b.nodes[x]
        layout = _class_layout(n.shape)
        if layout is None:
            return None
        dim, classes, target_shape = layout
        rng = np.random.default_rng(b.draw.integers(0, 2 ** 31 - 1))
        reduction = b.draw.choice(["mean", "sum", "none"])
        smoothing = b.draw.choice([0.0, 0.0, 0.2])
        params = {"reduction": reduction, "label_smoothing": smoothing}
        if b.draw.integers(0, 3) == 0:    # class probabilities
            logits = rng.standard_normal(n.shape)
            probs = np.exp(logits) / np.exp(logits).sum(axis=dim, keepdims=True)
            params["target"] = probs.astype(n.dtype)
            out = () if reduction != "none" else target_shape
        else:
            target = rng.integers(0, classes, size=target_shape)
            if target.size > 1 and b.draw.boolean():
                flat = target.reshape(-1)
                flat[rng.integers(0, flat.size)] = -100     # one ignored entry, not all
                target = flat.reshape(target_shape)
            params["target"] = target.astype(np.int64)
            if b.draw.boolean():
                params["weight"] = rng.uniform(0.5, 2.0, size=classes).astype(n.dtype)
            out = () if reduction != "none" else target_shape
        return Made([x], params, out, n.dtype, 1.0)

    def run(L, F, a, p):
        weight = _const(L, p["weight"]) if "weight" in p else None
        return F.cross_entropy(a[0], _const(L, p["target"]), weight=weight,
                               reduction=p["reduction"], label_smoothing=p["label_smoothing"])
    return make, run


@register("nll_loss", "loss", terminal=True)
def _nll():
    def make(b, x):
        n = b.nodes[x]
        layout = _class_layout(n.shape)
        if layout is None:
            return None
        dim, classes, target_shape = layout
        rng = np.random.default_rng(b.draw.integers(0, 2 ** 31 - 1))
        reduction = b.draw.choice(["mean", "sum", "none"])
        return Made([x], {"target": rng.integers(0, classes, size=target_shape),
                          "reduction": reduction, "dim": dim},
                    () if reduction != "none" else target_shape, n.dtype, 1.0)
    return make, lambda L, F, a, p: F.nll_loss(F.log_softmax(a[0], p["dim"]),
                                               _const(L, p["target"]), reduction=p["reduction"])


def _elementwise_loss(kind: str) -> tuple:
    def make(b: Builder, x: int) -> Made | None:
        n = b.nodes[x]
        rng = np.random.default_rng(b.draw.integers(0, 2 ** 31 - 1))
        reduction = b.draw.choice(["mean", "sum", "none"])
        params: dict = {"reduction": reduction}
        if kind == "bce" and n.bound > 10:
            return None     # σ(x) must stay away from 0 and 1 (PyTorch clips its gradient there)
        if kind in ("bce_with_logits", "bce"):
            params["target"] = rng.uniform(0, 1, size=n.shape).astype(n.dtype)
            if kind == "bce_with_logits" and b.draw.boolean():
                params["pos_weight"] = rng.uniform(0.5, 2, size=n.shape[-1:]).astype(n.dtype)
            if b.draw.boolean():
                params["weight"] = rng.uniform(0.5, 2, size=n.shape).astype(n.dtype)
        elif kind == "kl_div":
            if not n.shape:
                return None
            q = rng.uniform(0.1, 1, size=n.shape)
            params["target"] = (q / q.sum(axis=-1, keepdims=True)).astype(n.dtype)
            params["reduction"] = b.draw.choice(["batchmean", "sum", "none"])
            reduction = params["reduction"]
        else:
            params["target"] = rng.standard_normal(n.shape).astype(n.dtype)
        out = n.shape if reduction == "none" else ()
        return Made([x], params, out, n.dtype, 1.0)   # a loss ends the program

    def run(L: Any, F: Any, a: list, p: dict) -> Any:
        x, t, r = a[0], _const(L, p["target"]), p["reduction"]
        if kind == "mse":
            return F.mse_loss(x, t, reduction=r)
        if kind == "l1":
            return F.l1_loss(x, t, reduction=r)
        if kind == "smooth_l1":
            return F.smooth_l1_loss(x, t, reduction=r, beta=0.5)
        if kind == "huber":
            return F.huber_loss(x, t, reduction=r, delta=0.7)
        weight = _const(L, p["weight"]) if "weight" in p else None
        if kind == "bce_with_logits":
            pos = _const(L, p["pos_weight"]) if "pos_weight" in p else None
            return F.binary_cross_entropy_with_logits(x, t, weight=weight, reduction=r,
                                                      pos_weight=pos)
        if kind == "bce":
            return F.binary_cross_entropy(L.sigmoid(x), t, weight=weight, reduction=r)
        return F.kl_div(F.log_softmax(x, -1), t, reduction=r)
    return make, run


for _kind in ("mse", "l1", "smooth_l1", "huber", "bce_with_logits", "bce", "kl_div"):
    register(_kind + "_loss", "loss", terminal=True)(_elementwise_loss(_kind))


# ----------------------------------------------------------------------------------------------
# execution and comparison
# ----------------------------------------------------------------------------------------------
def execute(program: Program, lib: Any) -> tuple[list, list, list]:
    """Run ``program`` with ``lib``; returns (all node values, leaf tensors, batch_norm state)."""
    L, F = lib, lib.nn.functional
    values: list = []
    state: list = []
    for node in program.nodes:
        if node.op == "leaf":
            values.append(L.tensor(node.values(), requires_grad=True))
            continue
        args = [values[j] for j in node.inputs]
        run = OPS[node.op].run
        if node.op == "batch_norm":
            values.append(run(L, F, args, node.params, state))
        else:
            values.append(run(L, F, args, node.params))
    leaves = [values[i] for i in program.leaves()]
    return values, leaves, state


def _np(t: Any) -> np.ndarray:
    return t.detach().numpy()


def _close(ours: np.ndarray, theirs: np.ndarray, rtol: float, what: str, program: Program) -> None:
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} != torch {theirs.shape}"
    scale = max(float(np.abs(theirs).max()) if theirs.size else 0.0, 1.0)
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * scale,
                               err_msg=f"{what}\n{program.describe()}")


def compare(program: Program) -> None:
    """Run ``program`` on lemmata and torch; values of every sink, gradients of every leaf of
    Σₖ ⟨wₖ, sinkₖ⟩ and batch_norm running statistics must agree."""
    import torch

    import lemmata
    ours, our_leaves, our_state = execute(program, lemmata)
    theirs, their_leaves, their_state = execute(program, torch)
    used = {program.nodes[i].dtype for i in range(len(program.nodes))}
    rtol = TOLERANCE["float32"] if "float32" in used else TOLERANCE["float64"]
    for i, (a, b) in enumerate(zip(ours, theirs)):
        expected = tuple(b.shape)
        assert tuple(a.shape) == expected, (
            f"v{i} ({program.nodes[i].op}): lemmata shape {tuple(a.shape)} != torch {expected}"
            f"\n{program.describe()}")
        assert str(a.dtype) == str(b.dtype).replace("torch.", ""), (
            f"v{i} ({program.nodes[i].op}): lemmata dtype {a.dtype} != torch {b.dtype}"
            f"\n{program.describe()}")
        assert program.nodes[i].shape == expected, (
            f"generator predicted shape {program.nodes[i].shape} for v{i}, torch gives "
            f"{expected}\n{program.describe()}")
    for i, (a, b) in enumerate(zip(ours, theirs)):
        _close(_np(a), _np(b), rtol, f"value of v{i} ({program.nodes[i].op})", program)
    loss_l, loss_t = 0, 0
    for k, i in enumerate(program.sinks()):
        w = np.random.default_rng(1000 + k).standard_normal(tuple(theirs[i].shape))
        dtype = program.nodes[i].dtype
        loss_l = loss_l + (ours[i] * lemmata.tensor(w.astype(dtype))).sum()
        loss_t = loss_t + (theirs[i] * torch.tensor(w.astype(dtype))).sum()
    loss_l.backward()
    loss_t.backward()
    for j, (a, b) in zip(program.leaves(), zip(our_leaves, their_leaves)):
        if b.grad is None:
            assert a.grad is None or not np.any(_np(a.grad)), f"leaf v{j}: torch has no gradient"
            continue
        assert a.grad is not None, f"leaf v{j}: lemmata has no gradient\n{program.describe()}"
        assert str(a.grad.dtype) == str(b.grad.dtype).replace("torch.", ""), (
            f"leaf v{j}: gradient dtype {a.grad.dtype} != torch {b.grad.dtype}")
        _close(_np(a.grad), _np(b.grad), rtol, f"gradient of leaf v{j}", program)
    for k, (a, b) in enumerate(zip(our_state, their_state)):
        _close(_np(a), _np(b), rtol, f"batch_norm running statistic {k}", program)
