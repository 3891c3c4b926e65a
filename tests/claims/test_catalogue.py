"""The claims catalogue: every claim holds at the document's setting, and a perturbed setting
makes it fail — so the evidence is computed, not asserted."""
import json
import subprocess
import sys

import pytest

from lemmata import claims

# claim id -> keyword arguments that break the document's premise; the claim must then NOT hold
PERTURBATIONS = {
    "ryu22.q1a": {"beta1": 0.5},
    "ryu22.q1b": {"beta2": 0.5},
    "ryu22.q2": {"activation": "tanh"},
    "ryu22.q3": {"centre": (0, 0)},
    "ryu22.q4": {"swap_labels": True},
    "ryu22.q5a": {"init_scale": 0.1},
    "ryu22.q5b": {"activation": "sigmoid"},
    "ryu22.q6a": {"input_law": "shifted-exponential"},
    "ryu22.q6b": {"weight_mean": 0.05},
    "ryu22.q6c": {"input_law": "shifted-exponential"},
    "ryu22.q6d": {"shared_rows": True},
    "ryu22.q6e": {"weight_mean": 0.05},
    "ryu22.q7": {"shift": 0},
    "ttic.p1": {"beta1": 0.8},
    "ttic.p2": {"noise_mean": 0.3},
    "ttic.p3": {"offset": 1},
    "ttic.p4a": {"normalise": False},
    "ttic.p4b": {"use_norm_ratio": False},
    "ttic.p4c": {"threshold_power": 2.0},
    "ttic.p5": {"step_scale": 0.5},
    "ryu24.q1a": {"m0": 1.0},
    "ryu24.q1b": {"correlation": 0.5},
    "ryu24.q1c": {"beta": 0.999},
    "ryu24.q2": {"label_sign": -1.0},
    "ryu24.q3a": {"flip_label": True},
    "ryu24.q3b": {"flip_label": True},
    "ryu24.q4": {"temperature": 2.0},
    "ryu24.q5": {"input_mean": 1.0},
    "ryu24.q6": {"alphas": (-1.0,)},
    "ryu24.q7": {"momentum": 0.0},
    "hw6.p1": {"p": 0.0},
    "hw6.p2": {"init_bound_scale": 1.5},
    "hw6.p3": {"residual": False},
    "hw6.p4": {"shuffle_groups": True},
    "hw6.p5": {"fixed_lambda": 10.0},
    "bouman.q2_1": {"layers": 2},
    "bouman.q2_2": {"layers": 2},
    "bouman.q2_3": {"lr_scale": 1.2},
    "bouman.q2_4": {"layers": 1},
    "bouman.q2_5": {"layers": 1},
    "bouman.q2_6": {"layers": 1},
    "bouman.q3_1": {"exponent_shift": 0.5},
    "bouman.q3_2": {"drop_prior": True},
    "bouman.q3_3": {"correlate": True},
    "bouman.q3_4": {"drop_sample": True},
    "bouman.q3_5": {"label_smoothing": 0.2},
    "bouman.q3_6": {"small": 4000},
    "bouman.q4": {"hidden_channels": 4},
    "bouman.q5_1": {"true_convolution": False},
    "bouman.q5_2": {"true_convolution": False},
    "bouman.q5_3": {"reverse_kernel": False},
    "bouman.q5_4": {"true_convolution": False},
    "bouman.q5_5": {"residual_factor": -1.0},
    "bouman.q5_6": {"extra_factor": -2.0},
}

REGISTERED = [c.id for c in claims.registered()]


@pytest.mark.parametrize("claim_id", REGISTERED)
def test_claim_holds(claim_id):
    result = claims.run(claims.get(claim_id))
    assert result.error is None, result.error
    assert result.holds, result.evidence.measured
    assert result.evidence.explanation


@pytest.mark.parametrize("claim_id", REGISTERED)
def test_perturbed_claim_fails(claim_id):
    assert claim_id in PERTURBATIONS, f"{claim_id} has no perturbation that must fail"
    evidence = claims.get(claim_id).function(**PERTURBATIONS[claim_id])
    assert not evidence.holds, f"{claim_id} still holds under {PERTURBATIONS[claim_id]}"


def test_ids_registered_once_and_known():
    assert len(REGISTERED) == len(set(REGISTERED))
    assert set(REGISTERED) <= set(claims.CLAIM_IDS)


def test_unknown_id_suggests_near_matches():
    with pytest.raises(KeyError, match="did you mean ryu22.q7"):
        claims.get("ryu22.q8")


def test_registering_unknown_or_duplicate_id_fails():
    with pytest.raises(ValueError, match="unknown id"):
        claims.claim("ryu22.q99", "no such problem")
    with pytest.raises(ValueError, match="registered twice"):
        claims.claim(REGISTERED[0], "again")


def test_cli_json_lists_each_registered_claim_once():
    out = subprocess.run([sys.executable, "-m", "lemmata", "claims", "--json", "--only",
                          *REGISTERED[:3]], capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    assert [c["id"] for c in report["claims"]] == REGISTERED[:3]
    assert report["total"] == 54 and report["registered"] == len(REGISTERED)
    assert all(c["holds"] for c in report["claims"])


def test_cli_explain_unknown_id_exits_2_with_one_line():
    out = subprocess.run([sys.executable, "-m", "lemmata", "claims", "--explain", "ttic.p9"],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "ttic.p9" in out.stderr
