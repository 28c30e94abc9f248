"""Progress for people: rich bars on an interactive terminal, timestamped lines otherwise.

``Reporter`` is what the run calls; :func:`make_reporter` picks the form: ``rich`` when stderr
is a terminal, ``plain`` (one ISO-timestamped line per event, for cron, CI and Prefect workers)
otherwise, ``quiet`` for ``--quiet``. No personal data is ever reported, only counts and codes.
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:
    from rich.progress import TaskID


class Reporter(Protocol):
    """Events of a run."""

    def stage(self, name: str, total: int = 1) -> None:
        """A stage starts; ``total`` units of work (districts) are expected."""

    def advance(self, name: str, detail: str = "") -> None:
        """One unit of the stage is done."""

    def done(self, name: str, detail: str = "") -> None:
        """The stage is finished."""

    def info(self, message: str) -> None:
        """A line worth telling (shown with --verbose, or always in plain mode for warnings)."""

    def close(self) -> None:
        """Stop drawing."""


class QuietReporter:
    """Says nothing (``--quiet``): the summary and errors still print."""

    def stage(self, name: str, total: int = 1) -> None: ...
    def advance(self, name: str, detail: str = "") -> None: ...
    def done(self, name: str, detail: str = "") -> None: ...
    def info(self, message: str) -> None: ...
    def close(self) -> None: ...


class PlainReporter:
    """One timestamped line per event, to stderr."""

    def __init__(self, stream: TextIO | None = None, verbose: bool = False) -> None:
        self.stream, self.verbose = stream or sys.stderr, verbose
        self.totals: dict[str, int] = {}
        self.counts: dict[str, int] = {}

    def _line(self, text: str) -> None:
        now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        print(f"{now} povertylink {text}", file=self.stream, flush=True)

    def stage(self, name: str, total: int = 1) -> None:
        self.totals[name], self.counts[name] = total, 0
        self._line(f"{name}: started" + (f" ({total} districts)" if total > 1 else ""))

    def advance(self, name: str, detail: str = "") -> None:
        self.counts[name] = self.counts.get(name, 0) + 1
        self._line(f"{name}: {self.counts[name]}/{self.totals.get(name, 1)} {detail}".rstrip())

    def done(self, name: str, detail: str = "") -> None:
        self._line(f"{name}: done {detail}".rstrip())

    def info(self, message: str) -> None:
        if self.verbose:
            self._line(message)

    def close(self) -> None: ...


class RichReporter:
    """A progress bar per stage (and per district while ingesting) on the terminal."""

    def __init__(self, verbose: bool = False) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.verbose = verbose
        self.console = Console(stderr=True)
        self.progress = Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("{task.fields[detail]}"), console=self.console,
                                 transient=False)
        self.tasks: dict[str, TaskID] = {}
        self.progress.start()

    def stage(self, name: str, total: int = 1) -> None:
        self.tasks[name] = self.progress.add_task(name, total=total, detail="")

    def advance(self, name: str, detail: str = "") -> None:
        self.progress.update(self.tasks[name], advance=1, detail=detail)

    def done(self, name: str, detail: str = "") -> None:
        task = self.tasks[name]
        total = self.progress.tasks[task].total or 1
        self.progress.update(task, completed=total, detail=detail)

    def info(self, message: str) -> None:
        if self.verbose:
            self.console.log(message)

    def close(self) -> None:
        self.progress.stop()


def make_reporter(quiet: bool = False, verbose: bool = False, stream: TextIO | None = None) -> Reporter:
    """Quiet, rich (interactive terminal) or plain lines."""
    if quiet:
        return QuietReporter()
    out = stream or sys.stderr
    if out.isatty():
        return RichReporter(verbose)
    return PlainReporter(out, verbose)
