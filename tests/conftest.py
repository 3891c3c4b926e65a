"""Test configuration: hypothesis profiles.

The default profile keeps the suite fast (bounded examples, no deadline on a shared 2-core
machine); ``--hypothesis-profile=thorough`` runs many more examples.
"""
import os
import sys

from hypothesis import HealthCheck, settings

sys.path.insert(0, os.path.dirname(__file__))  # tests import the shared `checks` helpers

settings.register_profile("default", max_examples=15, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=500, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
