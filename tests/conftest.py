"""Shared fixtures: the catalog, iterated so every declaration is covered."""
import os

from hypothesis import settings

# CI: deterministic Hypothesis runs, no example database
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
