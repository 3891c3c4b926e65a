"""``lemmata bench``: the command runs the repository's benchmark suites (timings themselves are
not tested, only that the command works, with and without PyTorch)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, hide_torch: bool = False) -> subprocess.CompletedProcess:
    prelude = "import sys; " + ("sys.modules['torch'] = None; " if hide_torch else "")
    code = prelude + "from lemmata.cli import main; raise SystemExit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, "bench", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


def test_unknown_suite_lists_the_suites_and_exits_2():
    done = run("--suite", "nope")
    assert done.returncode == 2
    for name in ("nin", "net", "lenet5", "conv", "memory"):
        assert name in done.stderr


def test_without_torch_a_lemmata_only_table(tmp_path):
    done = run("--suite", "conv", "lenet5", "--rounds", "1", "--batch", "4", "--quick",
               "--output", str(tmp_path), hide_torch=True)
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["torch_available"] is False
    assert set(results["suites"]) == {"conv", "lenet5"}
    assert results["suites"]["lenet5"]["img_per_s"]["lemmata"] > 0
    table = (tmp_path / "results.md").read_text()
    assert "PyTorch is not installed" in table and "LeNet-5" in table
