"""Shared test configuration: the tiers.

Everything under ``tests/e2e/`` (the command line end to end, Prefect flows and server, kills,
privacy scans) and anything marked ``slow`` is the slow tier; ``make test-fast`` runs the rest
(``pytest -m "not slow"``, with ``POVERTYLINK_TEST_TIER=fast``: property tests draw a fifth of
their examples); ``make test`` runs all of it at full strength. The CLI helpers are in ``tests/cli.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

E2E = Path(__file__).resolve().parent / "e2e"
FAST_TIER = os.environ.get("POVERTYLINK_TEST_TIER") == "fast"


def examples(full: int) -> int:
    """Hypothesis examples for a property test: ``full`` in the whole suite, a fifth (at least 10) in the fast tier."""
    return max(10, full // 5) if FAST_TIER else full


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/e2e/ is in the slow tier (and marked e2e)."""
    for item in items:
        if E2E in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.slow)
