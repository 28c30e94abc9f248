"""The output folder's lock (:func:`pipelines.publish.folder_lock`), shared by runs, campaigns, scenarios
and review imports: one writer at a time, a clear error for the second, free again once released; and the
county files written by joining their district files (:func:`pipelines.hub.write_outputs`)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.hub import write_outputs
from pipelines.publish import folder_lock
from pipelines.run import output_lock
from schemas.errors import UserError


def test_a_second_holder_is_refused_at_once_and_the_lock_is_free_after(tmp_path: Path) -> None:
    lock = tmp_path / "made" / ".lock"
    with folder_lock(lock, "busy: try again"):
        assert lock.is_file()  # made with its folder
        with pytest.raises(UserError, match="^busy: try again$"), folder_lock(lock, "busy: try again"):
            pass
        with folder_lock(tmp_path / "other.lock", "busy"):  # another file is another lock
            pass
    with folder_lock(lock, "busy"):  # released when the block ends
        pass


def test_output_lock_names_the_output_folder(tmp_path: Path) -> None:
    with output_lock(tmp_path / "out"), pytest.raises(UserError, match="another povertylink run is writing"), \
            output_lock(tmp_path / "out"):
        pass


def _hub_with_tables(rows: int, codes: list[str]) -> duckdb.DuckDBPyConnection:
    """A hub connection as the run's (insertion order not kept), with households, arrears signals and a review
    queue over ``codes`` in shuffled order, and an empty quarantine."""
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    code_list = "[" + ", ".join(f"'{c}'" for c in codes) + "]"
    con.execute(f"""CREATE TABLE households AS SELECT {code_list}[1 + (hash(i) % {len(codes)})::INT] AS lad_code,
                    'C' || lpad(CAST(hash(i, 2) % 1000000000 AS VARCHAR), 10, '0') || '-' || i AS claim_ref,
                    'H-' || i AS household_id, i * 0.5 AS value FROM range({rows}) t(i) ORDER BY hash(i, 3)""")
    con.execute("CREATE TABLE arrears_signals AS SELECT lad_code, row_number() OVER (PARTITION BY lad_code "
                "ORDER BY claim_ref) AS rank, household_id FROM households")
    con.execute("CREATE TABLE review_queue_out AS SELECT lad_code, claim_ref, household_id AS account_ref, value "
                "FROM households WHERE hash(claim_ref) % 3 = 0")
    con.execute("CREATE TABLE quarantine (lad_code VARCHAR, kind VARCHAR, file VARCHAR, line BIGINT, "
                "\"column\" VARCHAR, reason VARCHAR)")
    return con


def _rows(path: Path) -> list[tuple[object, ...]]:
    with duckdb.connect() as con:
        con.execute("SET preserve_insertion_order = true")
        return con.execute(f"SELECT * FROM read_parquet('{path}')").fetchall()


def test_county_files_joined_from_their_districts_are_in_the_contracts_order(tmp_path: Path, monkeypatch) -> None:
    """households, arrears_signals and review_queue at the county are their district files one after another:
    the same rows, in the order the contract gives (lad_code, then the district's order), as a sort would give."""
    import pipelines.hub as hub

    joined: list[str] = []
    real = hub.join_parquet
    monkeypatch.setattr(hub, "join_parquet", lambda parts, path: joined.append(path.name) or real(parts, path))
    codes = ["E07000107", "E07000105", "E07000106"]  # given out of order: the county is in code order
    con = _hub_with_tables(300_000, codes)  # several row groups a file
    codes.insert(1, "E07000104")  # a district with no rows: an empty file, whose columns DuckDB leaves nullable
    counts = write_outputs(con, tmp_path, codes)
    assert sorted(joined) == ["arrears_signals.parquet", "households.parquet", "review_queue.parquet"]
    for name, order in (("households.parquet", "lad_code, claim_ref"), ("arrears_signals.parquet", "lad_code, rank"),
                        ("review_queue.parquet", "lad_code, claim_ref, account_ref")):
        table = {"households.parquet": "households", "arrears_signals.parquet": "arrears_signals",
                 "review_queue.parquet": "review_queue_out"}[name]
        expected = con.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
        assert _rows(tmp_path / name) == expected, name
        assert counts[name] == len(expected) == sum(counts[f"districts/{c}/{name}"] for c in codes)
    assert not list(tmp_path.rglob("*.part"))  # each written beside and moved into place


def test_a_county_file_with_rows_of_no_listed_district_is_sorted_whole(tmp_path: Path) -> None:
    """A household of a district not in the run's list (none should be) is not lost from the county file."""
    con = _hub_with_tables(2_000, ["E07000105", "E07000106"])
    con.execute("INSERT INTO households VALUES ('E07000999', 'C-extra', 'H-extra', 1.0)")  # after the others
    counts = write_outputs(con, tmp_path, ["E07000105", "E07000106"])
    assert counts["households.parquet"] == 2_001
    assert _rows(tmp_path / "households.parquet") == con.execute(
        "SELECT * FROM households ORDER BY lad_code, claim_ref").fetchall()
