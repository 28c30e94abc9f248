"""Great Expectations suites over each validated table, derived from the same column specs.

Rows were already checked one by one (:mod:`pipelines.ingest.validate`); the suite a run uses checks
each table as a whole, for what no single row shows: references unique, the null rates of optional
identifiers, and the row count against the previous extract of the same kind (a sudden drop or jump
usually means a bad export). A failed expectation is a warning in the manifest, not a quarantine: no
row is at fault on its own.

The row-by-row expectations (required columns complete, values in their allowed sets and ranges) are
derived too (:func:`row_expectation_specs`) but are not run each night: on a validated table they
hold by construction, since a row breaking one is in quarantine, and they were about four fifths of
GX's cost (about 0.65 s of CPU a district). The tests run them through GX on validated tables, so
the validation SQL and GX must agree.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.columns import ColumnSpec, column_specs
from schemas.inputs import EXTRACT_KINDS, UNIQUE_TOGETHER, model_for

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
ROW_COUNT_TOLERANCE = 0.2  # the row count may move by 20% from the previous extract
MAX_NULL_SHARE = {"uprn": 0.5, "claimant_key": 0.5}  # beyond this, an identifier column looks broken


@dataclass
class SuiteResult:
    """Outcome of one table's suite: which expectations failed and why."""

    table: str
    success: bool
    evaluated: int
    failures: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form for the manifest."""
        return {"table": self.table, "success": self.success, "evaluated": self.evaluated, "failures": self.failures}


MIN_ROWS, MAX_ROWS = "min_rows", "max_rows"  # suite parameters: the row-count band from the previous extract


def expectation_specs(kind: str) -> list[tuple[str, dict[str, Any]]]:
    """(GX expectation class name, keyword arguments) of the suite a run checks a validated table of this kind
    with: the table-wide expectations."""
    specs: list[ColumnSpec] = column_specs(model_for(kind))
    out: list[tuple[str, dict[str, Any]]] = []
    for s in specs:
        if s.unique:
            out.append(("ExpectColumnValuesToBeUnique", {"column": s.name}))
        if s.name in MAX_NULL_SHARE:
            out.append(("ExpectColumnValuesToNotBeNull", {"column": s.name, "mostly": 1 - MAX_NULL_SHARE[s.name]}))
    if kind in UNIQUE_TOGETHER:
        out.append(("ExpectCompoundColumnsToBeUnique", {"column_list": list(UNIQUE_TOGETHER[kind])}))
    out.append(("ExpectTableRowCountToBeBetween", {"min_value": {"$PARAMETER": MIN_ROWS},
                                                   "max_value": {"$PARAMETER": MAX_ROWS}}))
    return out


def row_expectation_specs(kind: str) -> list[tuple[str, dict[str, Any]]]:
    """The row-by-row expectations of a kind (required, allowed set, range): what validation enforces on each
    row, as GX states it; run by the tests (``run_suite(..., rows=True)``), not each night."""
    out: list[tuple[str, dict[str, Any]]] = []
    for s in column_specs(model_for(kind)):
        if s.required:
            out.append(("ExpectColumnValuesToNotBeNull", {"column": s.name}))
        if s.choices:
            out.append(("ExpectColumnValuesToBeInSet", {"column": s.name, "value_set": list(s.choices)}))
        if s.kind in ("integer", "money") and (s.ge is not None or s.le is not None):
            out.append(("ExpectColumnValuesToBeBetween", {"column": s.name, "min_value": s.ge, "max_value": s.le}))
    return out


def _specs(kind: str, rows: bool) -> list[tuple[str, dict[str, Any]]]:
    return row_expectation_specs(kind) if rows else expectation_specs(kind)


def row_count_band(previous_rows: int | None) -> dict[str, int]:
    """The accepted row count: within ROW_COUNT_TOLERANCE of the previous extract (any count without one)."""
    if not previous_rows:
        return {MIN_ROWS: 0, MAX_ROWS: 2**62}
    return {MIN_ROWS: int(previous_rows * (1 - ROW_COUNT_TOLERANCE)),
            MAX_ROWS: int(previous_rows * (1 + ROW_COUNT_TOLERANCE)) + 1}


_GX_LOCK = threading.RLock()


@functools.cache
def _definition(kind: str, rows: bool = False) -> Any:
    """One ephemeral GX context, data source and validation definition per kind (and per set of expectations:
    the table-wide suite, or with ``rows`` the row-by-row one), built once per process."""
    import great_expectations as gx

    for logger in ("great_expectations", "great_expectations.data_context.types.base"):
        logging.getLogger(logger).setLevel(logging.ERROR)
    context = gx.get_context(mode="ephemeral")
    try:
        context.variables.progress_bars = {"globally": False}  # type: ignore[assignment]
    except Exception:  # noqa: BLE001 - progress bars are cosmetic
        pass
    batch = context.data_sources.add_pandas(f"{kind}_source").add_dataframe_asset(kind) \
        .add_batch_definition_whole_dataframe("all")
    expectations = [getattr(gx.expectations, cls_name)(**kwargs) for cls_name, kwargs in _specs(kind, rows)]
    suite = context.suites.add(gx.ExpectationSuite(name=f"{kind}_suite", expectations=expectations))
    return context.validation_definitions.add(gx.ValidationDefinition(name=kind, data=batch, suite=suite))


def suite_columns(kind: str, rows: bool = False) -> list[str]:
    """The columns the kind's suite reads, in model order (the rest need not be loaded)."""
    specs = _specs(kind, rows)
    checked = {str(kwargs["column"]) for _, kwargs in specs if "column" in kwargs}
    checked |= {str(c) for _, kwargs in specs for c in kwargs.get("column_list", [])}
    return [s.name for s in column_specs(model_for(kind)) if s.name in checked]


def run_suite(table: pa.Table, kind: str, name: str, previous_rows: int | None = None,
              rows: bool = False) -> SuiteResult:
    """Run the kind's suite over a validated Arrow table (its suite columns, converted to pandas for GX);
    ``rows``: the row-by-row expectations instead (the tests' check that GX and the validation SQL agree)."""
    subset = table.select(suite_columns(kind, rows))
    floats = pa.schema([pa.field(f.name, pa.float64()) if pa.types.is_decimal(f.type) else f for f in subset.schema])
    frame = subset.cast(floats).to_pandas()
    parameters = row_count_band(previous_rows)
    with _GX_LOCK:  # GX contexts are not thread-safe; districts run on several threads
        # pass or fail first (a fifth cheaper); the counts of what failed only when something did
        result = _definition(kind, rows).run(batch_parameters={"dataframe": frame},
                                             expectation_parameters=parameters, result_format="BOOLEAN_ONLY")
        if not result.success:
            result = _definition(kind, rows).run(batch_parameters={"dataframe": frame},
                                                 expectation_parameters=parameters,
                                                 result_format="BASIC")  # counts, not value lists
    failures = []
    for r in result.results:
        if not r.success:
            config = r.expectation_config
            failures.append({
                "expectation": config.type if config is not None else "unknown",
                "column": (config.kwargs.get("column") if config is not None else None),
                "observed": _observed(r.result),
            })
    return SuiteResult(table=name, success=bool(result.success), evaluated=len(result.results), failures=failures)


def _observed(result: dict[str, Any]) -> Any:
    if "observed_value" in result:
        return result["observed_value"]
    return {k: result[k] for k in ("unexpected_count", "unexpected_percent") if k in result}


def run_suite_file(path: Path, kind: str, name: str, previous_rows: int | None = None) -> SuiteResult:
    """Run the kind's suite over a validated Parquet file (only the suite's columns are read)."""
    return run_suite(pq.read_table(path, columns=suite_columns(kind)), kind, name, previous_rows)


def warm() -> None:
    """Import GX and build every extract kind's suite now (about 4 s of CPU), so that the first table does not wait."""
    for kind in EXTRACT_KINDS:
        _definition(kind)
