"""The ``lemmata`` command: ``lemmata claims`` and ``python -m lemmata claims`` run and report
truthfully how many of the catalogue's claims are registered; usage errors exit 2 with one line."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import lemmata.claims as claims
from lemmata import cli

TOTAL = len(claims.CLAIM_IDS)


def _quick_claim() -> str:
    """A claim that runs in milliseconds (any registered one if the catalogue changed)."""
    ids = [c.id for c in claims.registered()]
    if not ids:
        pytest.skip("no claim is registered")
    return "bouman.q5_6" if "bouman.q5_6" in ids else ids[0]


def _run(*argv: str, timeout: int = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="200")  # rich: keep the summary on one line
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, env=env)


def _summary_counts(text: str) -> tuple[int, int]:
    match = re.search(r"(\d+) of (\d+) claims registered", text)
    assert match, text
    return int(match.group(1)), int(match.group(2))


def test_the_catalogue_has_54_claims():
    assert TOTAL == 54 and len(set(claims.CLAIM_IDS)) == 54


def test_python_dash_m_lemmata_claims_reports_the_registered_count():
    result = _run(sys.executable, "-m", "lemmata", "claims", "--only", _quick_claim())
    assert result.returncode == 0, result.stderr
    assert _summary_counts(result.stdout) == (len(claims.registered()), TOTAL)
    assert "1 of 1 run hold" in result.stdout


def test_the_console_script_runs():
    script = shutil.which("lemmata") or str(Path(sys.executable).with_name("lemmata"))
    if not Path(script).exists():
        pytest.skip("the lemmata console script is not installed next to this interpreter")
    result = _run(script, "claims", "--only", _quick_claim())
    assert result.returncode == 0, result.stderr
    assert _summary_counts(result.stdout) == (len(claims.registered()), TOTAL)


@pytest.mark.slow
def test_lemmata_claims_runs_the_whole_catalogue():
    result = _run(sys.executable, "-m", "lemmata", "claims", timeout=1800)
    registered = len(claims.registered())
    assert _summary_counts(result.stdout) == (registered, TOTAL)
    holding = int(re.search(r"(\d+) of \d+ run hold", result.stdout).group(1))
    assert result.returncode == (0 if holding == registered else 1)


def test_explain_of_an_unknown_claim_exits_2_with_one_line():
    result = _run(sys.executable, "-m", "lemmata", "claims", "--explain", "nosuch")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "nosuch" in lines[0] and lines[0].startswith("lemmata: error:")


def test_json_output_in_process(capsys):
    quick = _quick_claim()
    status = cli.main(["claims", "--json", "--only", quick])
    report = json.loads(capsys.readouterr().out)
    assert status == 0
    assert report["registered"] == len(claims.registered()) and report["total"] == TOTAL
    assert [c["id"] for c in report["claims"]] == [quick] and report["claims"][0]["holds"]


def test_explain_a_registered_claim_in_process(capsys):
    quick = _quick_claim()
    status = cli.main(["claims", "--explain", quick])
    out = capsys.readouterr().out
    assert status == 0 and quick in out and "holds: True" in out


def test_usage_errors_exit_2(capsys):
    for argv in ([], ["nosuchcommand"], ["claims", "--only"]):
        with pytest.raises(SystemExit) as info:
            cli.main(argv)
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("lemmata: error:") and err.count("\n") == 1


def test_only_with_an_unknown_id_exits_2(capsys):
    assert cli.main(["claims", "--only", "nosuch"]) == 2
    assert capsys.readouterr().err.startswith("lemmata: error:")
