"""``lemmata bench``: the command runs the repository's benchmark suites (timings themselves are
not tested, only that the command works and writes well-formed results, with and without
PyTorch)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NEW_SUITES = ("gemm", "conv", "pool", "overhead")


def run(*args: str, hide_torch: bool = False) -> subprocess.CompletedProcess:
    prelude = "import sys; " + ("sys.modules['torch'] = None; " if hide_torch else "")
    code = prelude + "from lemmata.cli import main; raise SystemExit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, "bench", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)


def results_of(folder: Path) -> dict:
    return json.loads((folder / "results.json").read_text())


def test_unknown_suite_lists_the_groups_and_suites_and_exits_2():
    from benchmarks.runner import GROUPS, SUITES
    done = run("--suite", "nin", "nope")
    assert done.returncode == 2
    assert "'nope'" in done.stderr
    for name in (*GROUPS, *SUITES):
        assert re.search(rf"^\s+{name}\s+\S", done.stderr, re.M), name
    assert SUITES["overhead"] in done.stderr


@pytest.mark.parametrize("flag, value, least", [("--threads", "0", 1), ("--threads", "-3", 1),
                                               ("--rounds", "0", 1), ("--batch", "1", 2),
                                               ("--batch", "-1", 2)])
def test_a_count_too_small_exits_2_with_one_line_naming_it(flag, value, least, tmp_path):
    done = run("--suite", "lenet5", flag, value, "--output", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.strip() == f"{flag} must be ≥ {least}, got {value}"
    assert not (tmp_path / "results.json").exists()


def test_help_names_every_group_and_suite_as_the_runner_describes_them():
    from benchmarks.runner import GROUP_DESCRIPTIONS, SUITES
    done = run("--help")
    assert done.returncode == 0
    for flag in ("--suite", "--threads", "--json", "--rounds", "--batch", "--quick", "--output"):
        assert flag in done.stdout
    for name, text in {**GROUP_DESCRIPTIONS, **SUITES}.items():
        assert re.search(rf"^\s+{name}\s+{re.escape(text)}$", done.stdout, re.M), name


def test_groups_resolve_to_suites_in_canonical_order():
    from benchmarks.runner import SUITES, select
    assert select(None).suites == list(SUITES)
    assert select(["full"]).suites == list(SUITES) and not select(["full"]).quick_variants
    quick = select(["quick"])
    assert quick.suites == ["nin", "net", "lenet5", "conv", "overhead", "memory"]
    assert quick.quick_variants == {"conv"} and quick.quick_group
    both = select(["conv", "quick", "pool"])    # named on its own, conv runs in full
    assert "pool" in both.suites and not both.quick_variants
    assert select(["memory", "nin"]).suites == ["nin", "memory"]
    with pytest.raises(KeyError):
        select(["quick", "nope"])


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """pool and overhead with torch (when installed), one thread, a JSON copy: one subprocess
    shared by the tests below."""
    folder = tmp_path_factory.mktemp("bench")
    copy = folder / "deeper" / "folder" / "copy.json"
    done = run("--suite", "pool", "overhead", "--batch", "4", "--rounds", "1", "--threads", "1",
               "--output", str(folder / "out"), "--json", str(copy))
    assert done.returncode == 0, done.stderr
    return folder / "out", copy


def test_json_copy_is_written_and_threads_recorded(small_run):
    out, copy = small_run
    assert copy.read_text() == (out / "results.json").read_text()
    results = results_of(out)
    assert results["threads"] == 1 and results["rounds"] == 1
    assert set(results["suites"]) == {"pool", "overhead"}
    assert all(r["threads"] == 1 for r in results["suites"].values())
    if results["torch_available"]:
        assert results["machine"]["torch_threads"] == 1
    assert "--threads 1" in (out / "results.md").read_text()


def test_pool_suite_results(small_run):
    results = results_of(small_run[0])
    pool = results["suites"]["pool"]
    assert len(pool["cases"]) == 6
    assert {c["pass"] for c in pool["cases"]} == {"forward", "forward+backward"}
    for case in pool["cases"]:
        assert case["img_per_s"]["lemmata"] > 0 and case["gb_per_s"]["lemmata"] > 0
        assert case["batch"] == 4 and case["input"][0] == 4
        if results["torch_available"]:
            assert set(case["img_per_s"]) == {"lemmata", "torch", "torch channels_last"}
            assert set(case["ratio"]) == {"vs_torch", "vs_torch_channels_last"}
    table = (small_run[0] / "results.md").read_text()
    assert "| max_pool2d 3×3 stride 2 ceil_mode (NiN's) | 96×32×32 | forward |" in table


def test_overhead_suite_numbers_add_up(small_run):
    overhead = results_of(small_run[0])["suites"]["overhead"]
    assert set(overhead["models"]) == {"nin", "net", "lenet5"}
    for r in overhead["models"].values():
        parts = r["kernel_ms"] + r["optimizer_ms"] + r["overhead_ms"]
        assert parts == pytest.approx(r["step_ms"], rel=1e-9)
        assert r["kernel_ms"] > 0 and r["optimizer_ms"] > 0 and r["overhead_ms"] >= 0
        assert sum(r["overhead_parts_ms"].values()) == pytest.approx(r["overhead_ms"], rel=1e-9)
        assert all(v >= 0 for v in r["overhead_parts_ms"].values())
        assert 0 <= r["bookkeeping_percent"] <= r["overhead_percent"]
        for share in ("overhead_percent", "kernel_percent", "optimizer_percent"):
            assert 0 <= r[share] <= 100
        assert r["ops_per_step"] > 10 and 1 <= len(r["top_ops"]) <= 6
        assert sum(r["kernel_ms_by_op"].values()) == pytest.approx(r["kernel_ms"], rel=1e-9)
        for op in r["top_ops"]:
            assert 0 <= op["percent_of_kernel"] <= 100 and 0 <= op["percent_of_step"] <= 100
        assert [o["ms"] for o in r["top_ops"]] == sorted((o["ms"] for o in r["top_ops"]),
                                                          reverse=True)
    assert "NiN engine overhead" in (small_run[0] / "results.md").read_text()


def test_kernel_clock_counts_outermost_forwards_and_restores_them():
    import lemmata
    from lemmata.autograd import Function
    from benchmarks.overhead import KernelClock, _subclasses

    class Twice(Function):     # a forward that applies another op: must count once, as Twice
        @staticmethod
        def forward(ctx, x):
            return (lemmata.tensor(x) * 2)._data

        @staticmethod
        def backward(ctx, g):
            return g * 2

    import lemmata.nn.functional as functional_module

    def methods() -> dict:
        return {(cls, name): vars(cls).get(name) for cls in _subclasses(Function)
                for name in ("forward", "backward")}

    before, helper = methods(), functional_module._draw_in_memory_order
    x = lemmata.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    with KernelClock() as clock:
        assert getattr(Twice.forward, "__wrapped__", None) is not None
        assert functional_module._draw_in_memory_order is not helper
        Twice.apply(x).sum().backward()
    assert methods() == before and functional_module._draw_in_memory_order is helper
    assert clock.rule_seconds > 0 and not clock.helper_seconds
    counted = {cls.__name__: n for cls, n in clock.calls.items()}
    assert counted.pop("Twice") == 1
    assert counted.pop("Mul") == 1      # backward's g * 2; the one inside Twice's forward is not
    assert counted.pop("Sum") == 1
    np.testing.assert_allclose(x.grad.numpy(), 2)


def test_gemm_and_conv_suites_in_process():
    """The suites' result documents on tiny problems (the CLI runs 4096³, too slow here)."""
    from benchmarks import conv, gemm, runner

    have_torch = runner.torch_available()
    peak = lambda: 100.0        # noqa: E731 - the GEMM peak, not measured here
    g = gemm.run_gemm(2, 1, have_torch, peak, shapes=(("small", lambda b: (64 * b, 32, 16)),))
    (product,) = g["products"]
    assert (product["m"], product["k"], product["n"]) == (128, 32, 16)
    assert product["gflop"] == pytest.approx(2 * 128 * 32 * 16 / 1e9)
    assert product["percent_of_gemm_peak"]["numpy"] == pytest.approx(
        product["gflops"]["numpy"])
    assert ("torch" in product["gflops"]) == have_torch
    assert "| small | (128×32)@(32×16) |" in "\n".join(gemm.table(g))

    cases = ((conv.SHAPES[1], "forward+backward"), (conv.SHAPES[4], "forward"))
    c = conv.run_conv(2, 1, have_torch, peak, cases)
    assert [case["shape"] for case in c["cases"]] == [s.label for s, _ in cases]
    first = c["cases"][0]
    assert first["flops"] == "4·MACs (no input gradient)"
    assert first["gflop"] == pytest.approx(4 * 2 * 32 * 32 * 192 * 3 * 25 / 1e9)
    assert c["cases"][1]["gflop"] == pytest.approx(2 * 2 * 32 * 32 * 64 * 8 * 9 / 1e9)
    assert c["gflops"] == first["gflops"] and c["gemm_peak_gflops"] == 100.0
    if have_torch:
        assert set(first["ratio"]) == {"vs_torch", "vs_torch_channels_last"}
    assert "| 3×3 64→64 groups 8 | forward | 2·MACs |" in "\n".join(conv.table(c))


def test_without_torch_a_lemmata_only_table(tmp_path):
    done = run("--suite", "conv", "lenet5", "--rounds", "1", "--batch", "4", "--quick",
               "--output", str(tmp_path), hide_torch=True)
    assert done.returncode == 0, done.stderr
    results = results_of(tmp_path)
    assert results["torch_available"] is False
    assert set(results["suites"]) == {"conv", "lenet5"}
    assert results["suites"]["lenet5"]["img_per_s"]["lemmata"] > 0
    from benchmarks.timing import minor_page_faults
    if minor_page_faults() is not None:
        assert set(results["suites"]["lenet5"]["page_faults_per_step"]) == {"lemmata"}
    cases = results["suites"]["conv"]["cases"]
    assert len(cases) == 10 and all(set(c["gflops"]) == {"lemmata"} for c in cases)
    table = (tmp_path / "results.md").read_text()
    assert "PyTorch is not installed" in table and "LeNet-5" in table


def test_without_torch_the_new_suites_time_lemmata_alone(tmp_path):
    done = run("--suite", "pool", "overhead", "--rounds", "1", "--batch", "4",
               "--output", str(tmp_path), hide_torch=True)
    assert done.returncode == 0, done.stderr
    results = results_of(tmp_path)
    assert results["torch_available"] is False and "torch" not in results["machine"]
    for case in results["suites"]["pool"]["cases"]:
        assert set(case["img_per_s"]) == {"lemmata"} and "ratio" not in case
    assert results["suites"]["overhead"]["models"]["nin"]["step_ms"] > 0
    table = (tmp_path / "results.md").read_text()
    assert "PyTorch is not installed" in table and "Pooling at 32×32" in table


@pytest.mark.slow
def test_without_torch_gemm_is_numpy_alone(tmp_path):
    done = run("--suite", "gemm", "--rounds", "1", "--batch", "2", "--output", str(tmp_path),
               hide_torch=True)
    assert done.returncode == 0, done.stderr
    gemm = results_of(tmp_path)["suites"]["gemm"]
    assert all(set(p["gflops"]) == {"numpy"} for p in gemm["products"])
    assert "float32 GEMM" in (tmp_path / "results.md").read_text()


@pytest.mark.slow
def test_quick_group(tmp_path):
    done = run("--suite", "quick", "--batch", "4", "--rounds", "1", "--output", str(tmp_path))
    assert done.returncode == 0, done.stderr
    results = results_of(tmp_path)
    assert list(results["suites"]) == ["nin", "net", "lenet5", "conv", "overhead", "memory"]
    assert results["quick"] is True and results["rounds"] == 1
    conv = results["suites"]["conv"]
    assert len(conv["cases"]) == 1 and conv["variant"]
    assert conv["title"] == "conv2d 3×3 64→64, 32×32, forward"
    for key in ("gflop", "gemm_peak_gflops", "gflops", "percent_of_gemm_peak", "img_per_s",
                "samples_s"):
        assert key in conv
    assert results["suites"]["nin"]["gemm_peak_gflops"] == results["gemm_peak_gflops"]
    assert "lemmata" in results["suites"]["memory"]["contenders"]
    table = (tmp_path / "results.md").read_text()
    assert "| contender | GFLOP/s | % of GEMM peak |" in table
    assert "| workload | batch | lemmata img/s |" in table and "overhead %" in table


@pytest.mark.slow
def test_full_group(tmp_path):
    done = run("--suite", "full", "--batch", "4", "--rounds", "1", "--output", str(tmp_path))
    assert done.returncode == 0, done.stderr
    results = results_of(tmp_path)
    from benchmarks.runner import SUITES
    assert list(results["suites"]) == list(SUITES)
    assert len(results["suites"]["conv"]["cases"]) == 10
    assert len(results["suites"]["gemm"]["products"]) == 3


def test_round_ratio_quartiles_pair_the_rounds():
    from benchmarks.timing import round_ratio_quartiles
    seconds = {"lemmata": [1.0, 2.0, 1.0, 4.0, 1.0], "torch": [2.0, 2.0, 3.0, 2.0, 1.5]}
    # per-round ratios 2, 1, 3, 0.5, 1.5 → sorted 0.5, 1, 1.5, 2, 3
    assert round_ratio_quartiles(seconds, "lemmata", "torch") == (1.0, 2.0)
    assert round_ratio_quartiles({"a": [2.0], "b": [3.0]}, "a", "b") == (1.5, 1.5)


def test_alternate_counts_each_contenders_page_faults_per_call(monkeypatch):
    """A contender that maps fresh memory and writes every page faults once a page; one that
    does nothing, hardly at all."""
    import mmap

    from benchmarks import timing
    pytest.importorskip("resource")
    monkeypatch.setattr(timing, "PAUSE_SECONDS", 0.0)
    pages = 1024

    def fresh_pages() -> None:
        with mmap.mmap(-1, pages * mmap.PAGESIZE) as memory:
            memory.write(b"x" * (pages * mmap.PAGESIZE))

    faults: dict[str, float] = {}
    seconds = timing.alternate({"fresh": fresh_pages, "idle": lambda: None}, rounds=2, repeat=3,
                               faults=faults)
    assert {name: len(s) for name, s in seconds.items()} == {"fresh": 2, "idle": 2}
    assert pages <= faults["fresh"] < 2 * pages
    assert faults["idle"] < pages / 10
