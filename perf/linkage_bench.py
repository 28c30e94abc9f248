"""Linkage benchmark: our DuckDB linker against Splink 5 on the same synthetic data.

Run: ``.venv/bin/python -m perf.linkage_bench --districts 3 --households 5000``. Synthetic
landing folders are generated once and cached in ``perf/.cache/``. Each linker runs in its
own process (so peak memory is its own): wall time of the link stage (ours: everything
``link_households`` does; Splink: train + predict + one-to-one), peak RSS, and precision,
recall and F1 of claim -> account links against ``_truth/links.csv``, and of cross-district
person pairs against ``_truth/persons.csv``. ``bench(...)`` returns the figures as a dict for
``perf/harness.py``. ``--estimator em|ecm|both`` runs our linker with our EM and/or recordlinkage's
ECM on the same vectors (also reported: pairs above the threshold before one-to-one);
``--linkers ours`` skips Splink; ``--growth 1,3,6`` adds our linker on the first N districts;
CPU seconds (all threads) are reported next to wall seconds. Synthetic data only: no real person.

``--datasets sample,clean,hard,febrl1,febrl2,febrl3,febrl4`` evaluates on data the project did not make (and on the
generator's ``--noise`` levels: ``sample`` is ``typical``), as a
new user would: each raw data set (the generator's ``--raw`` output, or a FEBRL set mapped into
one district's raw extracts by :mod:`perf.febrl`) is pseudonymised with ``pseudonymise_file``,
then linked by ours and by Splink 5 in the clear (raw names and birth dates, ``splink-clear``).
For each: blocking recall (share of true pairs among the candidates), candidate count, P, R, F1
of claim -> account links, wall time of the link stage.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing as mp
import os
import resource
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path
from typing import Any

CACHE = Path(__file__).parent / ".cache"
Pair = tuple[str, str, str]
Person = tuple[str, str, str]


def sample_dir(districts: int, households: int, seed: int = 2026) -> Path:
    """The cached synthetic landing folder for these sizes (generated on first use)."""
    out = CACHE / f"d{districts}h{households}s{seed}"
    if not (out / "_truth" / "links.csv").is_file():
        from pipelines.synthetic.generator import generate

        generate(out, districts=districts, households=households, seed=seed, raw=False)
    return out


def truth_links(landing: Path) -> set[Pair]:
    """True (lad_code, claim_ref, account_ref) links."""
    with (landing / "_truth" / "links.csv").open() as f:
        return {(r["lad_code"], r["claim_ref"], r["account_ref"]) for r in csv.DictReader(f) if r["account_ref"]}


def truth_person_pairs(landing: Path) -> set[frozenset[Person]]:
    """True cross-district pairs of benefit person records (lad_code, claim_ref, role) of one person."""
    people: dict[str, list[Person]] = defaultdict(list)
    with (landing / "_truth" / "persons.csv").open() as f:
        for r in csv.DictReader(f):
            if r["kind"] == "benefits":
                people[r["person_id"]].append((r["lad_code"], r["ref"], r["role"]))
    return _cross_pairs(people.values())


def _cross_pairs(groups: Any) -> set[frozenset[Person]]:
    return {frozenset((a, b)) for g in groups for a, b in combinations(sorted(g), 2) if a[0] != b[0]}


def scores(predicted: set[Any], truth: set[Any]) -> dict[str, float]:
    """Precision, recall and F1 of a predicted set against the truth."""
    hit = len(predicted & truth)
    p = hit / len(predicted) if predicted else 1.0
    r = hit / len(truth) if truth else 1.0
    return {"precision": round(p, 5), "recall": round(r, 5), "f1": round(2 * p * r / (p + r), 5) if p + r else 0.0,
            "predicted": len(predicted), "true": len(truth)}


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _load(landing: Path) -> Any:
    import duckdb

    from matching.landing_tables import load_landing_csvs

    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET memory_limit = '3GB'")
    load_landing_csvs(con, landing)
    return con


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_ours(landing: Path, estimator: str = "em", first_districts: int = 0) -> dict[str, Any]:
    """Run ``link_households`` on the landing folder; predicted links and person pairs, time, memory.

    ``first_districts`` > 0 keeps only that many districts (in code order) of the loaded sample.
    """
    from matching.link import link_households
    from schemas.config import LinkSettings

    con = _load(landing)
    if first_districts:
        for table in ("benefits", "council_tax"):
            con.execute(f"""DELETE FROM {table} WHERE lad_code NOT IN (
                SELECT DISTINCT lad_code FROM benefits ORDER BY lad_code LIMIT {first_districts})""")
    start, cpu = time.perf_counter(), _cpu()
    report = link_households(con, None, LinkSettings(estimator=estimator))
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    peak = _peak_mb()  # before the pair sets below are built in Python (they are the bench's, not the linker's)
    links = {(a, b, c) for a, b, c in con.execute("SELECT lad_code, claim_ref, account_ref FROM links").fetchall()}
    clusters: dict[str, list[Person]] = defaultdict(list)
    rows = con.execute("SELECT person_cluster, lad_code, claim_ref, role FROM person_links").fetchall()
    for key, lad, ref, role in rows:
        clusters[key].append((lad, ref, role))
    by_lad = {d["lad_code"]: d["link_rate"] for d in report.districts}
    threshold = report.settings.threshold
    above = {(a, b, c) for a, b, c in con.execute(
        f"SELECT lad_code, claim_ref, account_ref FROM _lk_scored WHERE match_probability >= {threshold}").fetchall()}
    candidates = {(a, b, c) for a, b, c in con.execute("SELECT lad_code, claim_ref, account_ref FROM _lk_scored")
                  .fetchall()}
    return {"candidates": candidates, "model": report.within_model,
            "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "peak_mb": peak, "links": links,
            "person_pairs": _cross_pairs(clusters.values()), "link_rate": by_lad,
            "stage_seconds": report.seconds, "model_source": report.within_model.get("source"),
            "candidate_pairs": report.candidate_pairs, "above_threshold": above,
            "districts_linked": sorted(by_lad)}


def run_ours_ecm(landing: Path) -> dict[str, Any]:
    """Our linker with recordlinkage's ECM as the m/u estimator (same vectors, thresholds, assignment)."""
    return run_ours(landing, estimator="ecm")


def _splink_frame(con: Any, side: str) -> str:
    """A flat table for Splink: address parts and the claimant's (or liable person's) name hashes."""
    person = "c" if side == "claims" else "l"
    return f"""
        SELECT lad_code || '|' || ref AS unique_id, lad_code, ref, uprn, postcode, pc_outward, flat, house_no,
               street, {person}_fn AS forename, {person}_sn AS surname, {person}_sp AS surname_metaphone
        FROM _lk_{side}"""


def _trained_splink(frames: Any, settings: Any, second_em_rule: Any) -> Any:
    """A Splink 5 linker trained as Splink's own examples do: the prior from a tight rule, u from random
    pairs, then EM on the postcode and on ``second_em_rule``."""
    from splink import Linker, block_on

    linker = Linker(frames, settings, log_level=30)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("lad_code", "postcode", "house_no")], recall=0.9)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("lad_code", "postcode"))
    linker.training.estimate_parameters_using_expectation_maximisation(second_em_rule)
    return linker


def run_splink(landing: Path) -> dict[str, Any]:
    """Splink 5 (DuckDB) claim -> account: name, address, postcode comparisons, EM; one-to-one greedy."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, SettingsCreator, block_on

    from matching.assign import assign_one_to_one
    from matching.normalise import prepare_sql

    con = _load(landing)
    for sql in prepare_sql():
        con.execute(sql)
    con.execute(f"CREATE TABLE sp_claims AS {_splink_frame(con, 'claims')}")
    con.execute(f"CREATE TABLE sp_accounts AS {_splink_frame(con, 'accounts')}")
    start, cpu = time.perf_counter(), _cpu()
    db_api = DuckDBAPI(con)
    frames = [db_api.register("sp_claims"), db_api.register("sp_accounts")]
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.ExactMatch("forename"),
            cl.ExactMatch("surname"),
            cl.ExactMatch("uprn"),
            cl.ExactMatch("house_no"),
            cl.ExactMatch("flat"),
            cl.JaroWinklerAtThresholds("street", [0.95, 0.88]),
            cl.PostcodeComparison("postcode"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("lad_code", "postcode"), block_on("lad_code", "house_no", "street"), block_on("lad_code", "uprn"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    linker = _trained_splink(frames, settings, block_on("lad_code", "house_no", "street"))
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    table = predictions.physical_name
    con.execute(f"""CREATE OR REPLACE TEMP TABLE sp_pool AS
        SELECT split_part(unique_id_l, '|', 1) AS lad_code, split_part(unique_id_l, '|', 2) AS claim_ref,
               split_part(unique_id_r, '|', 2) AS account_ref, match_weight
        FROM {table}
        WHERE match_probability >= 0.9 AND split_part(unique_id_l, '|', 1) = split_part(unique_id_r, '|', 1)""")
    con.execute("CREATE OR REPLACE TEMP TABLE sp_links AS SELECT * FROM sp_pool LIMIT 0")
    assign_one_to_one(con, "sp_pool", "sp_links")
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    links = {(a, b, c) for a, b, c in con.execute("SELECT lad_code, claim_ref, account_ref FROM sp_links").fetchall()}
    return {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "peak_mb": _peak_mb(), "links": links,
            "person_pairs": None}


def _clear_names(landing: Path) -> Any:
    """The raw files next to a pseudonymised landing folder (``../raw``): names and birth dates in the clear."""
    return landing.parent / "raw"


def run_splink_clear(landing: Path) -> dict[str, Any]:
    """Splink 5 in the clear: raw forename, surname and birth date from ``../raw``, the address as we prepare it.

    Comparisons as a Splink user would set them (NameComparison, DateOfBirthComparison,
    PostcodeComparison, house number, flat, street Jaro-Winkler); blocking on postcode, house
    number + street, surname + birth date, forename + birth date, forename + surname (each within
    the district); u by random sampling, EM on two blocking rules; the same one-to-one assignment.
    Returns its candidate pairs too (all pairs its blocking rules compare).
    """
    import splink.comparison_library as cl
    from splink import DuckDBAPI, SettingsCreator, block_on

    from matching.assign import assign_one_to_one
    from matching.normalise import prepare_sql

    con = _load(landing)
    for sql in prepare_sql():
        con.execute(sql)
    raw = _clear_names(landing)
    for kind, person in (("benefits", "claimant"), ("council_tax", "liable")):
        ref = "claim_ref" if kind == "benefits" else "account_ref"
        files = " UNION ALL ".join(
            f"""SELECT '{path.parent.name}' AS lad_code, {ref} AS ref,
                       nullif(lower(trim({person}_forename)), '') AS forename,
                       nullif(lower(trim({person}_surname)), '') AS surname,
                       nullif(trim({person}_birth_date), '') AS dob
                FROM read_csv('{path}', all_varchar = true, header = true)"""
            for path in sorted(raw.glob(f"*/{kind}_*.csv")))
        con.execute(f"CREATE TABLE raw_{kind} AS {files}")
    for side, kind in (("claims", "benefits"), ("accounts", "council_tax")):
        con.execute(f"""CREATE TABLE sp_{side} AS
            SELECT p.lad_code || '|' || p.ref AS unique_id, p.lad_code, p.ref, p.postcode, p.flat, p.house_no,
                   p.street, r.forename, r.surname, r.dob
            FROM _lk_{side} p LEFT JOIN raw_{kind} r ON r.lad_code = p.lad_code AND r.ref = p.ref""")
    start, cpu = time.perf_counter(), _cpu()
    db_api = DuckDBAPI(con)
    frames = [db_api.register("sp_claims"), db_api.register("sp_accounts")]
    blocking = [block_on("lad_code", "postcode"), block_on("lad_code", "house_no", "street"),
                block_on("lad_code", "surname", "dob"), block_on("lad_code", "forename", "dob"),
                block_on("lad_code", "forename", "surname")]
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.NameComparison("forename"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.PostcodeComparison("postcode"),
            cl.ExactMatch("house_no"),
            cl.ExactMatch("flat"),
            cl.JaroWinklerAtThresholds("street", [0.95, 0.88]),
        ],
        blocking_rules_to_generate_predictions=blocking,
        retain_intermediate_calculation_columns=False,
    )
    linker = _trained_splink(frames, settings, block_on("lad_code", "surname", "dob"))
    predictions = linker.inference.predict()
    table = predictions.physical_name
    con.execute(f"""CREATE OR REPLACE TEMP TABLE sp_all AS
        SELECT split_part(unique_id_l, '|', 1) AS lad_code, split_part(unique_id_l, '|', 2) AS claim_ref,
               split_part(unique_id_r, '|', 2) AS account_ref, match_weight, match_probability
        FROM {table} WHERE split_part(unique_id_l, '|', 1) = split_part(unique_id_r, '|', 1)""")
    con.execute("CREATE OR REPLACE TEMP TABLE sp_pool AS SELECT * EXCLUDE (match_probability) FROM sp_all "
                "WHERE match_probability >= 0.9")
    con.execute("CREATE OR REPLACE TEMP TABLE sp_links AS SELECT * FROM sp_pool LIMIT 0")
    assign_one_to_one(con, "sp_pool", "sp_links")
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    links = {(a, b, c) for a, b, c in con.execute("SELECT lad_code, claim_ref, account_ref FROM sp_links").fetchall()}
    candidates = {(a, b, c) for a, b, c in con.execute("SELECT lad_code, claim_ref, account_ref FROM sp_all")
                  .fetchall()}
    return {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "peak_mb": _peak_mb(), "links": links,
            "person_pairs": None, "candidates": candidates}


def _child(name: str, landing: str, queue: Any) -> None:
    try:
        if name.startswith("ours@"):  # ours on the first N districts: growth
            queue.put(run_ours(Path(landing), first_districts=int(name.split("@")[1])))
            return
        queue.put(RUNNERS[name](Path(landing)))
    except Exception as err:  # noqa: BLE001 - a failing peer is reported, not fatal
        queue.put({"error": f"{type(err).__name__}: {err}"})


RUNNERS = {"ours": run_ours, "ours-ecm": run_ours_ecm, "splink": run_splink, "splink-clear": run_splink_clear}


def run_isolated(name: str, landing: Path) -> dict[str, Any]:
    """Run one linker in a fresh process (its own peak memory) and return its raw result."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(name, str(landing), queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result  # type: ignore[no-any-return]


def bench(districts: int, households: int, seed: int = 2026, linkers: tuple[str, ...] = ("ours", "splink")
          ) -> dict[str, Any]:
    """Figures for each linker on one cached sample: quality against the truth, wall time, peak memory."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    landing = sample_dir(districts, households, seed)
    truth, people = truth_links(landing), truth_person_pairs(landing)
    out: dict[str, Any] = {"districts": districts, "households": households, "seed": seed, "linkers": {}}
    for name in linkers:
        raw = run_isolated(name, landing)
        if "error" in raw:
            out["linkers"][name] = raw
            continue
        lads = set(raw.get("districts_linked") or [])
        if lads:
            truth_n = {t for t in truth if t[0] in lads}
            people_n = {p for p in people if all(x[0] in lads for x in p)}
        else:
            truth_n, people_n = truth, people
        row = {"seconds": raw["seconds"], "cpu_seconds": raw.get("cpu_seconds"), "peak_mb": raw["peak_mb"],
               "claim_account": scores(raw["links"], truth_n)}
        if raw.get("above_threshold") is not None:
            row["estimator_pairs_above_threshold"] = scores(raw["above_threshold"], truth_n)
        if raw.get("person_pairs") is not None:
            row["cross_district_persons"] = scores(raw["person_pairs"], people_n)
        for extra in ("stage_seconds", "model_source", "candidate_pairs"):
            if extra in raw:
                row[extra] = raw[extra]
        out["linkers"][name] = row
    return out


def raw_dataset(name: str, districts: int = 3, households: int = 4000, seed: int = 2026) -> Path:
    """A cached raw data set ``CACHE/<name>/raw`` (district folders and ``_truth``): the generator's or FEBRL's."""
    if name in ("sample", "clean", "typical", "hard"):  # the generator at a noise level (sample = typical)
        level = "typical" if name == "sample" else name
        tag = "" if level == "typical" else f"-{level}"
        raw = CACHE / f"raw-d{districts}h{households}s{seed}{tag}" / "raw"
        if not (raw / "_truth" / "links.csv").is_file():
            from pipelines.synthetic.generator import generate

            generate(raw, districts=districts, households=households, seed=seed, raw=True, noise=level)
        return raw
    from perf.febrl import write_raw

    raw = CACHE / name / "raw"
    if not (raw / "_truth" / "links.csv").is_file():
        write_raw(name, raw)
    return raw


def pseudonymised(raw: Path) -> tuple[Path, dict[str, int]]:
    """Pseudonymise every raw extract as a district would (``pseudonymise_file``) into ``../landing``.

    Done on every bench run (it is cheap), so that the figures follow the current ``pseudonymise``.
    Returns the landing folder and the counts of rows read, written and written with a warning.
    """
    import shutil

    from pipelines.pseudonymise import SAMPLE_KEY, pseudonymise_file

    landing = raw.parent / "landing"
    shutil.rmtree(landing, ignore_errors=True)
    landing.mkdir(parents=True)
    key = raw.parent / "bench.key"
    key.write_bytes(SAMPLE_KEY)
    key.chmod(0o600)
    counts = {"read": 0, "written": 0, "warned": 0}
    for path in sorted(raw.glob("*/*.csv")):
        if path.parent.name.startswith("_") or not path.name.startswith(("benefits_", "council_tax_")):
            continue
        kind = "benefits" if path.name.startswith("benefits_") else "council_tax"
        (landing / path.parent.name).mkdir(exist_ok=True)
        report = pseudonymise_file(key, kind, path, landing / path.parent.name / path.name)
        counts["read"] += report.rows_read
        counts["written"] += report.rows_written
        counts["warned"] += getattr(report, "rows_with_warnings", 0)  # 0 with a pseudonymise that has none
    shutil.copytree(raw / "_truth", landing / "_truth")
    return landing, counts


def datasets_bench(names: list[str], linkers: tuple[str, ...] = ("ours", "splink-clear"), districts: int = 3,
                   households: int = 4000, seed: int = 2026) -> dict[str, Any]:
    """For each data set: pseudonymise the raw files, then each linker; blocking recall, candidates, P, R, F1, time."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    out: dict[str, Any] = {}
    for name in names:
        landing, counts = pseudonymised(raw_dataset(name, districts, households, seed))
        truth = truth_links(landing)
        rows: dict[str, Any] = {"pseudonymise": counts, "true_pairs": len(truth)}
        for linker in linkers:
            raw = run_isolated(linker, landing)
            if "error" in raw:
                rows[linker] = raw
                continue
            cands = raw.get("candidates") or set()
            rows[linker] = {"blocking_recall": round(len(cands & truth) / len(truth), 5) if truth else 1.0,
                            "candidates": len(cands), **scores(raw["links"], truth), "seconds": raw["seconds"],
                            "cpu_seconds": raw.get("cpu_seconds"), "peak_mb": raw["peak_mb"]}
            if raw.get("model"):
                rows[linker]["model"] = raw["model"]
        out[name] = rows
    return out


def _datasets_table(result: dict[str, Any]) -> str:
    lines = [f"{'data set':10} {'linker':13} {'block R':>8} {'cands':>9} {'P':>7} {'R':>7} {'F1':>7} {'wall s':>7}"
             f"  rows read/written/warned"]
    for name, rows in result.items():
        c = rows["pseudonymise"]
        for linker, row in rows.items():
            if linker in ("pseudonymise", "true_pairs"):
                continue
            if "error" in row:
                lines.append(f"{name:10} {linker:13} ERROR {row['error']}")
                continue
            lines.append(f"{name:10} {linker:13} {row['blocking_recall']:8.4f} {row['candidates']:9,} "
                         f"{row['precision']:7.4f} {row['recall']:7.4f} {row['f1']:7.4f} {row['seconds']:7.2f}"
                         f"  {c['read']}/{c['written']}/{c['warned']} ({rows['true_pairs']} true pairs)")
    return "\n".join(lines)


def _table(result: dict[str, Any]) -> str:
    head = f"{result['districts']} districts x {result['households']} dwellings (seed {result['seed']})"
    lines = [f"linkage bench: {head}",
             f"{'linker':8} {'P':>8} {'R':>8} {'F1':>8} {'persons F1':>11} {'wall s':>8} {'CPU s':>8} {'peak MB':>8}"]
    for name, row in result["linkers"].items():
        if "error" in row:
            lines.append(f"{name:8} ERROR {row['error']}")
            continue
        ca, pp = row["claim_account"], row.get("cross_district_persons")
        persons = f"{pp['f1']:.4f}" if pp else "n/a"
        lines.append(f"{name:8} {ca['precision']:8.4f} {ca['recall']:8.4f} {ca['f1']:8.4f} "
                     f"{persons:>11} {row['seconds']:8.2f} {row.get('cpu_seconds') or 0:8.2f} {row['peak_mb']:8.0f}")
        if row.get("estimator_pairs_above_threshold"):
            est = row["estimator_pairs_above_threshold"]
            lines.append(f"{'':8}   pairs >= threshold before one-to-one: P {est['precision']:.4f} "
                         f"R {est['recall']:.4f} F1 {est['f1']:.4f} (of {row.get('candidate_pairs')} candidates)")
        if row.get("stage_seconds"):
            stages = ", ".join(f"{k} {v:.2f}" for k, v in row["stage_seconds"].items() if k != "total")
            lines.append(f"{'':8}   stages (wall s): {stages}; model {row.get('model_source')}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Command line: print the side-by-side table (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--districts", type=int, default=3)
    parser.add_argument("--households", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--linkers", default="ours,splink",
                        help="comma-separated: ours (our EM), ours-ecm (recordlinkage's ECM), splink")
    parser.add_argument("--estimator", choices=["em", "ecm", "both"],
                        help="shortcut for our linker: em = ours, ecm = ours-ecm, both = ours and ours-ecm (then "
                             "Splink only if listed in --linkers)")
    parser.add_argument("--growth", default="",
                        help="also run ours on the first N districts of the sample, e.g. 1,3,6 (growth table)")
    parser.add_argument("--datasets", default="",
                        help="comma-separated data sets made from raw files and pseudonymised as a district would: "
                             "sample (the generator, --districts x --households; = typical), clean, typical, hard "
                             "(the generator's --noise levels), febrl1..febrl4; prints blocking "
                             "recall, candidates, P, R, F1 and wall time of ours and Splink 5 in the clear")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.datasets:
        names = [n for n in args.datasets.split(",") if n]
        chosen = tuple(n for n in args.linkers.split(",") if n)
        res = datasets_bench(names, ("ours", "splink-clear") if chosen == ("ours", "splink") else chosen,
                             args.districts, args.households, args.seed)
        print(_datasets_table(res))
        if args.json:
            print(json.dumps(res, indent=2, default=str))
        return
    linkers = args.linkers.split(",")
    if args.estimator:
        ours = {"em": ["ours"], "ecm": ["ours-ecm"], "both": ["ours", "ours-ecm"]}[args.estimator]
        linkers = ours + [name for name in linkers if not name.startswith("ours")]
    linkers += [f"ours@{n}" for n in args.growth.split(",") if n]
    result = bench(args.districts, args.households, args.seed, tuple(linkers))
    print(_table(result))
    if args.json:
        print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
