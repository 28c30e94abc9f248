"""Orchestration end to end through the real command line: reruns, the ingest cache, determinism,
failure handling, progress output, and the district tasks on a Dask cluster.

One shared landing folder (2 synthetic districts) and one shared output folder that a chain of
runs writes to in order, as an analyst would: a first run, the same again, ``--district``,
``--from-stage score`` (on a terminal), ``--from-stage benchmark``, then a run whose district
fails. Each fixture depends on the one before, so the chain runs once per module, in order.
"""

from __future__ import annotations

import csv
import fcntl
import json
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import termios
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.cli import AS_OF, CLI, ENV, error_lines, povertylink

ASH, CANT = "E07000105", "E07000106"
RUN_ID_COLUMNS = ("run_id", "previous_run_id")
PROGRESS_LINE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z povertylink \S")



def povertylink_tty(*args: str, timeout: float = 400) -> tuple[int, str]:
    """Run the CLI on a pseudo-terminal (160x40) and return its exit status and everything it drew."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    process = subprocess.Popen([*CLI, *args], stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                               env=ENV | {"TERM": "xterm-256color", "COLUMNS": "160"})
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        code = process.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    return code, b"".join(chunks).decode("utf-8", errors="replace")


def manifest_of(folder: Path) -> dict[str, Any]:
    return dict(json.loads((folder / "manifest.json").read_text()))


def rows(path: Path, drop: tuple[str, ...] = RUN_ID_COLUMNS) -> list[dict[str, Any]]:
    """A Parquet file's rows without its run-id columns, in a canonical order."""
    table = pq.read_table(path)
    table = table.drop_columns([c for c in drop if c in table.schema.names])
    return sorted(table.to_pylist(), key=lambda r: json.dumps(r, sort_keys=True, default=str))


def district(manifest: dict[str, Any], lad: str) -> dict[str, Any]:
    return next(d for d in manifest["districts"] if d["lad_code"] == lad)


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def write_csv(path: Path, header: list[str], records: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(records)


@dataclass
class Run:
    result: subprocess.CompletedProcess[str] | None
    run_id: str
    folder: Path
    manifest: dict[str, Any]


def published(out: Path, result: subprocess.CompletedProcess[str] | None = None) -> Run:
    folder = (out / "current").resolve()
    return Run(result, folder.name, folder, manifest_of(folder))


# ---------------------------------------------------------------------------------------------
# fixtures: the landing folder and the chain of runs on one output folder


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    """Synthetic sample plus: one bad Canterbury claim (so quarantine has rows), and older Ashford
    extracts dated 2026-11-10 without the last 5 claims (for --as-of)."""
    root = tmp_path_factory.mktemp("landing")
    made = subprocess.run([*CLI, "sample", "--out", str(root), "--districts", "2", "--households", "400",
                           "--seed", "1"], capture_output=True, text=True, env=ENV, timeout=120)
    assert made.returncode == 0, made.stderr
    header, claims = read_csv(root / CANT / f"benefits_{AS_OF}.csv")
    write_csv(root / CANT / f"benefits_{AS_OF}.csv", header,
              claims + [claims[-1] | {"claim_ref": "BADROW1", "adults": "0"}])
    header, claims = read_csv(root / ASH / f"benefits_{AS_OF}.csv")
    write_csv(root / ASH / "benefits_2026-11-10.csv", header, claims[:-5])
    shutil.copy(root / ASH / f"council_tax_{AS_OF}.csv", root / ASH / "council_tax_2026-11-10.csv")
    return root


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("out")


@pytest.fixture(scope="module")
def run_first(landing, out) -> Run:
    """A first full run, no terminal: plain progress lines on stderr."""
    result = povertylink("run", "--input", str(landing), "--output", str(out), "--as-of", AS_OF)
    assert result.returncode == 0, result.stderr
    return published(out, result)


@pytest.fixture(scope="module")
def run_again(run_first, landing, out) -> Run:
    """The same inputs again, --quiet: every district a cache hit, the linkage reused; outputs identical."""
    result = povertylink("run", "--input", str(landing), "--output", str(out), "--as-of", AS_OF, "--quiet")
    assert result.returncode == 0, result.stderr
    return published(out, result)


@pytest.fixture(scope="module")
def run_district(run_again, landing, out) -> Run:
    result = povertylink("run", "--input", str(landing), "--output", str(out), "--as-of", AS_OF, "--quiet",
                         "--district", ASH)
    assert result.returncode == 0, result.stderr
    return published(out, result)


@pytest.fixture(scope="module")
def run_from_score(run_district, landing, out) -> tuple[Run, str]:
    """--from-stage score on a pseudo-terminal: rich progress."""
    code, screen = povertylink_tty("run", "--input", str(landing), "--output", str(out), "--as-of", AS_OF,
                                   "--from-stage", "score")
    assert code == 0, screen[-3000:]
    return published(out), screen


@pytest.fixture(scope="module")
def run_from_benchmark(run_from_score, landing, out) -> Run:
    result = povertylink("run", "--input", str(landing), "--output", str(out), "--as-of", AS_OF, "--quiet",
                         "--from-stage", "benchmark")
    assert result.returncode == 0, result.stderr
    return published(out, result)


@pytest.fixture(scope="module")
def run_failing(run_from_benchmark, landing, out, tmp_path_factory) -> Run:
    """Reading Canterbury's benefits extract fails with EIO (the fault hook POVERTYLINK_FAIL_READING:
    a landing link to /proc/self/mem did this, but links leading outside the landing folder are now
    refused), so its ingest task fails after its retries."""
    result = subprocess.run([*CLI, "run", "--input", str(landing), "--output", str(out), "--as-of", AS_OF],
                            capture_output=True, text=True, timeout=900, check=False,
                            env=ENV | {"POVERTYLINK_FAIL_READING": f"{CANT}/benefits_{AS_OF}.csv"})
    staged = [p for p in (out / "runs").iterdir() if p.name.startswith(".staging-")]
    assert len(staged) == 1, (staged, result.stderr)
    return Run(result, staged[0].name.removeprefix(".staging-"), staged[0], manifest_of(staged[0]))


# ---------------------------------------------------------------------------------------------
# 4. determinism, and the ingest cache


def test_second_run_of_unchanged_inputs_hits_the_cache(run_first, run_again):
    assert [d.get("cache") for d in run_first.manifest["districts"]] == ["miss", "miss"]
    assert [d.get("cache") for d in run_again.manifest["districts"]] == ["hit", "hit"]
    assert run_again.manifest["previous_run"] == run_first.run_id
    for lad in (ASH, CANT):
        assert district(run_again.manifest, lad)["files"] == district(run_first.manifest, lad)["files"]
    assert (run_first.folder.parent.parent / ".cache" / "ingest").is_dir()


@pytest.mark.parametrize("name", ["households.parquet", "links.parquet", "quarantine.parquet", "area_needs.parquet",
                                  f"districts/{ASH}/households.parquet"])
def test_same_inputs_give_identical_outputs(run_first, run_again, name):
    assert run_first.run_id != run_again.run_id
    first, again = rows(run_first.folder / name), rows(run_again.folder / name)
    assert first == again
    if name == "quarantine.parquet":
        assert [(r["lad_code"], r["column"]) for r in first if r["lad_code"] != "county"] == [(CANT, "adults")]


def test_unchanged_inputs_reuse_the_last_runs_linkage(run_first, run_again):
    assert run_first.manifest["link_key"] == run_again.manifest["link_key"]
    assert "reused_from" not in run_first.manifest["linkage"]
    assert run_again.manifest["linkage"]["reused_from"] == run_first.run_id
    assert "reused_from" not in run_again.manifest["scoring"]  # scoring is always recomputed


def test_linkage_recomputed_from_scratch_gives_identical_outputs(landing, run_first, tmp_path):
    """Determinism of the linkage itself: a fresh output folder has nothing to reuse."""
    result = povertylink("run", "--input", str(landing), "--output", str(tmp_path), "--as-of", AS_OF, "--quiet")
    assert result.returncode == 0, result.stderr
    fresh = published(tmp_path, result)
    assert "reused_from" not in fresh.manifest["linkage"]
    assert fresh.manifest["link_key"] == run_first.manifest["link_key"]
    for name in ("households.parquet", "links.parquet", "area_needs.parquet", "district_benchmarks.parquet"):
        assert rows(fresh.folder / name) == rows(run_first.folder / name), name


def test_link_key_changes_with_any_extract_or_setting():
    from pipelines.ingest.cache import link_key

    files = [{"kind": "benefits", "sha256": "a"}, {"kind": "council_tax", "sha256": "b"}]
    districts = [{"lad_code": ASH, "files": files},
                 {"lad_code": CANT, "files": [{"kind": "benefits", "sha256": "c"}]}]
    key = link_key(districts, {})
    assert link_key(list(reversed(districts)), {}) == key
    changed = [districts[0], {"lad_code": CANT, "files": [{"kind": "benefits", "sha256": "d"}]}]
    assert link_key(changed, {}) != key
    assert link_key(districts[:1], {}) != key
    assert link_key(districts, {"threshold": 0.9}) != key


def test_household_ids_are_stable_between_runs(run_first, run_again):
    def ids(run: Run) -> dict[tuple[str, str], str]:
        table = pq.read_table(run.folder / "households.parquet",
                              columns=["lad_code", "claim_ref", "household_id", "source"])
        return {(r["lad_code"], r["claim_ref"], r["source"]): r["household_id"] for r in table.to_pylist()}

    first = ids(run_first)
    assert sum(source != "uc" for _, _, source in first) == 69 + 69  # every valid claim: one household
    assert len(set(first.values())) == len(first)  # and each UC-only household one of its own
    assert ids(run_again) == first
    assert pq.read_table(run_again.folder / "households.parquet", columns=["run_id"]).column(0).unique().to_pylist() \
        == [run_again.run_id]


# ---------------------------------------------------------------------------------------------
# 3. reruns


def test_district_rerun_recomputes_only_that_district(run_again, run_district):
    manifest = run_district.manifest
    assert manifest["status"] == "complete" and manifest["districts_requested"] == [ASH]
    ashford, canterbury = district(manifest, ASH), district(manifest, CANT)
    assert "reused_from" not in ashford and ashford["cache"] == "hit" and ashford["files"]
    assert canterbury["reused_from"] == run_again.run_id
    assert canterbury["files"] == district(run_again.manifest, CANT)["files"]
    assert rows(run_district.folder / f"districts/{CANT}/households.parquet") == \
        rows(run_again.folder / f"districts/{CANT}/households.parquet")
    assert rows(run_district.folder / "households.parquet") == rows(run_again.folder / "households.parquet")


def test_from_stage_score_reuses_ingest_and_linkage(run_district, run_from_score):
    run, _ = run_from_score
    manifest = run.manifest
    assert manifest["status"] == "complete" and manifest["from_stage"] == "score"
    assert all(d["reused_from"] == run_district.run_id for d in manifest["districts"])
    assert manifest["linkage"]["reused_from"] == run_district.run_id
    assert "reused_from" not in manifest["scoring"]
    assert rows(run.folder / "links.parquet") == rows(run_district.folder / "links.parquet")
    assert rows(run.folder / "households.parquet") == rows(run_district.folder / "households.parquet")
    for name in ("households.parquet", "links.parquet", "district_benchmarks.parquet", "report.html",
                 "povertylink.duckdb", f"districts/{CANT}/households.parquet"):
        assert (run.folder / name).is_file(), name


def test_from_stage_benchmark_reuses_scoring(run_from_score, run_from_benchmark):
    previous, _ = run_from_score
    manifest = run_from_benchmark.manifest
    assert manifest["status"] == "complete" and manifest["from_stage"] == "benchmark"
    assert manifest["linkage"]["reused_from"] == previous.run_id
    assert manifest["scoring"]["reused_from"] == previous.run_id
    assert all(d["reused_from"] == previous.run_id for d in manifest["districts"])
    assert rows(run_from_benchmark.folder / "households.parquet") == rows(previous.folder / "households.parquet")
    benchmark_runs = pq.read_table(run_from_benchmark.folder / "district_benchmarks.parquet",
                                   columns=["run_id"]).column(0).unique().to_pylist()
    assert run_from_benchmark.run_id in benchmark_runs


def test_from_stage_with_no_previous_run_is_a_usage_error(landing, tmp_path):
    result = povertylink("run", "--input", str(landing), "--output", str(tmp_path / "empty"), "--as-of", AS_OF,
                         "--from-stage", "link")
    assert result.returncode == 2
    lines = error_lines(result.stderr)
    assert len(lines) == 1 and lines[0].startswith("povertylink: error: --from-stage link:"), result.stderr
    assert "no previous good run" in lines[0]
    assert not (tmp_path / "empty" / "current").exists()


def test_as_of_backdates_a_run(landing, tmp_path):
    out = tmp_path / "out"
    result = povertylink("run", "--input", str(landing), "--output", str(out), "--as-of", "2026-11-15", "--quiet")
    assert result.returncode == 1, result.stderr  # published, with Canterbury shown as missing
    run = published(out, result)
    assert run.manifest["completeness"]["districts"][1] == {
        "lad_code": CANT, "status": "missing", "reasons": ["no benefits extract dated on or before 2026-11-15",
                                                           "no council_tax extract dated on or before 2026-11-15"]}
    assert run.manifest["as_of"] == "2026-11-15" and run.run_id.endswith("-as-of-2026-11-15")
    assert sorted(f["file"] for f in district(run.manifest, ASH)["files"]) == \
        ["benefits_2026-11-10.csv", "council_tax_2026-11-10.csv"]
    canterbury = district(run.manifest, CANT)
    assert canterbury["files"] == [] and any("2026-11-15" in note for note in canterbury["notes"])
    _, claims = read_csv(landing / ASH / f"benefits_{AS_OF}.csv")
    later_only = {c["claim_ref"] for c in claims[-5:]}
    got = set(pq.read_table(run.folder / "households.parquet", columns=["claim_ref"]).column(0).to_pylist())
    assert got and not got & later_only
    as_of_dates = pq.read_table(run.folder / "households.parquet", columns=["as_of_date"]).column(0).unique()
    assert [str(d) for d in as_of_dates.to_pylist()] == ["2026-11-15"]


# ---------------------------------------------------------------------------------------------
# 5. failure: a district task that fails after its retries


def test_failed_district_exits_3_and_publishes_nothing(run_from_benchmark, run_failing, out):
    result = run_failing.result
    assert result is not None and result.returncode == 3, result and result.stderr
    assert (out / "current").resolve() == run_from_benchmark.folder  # the previous good run stays current
    assert not (out / "runs" / run_failing.run_id).exists()
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"povertylink: error: district {CANT} failed after retries:"), result.stderr
    assert "Traceback" not in result.stderr
    assert "RUN FAILED: nothing was published" in result.stdout and "FAILED:" in result.stdout


def test_failed_run_manifest_names_the_district(run_failing):
    manifest = run_failing.manifest
    assert manifest["status"] == "failed"
    assert "Input/output error" in district(manifest, CANT)["error"]
    assert "error" not in district(manifest, ASH) and district(manifest, ASH)["cache"] == "hit"
    assert any(e.startswith(f"district {CANT} failed after retries") for e in manifest["errors"])
    assert not (run_failing.folder / "households.parquet").exists()


def test_next_run_clears_the_failed_staging(run_failing, landing, out):
    result = povertylink("run", "--input", str(landing), "--output", str(out), "--as-of", AS_OF, "--quiet",
                         "--from-stage", "benchmark")
    assert result.returncode == 0, result.stderr
    assert not [p for p in (out / "runs").iterdir() if p.name.startswith(".staging-")]


# ---------------------------------------------------------------------------------------------
# 6. progress


def test_plain_progress_without_a_terminal(run_first, out):
    result = run_first.result
    assert result is not None
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and all(PROGRESS_LINE.match(line) for line in lines), result.stderr
    text = "\n".join(lines)
    assert "ingest: started (2 districts)" in text and f"{ASH} " in text
    assert f"published {run_first.run_id}" in text
    for stage in ("link", "score", "benchmark", "publish"):  # a line as each hub stage starts and ends
        assert f"povertylink {stage}: started" in text and f"povertylink {stage}: done" in text
    assert lines[0].split(" povertylink ", 1)[1].startswith("run: starting")  # before Prefect is up
    assert "Published to" in result.stdout  # the summary goes to stdout
    assert result.stdout.strip().splitlines()[-1] == f"Report: {out}/current/report.html"


def test_quiet_prints_only_the_summary(run_again):
    result = run_again.result
    assert result is not None
    assert result.stderr.strip() == ""
    assert "Published to" in result.stdout and "Data received" in result.stdout
    assert not [line for line in result.stdout.splitlines() if PROGRESS_LINE.match(line)]


def test_rich_progress_on_a_terminal(run_from_score):
    _, screen = run_from_score
    assert "ingest" in screen and all(stage in screen for stage in ("link", "score", "benchmark", "publish"))
    assert "Traceback" not in screen
    plain = [line for line in screen.splitlines() if PROGRESS_LINE.match(line)]
    assert [line.split(" povertylink ", 1)[1][:13] for line in plain] == ["run: starting"]  # then bars, not lines


# ---------------------------------------------------------------------------------------------
# 2. Dask: the district tasks and the linkage partitions on a local cluster give the same outputs


@pytest.mark.slow
def test_dask_runner_gives_the_same_outputs(landing, run_first, tmp_path):
    from distributed import LocalCluster

    out = tmp_path / "dask-out"
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    try:
        workers = set(cluster.scheduler_info["workers"])
        dask = ("--task-runner", "dask", "--dask-address", cluster.scheduler_address)
        result = povertylink("run", "--input", str(landing), "--output", str(out), "--as-of", AS_OF, "--quiet", *dask)
        assert result.returncode == 0, result.stderr
        run = published(out, result)
        # a rerun of the linkage on Dask: ingest reused, the partitions rebuilt from the reused extracts
        rerun = povertylink("run", "--input", str(landing), "--output", str(out), "--as-of", AS_OF, "--quiet",
                            "--from-stage", "link", *dask)
    finally:
        cluster.close(timeout=30)
    assert rerun.returncode == 0, rerun.stderr
    again = published(out, rerun)
    assert all(d["reused_from"] == run.run_id for d in again.manifest["districts"])
    assert len(again.manifest["linkage"]["partitions"]["tasks"]) == 4
    for name in ("households.parquet", "links.parquet"):
        assert rows(again.folder / name) == rows(run.folder / name), name
    assert run.manifest["task_runner"] == "dask"
    assert [d.get("cache") for d in run.manifest["districts"]] == ["miss", "miss"]  # computed on the workers
    # the linkage's pair work ran as partition tasks on the cluster's workers; the hub loaded their union
    parts = run.manifest["linkage"]["partitions"]
    assert parts["source"] == "partitions" and parts["districts"] == [ASH, CANT]
    assert sorted((t["kind"], t["lad_code"]) for t in parts["tasks"]) == \
        [("person_vectors", ASH), ("person_vectors", CANT), ("within", ASH), ("within", CANT)]
    assert parts["workers"] and set(parts["workers"]) <= workers, (parts["workers"], workers)
    assert {t["lad_code"]: t["pairs"] for t in parts["tasks"] if t["kind"] == "within"} == parts["within_pairs"]
    assert sum(parts["within_pairs"].values()) == run.manifest["linkage"]["candidate_pairs"] > 0
    assert parts["person_pairs"][CANT] == 0  # pairs are (x, y) with x's district < y's
    assert run_first.manifest["linkage"]["partitions"] == {"source": "hub"}  # the default runner: one DuckDB
    assert not (run.folder / "_partitions").exists()  # person records never published
    for name in ("households.parquet", "links.parquet", "district_benchmarks.parquet", "area_needs.parquet",
                 "quarantine.parquet"):
        assert rows(run.folder / name) == rows(run_first.folder / name), name


def test_second_run_on_the_same_output_is_refused(landing, tmp_path):
    out = tmp_path / "locked"
    out.mkdir()
    with (out / ".povertylink.lock").open("a+") as held:  # as a run in progress holds it
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = povertylink("run", "--input", str(landing), "--output", str(out), "--as-of", AS_OF)
    assert result.returncode == 2, result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 1 and "another povertylink run is writing there" in lines[0], result.stderr
    assert not (out / "current").exists() and not (out / "runs").exists()
