"""Fault injection for the kill tests: a run can be told to pause before a stage.

Off unless the environment variable POVERTYLINK_PAUSE_BEFORE names a stage; no personal data.
"""

from __future__ import annotations

import os
import sys
import time

FAILPOINT_ENV = "POVERTYLINK_PAUSE_BEFORE"


def failpoint(stage: str) -> None:
    """Fault-injection hook for the kill tests: with POVERTYLINK_PAUSE_BEFORE=<stage>, announce the
    stage on stderr and pause (up to 10 minutes) so that a test can kill the run inside it."""
    if os.environ.get(FAILPOINT_ENV) == stage:
        print(f"povertylink failpoint: paused before {stage}", file=sys.stderr, flush=True)
        time.sleep(600)
