"""Nightly load: consecutive nightly runs at Kent scale, about 2% of claims changing each night.

    python -m perf.nightly_load                    # 3 nights, 12 districts x 60,000 dwellings
    python -m perf.nightly_load --nights 4 --districts 3 --households 5000 --keep

Night 1 runs on the cached synthetic landing folder (``perf.harness.landing_for``); before each
later night a new dated benefits extract is written per district from the night before's: 2%
of claims change (half an amount, half the address's spelling: the same home), a few claims end
and a few new ones start (residents of council-tax accounts that had no claim). Council-tax
extracts are carried over unchanged under the new date. Each night is ``povertylink run
--as-of <night>`` in a fresh process, as the scheduler would start it (Prefect with no server).

Printed per night: wall seconds, peak resident memory (the CLI process, and its whole process
tree: Prefect's temporary server runs beside it), rows in ``district_benchmarks.parquet``
(history grows), runs kept in ``runs/``, and how many unchanged claims kept their
``household_id`` from the night before (expected: all). Memory should stay flat.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

import psutil  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from perf.harness import AS_OF, landing_for  # noqa: E402

CHANGE_SHARE = 0.02
AMOUNT_COLUMNS = ("rent_weekly", "earnings_weekly", "uc_monthly", "council_tax_weekly", "other_income_weekly")
ADDRESS_WORDS = {" Street": " St", " Road": " Rd", " Avenue": " Ave", " Close": " Cl", " Lane": " Ln",
                 " Drive": " Dr", " Gardens": " Gdns", " Court": " Ct"}


@dataclass
class NightChanges:
    """What changed in one district's benefits extract."""

    amounts: int = 0
    addresses: int = 0
    ended: int = 0
    started: int = 0


def _extract(folder: Path, kind: str, day: dt.date) -> Path:
    return folder / f"{kind}_{day.isoformat()}.csv"


def _respell(address: str) -> str:
    for long, short in ADDRESS_WORDS.items():
        if long in address:
            return address.replace(long, short)
    return address.upper() if address != address.upper() else address.title()


def _new_claim(template: dict[str, str], account: dict[str, str], ref: str) -> dict[str, str]:
    """A claim by the resident of a council-tax account that had none (keeps the template's money)."""
    row = dict(template)
    row.update(claim_ref=ref, uprn=account["uprn"], address_line_1=account["address_line_1"],
               address_line_2=account["address_line_2"], town=account["town"], postcode=account["postcode"],
               claimant_key="", claimant_name=account.get("liable_name", ""), partner_key="", partner_name="",
               partner_birth_date="", claim_start_date="")
    return row


def next_night(folder: Path, before: dt.date, night: dt.date, rng: random.Random) -> NightChanges:
    """Write the district's extracts dated ``night`` from those dated ``before``."""
    changes = NightChanges()
    source = _extract(folder, "benefits", before)
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = list(reader.fieldnames or [])
        claims = list(reader)
    n = len(claims)
    few = max(1, n // 1000)
    ending = set(rng.sample(range(n), few))
    changing = rng.sample([i for i in range(n) if i not in ending], max(1, round(n * CHANGE_SHARE)))
    for pos, i in enumerate(changing):
        row = claims[i]
        if pos % 2 == 0:
            column = AMOUNT_COLUMNS[pos // 2 % len(AMOUNT_COLUMNS)]
            row[column] = f"{float(row[column] or 0) * 1.05 + 1:.2f}"
            changes.amounts += 1
        else:
            row["address_line_1"] = _respell(row["address_line_1"])
            changes.addresses += 1
    kept = [row for i, row in enumerate(claims) if i not in ending]
    changes.ended = n - len(kept)
    claimed = {row["uprn"] for row in claims if row["uprn"]}
    council_tax = _extract(folder, "council_tax", before)
    with council_tax.open(encoding="utf-8", newline="") as handle:
        free = [a for a in csv.DictReader(handle) if a["uprn"] and a["uprn"] not in claimed]
    for j, account in enumerate(rng.sample(free, min(few, len(free)))):
        kept.append(_new_claim(rng.choice(claims), account, f"N{night:%Y%m%d}{j:04d}"))
        changes.started += 1
    with _extract(folder, "benefits", night).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(kept)
    os.link(council_tax, _extract(folder, "council_tax", night))
    return changes


def unchanged_claims(folder: Path, before: dt.date, night: dt.date) -> set[str]:
    """Claim references whose row is byte-for-byte the same in both nights' extracts."""
    def rows(day: dt.date) -> dict[str, str]:
        with _extract(folder, "benefits", day).open(encoding="utf-8") as handle:
            next(handle)
            return {line.split(",", 1)[0]: line for line in handle}

    old, new = rows(before), rows(night)
    return {ref for ref, line in new.items() if old.get(ref) == line}


class PeakMemory(threading.Thread):
    """Polls a process and its descendants: peak RSS of the process alone and of the whole tree."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.proc, self.interval = psutil.Process(pid), interval
        self.main_peak = self.tree_peak = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.interval):
            try:
                main = self.proc.memory_info().rss
                tree = main
                for child in self.proc.children(recursive=True):
                    try:
                        tree += child.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                return
            self.main_peak, self.tree_peak = max(self.main_peak, main), max(self.tree_peak, tree)

    def stop(self) -> None:
        self._done.set()
        self.join()


def run_night(landing: Path, output: Path, night: dt.date, log: Path) -> dict[str, float]:
    """``povertylink run --as-of night`` in a fresh process; wall seconds, peak MB, exit code."""
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", "--input", str(landing), "--output",
                                 str(output), "--as-of", night.isoformat(), "--quiet"],
                                stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
        sampler = PeakMemory(proc.pid)
        sampler.start()
        try:
            code = proc.wait()
        finally:
            sampler.stop()
            if proc.poll() is None:
                os.killpg(proc.pid, 9)
                proc.wait()
    return {"wall_s": time.perf_counter() - start, "main_mb": sampler.main_peak / 2**20,
            "tree_mb": sampler.tree_peak / 2**20, "exit": code}


def household_ids(run: Path) -> dict[tuple[str, str], str]:
    table = pq.read_table(run / "households.parquet", columns=["lad_code", "claim_ref", "household_id"])
    lads, refs, hids = (table.column(c).to_pylist() for c in table.column_names)
    return {(lad, ref): hid for lad, ref, hid in zip(lads, refs, hids, strict=True)}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: prepare the landing folder, run each night, print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nights", type=int, default=3)
    parser.add_argument("--districts", type=int, default=12)
    parser.add_argument("--households", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, help="work folder (default: a temporary one, removed after)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    base = landing_for(args.districts, args.households, args.seed)
    work = args.work or Path(tempfile.mkdtemp(prefix="povertylink-nightly-"))
    landing, output = work / "landing", work / "out"
    shutil.rmtree(work / "landing", ignore_errors=True)
    shutil.rmtree(output, ignore_errors=True)
    shutil.copytree(base, landing, copy_function=os.link, ignore=shutil.ignore_patterns("_truth"))
    lads = sorted(p.name for p in landing.iterdir() if p.is_dir())
    rng = random.Random(args.seed)
    rows: list[dict[str, object]] = []
    previous_ids: dict[tuple[str, str], str] = {}
    print(f"nightly load: {len(lads)} districts x {args.households:,} dwellings, {args.nights} nights, "
          f"{CHANGE_SHARE:.0%} of claims changing a night ({os.cpu_count()} cores); work folder {work}", flush=True)
    try:
        for k in range(args.nights):
            night = AS_OF + dt.timedelta(days=k)
            changes = NightChanges()
            unchanged: set[tuple[str, str]] = set()
            if k:
                for lad in lads:
                    c = next_night(landing / lad, night - dt.timedelta(days=1), night, rng)
                    changes.amounts += c.amounts
                    changes.addresses += c.addresses
                    changes.ended += c.ended
                    changes.started += c.started
                    unchanged |= {(lad, ref) for ref in unchanged_claims(landing / lad, night - dt.timedelta(days=1),
                                                                         night)}
            figures = run_night(landing, output, night, work / f"night-{k + 1}.log")
            if figures["exit"] not in (0, 1):
                print(f"night {k + 1}: povertylink run exited {figures['exit']:.0f}; see {work}/night-{k + 1}.log")
                print((work / f"night-{k + 1}.log").read_text(encoding="utf-8")[-3000:])
                args.keep = True
                return 1
            current = (output / "current").resolve()
            manifest = json.loads((current / "manifest.json").read_text(encoding="utf-8"))
            ids = household_ids(current)
            same = [key for key in unchanged if key in previous_ids and key in ids]
            stable = sum(1 for key in same if ids[key] == previous_ids[key])
            changed_keys = [key for key in ids if key in previous_ids and key not in unchanged] if k else []
            changed_stable = sum(1 for key in changed_keys if ids[key] == previous_ids[key])
            row: dict[str, object] = {
                "night": k + 1, "as_of": night.isoformat(), "wall_s": round(figures["wall_s"], 1),
                "peak_main_mb": round(figures["main_mb"]), "peak_tree_mb": round(figures["tree_mb"]),
                "claims": len(ids), "amounts_changed": changes.amounts, "addresses_changed": changes.addresses,
                "claims_ended": changes.ended, "claims_started": changes.started,
                "benchmark_rows": pq.read_metadata(current / "district_benchmarks.parquet").num_rows,
                "runs_kept": sum(1 for p in (output / "runs").iterdir() if not p.name.startswith(".")),
                "unchanged_claims": len(same), "ids_stable": stable,
                "ids_stable_share": (stable / len(same)) if same else None,
                "changed_claims_ids_stable": f"{changed_stable}/{len(changed_keys)}" if k else None,
                "stages": {name: m.get("wall_s") for name, m in manifest.get("timings", {}).items()},
            }
            rows.append(row)
            previous_ids = ids
            share = f"{row['ids_stable_share']:.2%}" if same else "-"
            print(f"  night {k + 1} {night}: {row['wall_s']:.1f} s, peak {row['peak_main_mb']} MB "
                  f"(tree {row['peak_tree_mb']} MB), benchmarks {row['benchmark_rows']} rows, "
                  f"{row['runs_kept']} runs kept, ids stable {share}", flush=True)
    finally:
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0


def print_table(rows: list[dict[str, object]]) -> None:
    """The per-night figures as a fixed-width table."""
    print()
    print(f"  {'night':<6}{'as-of':<12}{'wall s':>8}{'peak MB':>9}{'tree MB':>9}{'claims':>9}{'changed':>12}"
          f"{'+/-':>11}{'bench rows':>11}{'runs':>6}{'ids stable (unchanged claims)':>32}")
    for r in rows:
        changed = f"{r['amounts_changed']}+{r['addresses_changed']}" if r["night"] != 1 else "-"
        churn = f"+{r['claims_started']}/-{r['claims_ended']}" if r["night"] != 1 else "-"
        share = r["ids_stable_share"]
        stable = f"{r['ids_stable']:,}/{r['unchanged_claims']:,} = {share:.2%}" if share is not None else "-"
        print(f"  {r['night']:<6}{r['as_of']:<12}{r['wall_s']:>8.1f}{r['peak_main_mb']:>9}{r['peak_tree_mb']:>9}"
              f"{r['claims']:>9,}{changed:>12}{churn:>11}{r['benchmark_rows']:>11}{r['runs_kept']:>6}{stable:>32}")
    print("  changed = amount + address changes; +/- = claims started/ended; peak MB = the CLI process, "
          "tree MB = with Prefect's temporary server")
    for r in rows[1:]:
        print(f"  night {r['night']}: changed claims keeping their household_id: {r['changed_claims_ids_stable']}")
    print("  stage wall s: " + "; ".join(
        f"night {r['night']}: " + ", ".join(f"{k} {v}" for k, v in r["stages"].items()) for r in rows))  # type: ignore[attr-defined]


if __name__ == "__main__":
    sys.exit(main())
