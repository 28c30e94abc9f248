"""Fault injection for the tests: a run can be told to pause before a stage, or to fail reading a file.

Off unless the environment variable POVERTYLINK_PAUSE_BEFORE names a stage, or
POVERTYLINK_FAIL_READING names a landing file as ``<LAD>/<file name>``; no personal data.
"""

from __future__ import annotations

import errno
import os
import sys
import time
from pathlib import Path

FAILPOINT_ENV = "POVERTYLINK_PAUSE_BEFORE"
RESUME_ENV = "POVERTYLINK_RESUME_FILE"  # the pause ends when this file exists (e.g. once a test has filled a disk)
FAIL_READING_ENV = "POVERTYLINK_FAIL_READING"


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


def fail_reading(path: Path) -> None:
    """Fault-injection hook: with POVERTYLINK_FAIL_READING=<LAD>/<file name>, reading that landing file
    fails as a failing disk would (EIO). (A landing link to /proc/self/mem did this before links
    leading outside the landing folder were refused.)"""
    if os.environ.get(FAIL_READING_ENV) == f"{path.parent.name}/{path.name}":
        raise OSError(errno.EIO, os.strerror(errno.EIO), str(path))
