"""Compare two published runs, for refactors that must not change behaviour.

    python -m perf.compare_runs OUT_A/current OUT_B/current

Every Parquet file is compared row by row (run-id columns dropped, rows in a canonical order),
``manifest.json`` apart from what differs between any two runs (run ids, times, timings, versions,
paths, cache keys, code hashes), every CSV cell by cell (run ids masked; the bytes may differ where
a writer quotes a cell that needs no quotes), and ``report.html`` apart from run ids and times. Prints one line
per file and exits 1 when anything differs.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

RUN_ID_COLUMNS = ("run_id", "previous_run_id", "run_date")
VOLATILE_KEYS = {"run_id", "started_at", "finished_at", "timings", "versions", "input_dir", "previous_run",
                 "cache_key", "cache", "link_key", "reused_from", "seconds", "wall_s", "cpu_s", "peak_rss_mb",
                 "worker", "code", "staged", "folder",
                 "task_runner", "partitions"}  # how the run was executed (threads or Dask), not what it found
RUN_ID = re.compile(r"\d{8}T\d{6,12}Z(-as-of-\d{4}-\d{2}-\d{2})?")
TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|\+00:00| UTC)?")
SECONDS = re.compile(r"[\d,]+(?:\.\d+)? s\b|(<dt>seconds[^<]*</dt><dd>)[\d.]+(</dd>)")
GENERATED = re.compile(r"Generated \d{1,2} \w+ \d{4} \d{2}:\d{2}")


def _rows(path: Path) -> list[str]:
    table = pq.read_table(path)
    table = table.drop_columns([c for c in RUN_ID_COLUMNS if c in table.schema.names])
    return sorted(json.dumps(r, sort_keys=True, default=str) for r in table.to_pylist())


def _cells(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [[RUN_ID.sub("<run>", cell) for cell in row] for row in csv.reader(handle)]


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    if isinstance(value, str):
        return RUN_ID.sub("<run>", value)
    return value


def _report(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    text = GENERATED.sub("Generated <time>", RUN_ID.sub("<run>", text))
    return SECONDS.sub(r"\1<s>\2", TIME.sub("<time>", text))


def compare(a: Path, b: Path) -> list[str]:
    """The names of the files that differ (or exist on one side only)."""
    differ: list[str] = []
    names = sorted({p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file()}
                   | {p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file()})
    for name in names:
        pa_, pb = a / name, b / name
        if not (pa_.is_file() and pb.is_file()):
            differ.append(f"{name}: only in {'A' if pa_.is_file() else 'B'}")
        elif name.endswith(".parquet"):
            ra, rb = _rows(pa_), _rows(pb)
            if ra != rb:
                differ.append(f"{name}: rows differ ({len(ra)} vs {len(rb)})")
        elif name.endswith("manifest.json"):
            ma, mb = (_strip(json.loads(p.read_text(encoding="utf-8"))) for p in (pa_, pb))
            if ma != mb:
                keys = sorted(k for k in set(ma) | set(mb) if ma.get(k) != mb.get(k))
                differ.append(f"{name}: differs in {', '.join(keys)}")
        elif name.endswith(".csv"):
            if _cells(pa_) != _cells(pb):
                differ.append(f"{name}: cells differ")
        elif name.endswith(".html"):
            if _report(pa_) != _report(pb):
                differ.append(f"{name}: text differs")
    return differ


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    args = parser.parse_args(argv)
    differ = compare(args.a.resolve(), args.b.resolve())
    for line in differ:
        print(line)
    print("identical" if not differ else f"{len(differ)} file(s) differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
