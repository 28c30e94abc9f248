"""perf/febrl.py: FEBRL records as raw district extracts that pseudonymise takes whole, corrupted values kept."""

from __future__ import annotations

import csv
from pathlib import Path

from perf.febrl import LAD, birth_date, nino, postcode, write_raw
from pipelines.pseudonymise import nino_problem, pseudonymise_file


def test_field_mappings_keep_errors_as_errors() -> None:
    assert postcode("4011") == "CT40 1AB" and postcode("4101") == "CT41 0AB"  # a swap stays a swap
    assert postcode("") == "" and postcode("40x1") == ""
    assert nino("6988048") == "JK988048A" and nino_problem(nino("6988048")) is None
    assert nino_problem(nino("698804")) is not None  # a corrupted id of another length: not a valid NINO
    assert birth_date("19081209") == "1908-12-09" and birth_date("19081309") == "" and birth_date("") == ""


def test_febrl1_arrives_whole(tmp_path: Path) -> None:
    raw = write_raw("febrl1", tmp_path / "raw")
    key = tmp_path / "key"
    key.write_bytes(b"febrl-test-key-0123456789-abcdefghijklmn")  # a strong key: weak ones are refused
    key.chmod(0o600)
    for kind in ("benefits", "council_tax"):
        path = next((raw / LAD).glob(f"{kind}_*.csv"))
        report = pseudonymise_file(key, kind, path, tmp_path / f"{kind}.csv")
        assert report.rows_read == report.rows_written == 500 and not report.rejected
        assert report.rows_with_warnings > 0  # FEBRL has missing names: kept, with warnings
    with (raw / "_truth" / "links.csv").open() as f:
        truth = list(csv.DictReader(f))
    assert len(truth) == 500 and len({t["account_ref"] for t in truth}) == 500
