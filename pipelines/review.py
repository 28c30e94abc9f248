"""Clerical review at the hub: export the review queue as a CSV, import analysts' decisions, keep them.

``povertylink review export`` writes the current run's ``review_queue.parquet`` (or one district's) as a
CSV with an empty ``decision`` column. An analyst writes ``match`` or ``non-match`` against the pairs they
have checked and ``povertylink review import`` validates the file (every problem named by line and
column; nothing is stored unless the whole file is good) and appends its decisions to
``<output>/review/decisions.csv``. That file is cumulative: every decision ever imported, in order; for
each pair the latest is in force, and a later "match" for a claim or an account supersedes an earlier
"match" of the same claim or account. The next run loads the decisions in force
(:func:`load_decisions`) and the link stage honours them (:mod:`matching.clerical`); the manifest and
report give the precision they estimate (:func:`precision_estimate`).

Personal data: the exported CSV holds references and both records' address fields (the review queue's
columns), never a name, a name encoding, a NINO key or a birth date. The decisions file holds pair ids,
references, decisions and the reviewer's name or initials as given (no free-text note is kept).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import math
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb

from matching.clerical import DECISIONS_TABLE, create_decisions_table, pair_id
from pipelines.publish import current_dir, folder_lock
from schemas.columns import LAD_PATTERN
from schemas.errors import UserError
from schemas.review import DECISION_COLUMNS, DECISIONS, REVIEW_QUEUE_COLUMNS
from schemas.sql import quote_str
from schemas.text import FORMULA_STARTS, csv_safe, one_line

REVIEW_DIR = "review"
DECISIONS_FILE = "decisions.csv"
QUEUE_FILE = "review_queue.parquet"
PAIR_ID_RE = re.compile(r"^P-[0-9a-f]{16}$")
MAX_SHOWN = 20  # problems listed by import; the rest are counted
DECISION_WORDS = {"match": "match", "non-match": "non-match", "nonmatch": "non-match", "non match": "non-match",
                  "non_match": "non-match", "no match": "non-match"}
EXPORT_COLUMNS: tuple[str, ...] = (
    "pair_id", "decision", "reviewer", "decided_at", "lad_code", "claim_ref", "account_ref", "match_probability",
    "match_weight", "linked", "method", "reason",
    *(f"{side}_{field}" for field in ("address_line_1", "address_line_2", "town", "postcode", "uprn")
      for side in ("claim", "account")),
    *(c for c in REVIEW_QUEUE_COLUMNS if c.endswith("_level")),
)


@dataclass(frozen=True)
class StoredDecision:
    """One imported decision (a row of ``decisions.csv``).

    ``model_linked``: the run the analyst reviewed had linked the pair by the model (uprn or probabilistic),
    recorded at the pair's first decision: what the precision estimate is measured against.
    """

    pair_id: str
    lad_code: str
    claim_ref: str
    account_ref: str
    decision: str
    model_linked: bool
    reviewer: str = ""
    decided_at: str = ""
    imported_at: str = ""
    source_file: str = ""


class ReviewFileError(UserError):
    """A decisions file with problems: every problem (line and column), the first in the message."""

    def __init__(self, problems: list[str]) -> None:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(problems[0] + more)
        self.problems = problems


def decisions_path(output: Path) -> Path:
    """``<output>/review/decisions.csv``: every imported decision, kept across runs."""
    return output / REVIEW_DIR / DECISIONS_FILE


@contextmanager
def _review_lock(output: Path) -> Iterator[None]:
    """One import at a time per output folder (``flock`` on ``<output>/review/.lock``)."""
    folder = output / REVIEW_DIR
    with folder_lock(folder / ".lock", f"{folder}: another review import is writing there; try again when it has "
                     "finished"):
        yield


def read_decisions(output: Path) -> list[StoredDecision]:
    """Every decision in ``<output>/review/decisions.csv`` in order (none when the file is not there).

    UserError naming the line and column of the first problem: the file is written by ``review import``
    only, so a problem means it was edited by hand or damaged.
    """
    path = decisions_path(output)
    if not path.is_file():
        return []
    out: list[StoredDecision] = []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if tuple(reader.fieldnames or ()) != DECISION_COLUMNS:
                raise UserError(f"{path} line 1: the header is not {','.join(DECISION_COLUMNS)}; the file is "
                                "written by 'povertylink review import': restore it or move it away")
            for row in reader:
                line = reader.line_num
                for column, ok in (("pair_id", PAIR_ID_RE.match(row.get("pair_id") or "")),
                                   ("decision", row.get("decision") in DECISIONS),
                                   ("model_linked", row.get("model_linked") in ("true", "false"))):
                    if not ok:
                        raise UserError(f"{path} line {line}, column {column}: {one_line(row.get(column), 40)!r} "
                                        "is not valid; the file is written by 'povertylink review import': restore "
                                        "it or move it away")
                values = {c: row.get(c) or "" for c in DECISION_COLUMNS}
                out.append(StoredDecision(**(values | {"model_linked": values["model_linked"] == "true"})))
    except (UnicodeDecodeError, csv.Error) as err:
        raise UserError(f"{path}: cannot be read ({err}); restore it or move it away") from None
    return out


def in_force(history: list[StoredDecision]) -> list[StoredDecision]:
    """The decisions in force: the latest for each pair; a "match" also ends any earlier "match" of the
    same claim or the same account (a claim links to one account, an account to one claim)."""
    current: dict[str, StoredDecision] = {}
    matched: dict[tuple[str, str, str], str] = {}  # (lad, "claim" or "account", ref) -> pair in force as a match
    for decision in history:
        ended = [current.pop(decision.pair_id, None)]
        if decision.decision == "match":
            ended += [current.pop(matched.get(side, ""), None) for side in _sides(decision)]
        for old in ended:
            if old is not None and old.decision == "match":
                for side in _sides(old):
                    if matched.get(side) == old.pair_id:
                        del matched[side]
        current[decision.pair_id] = decision
        if decision.decision == "match":
            matched.update(dict.fromkeys(_sides(decision), decision.pair_id))
    return list(current.values())


def _sides(d: StoredDecision) -> tuple[tuple[str, str, str], tuple[str, str, str]]:
    return (d.lad_code, "claim", d.claim_ref), (d.lad_code, "account", d.account_ref)


def decisions_digest(decisions: list[StoredDecision]) -> str:
    """A short digest of the decisions in force: part of the run's link key, so new decisions relink."""
    text = "\n".join(sorted(f"{d.pair_id} {d.decision}" for d in decisions))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_decisions(con: duckdb.DuckDBPyConnection, decisions: list[StoredDecision]) -> None:
    """Create ``clerical_decisions`` on the run's database with the decisions in force."""
    create_decisions_table(con)
    if decisions:
        con.executemany(f"INSERT INTO {DECISIONS_TABLE} VALUES (?, ?, ?, ?, ?)",
                        [[d.pair_id, d.lad_code, d.claim_ref, d.account_ref, d.decision] for d in decisions])


def _wilson(successes: int, n: int, z: float = 1.96) -> list[float] | None:
    if n == 0:
        return None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(max(centre - half, 0.0), 4), round(min(centre + half, 1.0), 4)]


def precision_estimate(decisions: list[StoredDecision]) -> dict[str, Any]:
    """The manifest's ``clerical_review`` section: the precision the decisions in force estimate.

    Precision: of the reviewed pairs the model had linked, the share analysts confirmed as matches (with
    a 95% Wilson interval). The pairs come from the review band, so this is the precision of borderline
    links (a lower bound for links above the band). Also: pairs the model left apart that analysts
    matched (missed links). Counts of analysts' decisions, not of households: shown exactly.
    """
    if not decisions:
        return {"decisions": 0, "precision": None, "note": "no decisions yet"}
    linked = [d for d in decisions if d.model_linked]
    confirmed = sum(1 for d in linked if d.decision == "match")
    apart = [d for d in decisions if not d.model_linked]
    missed = sum(1 for d in apart if d.decision == "match")
    precision = round(confirmed / len(linked), 4) if linked else None
    interval = _wilson(confirmed, len(linked))
    if linked:
        note = (f"of {len(linked):,} reviewed pairs the model linked, analysts confirmed {confirmed:,}: precision "
                f"{precision:.3f} (95% interval {interval[0]:.3f}-{interval[1]:.3f}, borderline links)"
                if interval else "")
    else:
        note = "no reviewed pair was linked by the model yet: precision not estimated"
    return {"decisions": len(decisions), "matches": sum(1 for d in decisions if d.decision == "match"),
            "non_matches": sum(1 for d in decisions if d.decision == "non-match"),
            "reviewed_links": len(linked), "confirmed": confirmed, "rejected": len(linked) - confirmed,
            "precision": precision, "precision_95": interval,
            "reviewed_non_links": len(apart), "missed_links": missed, "note": note}


def _queue_file(output: Path, district: str | None) -> Path:
    current = current_dir(output)
    if current is None:
        raise UserError(f"--output {output}: no published run yet; run 'povertylink run' first")
    if district is not None:
        if not re.match(LAD_PATTERN, district):
            raise UserError(f"--district {district!r}: not a district code (a letter and 8 digits, e.g. E07000105)")
        path = current / "districts" / district / QUEUE_FILE
        if not path.parent.is_dir():
            raise UserError(f"--district {district}: not a district of the current run ({current.name})")
    else:
        path = current / QUEUE_FILE
    if not path.is_file():
        raise UserError(f"{path}: no review queue in the current run ({current.name}); run 'povertylink run' "
                        "with this release first")
    return path


def read_queue(path: Path) -> list[dict[str, Any]]:
    """The rows of a ``review_queue.parquet``."""
    con = duckdb.connect()
    try:
        cursor = con.execute(f"SELECT * FROM read_parquet({quote_str(str(path))}) "
                             "ORDER BY lad_code, claim_ref, account_ref")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4f}"
    return csv_safe(str(value)) or ""


def export_queue(output: Path, file: Path, district: str | None = None, include_decided: bool = False) -> int:
    """Write the current run's review queue (one district's with ``district``) to ``file`` as CSV with an
    empty ``decision`` column; pairs already decided only with ``include_decided`` (their decision filled
    in). Returns the pairs written."""
    rows = read_queue(_queue_file(output, district))
    if not include_decided:
        rows = [r for r in rows if not r.get("decision")]
    file.parent.mkdir(parents=True, exist_ok=True)
    with file.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(EXPORT_COLUMNS)
        for row in rows:
            writer.writerow([_cell(row.get(c)) if c not in ("reviewer", "decided_at") else "" for c in EXPORT_COLUMNS])
    return len(rows)


@dataclass(frozen=True)
class ImportResult:
    """What ``review import`` stored: decisions recorded (by value) and rows left blank."""

    recorded: int
    matches: int
    non_matches: int
    blank: int
    in_force: int

    def summary(self) -> str:
        return (f"{self.recorded:,} decisions recorded ({self.matches:,} match, {self.non_matches:,} non-match); "
                f"{self.blank:,} rows left without a decision; {self.in_force:,} decisions in force. "
                "The next run honours them.")


def _unformula(text: str) -> str:
    """A cell as written before :func:`csv_safe` (its leading apostrophe dropped)."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text


def _decided_at(text: str) -> str | None:
    for parse in (dt.date.fromisoformat, dt.datetime.fromisoformat):  # a date stays a date
        try:
            return parse(text).isoformat()
        except ValueError:
            continue
    return None


def _parse_file(file: Path, known: dict[str, tuple[str, str, str]], reviewer: str | None,
                now: str) -> tuple[list[StoredDecision], int, list[str]]:
    """The decisions of an analyst's CSV, the rows left blank, and every problem (``FILE line N, column C``)."""
    name = file.name
    problems: list[str] = []
    found: list[StoredDecision] = []
    lines: dict[str, tuple[int, str]] = {}  # pair_id -> (line, decision)
    matched: dict[tuple[str, str, str], tuple[int, str]] = {}  # (lad, claim or account, side) -> (line, pair)
    blank = 0
    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [h.strip().lower() for h in next(reader, [])]
            missing = [c for c in ("pair_id", "decision") if c not in header]
            if missing:
                return [], 0, [f"{name} line 1: no {' and no '.join(repr(c) for c in missing)} column; export the "
                               "queue with 'povertylink review export' and fill in its decision column"]
            for row in reader:
                line = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) > len(header):
                    problems.append(f"{name} line {line}: {len(row)} fields, the header has {len(header)} (a comma "
                                    "in a value that is not in quotes?)")
                    continue
                cell = dict(zip(header, [c.strip() for c in row] + [""] * (len(header) - len(row)), strict=True))
                word = cell["decision"].lower()
                if not word:
                    blank += 1
                    continue
                decision = DECISION_WORDS.get(word)
                pid = cell["pair_id"]
                where = f"{name} line {line}"
                if decision is None:
                    problems.append(f"{where}, column decision: {one_line(cell['decision'], 40)!r} is not a decision; "
                                    "write match or non-match, or leave it empty")
                refs = tuple(_unformula(cell.get(c, "")) for c in ("lad_code", "claim_ref", "account_ref"))
                if pid not in known and all(refs) and pair_id(*refs) == pid:
                    known[pid] = (refs[0], refs[1], refs[2])  # a pair of an earlier run's queue, named in full
                if pid not in known:
                    problems.append(f"{where}, column pair_id: {one_line(pid, 40)!r} is not a pair of the review "
                                    "queue nor of an earlier decision; export the queue again and copy its pair_id")
                    continue
                lad, claim, account = known[pid]
                for column, expected in (("lad_code", lad), ("claim_ref", claim), ("account_ref", account)):
                    if cell.get(column) and _unformula(cell[column]) != expected:
                        problems.append(f"{where}, column {column}: {one_line(cell[column], 40)!r} is not the pair's "
                                        f"{column} ({expected}); the pair_id and the references disagree")
                decided_at = ""
                if cell.get("decided_at"):
                    decided_at = _decided_at(cell["decided_at"]) or ""
                    if not decided_at:
                        problems.append(f"{where}, column decided_at: {one_line(cell['decided_at'], 40)!r} is not a "
                                        "date or time (YYYY-MM-DD or YYYY-MM-DDTHH:MM)")
                if decision is None:
                    continue
                if pid in lines:  # the same decision again is one decision, recorded once
                    if lines[pid][1] != decision:
                        problems.append(f"{where}, column decision: pair {pid} is also on line {lines[pid][0]} as "
                                        f"{lines[pid][1]}; keep one decision per pair")
                    continue
                lines[pid] = (line, decision)
                if decision == "match":
                    for side, ref, one in (("claim", claim, "account"), ("account", account, "claim")):
                        other = matched.get((lad, ref, side))
                        if other and other[1] != pid:
                            problems.append(f"{where}, column decision: {side} {ref} is already a match on line "
                                            f"{other[0]}; a {side} links to one {one}")
                        matched[(lad, ref, side)] = (line, pid)
                who = one_line(cell.get("reviewer") or reviewer or "", 100)
                found.append(StoredDecision(pid, lad, claim, account, decision, False, csv_safe(who) or "",
                                            decided_at, now, csv_safe(one_line(name, 200)) or ""))
    except UnicodeDecodeError:
        return [], 0, [f"{name}: not UTF-8 text; save it from the spreadsheet as 'CSV UTF-8'"]
    except csv.Error as err:
        return [], 0, [f"{name} line {reader.line_num}: not readable as CSV ({err})"]
    return found, blank, problems


def import_decisions(output: Path, file: Path, reviewer: str | None = None,
                     now: dt.datetime | None = None) -> ImportResult:
    """Validate an analyst's decisions CSV against the current run's review queue and append its decisions
    to ``<output>/review/decisions.csv``. Nothing is stored when any row has a problem
    (:class:`ReviewFileError` lists them all by line and column)."""
    if not file.is_file():
        raise UserError(f"{file}: no such file")
    queue = {r["pair_id"]: r for r in read_queue(_queue_file(output, None))}
    stamp = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).isoformat(timespec="seconds")
    with _review_lock(output):
        history = read_decisions(output)
        known = {pid: (str(r["lad_code"]), str(r["claim_ref"]), str(r["account_ref"])) for pid, r in queue.items()}
        known |= {d.pair_id: (d.lad_code, d.claim_ref, d.account_ref) for d in history}
        found, blank, problems = _parse_file(file, known, reviewer, stamp)
        if problems:
            shown = problems[:MAX_SHOWN]
            if len(problems) > MAX_SHOWN:
                shown.append(f"... and {len(problems) - MAX_SHOWN} more problems")
            raise ReviewFileError(shown)
        first: dict[str, bool] = {}
        for d in history:
            first.setdefault(d.pair_id, d.model_linked)
        elsewhere = {d.pair_id for d in found} - set(queue) - set(first)
        model_links = _model_links(output) if elsewhere else set()
        recorded = []
        for d in found:
            row = queue.get(d.pair_id, {})
            by_model = bool(row.get("linked")) and row.get("method") not in (None, "clerical") or (
                d.pair_id in elsewhere and (d.lad_code, d.claim_ref, d.account_ref) in model_links)
            recorded.append(StoredDecision(**(asdict(d) | {"model_linked": first.get(d.pair_id, by_model)})))
        _write_decisions(output, history + recorded)
    return ImportResult(len(recorded), sum(1 for d in recorded if d.decision == "match"),
                        sum(1 for d in recorded if d.decision == "non-match"), blank,
                        len(in_force(history + recorded)))


def _model_links(output: Path) -> set[tuple[str, str, str]]:
    """The current run's links made by the model (uprn or probabilistic), from its ``links.parquet``."""
    current = current_dir(output)
    path = current / "links.parquet" if current is not None else None
    if path is None or not path.is_file():
        return set()
    con = duckdb.connect()
    try:
        rows = con.execute(f"SELECT lad_code, claim_ref, account_ref FROM read_parquet({quote_str(str(path))}) "
                           "WHERE method IN ('uprn', 'probabilistic')").fetchall()
    finally:
        con.close()
    return {(str(a), str(b), str(c)) for a, b, c in rows}


def _write_decisions(output: Path, decisions: list[StoredDecision]) -> None:
    """Replace ``decisions.csv`` atomically (written beside it, fsynced, renamed)."""
    path = decisions_path(output)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(DECISION_COLUMNS)
        for d in decisions:
            values = asdict(d) | {"model_linked": "true" if d.model_linked else "false"}
            writer.writerow([values[c] for c in DECISION_COLUMNS])
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


__all__ = ["ImportResult", "ReviewFileError", "StoredDecision", "decisions_digest", "decisions_path",
           "export_queue", "import_decisions", "in_force", "load_decisions", "precision_estimate",
           "read_decisions"]
