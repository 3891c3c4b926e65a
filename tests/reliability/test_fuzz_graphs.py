"""Differential fuzzing: random computation graphs run on lemmata and on PyTorch 2.13.0.

hypothesis draws small programs — chains and DAGs over every op family (elementwise with
broadcasting, reductions, softmax, shape ops and indexing, matmul, convolution, pooling,
normalisation layers, losses) with random shapes, dtypes and parameters — and
``reliability_graphs.compare`` runs each on both libraries and checks every node's value, shape
and dtype, the gradient of every leaf, and batch_norm's running statistics (float64 to 1e-10
relative, float32 to 1e-4, relative to each tensor's scale).

The default profile runs 15 programs per test; ``--hypothesis-profile=thorough`` runs 500.  The
number of programs checked is printed at the end of the run (see conftest.py).
"""
from __future__ import annotations

import warnings

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import reliability_graphs as graphs

FUZZ = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
DTYPES = {"float32": ("float32",), "float64": ("float64",), "mixed": ("float32", "float64")}


def _check(program: graphs.Program) -> None:
    note(program.describe())
    with warnings.catch_warnings():
        # PyTorch warns about padding='same' with even kernels and the like; not our concern here
        warnings.simplefilter("ignore")
        graphs.compare(program)
    graphs.CHECKED["graphs"] += 1
    graphs.CHECKED["ops"] += len(program.ops())


# ----------------------------------------------------------------------------------------------
# every op of the table, once per dtype, deterministically
# ----------------------------------------------------------------------------------------------
def _single_op_program(name: str, dtype: str) -> graphs.Program:
    """A leaf (of a shape the op accepts) followed by the op."""
    for seed in range(200):
        draw = graphs.SeededDraw(seed)
        other = "float32" if dtype == "float64" else "float64"
        builder = graphs.Builder(draw, "chain", (dtype, other) if name == "cast" else (dtype,))
        rank = (seed % 5) if graphs.OPS[name].family not in ("conv", "pool") else 2 + seed % 3
        builder.leaf(tuple(draw.integers(1 if rank < 3 else 2, 5) for _ in range(rank)), dtype)
        if builder.grow(0, allow_terminal=True, only=name):
            return builder.program
    raise AssertionError(f"no input shape found for {name}")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(graphs.OPS))
def test_each_op_matches_torch(name: str, dtype: str) -> None:
    program = _single_op_program(name, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graphs.compare(program)


def test_op_table_covers_every_family() -> None:
    families = {op.family for op in graphs.OPS.values()}
    assert families == {"unary", "binary", "reduce", "softmax", "shape", "matmul", "conv", "pool",
                        "norm", "loss"}
    names = set(graphs.OPS)
    for required in ("reshape", "permute", "transpose", "unsqueeze", "squeeze", "cat", "stack",
                     "slice", "array_index", "pad_constant", "expand", "flip", "matmul",
                     "softmax", "log_softmax", "logsumexp", "conv1d", "conv2d", "max_pool2d",
                     "avg_pool2d", "layer_norm", "batch_norm", "gelu", "cross_entropy"):
        assert required in names, required


# ----------------------------------------------------------------------------------------------
# random programs
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@FUZZ
@given(data=st.data())
def test_random_chains(dtype: str, data: st.DataObject) -> None:
    draw = graphs.HypothesisDraw(data)
    _check(graphs.build(draw, "chain", DTYPES[dtype], steps=draw.integers(1, 8)))


@pytest.mark.parametrize("dtype", ["float32", "float64", "mixed"])
@FUZZ
@given(data=st.data())
def test_random_dags(dtype: str, data: st.DataObject) -> None:
    """Each op takes any earlier node, and binary ops, cat and stack may take a second one."""
    draw = graphs.HypothesisDraw(data)
    _check(graphs.build(draw, "dag", DTYPES[dtype], steps=draw.integers(2, 10)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@FUZZ
@given(data=st.data())
def test_random_graphs_ending_in_a_loss(dtype: str, data: st.DataObject) -> None:
    draw = graphs.HypothesisDraw(data)
    mode = draw.choice(["chain", "dag"])
    _check(graphs.build(draw, mode, DTYPES[dtype], steps=draw.integers(0, 6),
                        end_with_loss=True))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@FUZZ
@given(data=st.data())
def test_random_convolutional_networks(dtype: str, data: st.DataObject) -> None:
    """(N, C, L) or (N, C, H, W) inputs through convolutions, pools, normalisation layers and
    activations, usually ending in a loss."""
    draw = graphs.HypothesisDraw(data)
    rank = draw.integers(3, 4)
    start = (draw.integers(1, 3), draw.integers(1, 4)) + tuple(
        draw.integers(2, 7) for _ in range(rank - 2))
    families = ("conv", "pool", "norm", "unary", "binary", "softmax")
    _check(graphs.build(draw, draw.choice(["chain", "dag"]), DTYPES[dtype],
                        steps=draw.integers(1, 6), families=families, start_shape=start,
                        end_with_loss=draw.boolean()))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@FUZZ
@given(data=st.data())
def test_random_graphs_with_ties_and_zeros(dtype: str, data: st.DataObject) -> None:
    """Leaves on the grid {−2, −1.5, …, 2}: exact zeros (relu, abs, norms at 0) and ties (max,
    amax, max pooling, maximum, clamp at its bounds) test the subgradient conventions."""
    draw = graphs.HypothesisDraw(data)
    _check(graphs.build(draw, draw.choice(["chain", "dag"]), DTYPES[dtype],
                        steps=draw.integers(1, 7), end_with_loss=draw.boolean(), grid=True))


# ----------------------------------------------------------------------------------------------
# programs that once failed (kept as regressions, shrunk by hypothesis)
# ----------------------------------------------------------------------------------------------
def _leaf(shape: tuple, dtype: str = "float64", seed: int = 0) -> graphs.Node:
    return graphs.Node(shape, dtype, graphs.LEAF_BOUND, seed=seed)


def _op(name: str, inputs: tuple, shape: tuple, dtype: str = "float64", **params) -> graphs.Node:
    return graphs.Node(shape, dtype, 1.0, name, inputs, params)


REGRESSIONS = {
    # ‖0‖₃ = (Σ|xᵢ|³)^(1/3) at x = 0: the chain rule gave 0·∞ = NaN; PyTorch's gradient is 0
    "norm_p3_of_a_zero_vector": [
        _leaf((1, 1, 4, 1)),
        _op("var", (0,), (1, 4), dim=(3, -4), keepdim=False, correction=0),
        _op("norm", (1,), (1, 1), dim=(0, -1), keepdim=True, p=3),
    ],
    # a transposed 1×1 convolution with output_padding took the pointwise shortcut, whose
    # output size is the input's: NumPy's reshape error escaped from the forward
    "conv_transpose1d_pointwise_with_output_padding": [
        _leaf((1, 2, 2), "float32"), _leaf((2, 1, 1), "float32"),
        _op("conv_transpose1d", (0, 1), (1, 2, 3), "float32", stride=(1,), padding=(0,),
            output_padding=(1,), groups=2, dilation=(2,)),
    ],
}


@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_programs_that_once_failed(name: str) -> None:
    graphs.compare(graphs.Program(list(REGRESSIONS[name])))


def test_fuzzer_detects_a_wrong_derivative(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison is sharp: a backward off by one part in a million is caught."""
    from lemmata.ops import elementwise
    original = elementwise.Tanh.backward
    monkeypatch.setattr(elementwise.Tanh, "backward",
                        staticmethod(lambda ctx, g: original(ctx, g) * 1.000001))
    draw = graphs.SeededDraw(0)
    builder = graphs.Builder(draw, "chain", ("float64",))
    builder.leaf((3, 4))
    assert builder.grow(0, only="tanh")
    with pytest.raises(AssertionError, match="gradient of leaf v0"):
        graphs.compare(builder.program)
