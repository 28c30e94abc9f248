"""Fault injection for the kill tests: a run can be told to pause before a stage.

Off unless the environment variable POVERTYLINK_PAUSE_BEFORE names a stage; no personal data.
"""

from __future__ import annotations

import os
import sys
import time

FAILPOINT_ENV = "POVERTYLINK_PAUSE_BEFORE"
RESUME_ENV = "POVERTYLINK_RESUME_FILE"  # the pause ends when this file exists (e.g. once a test has filled a disk)


def failpoint(stage: str) -> None:
    """Fault-injection hook for the kill tests: with POVERTYLINK_PAUSE_BEFORE=<stage>, announce the
    stage on stderr and pause (up to 10 minutes, or until the file POVERTYLINK_RESUME_FILE exists) so
    that a test can kill the run inside it, or change the world under it."""
    if os.environ.get(FAILPOINT_ENV) == stage:
        print(f"povertylink failpoint: paused before {stage}", file=sys.stderr, flush=True)
        resume = os.environ.get(RESUME_ENV)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and not (resume and os.path.exists(resume)):
            time.sleep(0.1)
