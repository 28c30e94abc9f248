"""The Great Expectations suites: derived from the models, run on real validated tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.ingest.expectations import expectation_specs, row_count_band, row_expectation_specs, run_suite
from pipelines.ingest.validate import validate_path
from tests.cli import AS_OF_DATE as AS_OF
from tests.rows import benefits_row, council_tax_row, header, write_csv


def test_suite_is_derived_from_the_model():
    specs = expectation_specs("council_tax")
    assert ("ExpectColumnValuesToBeUnique", {"column": "account_ref"}) in specs
    assert specs[-1][0] == "ExpectTableRowCountToBeBetween"
    rows = row_expectation_specs("council_tax")
    assert ("ExpectColumnValuesToBeInSet", {"column": "band", "value_set": list("ABCDEFGH")}) in rows
    assert ("ExpectColumnValuesToBeBetween", {"column": "arrears", "min_value": 0.0, "max_value": 1_000_000.0}) in rows
    assert not any(cls in {name for name, _ in specs} for cls, _ in rows if cls != "ExpectColumnValuesToNotBeNull")


SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample"


@pytest.mark.parametrize("kind", ["benefits", "council_tax", "universal_credit"])
def test_validated_sample_tables_meet_every_row_expectation_in_gx(kind):
    """The row-by-row expectations a run does not spend GX on: on the committed sample's validated tables
    GX finds every one met, so the validation SQL and GX agree."""
    paths = sorted(SAMPLE.glob(f"E*/{kind}_*.csv"))
    assert paths
    for path in paths:
        valid = validate_path(path, kind, AS_OF).valid
        assert valid.num_rows > 0
        result = run_suite(valid, kind, path.name, rows=True)
        assert result.success, result.failures
        assert result.evaluated == len(row_expectation_specs(kind))


def test_rows_accepted_in_normalised_forms_and_at_their_bounds_meet_the_row_expectations(tmp_path):
    """Amounts with pound signs and separators, day-first dates, padded numbers, zero and a child at 17:
    what validation accepts GX accepts too (and what it quarantines never reaches the table)."""
    rows = [benefits_row("R1", rent_weekly="£1,234.50", capital="1,200", claimant_birth_date="01/02/1950"),
            benefits_row("R2", rent_weekly=" 0 ", tenure="private_rented", children="2", child_ages="3;17"),
            benefits_row("R3", rent_weekly="-£1.00"),  # quarantined
            benefits_row("R4", adults="", children=""),  # quarantined
            benefits_row("R5", adults=" 2 ", capital="0.00", non_dependants="0")]
    validated = validate_path(write_csv(tmp_path / "b.csv", rows, header("benefits")), "benefits", AS_OF)
    assert (validated.report.rows_valid, validated.report.rows_quarantined) == (3, 2)
    result = run_suite(validated.valid, "benefits", "b", rows=True)
    assert result.success, result.failures


def test_the_row_expectations_fail_on_a_table_that_breaks_a_row_rule(tmp_path):
    """The agreement check can fail: a table whose band is outside the set and whose arrears are negative."""
    import pyarrow as pa

    rows = [council_tax_row(f"A{i}", uprn=str(100 + i)) for i in range(5)]
    valid = validate_path(write_csv(tmp_path / "ct.csv", rows, header("council_tax")), "council_tax", AS_OF).valid
    broken = valid.set_column(valid.schema.get_field_index("band"), "band", pa.array(["Z"] * 5))
    arrears = valid.schema.get_field_index("arrears")
    broken = broken.set_column(arrears, "arrears", pa.array([-5.0] * 5).cast(valid.schema.field(arrears).type))
    result = run_suite(broken, "council_tax", "ct", rows=True)
    assert not result.success
    assert {f["column"] for f in result.failures} == {"band", "arrears"}


def test_row_count_band_is_twenty_percent_of_the_previous_extract():
    assert row_count_band(1000) == {"min_rows": 800, "max_rows": 1201}
    assert row_count_band(None)["min_rows"] == 0


def test_valid_table_passes_and_a_sudden_drop_in_rows_fails(tmp_path):
    rows = [council_tax_row(f"A{i}", uprn=str(100 + i)) for i in range(20)]
    valid = validate_path(write_csv(tmp_path / "ct.csv", rows, header("council_tax")), "council_tax", AS_OF).valid
    ok = run_suite(valid, "council_tax", "ct", previous_rows=21)
    assert ok.success and ok.evaluated == len(expectation_specs("council_tax"))
    dropped = run_suite(valid, "council_tax", "ct", previous_rows=100)
    assert not dropped.success
    assert dropped.failures == [{"expectation": "expect_table_row_count_to_be_between", "column": None,
                                 "observed": 20}]


def test_identifier_null_rate_is_checked(tmp_path):
    rows = [benefits_row(f"B{i}", uprn="") for i in range(10)]
    valid = validate_path(write_csv(tmp_path / "b.csv", rows, header("benefits")), "benefits", AS_OF).valid
    result = run_suite(valid, "benefits", "b")
    assert [f["column"] for f in result.failures] == ["uprn"]


def test_suites_in_the_worker_process_give_the_same_results(tmp_path, monkeypatch):
    """The ingest hands each validated table to a GX worker process; the results are those of the
    same suite run in this process, a failure's counts included, and the worker's CPU is counted."""
    import os

    import pyarrow.parquet as pq

    from pipelines.ingest import gx_worker

    rows = [council_tax_row(f"A{i}", uprn=str(100 + i)) for i in range(20)]
    table = tmp_path / "ct.parquet"
    validate_path(write_csv(tmp_path / "ct.csv", rows, header("council_tax")), "council_tax", AS_OF,
                  valid_out=table)
    monkeypatch.delenv(gx_worker.IN_PROCESS_ENV, raising=False)
    gx_worker.shutdown()
    try:
        before = gx_worker.usage.cpu_s
        in_worker = [gx_worker.submit_table(table, "council_tax", "ct", previous) for previous in (21, 100)]
        results = [pending() for pending in in_worker]
        worker = gx_worker._pool
        assert worker is not None and all(pid != os.getpid() for pid in worker._processes)
    finally:
        gx_worker.shutdown()
    assert gx_worker.usage.cpu_s > before
    here = [run_suite(pq.read_table(table), "council_tax", "ct", previous) for previous in (21, 100)]
    assert [r.as_dict() for r in results] == [r.as_dict() for r in here]
    assert results[0].success and not results[1].success


def test_suites_run_in_the_calling_process_when_asked(tmp_path, monkeypatch):
    from pipelines.ingest import gx_worker

    rows = [benefits_row(f"B{i}") for i in range(5)]
    table = tmp_path / "b.parquet"
    validate_path(write_csv(tmp_path / "b.csv", rows, header("benefits")), "benefits", AS_OF, valid_out=table)
    monkeypatch.setenv(gx_worker.IN_PROCESS_ENV, "1")
    gx_worker.shutdown()
    result = gx_worker.submit_table(table, "benefits", "b")()
    assert gx_worker._pool is None
    assert result.evaluated == len(expectation_specs("benefits"))
