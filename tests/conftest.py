"""Shared test configuration: the tiers.

Everything under ``tests/e2e/`` (the command line end to end, Prefect flows and server, kills,
privacy scans) and anything marked ``slow`` is the slow tier; ``make test-fast`` runs the rest
(``pytest -m "not slow"``); ``make test`` runs all of it. The CLI helpers are in ``tests/cli.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

E2E = Path(__file__).resolve().parent / "e2e"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/e2e/ is in the slow tier (and marked e2e)."""
    for item in items:
        if E2E in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.slow)
