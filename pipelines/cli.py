"""The ``povertylink`` command line (contract: DESIGN.md "Command line").

Thin: each command parses its arguments, calls one stage function and turns its outcome
into an exit status. Errors a user can fix end with one line on stderr, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import shutil
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


def starting(text: str) -> None:
    """One line on stderr now, in the progress lines' form (before Prefect or any stage is imported)."""
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(f"{now} povertylink {one_line(text)}", file=sys.stderr, flush=True)


def terminal_width() -> int:
    """The terminal's columns for the summary: COLUMNS or the terminal's size (80 when unknown), 80 to 200."""
    return max(80, min(shutil.get_terminal_size((80, 24)).columns, 200))


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
    from pipelines.progress import make_reporter

    reporter = make_reporter()
    reporter.stage("sample", districts)
    try:
        summary = generate(out, districts=districts, households=households, seed=seed, raw=raw, noise=noise,
                           progress=lambda lad: reporter.advance("sample", f"{lad} {households:,} dwellings"))
        reporter.done("sample", f"written to {out}")
    finally:
        reporter.close()
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
    if not quiet:  # at once: starting Prefect below takes seconds
        starting(f"run: starting (as of {as_of or 'today'}, {printable(str(input))} -> {printable(str(output))}); "
                 "the orchestrator takes a few seconds to start")
    import logging

    from pipelines.lifeline import hold

    hold()  # the GX worker and Prefect's temporary server die with this process, however it ends

    if not verbose:
        os.environ["PREFECT_LOGGING_LEVEL"] = "CRITICAL"
        logging.getLogger("prefect").setLevel(logging.CRITICAL)
        for name in ("EventsWorker", "APILogWorker"):
            logging.getLogger(name).setLevel(logging.ERROR)
    from pipelines.prefect_server import start_early

    start_early()  # Prefect's temporary server starts now, beside the checks and validation below
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
    from flows import run_pipeline, stop_prefect
    from pipelines.progress import make_reporter

    try:
        try:
            outcome = run_pipeline(request, make_reporter(quiet=quiet, verbose=verbose))
        finally:
            stop_prefect()  # its shutdown noise before the summary and any error line, not after them
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
    typer.echo(printable(outcome.summary(terminal_width())))  # --quiet drops the progress, never the summary
    if outcome.exit_code:
        first = outcome.errors[0] if outcome.errors else "see the summary above"
        typer.echo(f"povertylink: error: {one_line(first)}", err=True)
    raise typer.Exit(outcome.exit_code)


@app.command()
def target(
    output: Annotated[Path, typer.Option("--output", help="the output folder: its current run is targeted")],
    budget: Annotated[str, typer.Option("--budget", help="the budget, pounds (e.g. 50000)")],
    award: Annotated[str, typer.Option("--award", help="the award per household, pounds (e.g. 150)")],
    district: Annotated[Optional[list[str]], typer.Option(
        "--district", help="only this district (repeatable); default every district of the run")] = None,
    name: Annotated[Optional[str], typer.Option(
        "--name", help="the targeting's name: OUTPUT/targeting/NAME/ (default <as-of>-budget-B-award-A)")] = None,
    statuses: Annotated[str, typer.Option(
        "--statuses", help="comma-separated statuses to consider")] = "in_crisis,at_risk",
    award_by_type: Annotated[Optional[Path], typer.Option(
        "--award-by-type", help="CSV of household_type,award overriding --award (one district only)")] = None,
    previous: Annotated[Optional[list[Path]], typer.Option(
        "--previous", help="CSV or Parquet with household_id of earlier awards, left out (repeatable)")] = None,
    run_folder: Annotated[Optional[Path], typer.Option(
        "--run", help="target this run folder instead of OUTPUT/current")] = None,
) -> None:
    """Rank households for a crisis fund and select them within a budget (never changes current/ or runs/)."""
    from pipelines.action.targeting import TargetRequest, format_summary, money_arg, run_targeting

    try:
        request = TargetRequest(
            output=output, budget=money_arg(budget, "--budget"), award=money_arg(award, "--award"),
            districts=tuple(district or ()), name=name,
            statuses=tuple(s.strip() for s in statuses.split(",") if s.strip()),
            award_by_type=award_by_type, previous=tuple(previous or ()), run=run_folder)
        summary = run_targeting(request)
    except UserError as err:
        fail(str(err))
        return
    typer.echo(printable(format_summary(summary)))


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


campaign_app = typer.Typer(no_args_is_help=True, help="Campaigns that keep their cohort: start, list, stop.")
app.add_typer(campaign_app, name="campaign")
OutputOption = Annotated[Path, typer.Option("--output", help="the output folder (current/ and runs/ are kept here)")]


@campaign_app.command("start")
def campaign_start(
    name: Annotated[str, typer.Argument(help="the campaign's name: letters, digits, '-' and '_'")],
    check: Annotated[str, typer.Option("--check", help="pension_credit or a take-up check (ctr, fsm, ...)")],
    output: OutputOption,
    district: Annotated[Optional[list[str]], typer.Option(
        "--district", help="only this district's flagged households (repeatable; default every district)")] = None,
) -> None:
    """Freeze the current run's households flagged by CHECK as the campaign's cohort; every later run reports it."""
    from pipelines.action.campaigns import start_campaign
    from pipelines.run import output_lock

    if not output.is_dir():
        fail(f"--output {output}: no such folder")
    try:
        with output_lock(output):
            campaign = start_campaign(output, name, check, tuple(district or ()))
    except UserError as err:
        fail(str(err))
        return
    typer.echo(f"campaign {campaign.name} started: {campaign.cohort:,} households flagged by {campaign.check} "
               f"in run {campaign.started_run_id} ({', '.join(campaign.districts)}); every later run reports it "
               "in campaigns.parquet and districts/<LAD>/campaigns.parquet")


@campaign_app.command("list")
def campaign_list(output: OutputOption) -> None:
    """List the campaigns of the output folder, live and stopped."""
    from pipelines.action.campaigns import format_campaigns, list_campaigns

    try:
        campaigns = list_campaigns(output)
    except UserError as err:
        fail(str(err))
        return
    typer.echo(format_campaigns(campaigns))


@campaign_app.command("stop")
def campaign_stop(
    name: Annotated[str, typer.Argument(help="the campaign to stop")],
    output: OutputOption,
) -> None:
    """Stop following a campaign: later runs no longer report it (its cohort is kept)."""
    from pipelines.action.campaigns import stop_campaign
    from pipelines.run import output_lock

    if not output.is_dir():
        fail(f"--output {output}: no such folder")
    try:
        with output_lock(output):
            campaign = stop_campaign(output, name)
    except UserError as err:
        fail(str(err))
        return
    typer.echo(f"campaign {campaign.name} stopped; later runs no longer report it")


@app.command()
def scenario(
    file: Annotated[Path, typer.Argument(help="TOML: name, optional district and base_year, [parameters] overrides")],
    output: OutputOption,
) -> None:
    """Score the current run's households again under changed parameters into OUTPUT/scenarios/<name>/
    (current/ and runs/ are left as they are)."""
    from pipelines.action.scenario import load_scenario, run_scenario
    from pipelines.run import output_lock

    if not output.is_dir():
        fail(f"--output {output}: no such folder")
    try:
        plan = load_scenario(file)
        with output_lock(output):
            result = run_scenario(output, plan)
    except UserError as err:
        fail(str(err))
        return
    typer.echo(printable(result.summary()))


review_app = typer.Typer(
    no_args_is_help=True, help="Clerical review of borderline links: export the queue, import analysts' decisions.")
app.add_typer(review_app, name="review")


@review_app.command("export")
def review_export(
    output: Annotated[Path, typer.Option("--output", help="the output folder of the runs (its current run's queue)")],
    file: Annotated[Path, typer.Option("--file", help="the CSV to write")],
    district: Annotated[Optional[str], typer.Option("--district", help="only this district's pairs (ONS code)")
                        ] = None,
    include_decided: Annotated[bool, typer.Option(
        "--include-decided", help="also the pairs already decided (their decision filled in)")] = False,
) -> None:
    """Write the review queue as a CSV with an empty decision column (match / non-match) to fill in."""
    from pipelines.review import export_queue

    try:
        written = export_queue(output, file, district, include_decided)
    except (UserError, OSError) as err:
        fail(str(err))
        return
    typer.echo(f"{written:,} pairs written to {printable(file)}: write match or non-match in the decision column "
               "of the pairs you have checked, then 'povertylink review import'")


@review_app.command("import")
def review_import(
    file: Annotated[Path, typer.Argument(help="the CSV of decisions (as exported, decision column filled in)")],
    output: Annotated[Path, typer.Option("--output", help="the output folder of the runs")],
    reviewer: Annotated[Optional[str], typer.Option(
        "--reviewer", help="who decided, for rows whose reviewer column is empty")] = None,
) -> None:
    """Check a decisions CSV and keep its decisions for the next run (exit 2, nothing kept, on any problem)."""
    from pipelines.review import ReviewFileError, import_decisions

    try:
        result = import_decisions(output, file, reviewer)
    except ReviewFileError as err:
        for problem in err.problems:
            typer.echo(f"povertylink: error: {one_line(problem)}", err=True)
        fail("no decision was kept: correct the file and import it again")
        return
    except (UserError, OSError) as err:
        fail(str(err))
        return
    typer.echo(result.summary())


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("povertylink: interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
