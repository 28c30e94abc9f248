"""The command line as a user runs it, and the date of the synthetic extracts, for every test."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys

AS_OF = "2026-11-20"  # the synthetic extracts' date, as the command line takes it
AS_OF_DATE = dt.date(2026, 11, 20)
CLI = [sys.executable, "-m", "pipelines.cli"]
ENV = os.environ | {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1", "GX_ANALYTICS_ENABLED": "false"}


def povertylink(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user would (no terminal: stdout and stderr are pipes)."""
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=ENV, timeout=timeout, check=False)


def error_lines(stderr: str) -> list[str]:
    """stderr without the progress lines (``<timestamp> povertylink ...``; `run` says it is starting at once)."""
    return [line for line in stderr.strip().splitlines()
            if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ povertylink ", line)]
