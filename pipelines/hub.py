"""The hub stages of one run, in order, on the run's DuckDB: load, link, score, benchmark, write.

Plain functions that the run (:mod:`pipelines.run`) calls; each takes paths and small values and
returns a JSON-able manifest section. All row-level work happens in DuckDB; Parquet files are
written into the run's staging folder, which :func:`pipelines.publish.promote` makes current.
Personal data: pseudonymised keys and name encodings are used for linkage at the hub; no
output carries a name encoding or a NINO key (see :data:`PUBLISHED_EXCLUDE`).
"""

from __future__ import annotations

import datetime as dt
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import duckdb

from pipelines.action.contact import build_contact_list
from pipelines.hub_database import connect, load_hub
from pipelines.measure import StageTimer
from pipelines.progress import QuietReporter, Reporter
from pipelines.publish import join_parquet, write_database, write_parquet
from pipelines.review import StoredDecision, load_decisions
from schemas.config import RunConfig, duckdb_size
from schemas.reference import COUNTY_NAME, partnership_name
from schemas.sql import quote_ident, quote_str, table_exists

# Columns that identify people (keyed hashes, name encodings) never leave the hub's work database.
PUBLISHED_EXCLUDE = ("claimant_key", "claimant_name", "partner_key", "partner_name", "liable_key", "liable_name")


def _safe_columns(con: duckdb.DuckDBPyConnection, table: str) -> str:
    cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall() if r[0] not in PUBLISHED_EXCLUDE]
    return ", ".join(f'"{c}"' for c in cols)


def link_stage(con: duckdb.DuckDBPyConnection, previous_dir: Path | None, config: RunConfig,
               partitions: Path | None = None, lad_codes: list[str] | None = None,
               decisions: tuple[StoredDecision, ...] = ()) -> dict[str, Any]:
    """Link claims to accounts and people across districts; returns the manifest's linkage section.

    ``partitions``: a folder of per-district comparison vectors (:mod:`matching.partition`, built by
    the flow's worker tasks) for ``lad_codes``; the hub then only loads them instead of building them.
    ``decisions``: the analysts' decisions in force (:mod:`pipelines.review`), honoured by the linkage.
    Leaves ``review_queue_out``: the rows of ``review_queue.parquet``.
    """
    from matching.clerical import published_queue_sql
    from matching.link import link_households
    from matching.partition import Partitions

    settings = config.linkage
    parts = Partitions(partitions, tuple(lad_codes or ())) if partitions is not None else None
    if decisions:
        load_decisions(con, list(decisions))
    section = link_households(con, previous_dir, settings, parts).as_manifest()
    con.execute(f"CREATE OR REPLACE TABLE review_queue_out AS {published_queue_sql()}")
    return published_linkage(section)


def published_linkage(section: dict[str, Any]) -> dict[str, Any]:
    """The linkage section as the manifest shares it: counts per district and across districts under
    the 10-5 rule (None for 1 to 9), link rates computed from the rounded counts."""
    from benchmarks.disclosure import published_count

    def shown(entry: dict[str, Any]) -> dict[str, Any]:
        return {k: published_count(v) if isinstance(v, int) and not isinstance(v, bool) else v
                for k, v in entry.items()}

    districts = []
    for entry in section.get("districts") or []:
        row = shown(entry)
        linked = published_count(sum(v for k, v in entry.items() if k.startswith("linked_") and isinstance(v, int)))
        claims = row.get("claims")
        row["link_rate"] = min(round(linked / claims, 4), 1.0) if claims and linked is not None else None
        districts.append(row)
    return section | {"districts": districts, "cross_district": shown(section.get("cross_district") or {})}


def score_stage(con: duckdb.DuckDBPyConnection, as_of: dt.date, run_id: str, config: RunConfig) -> dict[str, Any]:
    """Score every household; returns the parameters used and the summary rows."""
    from pipelines.score.households import published_summary, score_households, summarise
    from pipelines.score.params import load_parameters

    params = load_parameters(as_of, config.parameters or None)
    score_households(con, as_of, params, run_id, config.linkage)
    return {"parameters": params.manifest(), "summary": published_summary(summarise(con))}  # shared: protected


def benchmark_stage(con: duckdb.DuckDBPyConnection, run_id: str, as_of: dt.date, previous_dir: Path | None,
                    backfills: tuple[tuple[Path, str], ...] = (),
                    unavailable: dict[str, str] | None = None, county_name: str = COUNTY_NAME) -> dict[str, Any]:
    """District benchmarks, movement, campaign and area needs (disclosure-controlled; county rows named
    ``county_name``).

    ``backfills``: (folder, run_id) of back-dated runs whose long-format rows join this run's history;
    ``unavailable`` (code -> completeness status): districts whose rows are marked not available,
    outside the county.
    """
    from benchmarks.build import build_benchmarks

    return build_benchmarks(con, run_id, as_of, previous_dir, backfills=backfills,
                            unavailable=unavailable, county_name=county_name).as_manifest()


# Tables whose files are written on a second cursor while the rest are written on the hub's own connection:
# ordinary tables (a cursor sees them; temporary tables and registered Arrow data it would not), and the largest.
SECOND_CURSOR_TABLES = ("households", "links", "arrears_signals", "review_queue_out")


def output_files(con: duckdb.DuckDBPyConnection, lad_codes: list[str]) -> list[tuple[str, str, str]]:
    """Every published Parquet file of the output contract whose table exists: (file name, the SELECT or table
    it holds, the table it reads), in the order of the contract."""
    files: list[tuple[str, str, str]] = []
    if table_exists(con, "households"):
        columns = _safe_columns(con, "households")
        files.append(("households.parquet", f"SELECT {columns} FROM households ORDER BY lad_code, claim_ref",
                      "households"))
        files += [(f"districts/{lad}/households.parquet", f"SELECT {columns} FROM households WHERE lad_code = "
                   f"{quote_str(lad)} ORDER BY claim_ref", "households") for lad in lad_codes]
    if table_exists(con, "arrears_signals"):
        files.append(("arrears_signals.parquet", "SELECT * FROM arrears_signals ORDER BY lad_code, rank",
                      "arrears_signals"))
        files += [(f"districts/{lad}/arrears_signals.parquet", f"SELECT * FROM arrears_signals WHERE lad_code = "
                   f"{quote_str(lad)} ORDER BY rank", "arrears_signals") for lad in lad_codes]
    if table_exists(con, "campaigns"):  # while a campaign is live: shared figures, and each district's exact ones
        files.append(("campaigns.parquet", "SELECT * FROM campaigns ORDER BY campaign, district = 'county', district",
                      "campaigns"))
        files += [(f"districts/{lad}/campaigns.parquet", f"SELECT * FROM campaigns_exact WHERE district = "
                   f"{quote_str(lad)} ORDER BY campaign", "campaigns_exact") for lad in lad_codes]
    if table_exists(con, "links"):
        files.append(("links.parquet", f"SELECT {_safe_columns(con, 'links')} FROM links ORDER BY lad_code, claim_ref",
                      "links"))
    if table_exists(con, "review_queue_out"):  # clerical review: the hub's whole queue, each district its own pairs
        order, columns = "ORDER BY lad_code, claim_ref, account_ref", _safe_columns(con, "review_queue_out")
        files.append(("review_queue.parquet", f"SELECT {columns} FROM review_queue_out {order}", "review_queue_out"))
        files += [(f"districts/{lad}/review_queue.parquet", f"SELECT {columns} FROM review_queue_out WHERE lad_code = "
                   f"{quote_str(lad)} {order}", "review_queue_out") for lad in lad_codes]
    files += [(f"{table}.parquet", table, table)
              for table in ("district_benchmarks", "area_needs", "status_movement", "pension_credit_campaign")
              if table_exists(con, table)]
    if table_exists(con, "contact_list"):  # docs/CONTACT.md: the whole list for the hub, each district its own
        files.append(("contact_list.parquet", "SELECT * FROM contact_list ORDER BY lad_code, rank", "contact_list"))
        files += [(f"districts/{lad}/contact_list.parquet", f"SELECT * FROM contact_list WHERE lad_code = "
                   f"{quote_str(lad)} ORDER BY rank", "contact_list") for lad in lad_codes]
    files.append(("quarantine.parquet", "SELECT * FROM quarantine ORDER BY lad_code, kind, file, line, \"column\"",
                  "quarantine"))
    return files


# County files that are their districts' files one after another (the same columns; the county's order is
# lad_code, then the district file's): written by joining the district files just written, not by sorting
# every row of the county again (at 8x Kent the households and contact-list sorts took 25-30 s each).
JOINED_FROM_DISTRICTS = ("households.parquet", "arrears_signals.parquet", "review_queue.parquet",
                         "contact_list.parquet")


def _joined(con: duckdb.DuckDBPyConnection, files: list[tuple[str, str, str]], lad_codes: list[str]
            ) -> dict[str, list[str]]:
    """County file -> its district files in code order, for each of :data:`JOINED_FROM_DISTRICTS` published with
    every district's file and whose table holds no row of another district (else it is sorted as before)."""
    names = {name for name, _, _ in files}
    codes = sorted(lad_codes)
    listing = ", ".join(quote_str(code) for code in codes)
    joined = {}
    for name, _, table in files:
        parts = [f"districts/{code}/{name}" for code in codes]
        if name not in JOINED_FROM_DISTRICTS or not codes or not all(part in names for part in parts):
            continue
        other = con.execute(f"SELECT count(*) FROM {quote_ident(table)} "
                            f"WHERE lad_code IS NULL OR lad_code NOT IN ({listing})").fetchall()[0][0]
        if other == 0:
            joined[name] = parts
    return joined


def write_outputs(con: duckdb.DuckDBPyConnection, folder: Path, lad_codes: list[str]) -> dict[str, int]:
    """Write every published Parquet file of the output contract, and each district's contact list as CSV
    too; returns rows per Parquet file (in the contract's order). ``povertylink.duckdb`` is made from them
    afterwards (:func:`pipelines.publish.write_database`).

    Two at a time: the files of :data:`SECOND_CURSOR_TABLES` on a cursor of the hub's database in a thread
    of their own, the others and the CSVs on ``con`` (each COPY alone keeps about one core busy). A county
    file of :data:`JOINED_FROM_DISTRICTS` is written after its district files, from them
    (:func:`pipelines.publish.join_parquet`)."""
    files = output_files(con, lad_codes)
    joined = _joined(con, files, lad_codes)
    written: dict[str, int] = {}

    def in_order(chosen: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
        """Each joined county file moved after its last district file."""
        ordered = [(name, sql) for name, sql, _ in chosen if name not in joined]
        for county, parts in joined.items():
            if any(name == county for name, _, _ in chosen):
                last = max(i for i, (name, _) in enumerate(ordered) if name in parts)
                ordered.insert(last + 1, (county, ""))
        return ordered

    def write_all(connection: duckdb.DuckDBPyConnection, chosen: list[tuple[str, str]]) -> None:
        for name, sql in chosen:
            if name in joined:
                written[name] = join_parquet([folder / part for part in joined[name]], folder / name)
            else:
                written[name] = write_parquet(connection, sql, folder / name)

    second = in_order([f for f in files if f[2] in SECOND_CURSOR_TABLES])
    with con.cursor() as cursor, ThreadPoolExecutor(1, thread_name_prefix="povertylink-write") as pool:
        other = pool.submit(write_all, cursor, second)
        try:
            write_all(con, in_order([f for f in files if f[2] not in SECOND_CURSOR_TABLES]))
            if table_exists(con, "contact_list"):  # each district's CSV: the rows of its Parquet
                from pipelines.action.contact import write_contact_csvs

                write_contact_csvs(con, "SELECT * FROM contact_list",
                                   {lad: folder / "districts" / lad / "contact_list.csv" for lad in lad_codes})
        finally:
            other.result()  # waits for the second lane (and raises its error) before the cursor closes
    return {name: written[name] for name, _, _ in files}


def write_documents(con: duckdb.DuckDBPyConnection, folder: Path, manifest: dict[str, Any],
                    lad_codes: list[str] | None = None, previous_dir: Path | None = None) -> None:
    """``report.html`` (from the run's tables and manifest), each district's own
    ``districts/<LAD>/report.html`` (its exact figures; the others' only as published) and the data dictionary."""
    from benchmarks.district_report import every_district_figures, write_district_report
    from benchmarks.report import write_report
    from pipelines.dictionary import write_dictionary

    write_report(con, manifest, folder / "report.html")
    figures = every_district_figures(con) if lad_codes else {}  # one pass for every district's own figures
    for lad in lad_codes or []:
        write_district_report(con, manifest, lad, folder / "districts" / lad, previous_dir,
                              figures=figures.get(lad, ({}, {})))
    write_dictionary(folder)


HUB_STAGES = ("link", "score", "benchmark")


def restore_stage(con: duckdb.DuckDBPyConnection, stage: str, previous_dir: Path) -> None:
    """Load a stage's tables from the previous good run instead of recomputing it (``--from-stage``)."""
    def parquet(name: str) -> str:
        path = previous_dir / name
        if not path.is_file():
            raise FileNotFoundError(f"the previous run {previous_dir.name} has no {name} to reuse")
        return f"read_parquet({quote_str(str(path))})"

    if stage == "link":
        con.execute(f"CREATE OR REPLACE TABLE links AS SELECT * FROM {parquet('links.parquet')}")
        source = parquet("households.parquet")
        have = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
        extra = ", ".join(c if c in have else f"NULL::VARCHAR AS {c}" for c in ("person_cluster_id",
                                                                              "linked_household_ids"))
        con.execute("CREATE OR REPLACE TABLE household_keys AS SELECT lad_code, claim_ref, household_id, "
                    f"other_districts, {extra} FROM {source}")
        if (previous_dir / "review_queue.parquet").is_file():  # runs before clerical review had none
            con.execute("CREATE OR REPLACE TABLE review_queue_out AS SELECT * FROM "
                        f"{parquet('review_queue.parquet')}")
    elif stage == "score":
        con.execute(f"CREATE OR REPLACE TABLE households AS SELECT * FROM {parquet('households.parquet')}")
        if (previous_dir / "arrears_signals.parquet").is_file():  # runs before the take-up checks had none
            con.execute("CREATE OR REPLACE TABLE arrears_signals AS SELECT * FROM "
                        f"{parquet('arrears_signals.parquet')}")


@dataclass(frozen=True)
class HubJob:
    """What the hub stages of one run work on.

    ``staging``: the run's private staging folder (validated Parquet in, outputs written here);
    ``final``: where it will be published; ``previous`` and ``previous_manifest``: the last good run
    (stages before ``from_stage`` are restored from it); ``partitions``: per-district comparison
    vectors built by the executor's steps (:mod:`matching.partition`), or None to build them here;
    ``unavailable``: district code -> completeness status of the districts left out of the benchmarks;
    ``decisions``: the analysts' clerical decisions in force (:mod:`pipelines.review`).
    """

    staging: Path
    final: Path
    lad_codes: list[str]
    as_of: dt.date
    run_id: str
    config: RunConfig
    previous: Path | None = None
    previous_manifest: dict[str, Any] = field(default_factory=dict)
    from_stage: str = "link"
    partitions: Path | None = None
    backfills: tuple[tuple[Path, str], ...] = ()
    unavailable: dict[str, str] = field(default_factory=dict)
    output: Path | None = None  # the output folder: its live campaigns are followed (pipelines/action/campaigns.py)
    decisions: tuple[StoredDecision, ...] = ()


def run_hub(job: HubJob, timer: StageTimer, manifest: dict[str, Any], reporter: Reporter | None = None
            ) -> dict[str, Any]:
    """Every hub stage on a fresh database spilling into the staging folder; returns manifest sections.

    ``manifest``: the run's manifest so far, for the report. ``reporter`` gets a line as each of link,
    score, benchmark and publish starts and ends (publish is left open: the run ends it once promoted).
    """
    tell = reporter or QuietReporter()

    def stage(name: str, label: str, fn: Any) -> Any:
        tell.stage(label)
        result = timer.run(name, fn)
        tell.done(label, f"{timer.stages[name]['wall_s']:.1f} s")
        return result

    spill = job.staging / "_work"  # DuckDB's spill folder (private, in the staging folder; removed at the end)
    resources = job.config.resources  # the run's budget ([resources]): beyond it DuckDB spills to ``spill``
    con = connect(spill, duckdb_size(resources.memory_bytes()), resources.threads or None)
    # (stages get the connection through partial, not closures: a failure's traceback frees it)
    sections: dict[str, Any] = {}
    first = HUB_STAGES.index(job.from_stage)
    try:
        sections["hub_rows"] = timer.run("load", partial(load_hub, con, job.staging, job.lad_codes))
        for name, section in (("link", "linkage"), ("score", "scoring")):
            if HUB_STAGES.index(name) < first:
                assert job.previous is not None
                tell.stage(name)
                timer.run(name, partial(restore_stage, con, name, job.previous))
                tell.done(name, f"reused from {job.previous.name}")
                sections[section] = (job.previous_manifest.get(section) or {}) | {"reused_from": job.previous.name}
        if first <= 0:
            link = partial(link_stage, con, job.previous, job.config, job.partitions, job.lad_codes, job.decisions)
            sections["linkage"] = stage("link", "link", link)
        if first <= 1:
            sections["scoring"] = stage("score", "score", partial(score_stage, con, job.as_of, job.run_id, job.config))
        county = partnership_name(job.lad_codes, job.config.report.county_name)  # as the manifest's county_name
        sections["benchmarks"] = stage("benchmark", "benchmark", partial(
            benchmark_stage, con, job.run_id, job.as_of, job.previous, job.backfills, job.unavailable, county))
        tell.stage("publish")
        sections["contact_list"] = timer.run("contact", partial(build_contact_list, con, job.previous, job.as_of))
        if job.output is not None:
            from pipelines.action.campaigns import campaign_stage

            sections["campaigns"] = timer.run("campaigns", partial(campaign_stage, con, job.output, job.run_id,
                                                                   job.as_of, job.unavailable, county))
        sections["published_rows"] = timer.run("write", partial(write_outputs, con, job.staging, job.lad_codes))
        # povertylink.duckdb (its own connection, from the Parquet just written) while the reports are made
        with ThreadPoolExecutor(1, thread_name_prefix="povertylink-database") as pool:
            database = pool.submit(write_database, job.staging, list(sections["published_rows"]))
            timer.run("report", partial(write_documents, con, job.staging,
                                        manifest | sections | {"timings": timer.stages}, job.lad_codes, job.previous))
            timer.run("database", database.result)  # what is left of it once the reports are written
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
    return sections
