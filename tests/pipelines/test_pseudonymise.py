"""pseudonymise: key handling, unusable identifiers written as missing and reported, no raw value out."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pipelines.pseudonymise import (
    CANONICAL_SLOTS,
    KeyFileError,
    canonical_forenames,
    dice,
    name_encoding,
    pseudonymise_file,
    read_key,
)
from schemas.inputs import model_for
from tests.rows import key_file

KEY = b"k" * 40  # for the encodings; a key file must hold a strong key (FILE_KEY)
FILE_KEY = b"test-key-for-pseudonymise-0123456789abcdef"


def _key(tmp_path: Path, content: bytes = FILE_KEY, mode: int = 0o600) -> Path:
    return key_file(tmp_path, content, mode)


def _raw_ct(tmp_path: Path, rows: list[dict[str, str]]) -> Path:
    columns = list(model_for("council_tax", raw=True).model_fields)
    path = tmp_path / "raw.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})
    return path


BASE = {"address_line_1": "1 High Street", "postcode": "CT1 1AA", "band": "B", "annual_charge": "1500",
        "ctr_annual": "0", "arrears": "0", "recovery_stage": "none"}


def test_short_key_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="at least 32 bytes"):
        read_key(_key(tmp_path, b"x" * 31 + b"\n"))
    assert isinstance(KeyFileError("x"), ValueError)


@pytest.mark.parametrize("weak", [b"\x00" * 32, b"k" * 40, b"ab" * 20, b"abcd" * 10])
def test_weak_key_refused_without_printing_it(tmp_path: Path, weak: bytes) -> None:
    with pytest.raises(KeyFileError, match="holds a weak key") as err:
        read_key(_key(tmp_path, weak))
    assert weak.decode() not in str(err.value)


def test_random_and_hex_keys_are_strong(tmp_path: Path) -> None:
    import os

    for key in (os.urandom(32).replace(b"\n", b"x").replace(b"\r", b"x"), os.urandom(16).hex().encode()):
        assert read_key(_key(tmp_path, key)) == key


def test_readable_key_warns_without_printing_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = b"S3cret-partnership-key-0123456789abcdef"
    assert read_key(_key(tmp_path, secret + b"\n", 0o644)) == secret
    err = capsys.readouterr().err
    assert "readable by other users" in err and secret.decode() not in err
    read_key(_key(tmp_path, secret, 0o600))
    assert capsys.readouterr().err == ""


def test_unusable_identifiers_written_as_missing_with_warnings_and_no_raw_value(tmp_path: Path) -> None:
    rows = [
        {**BASE, "account_ref": "A1", "liable_nino": "AB123456C", "liable_forename": "Zebedee",
         "liable_surname": "Quillfeather", "liable_birth_date": "1950-01-02"},
        {**BASE, "account_ref": "A2", "liable_nino": "QQ12", "liable_forename": "Ann", "liable_surname": "Brown"},
        {**BASE, "account_ref": "A3", "liable_forename": "Xanthippe", "liable_surname": ""},
        {**BASE, "account_ref": "A4", "liable_forename": "123", "liable_surname": "Smith"},
        {**BASE, "account_ref": "A5"},
    ]
    raw = _raw_ct(tmp_path, rows)
    out = tmp_path / "out.csv"
    report = pseudonymise_file(_key(tmp_path), "council_tax", raw, out)
    assert report.rows_read == 5 and report.rows_written == 5 and not report.rejected
    assert [(line, col) for line, col, _ in report.warnings] == [
        (3, "liable_nino"), (4, "liable_surname"), (5, "liable_forename")]
    text = out.read_text()
    for raw_value in ("AB123456C", "Zebedee", "zebedee", "Quillfeather", "QQ12", "Xanthippe", "Brown"):
        assert raw_value not in text and raw_value not in report.summary()
    with out.open() as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == list(model_for("council_tax").model_fields)
        written = {r["account_ref"]: r for r in reader}
    assert list(written) == ["A1", "A2", "A3", "A4", "A5"]
    assert len(written["A1"]["liable_key"]) == 64 and written["A1"]["liable_name"].startswith("v2|")
    assert written["A1"]["liable_birth_date"] == "1950-01-02"
    assert written["A2"]["liable_key"] == "" and written["A2"]["liable_name"].startswith("v2|")
    assert written["A3"]["liable_name"].split("|")[3:5] == ["", ""]  # surname fields empty
    assert written["A4"]["liable_name"].split("|")[1:3] == ["", ""]  # forename fields empty
    assert written["A5"]["liable_name"] == "" and written["A5"]["liable_key"] == ""


def test_header_must_be_raw(tmp_path: Path) -> None:
    path = tmp_path / "pseudo.csv"
    path.write_text("account_ref,liable_key\nA1,abc\n")
    with pytest.raises(ValueError, match="already pseudonymised"):
        pseudonymise_file(_key(tmp_path), "council_tax", path, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_name_encoding_fixed_width_and_fuzzy() -> None:
    assert canonical_forenames("chris")[:1] == ["chris"] and "christopher" in canonical_forenames("chris")
    for name in ("ann", "david", "chris", "bill"):
        assert len(name_encoding(KEY, name, "Smith").split("|")[2].split(",")) == CANONICAL_SLOTS
    bill = name_encoding(KEY, "Bill", "Smith").split("|")
    william = name_encoding(KEY, "William", "Smith").split("|")
    assert set(bill[2].split(",")) & set(william[2].split(","))
    john, jonh = name_encoding(KEY, "John", "Smith").split("|"), name_encoding(KEY, "Jonh", "Smith").split("|")
    assert john[1] != jonh[1] and dice(john[5], jonh[5]) > 0.4 > 0.2 > dice(john[5], bill[5])
    assert name_encoding(b"j" * 40, "John", "Smith") != name_encoding(KEY, "John", "Smith")
