"""The claims registry: a claim is a function that runs lemmata code and returns Evidence.

``@claim("hw6.p4", "title")`` registers a function under a seed claim id (see ``ids.py``).
Evidence is always computed: ``measured`` comes from running code, ``expected`` from the seed
document or from a derivation stated in ``explanation``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .ids import CLAIM_IDS, DOCUMENTS

__all__ = ["Evidence", "Claim", "claim", "registered", "get", "run", "ClaimResult"]


@dataclass
class Evidence:
    """What a claim computed.

    holds: whether the document's answer is reproduced by the computation.
    measured / expected: the numbers compared (JSON-serialisable).
    tolerance: the comparison's tolerance, where one applies.
    explanation: the document's answer and its derivation, in plain Unicode math.
    """

    holds: bool
    measured: dict[str, Any] = field(default_factory=dict)
    expected: dict[str, Any] = field(default_factory=dict)
    tolerance: float | None = None
    explanation: str = ""


@dataclass(frozen=True)
class Claim:
    id: str
    title: str
    function: Callable[[], Evidence]

    @property
    def document(self) -> str:
        """The seed document's file name and title."""
        file, title = DOCUMENTS[self.id.split(".")[0]]
        return f"{file} ({title})"

    @property
    def problem(self) -> str:
        """The problem and part, e.g. 'q6a' or 'p4c'."""
        return self.id.split(".", 1)[1]


@dataclass
class ClaimResult:
    claim: Claim
    evidence: Evidence | None
    seconds: float
    error: str | None = None

    @property
    def holds(self) -> bool:
        return self.error is None and self.evidence is not None and bool(self.evidence.holds)


_REGISTRY: dict[str, Claim] = {}


def claim(claim_id: str, title: str) -> Callable[[Callable[[], Evidence]], Callable[[], Evidence]]:
    """Register the decorated function as the evidence for ``claim_id``."""
    if claim_id not in CLAIM_IDS:
        raise ValueError(f"claim: unknown id {claim_id!r}; ids are listed in lemmata/claims/ids.py")
    if claim_id in _REGISTRY:
        raise ValueError(f"claim: id {claim_id!r} is registered twice")

    def register(function: Callable[[], Evidence]) -> Callable[[], Evidence]:
        _REGISTRY[claim_id] = Claim(claim_id, title, function)
        return function

    return register


def registered() -> list[Claim]:
    """Registered claims, in the order of the seed index."""
    return [_REGISTRY[i] for i in CLAIM_IDS if i in _REGISTRY]


def get(claim_id: str) -> Claim:
    if claim_id not in _REGISTRY:
        import difflib
        near = difflib.get_close_matches(claim_id, list(CLAIM_IDS), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise KeyError(f"unknown claim {claim_id!r}{hint}")
    return _REGISTRY[claim_id]


def run(c: Claim) -> ClaimResult:
    """Run one claim, timing it; an exception is reported as a failed result, not raised."""
    start = time.perf_counter()
    try:
        evidence = c.function()
        if not isinstance(evidence, Evidence):
            raise TypeError(f"claim {c.id} returned {type(evidence).__name__}, not Evidence")
        return ClaimResult(c, evidence, time.perf_counter() - start)
    except Exception as error:  # a broken claim must not hide the others
        return ClaimResult(c, None, time.perf_counter() - start, f"{type(error).__name__}: {error}")
