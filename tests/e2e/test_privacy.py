"""Privacy, end to end through the CLI: a RAW synthetic sample is pseudonymised file by file with a
fresh random key, run, and every published value (Parquet and DuckDB read as values; HTML, JSON, CSV,
Markdown as text) plus the CLI's stdout and stderr is scanned for every raw name pair, distinctive
surname and NINO of the sample, and for the key (raw, hex, base64). Also: each district's
households.parquet holds only that district's rows.
"""

from __future__ import annotations

import base64
import csv
import os
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.cli import AS_OF, CLI, ENV

DISTRICTS = 2
HOUSEHOLDS = 400
TEXT_SUFFIXES = {".html", ".json", ".csv", ".md", ".txt", ".log", ".toml", ".yaml", ".yml", ""}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=ENV,
                          timeout=900, check=False)


def _raw_people(raw: Path) -> tuple[set[str], set[str], set[str], set[str]]:
    """(forename+surname pairs, surnames, NINOs, words of addresses and towns) of every raw extract."""
    pairs, surnames, ninos, address_words = set(), set(), set(), set()
    for path in raw.glob("E*/*.csv"):
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                for who in ("claimant", "partner", "liable"):
                    fore, sur = (row.get(f"{who}_forename") or "").strip(), (row.get(f"{who}_surname") or "").strip()
                    nino = (row.get(f"{who}_nino") or "").strip()
                    if fore and sur:
                        pairs.add(f"{fore} {sur}".lower())
                    if sur:
                        surnames.add(sur.lower())
                    if nino:
                        ninos.add(nino.upper().replace(" ", ""))
                for col in ("address_line_1", "address_line_2", "town"):
                    address_words.update(re.findall(r"[a-z']+", (row.get(col) or "").lower()))
    return pairs, surnames, ninos, address_words


def _own_vocabulary() -> set[str]:
    """Every word the project's own code and templates can write (report prose, reasons, column names):
    a surname that is also one of these words ("Cross" in cross-district, "Short" in shortfall) proves nothing."""
    root = Path(__file__).resolve().parents[2]
    words: set[str] = set()
    for folder in ("pipelines", "benchmarks", "schemas", "matching"):
        for path in (root / folder).rglob("*"):
            if path.suffix in (".py", ".html", ".css", ".toml", ".md"):
                words |= set(re.findall(r"[a-z]+", path.read_text(encoding="utf-8", errors="ignore").lower()))
    return words


def _distinctive(surnames: set[str], address_words: set[str]) -> set[str]:
    """Surnames that cannot be an ordinary word of the outputs: 5+ letters, not a word of any address or
    town (Green, Church, Hill...), not a word the project's own code or templates write."""
    prose = _own_vocabulary()
    return {s for s in surnames if len(s) >= 5 and re.fullmatch(r"[a-z'-]+", s) and s not in address_words
            and s not in prose}


def _values_text(path: Path) -> str:
    """Every value a published file holds, as text (Parquet and DuckDB read, not grepped)."""
    if path.suffix == ".parquet":
        return "\n".join(str(v) for row in pq.read_table(path).to_pylist() for v in row.values())
    if path.suffix == ".duckdb":
        parts = []
        cwd = Path.cwd()
        os.chdir(path.parent)  # views over the Parquet may use relative paths
        try:
            con = duckdb.connect(str(path), read_only=True)
            try:
                names = con.sql("SELECT table_name FROM information_schema.tables").fetchall()
                for (name,) in names:
                    rows = con.sql(f'SELECT * FROM "{name}"').fetchall()
                    parts.extend(str(v) for r in rows for v in r)
            finally:
                con.close()
        finally:
            os.chdir(cwd)
        return "\n".join(parts)
    return path.read_bytes().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    base = tmp_path_factory.mktemp("privacy")
    raw, landing, out = base / "raw", base / "landing", base / "out"
    outputs: list[str] = []
    done = _cli("sample", "--raw", "--out", str(raw), "--districts", str(DISTRICTS), "--households", str(HOUSEHOLDS))
    assert done.returncode == 0, done.stderr
    outputs += [done.stdout, done.stderr]
    key = os.urandom(48)
    while key.endswith((b"\r", b"\n")):
        key = os.urandom(48)
    key_file = base / "partnership.key"
    key_file.write_bytes(key)
    key_file.chmod(0o600)
    for src in sorted(raw.glob("E*/*.csv")):
        kind = src.name.rsplit("_", 1)[0]  # benefits, council_tax or universal_credit
        dst = landing / src.parent.name / src.name
        dst.parent.mkdir(parents=True, exist_ok=True)
        done = _cli("pseudonymise", "--key-file", str(key_file), "--kind", kind, str(src), str(dst))
        assert done.returncode == 0, done.stderr
        outputs += [done.stdout, done.stderr]
    for name in ("epc.csv", "postcode_lookup.csv"):
        if (raw / name).is_file():
            shutil.copy(raw / name, landing / name)
    done = _cli("run", "--input", str(landing), "--output", str(out), "--as-of", AS_OF)
    assert done.returncode == 0, done.stderr
    outputs += [done.stdout, done.stderr]
    return {"raw": raw, "landing": landing, "out": out, "key": key, "cli": "\n".join(outputs)}


def _leaks(text: str, pairs: set[str], surnames: set[str], ninos: set[str]) -> list[str]:
    low = text.lower()
    found = [f"name {p!r}" for p in pairs if p in low]
    words = set(re.findall(r"[a-z'-]+", low))
    found += [f"surname {s!r}" for s in surnames if s in words]
    compact = re.sub(r"\s+", "", text.upper())
    found += [f"NINO {n}" for n in ninos if n in compact]
    return found


def test_no_raw_name_surname_or_nino_in_any_output_or_cli_output(published: dict[str, object]) -> None:
    pairs, surnames, ninos, address_words = _raw_people(Path(str(published["raw"])))
    distinctive = _distinctive(surnames, address_words)
    assert len(pairs) > 100 and len(distinctive) > 20 and len(ninos) > 50  # the scan has something to find
    out = Path(str(published["out"]))
    files = [p for p in out.rglob("*") if p.is_file()]
    scanned = [p for p in files if p.suffix in {".parquet", ".duckdb"} or p.suffix in TEXT_SUFFIXES]
    assert any(p.suffix == ".parquet" for p in scanned) and any(p.suffix == ".html" for p in scanned)
    leaks = {str(p.relative_to(out)): found for p in scanned if (found := _leaks(_values_text(p), pairs,
                                                                                 distinctive, ninos))}
    cli = _leaks(str(published["cli"]), pairs, distinctive, ninos)
    assert not leaks and not cli, (leaks, cli)
    # the landing folder that reaches the hub holds none either
    landing = Path(str(published["landing"]))
    assert not {str(p): f for p in landing.rglob("*.csv") if (f := _leaks(p.read_text(), pairs, distinctive, ninos))}


def test_the_key_never_appears_in_any_output_log_or_manifest(published: dict[str, object]) -> None:
    key = published["key"]
    assert isinstance(key, bytes)
    forms_text = [key.hex(), key.hex().upper(), base64.b64encode(key).decode(), base64.urlsafe_b64encode(key).decode()]
    out, landing = Path(str(published["out"])), Path(str(published["landing"]))
    for path in [*out.rglob("*"), *landing.rglob("*")]:
        if not path.is_file():
            continue
        data = path.read_bytes()
        assert key not in data, path
        text = _values_text(path) if path.suffix in {".parquet", ".duckdb"} else data.decode("utf-8", "replace")
        assert not any(form in text for form in forms_text), path
    cli = str(published["cli"])
    assert not any(form in cli for form in forms_text) and key.decode("latin-1") not in cli


def test_each_district_file_holds_only_its_own_rows(published: dict[str, object]) -> None:
    current = Path(str(published["out"])) / "current"
    folders = sorted((current / "districts").iterdir())
    assert len(folders) == DISTRICTS
    total = 0
    for folder in folders:
        table = pq.read_table(folder / "households.parquet")
        assert table.num_rows > 0
        assert set(table.column("lad_code").to_pylist()) == {folder.name}
        total += table.num_rows
        for path in sorted(folder.glob("*.parquet")):  # every row-level file of the district: its rows only
            names = pq.read_schema(path).names
            column = "lad_code" if "lad_code" in names else "district"
            assert set(pq.read_table(path, columns=[column]).column(column).to_pylist()) <= {folder.name}, path
        with (folder / "contact_list.csv").open(newline="", encoding="utf-8-sig") as handle:
            assert {row["lad_code"] for row in csv.DictReader(handle)} <= {folder.name}
    assert total == pq.read_table(current / "households.parquet").num_rows
