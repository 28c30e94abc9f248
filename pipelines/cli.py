"""The ``povertylink`` command line (contract: DESIGN.md "Command line").

Thin: each command parses its arguments, calls one stage function and turns its outcome
into an exit status. Errors a user can fix end with one line on stderr, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipelines.errors import UserError

for _name, _value in {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "false",
}.items():
    os.environ.setdefault(_name, _value)

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Find households in poverty, and households missing out on support, across a partnership of councils.",
    pretty_exceptions_enable=False,
)


def fail(message: str, code: int = 2) -> None:
    """Print a one-line reason on stderr and exit."""
    typer.echo(f"povertylink: error: {message}", err=True)
    raise typer.Exit(code)


def _parse_date(value: Optional[str], option: str) -> Optional[dt.date]:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date YYYY-MM-DD")
    return None


KindOption = Annotated[str, typer.Option("--kind", help="benefits or council_tax")]


@app.command()
def sample(
    out: Annotated[Path, typer.Option("--out", help="folder to write the synthetic landing folder to")],
    districts: Annotated[int, typer.Option(help="how many Kent districts (1-12)")] = 3,
    households: Annotated[int, typer.Option(help="dwellings (council-tax accounts) per district")] = 2000,
    seed: Annotated[int, typer.Option(help="random seed: the same seed gives the same files")] = 2026,
    raw: Annotated[bool, typer.Option("--raw", help="write raw names and NINOs instead of the pseudonymised form")] = False,
) -> None:
    """Write a synthetic landing folder (no real person) and its ground truth in OUT/_truth/."""
    from pipelines.synthetic import generate

    if not 1 <= districts <= 12:
        fail("--districts must be between 1 and 12")
    if households < 10:
        fail("--households must be at least 10")
    summary = generate(out, districts=districts, households=households, seed=seed, raw=raw)
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
    typer.echo(report.summary())
    if report.rejected:
        raise typer.Exit(1)


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="the extract to check")],
    kind: KindOption,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="date that birth dates may not pass")] = None,
) -> None:
    """Check one extract against its schema and print every problem with line and column."""
    from pipelines.validate import validate_file

    try:
        result = validate_file(file, kind, as_of=_parse_date(as_of, "--as-of") or dt.date.today())
    except ValueError as err:
        fail(str(err))
        return
    typer.echo(result.summary())
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def run(
    input: Annotated[Path, typer.Option("--input", help="the landing folder: one folder per district")],
    output: Annotated[Path, typer.Option("--output", help="the output folder (current/ and runs/ are kept here)")],
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="run as of this date (default: today)")] = None,
    district: Annotated[Optional[list[str]], typer.Option("--district", help="only this district (repeatable)")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", help="TOML file overriding parameters")] = None,
) -> None:
    """Ingest, validate, link, score, benchmark and publish one run."""
    from flows import RunRequest, run_pipeline

    request = RunRequest(
        input_dir=input,
        output_dir=output,
        as_of=_parse_date(as_of, "--as-of") or dt.date.today(),
        districts=tuple(district or ()),
        config=config,
    )
    try:
        outcome = run_pipeline(request)
    except UserError as err:
        fail(str(err))
        return
    typer.echo(outcome.summary())
    if outcome.exit_code:
        first = outcome.errors[0] if outcome.errors else "see the summary above"
        typer.echo(f"povertylink: error: {first}", err=True)
    raise typer.Exit(outcome.exit_code)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("povertylink: interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
