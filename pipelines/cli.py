"""The ``povertylink`` command line (contract: DESIGN.md "Command line").

Thin: each command parses its arguments, calls one stage function and turns its outcome
into an exit status. Errors a user can fix end with one line on stderr, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated, Optional

import typer

from schemas.errors import UserError
from schemas.text import one_line, printable

for _name, _value in {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "false",
    # Prefect's temporary API (no server) must start within this; its default of 20 s is too short
    # on a busy machine, where a run would otherwise die before it starts (validation now runs beside
    # the start-up: on 2 cores at a load of 12 the server alone took 164 s to answer).
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300",
}.items():
    os.environ.setdefault(_name, _value)

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Find households in poverty, and households missing out on support, across a partnership of councils.",
    pretty_exceptions_enable=False,
)


def fail(message: str, code: int = 2) -> None:
    """Print a one-line reason on stderr (control characters from file names or headers neutralised) and exit."""
    typer.echo(f"povertylink: error: {one_line(message)}", err=True)
    raise typer.Exit(code)


def _release_frames(err: BaseException | None) -> None:
    """Drop an error's tracebacks (and those of the errors it chains to), with their frames' locals.

    A failed stage's frames hold its DuckDB objects (as locals and through closures); released
    here, they are freed now rather than reported as leaks when the interpreter exits after our
    one-line error. Prefect keeps the error itself in the flow run's state, so the traceback
    objects are detached as well as cleared.
    """
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        traceback.clear_frames(err.__traceback__)
        err.__traceback__ = None
        err = err.__cause__ or err.__context__
    gc.collect()


def _parse_date(value: Optional[str], option: str) -> Optional[dt.date]:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date YYYY-MM-DD")
    return None


KindOption = Annotated[str, typer.Option("--kind", help="benefits, council_tax or universal_credit")]


@app.command()
def sample(
    out: Annotated[Path, typer.Option("--out", help="folder to write the synthetic landing folder to")],
    districts: Annotated[int, typer.Option(
        help="how many districts: Kent's 12 first, then England's others (ONS codes), then synthetic ones")] = 3,
    households: Annotated[int, typer.Option(help="dwellings (council-tax accounts) per district")] = 2000,
    seed: Annotated[int, typer.Option(help="random seed: the same seed gives the same files")] = 2026,
    raw: Annotated[bool, typer.Option(
        "--raw", help="write raw names and NINOs instead of the pseudonymised form")] = False,
    noise: Annotated[str, typer.Option(
        help="clean (no noise), typical (the committed sample) or hard (more errors, and more kinds)")] = "typical",
) -> None:
    """Write a synthetic landing folder (no real person) and its ground truth in OUT/_truth/."""
    from pipelines.synthetic.generator import generate

    if not 1 <= districts <= 330:
        fail("--districts must be between 1 and 330")
    if households < 10:
        fail("--households must be at least 10")
    if noise not in ("clean", "typical", "hard"):
        fail("--noise must be clean, typical or hard")
    summary = generate(out, districts=districts, households=households, seed=seed, raw=raw, noise=noise)
    typer.echo(summary)


@app.command()
def pseudonymise(
    raw_file: Annotated[Path, typer.Argument(help="the raw extract (with names and NINOs)")],
    out_file: Annotated[Path, typer.Argument(help="where to write the pseudonymised extract")],
    key_file: Annotated[Path, typer.Option("--key-file", help="the partnership's secret key, at least 32 bytes")],
    kind: KindOption,
) -> None:
    """Replace names and NINOs by keyed encodings; run at the district before data leaves it."""
    from pipelines.pseudonymise import pseudonymise_file

    try:
        report = pseudonymise_file(key_file, kind, raw_file, out_file)
    except (OSError, ValueError) as err:
        fail(str(err))
        return
    typer.echo(printable(report.summary()))
    if report.rejected:
        raise typer.Exit(1)


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="the extract to check")],
    kind: KindOption,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="date that birth dates may not pass")] = None,
) -> None:
    """Check one extract against its schema and print every problem with line and column."""
    from pipelines.ingest.validate import validate_file

    try:
        result = validate_file(file, kind, as_of=_parse_date(as_of, "--as-of") or dt.date.today())
    except ValueError as err:
        fail(str(err))
        return
    typer.echo(printable(result.summary()))
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def run(
    input: Annotated[Path, typer.Option("--input", help="the landing folder: one folder per district")],
    output: Annotated[Path, typer.Option("--output", help="the output folder (current/ and runs/ are kept here)")],
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="run as of this date (default: today)")] = None,
    district: Annotated[Optional[list[str]], typer.Option(
        "--district", help="recompute only this district (repeatable); the others are reused from the last good run")
    ] = None,
    config: Annotated[Optional[Path], typer.Option("--config", help="TOML file overriding parameters")] = None,
    from_stage: Annotated[str, typer.Option(
        "--from-stage", help="reuse the last good run's earlier stages: ingest (default), link, score or benchmark")
    ] = "ingest",
    backfill: Annotated[bool, typer.Option(
        "--backfill", help="a back-dated run joins the history in date order (it never replaces current)")] = False,
    task_runner: Annotated[str, typer.Option("--task-runner", help="threads (default) or dask")] = "threads",
    dask_address: Annotated[Optional[str], typer.Option("--dask-address", help="tcp://HOST:PORT of a Dask scheduler")
                            ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress, only the summary and errors")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="more detail, including Prefect's log")] = False,
) -> None:
    """Ingest, validate, link, score, benchmark and publish one run."""
    import logging

    from pipelines.lifeline import hold

    hold()  # the GX worker and Prefect's temporary server die with this process, however it ends

    if not verbose:
        os.environ["PREFECT_LOGGING_LEVEL"] = "CRITICAL"
        logging.getLogger("prefect").setLevel(logging.CRITICAL)
        for name in ("EventsWorker", "APILogWorker"):
            logging.getLogger(name).setLevel(logging.ERROR)
    from pipelines.ingest import gx_worker
    from pipelines.run import RunRequest, check_request, head_start, validates_here

    if task_runner not in ("threads", "dask"):
        fail(f"--task-runner {task_runner!r}: expected threads or dask")
    request = RunRequest(
        input_dir=input,
        output_dir=output,
        as_of=_parse_date(as_of, "--as-of") or dt.date.today(),
        districts=tuple(district or ()),
        config=config,
        from_stage=from_stage,
        task_runner=task_runner,
        dask_address=dask_address,
        backfill=backfill,
    )
    early = None
    try:  # validation starts now, before Prefect is even imported (a bad request is reported by the run)
        check_request(request)
        if validates_here(request):
            gx_worker.warm_up()
        early = head_start(request)
    except UserError:
        pass
    from flows import run_pipeline
    from pipelines.progress import make_reporter

    try:
        outcome = run_pipeline(request, make_reporter(quiet=quiet, verbose=verbose))
    except UserError as err:
        fail(str(err))
        return
    except Exception as err:  # noqa: BLE001 - e.g. Prefect could not start: one line, not a traceback
        if verbose:
            raise
        _release_frames(err)
        first = str(err).splitlines()[0] if str(err) else ""
        fail(f"the run stopped: {type(err).__name__}: {first} (rerun with --verbose for details)", 4)
        return
    finally:
        if early is not None:
            early.shutdown(wait=True)
    typer.echo(printable(outcome.summary()))  # --quiet drops the progress, never the summary
    if outcome.exit_code:
        first = outcome.errors[0] if outcome.errors else "see the summary above"
        typer.echo(f"povertylink: error: {one_line(first)}", err=True)
    raise typer.Exit(outcome.exit_code)


@app.command()
def serve(
    input: Annotated[Path, typer.Option("--input", help="the landing folder the nightly run reads")] = Path("landing"),
    output: Annotated[Path, typer.Option("--output", help="the output folder the nightly run publishes to")] = Path(
        "out"),
    cron: Annotated[str, typer.Option("--cron", help="when to run (cron syntax)")] = "0 2 * * *",
    timezone: Annotated[str, typer.Option("--timezone", help="the schedule's time zone")] = "Europe/London",
    interval: Annotated[Optional[int], typer.Option("--interval", help="run every N seconds instead (testing)")] = None,
    name: Annotated[str, typer.Option("--name", help="deployment name")] = "nightly",
) -> None:
    """Register the nightly deployment with the Prefect server in PREFECT_API_URL and serve it (runs until stopped)."""
    if not os.environ.get("PREFECT_API_URL"):
        fail("PREFECT_API_URL is not set: start `prefect server start` and export "
             "PREFECT_API_URL=http://127.0.0.1:4200/api (see the README)")
    if not input.is_dir():
        fail(f"--input {input}: no such folder")
    from flows import serve_nightly
    from pipelines.lifeline import hold

    hold()
    serve_nightly(input, output, cron, timezone, interval, name)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("povertylink: interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
