"""The catalogue: every numbered problem of the seed documents as an executable claim.

Importing this package registers the claims of each document module listed below.
"""
from .ids import CLAIM_IDS
from .registry import Claim, ClaimResult, Evidence, claim, get, registered, run

__all__ = ["CLAIM_IDS", "Claim", "ClaimResult", "Evidence", "claim", "get", "registered", "run"]

from . import bouman, hw6, ryu22, ryu24, ttic  # noqa: E402,F401  (registers the claims of each document)
