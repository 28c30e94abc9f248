"""Fault injection through the real command line: a run killed before each stage, a full disk, a
read-only output folder, and a landing file rewritten while it is read.

What must survive every fault (DESIGN.md "publish"): ``<out>/current`` keeps pointing at the
previous good run, whose files stay complete and byte-for-byte unchanged; the next normal run
cleans the leftovers and moves ``current``; and at no moment does ``current`` show anything but
a complete run. Errors end with one line on stderr, never a traceback.

Speed: one ``prefect server`` is started for the module and every CLI run talks to it, so a run
does not pay for Prefect's ephemeral server (about 10 s saved per process on 2 cores). If it
cannot start, the runs fall back to the ephemeral mode. The kill tests are a chain sharing one
output folder: each killed run must first clean the staging folder of the run killed before it.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from pipelines.ingest.district import LandingChanged, ingest_district
from pipelines.ingest.plan import plan_district, sha256_file
from tests.cli import AS_OF, CLI, ENV
from tests.rows import benefits_row, header, write_csv

KILL_STAGES = ("ingest", "load", "link", "score", "benchmark", "write", "report", "publish")
PUBLISHED = ("households.parquet", "links.parquet", "district_benchmarks.parquet", "area_needs.parquet",
             "quarantine.parquet", "manifest.json", "report.html", "povertylink.duckdb")
EXIT_STAGE_FAILED = 4
PREFECT_NOISE = re.compile(r"^\d\d:\d\d:\d\d\.\d+ \| (DEBUG|INFO|WARNING) +\| ")

_started: list[subprocess.Popen[str]] = []


def _kill(proc: subprocess.Popen[str]) -> None:
    """SIGKILL a process group we started (never anything else)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass


@pytest.fixture(scope="module", autouse=True)
def _reap() -> Iterator[None]:
    """Kill every process group this module started, even when a test failed."""
    yield
    while _started:
        _kill(_started.pop())


def _popen(args: list[str], env: dict[str, str], **kw: object) -> subprocess.Popen[str]:
    proc = subprocess.Popen(args, env=env, text=True, start_new_session=True, **kw)  # type: ignore[call-overload]
    _started.append(proc)
    return proc


# ----------------------------------------------------------------------------------------- helpers

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Iterator[dict[str, str]]:
    """The CLI's environment, pointed at a Prefect server started once for the module when possible."""
    home = tmp_path_factory.mktemp("prefect-home")
    base = ENV | {"PREFECT_HOME": str(home)}
    base.pop("PREFECT_API_URL", None)
    port = _free_port()
    prefect = Path(sys.executable).with_name("prefect")
    server = _popen([str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port)], base,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                break
        except OSError:
            time.sleep(0.5)
    else:
        _kill(server)
        yield base  # ephemeral Prefect in each run: slower, same behaviour
        return
    yield base | {"PREFECT_API_URL": url}
    _kill(server)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def povertylink(env: dict[str, str], *args: str, timeout: float = 300) -> Result:
    """Run the CLI to the end (in its own process group, killed on timeout)."""
    proc = _popen([*CLI, *args], env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        _kill(proc)
    return Result(proc.returncode, out, err)


def run_args(landing: Path, out: Path) -> list[str]:
    return ["run", "--input", str(landing), "--output", str(out), "--as-of", AS_OF, "--quiet"]


def start_paused(env: dict[str, str], landing: Path, out: Path, stage: str,
                 timeout: float = 180) -> subprocess.Popen[str]:
    """Start a run that pauses before ``stage``; return once it says so on stderr."""
    proc = _popen([*CLI, *run_args(landing, out)], env | {"POVERTYLINK_PAUSE_BEFORE": stage},
                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen: list[str] = []
    reached = threading.Event()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            seen.append(line)
            if f"povertylink failpoint: paused before {stage}" in line:
                reached.set()
        reached.set()  # EOF: the run ended without reaching the stage

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    proc.stderr_seen, proc.stderr_reader = seen, reader  # type: ignore[attr-defined]  # for a run let go on
    if not reached.wait(timeout) or proc.poll() is not None:
        _kill(proc)
        pytest.fail(f"the run never paused before {stage}:\n{''.join(seen)[-3000:]}")
    return proc


def target_of(out: Path) -> str:
    """The run id ``current`` points at (the link is ``runs/<id>``)."""
    return Path(os.readlink(out / "current")).name


def stagings(out: Path) -> list[str]:
    return sorted(p.name for p in (out / "runs").iterdir() if p.name.startswith(".staging-"))


def fingerprint(folder: Path) -> dict[str, str]:
    """sha256 of every file of a run folder, by relative path."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_complete(folder: Path) -> dict:
    """A published run: complete manifest, every Parquet readable, row counts as the manifest says."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "complete", folder
    for name in PUBLISHED:
        assert (folder / name).is_file(), f"{folder.name}: no {name}"
    for path in folder.rglob("*.parquet"):
        pq.read_table(path)
    for name, rows in manifest["published_rows"].items():
        assert pq.read_metadata(folder / name).num_rows == rows, name
    con = duckdb.connect(str(folder / "povertylink.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT COUNT(*) FROM households").fetchall() == [
            (manifest["published_rows"]["households.parquet"],)]
    finally:
        con.close()
    return manifest


class CurrentWatcher(threading.Thread):
    """Polls ``current`` every few ms; records every run it points at and whether that run was complete."""

    def __init__(self, out: Path) -> None:
        super().__init__(daemon=True)
        self.out, self.seen, self.problems = out, [], []
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                target = target_of(self.out)
                manifest = json.loads((self.out / "runs" / target / "manifest.json").read_text(encoding="utf-8"))
                pq.read_metadata(self.out / "runs" / target / "households.parquet")
                if manifest.get("status") != "complete":
                    self.problems.append(f"{target}: manifest status {manifest.get('status')}")
            except Exception as err:  # noqa: BLE001 - every failure to read current is a finding
                self.problems.append(f"{type(err).__name__}: {err}")
                target = "?"
            if not self.seen or self.seen[-1] != target:
                self.seen.append(target)
            time.sleep(0.005)

    def stop(self) -> list[str]:
        self._stop_event.set()
        self.join()
        return self.seen

    def __enter__(self) -> CurrentWatcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.is_alive():
            self.stop()


def assert_error_line(result: Result, *words: str) -> str:
    """One ``povertylink: error:`` line, the last on stderr, naming the problem; no traceback."""
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    # Prefect may log a shutdown warning of its own after ours (EventsWorker "Still processing
    # items"); tolerated here as noise, but nothing at ERROR level and nothing else
    lines = [ln for ln in result.stderr.splitlines() if ln.strip() and not PREFECT_NOISE.match(ln)]
    errors = [ln for ln in lines if ln.startswith("povertylink: error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr[-3000:]
    assert any(w in errors[0] for w in words), errors[0]
    return errors[0]


@contextmanager
def mounted(*mount_args: str, target: Path) -> Iterator[None]:
    """``mount ... target`` for the block, unmounted after (skip the test when mounting is impossible)."""
    done = subprocess.run(["mount", *mount_args, str(target)], capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount here ({done.stderr.strip()}): run as root with CAP_SYS_ADMIN")
    try:
        yield
    finally:
        if subprocess.run(["umount", str(target)], capture_output=True).returncode:
            subprocess.run(["umount", "-l", str(target)], capture_output=True)


# ----------------------------------------------------------------------------------- shared world

@dataclass
class World:
    landing: Path
    out: Path
    first: str
    first_files: dict[str, str]
    killed: list[str] = field(default_factory=list)  # staging folders left by killed runs, in order
    recovered: str | None = None


@pytest.fixture(scope="module")
def world(tmp_path_factory, env) -> World:
    """A small landing folder and one complete run published from it."""
    from pipelines.synthetic.generator import generate

    landing = tmp_path_factory.mktemp("landing")
    generate(landing, districts=2, households=400, seed=1, raw=False)
    out = tmp_path_factory.mktemp("out")
    result = povertylink(env, *run_args(landing, out))
    assert result.returncode == 0, result.stderr[-3000:]
    first = target_of(out)
    assert_complete(out / "runs" / first)
    return World(landing, out, first, fingerprint(out / "runs" / first))


# ------------------------------------------------------------------------------------- kill tests

@pytest.mark.slow
@pytest.mark.parametrize("stage", KILL_STAGES)
def test_kill_before_stage_leaves_previous_run_current(world, env, stage):
    out = world.out
    with CurrentWatcher(out) as watcher:
        proc = start_paused(env, world.landing, out, stage)
        try:
            # the paused run has already cleaned what the run killed before it left behind
            own = stagings(out)
            assert len(own) == 1 and own[0] not in world.killed, own
        finally:
            _kill(proc)
        seen = watcher.stop()
    assert proc.returncode == -signal.SIGKILL
    assert not watcher.problems, watcher.problems[:5]
    assert seen == [world.first], seen
    assert target_of(out) == world.first
    assert_complete(out / "runs" / world.first)
    assert fingerprint(out / "runs" / world.first) == world.first_files
    killed_id = own[0].removeprefix(".staging-")
    assert not (out / "runs" / killed_id).exists(), "a killed run was promoted"
    assert stagings(out) == own  # its staging folder is the only leftover
    world.killed.append(own[0])


@pytest.mark.slow
def test_normal_run_after_kills_cleans_up_and_current_is_never_half(world, env):
    out = world.out
    with CurrentWatcher(out) as watcher:
        result = povertylink(env, *run_args(world.landing, out))
        seen = watcher.stop()
    assert result.returncode == 0, result.stderr[-3000:]
    new = target_of(out)
    assert new != world.first
    assert not watcher.problems, watcher.problems[:5]
    assert seen in ([world.first, new], [new]), seen  # never anything in between, never back
    assert stagings(out) == []
    assert sorted(p.name for p in (out / "runs").iterdir()) == sorted([world.first, new])
    assert not list(out.glob(".current.*")), "a temporary link was left behind"
    manifest = assert_complete(out / "runs" / new)
    assert manifest["previous_run"] == world.first
    assert fingerprint(out / "runs" / world.first) == world.first_files
    world.recovered = new


# -------------------------------------------------------------------------- full disk, read-only

def _fill(disk: Path, free_kb: int) -> None:
    """Fill the file system at ``disk`` until ``free_kb`` KB are left (0: completely full)."""
    stat = os.statvfs(disk)
    filler = max(stat.f_bavail * stat.f_frsize - free_kb * 1024, 0)
    with (disk / "filler").open("wb", buffering=0) as handle:
        chunk = b"\0" * (1 << 20)
        while filler > 0:
            filler -= handle.write(chunk[: min(len(chunk), filler)])
        try:  # top up to a completely full disk for free_kb == 0
            while free_kb == 0:
                handle.write(b"\0" * 4096)
                handle.flush()
        except OSError:
            pass


@pytest.mark.slow
@pytest.mark.parametrize("free_kb", [
    pytest.param(100, id="fills-in-hub"),
    pytest.param(0, id="full-at-start"),
])
def test_full_disk_is_a_clear_error_and_current_survives(world, env, tmp_path, free_kb):
    """A disk with less room than the last run took is refused up front (exit 2, nothing run); one that
    fills while the run is in its hub stages (filled here while the run is paused before link) is exit 4."""
    disk = tmp_path / "disk"
    disk.mkdir()
    with mounted("-t", "tmpfs", "-o", "size=48m", "tmpfs", target=disk):
        out = disk / "out"
        shutil.copytree(world.out, out, symlinks=True)  # the published runs and the warm ingest cache
        before = target_of(out)
        files = fingerprint(out / "runs" / before)
        if free_kb == 0:
            _fill(disk, free_kb)
            result = povertylink(env, *run_args(world.landing, out))
            assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
            assert_error_line(result, "not enough disk space")
            assert stagings(out) == []
        else:
            resume = tmp_path / "resume"
            proc = start_paused(env | {"POVERTYLINK_RESUME_FILE": str(resume)}, world.landing, out, "link")
            _fill(disk, free_kb)
            resume.touch()
            try:
                proc.wait(timeout=300)
                proc.stderr_reader.join(30)
            finally:
                _kill(proc)
            result = Result(proc.returncode, "", "".join(proc.stderr_seen))
            assert result.returncode == EXIT_STAGE_FAILED, (result.returncode, result.stderr[-3000:])
            assert_error_line(result, "No space left on device")
        assert target_of(out) == before
        (disk / "filler").unlink()
        assert fingerprint(out / "runs" / before) == files
        assert_complete(out / "runs" / before)


@pytest.mark.slow
def test_read_only_output_is_a_clear_error_and_current_survives(world, env):
    out = world.out
    before = target_of(out)
    files = fingerprint(out / "runs" / before)
    with mounted("--bind", str(out), target=out):
        ro = subprocess.run(["mount", "-o", "remount,ro,bind", str(out)], capture_output=True, text=True)
        if ro.returncode:
            pytest.skip(f"cannot remount read-only: {ro.stderr.strip()}")
        result = povertylink(env, *run_args(world.landing, out))
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    assert_error_line(result, "not writable")
    assert stagings(out) == []
    assert target_of(out) == before
    assert fingerprint(out / "runs" / before) == files


# ---------------------------------------------------------------------- landing changed while read

class Appender(threading.Thread):
    """Appends one complete valid benefits row to a CSV every ``every`` seconds while running."""

    def __init__(self, path: Path, every: float = 0.01, start_when: Path | None = None,
                 window: float | None = None, limit: int = 500) -> None:
        super().__init__(daemon=True)
        self.path, self.every, self.start_when, self.window, self.limit = path, every, start_when, window, limit
        self.appended, self.attempts = 0, set()
        self._halt = threading.Event()
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            self.columns, self.template = list(reader.fieldnames or []), next(reader)

    def _line(self) -> bytes:
        buf = io.StringIO()
        csv.DictWriter(buf, self.columns, lineterminator="\n").writerow(
            self.template | {"claim_ref": f"APPENDED{self.appended:05d}"})
        return buf.getvalue().encode()

    def run(self) -> None:
        began: float | None = None if self.start_when is not None else time.monotonic()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            while not self._halt.is_set():
                if self.start_when is not None and self.start_when.is_dir():
                    self.attempts |= {p.name for p in self.start_when.iterdir() if ".building-" in p.name}
                    if began is None and self.attempts:
                        began = time.monotonic()
                if (began is not None and self.appended < self.limit
                        and (self.window is None or time.monotonic() - began < self.window)):
                    os.write(fd, self._line())  # one write per whole line: the file is valid between writes
                    self.appended += 1
                time.sleep(self.every)
        finally:
            os.close(fd)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def test_landing_file_growing_during_ingest_is_refused_not_half_read(tmp_path):
    folder = tmp_path / "landing" / "E07000105"
    path = write_csv(folder / "benefits_2026-11-20.csv",
                     [benefits_row(f"B{i:06d}") for i in range(2_000)], header("benefits"))
    plan = plan_district(folder, dt.date(2026, 11, 20))
    stage = tmp_path / "stage"
    appender = Appender(path)
    appender.start()
    try:
        with pytest.raises(LandingChanged, match="changed while it was being read"):
            ingest_district(plan, dt.date(2026, 11, 20), stage, check_tables=False)
    finally:
        appender.stop()
    assert appender.appended > 0
    assert not (stage / "validated" / "E07000105" / "benefits.parquet").exists(), "a half-read file was staged"


@pytest.mark.slow
def test_landing_file_changed_during_a_run_is_retried_and_read_whole(world, env, tmp_path):
    landing, out = tmp_path / "landing", tmp_path / "out"
    shutil.copytree(world.landing / "E07000105", landing / "E07000105")
    for name in ("epc.csv", "postcode_lookup.csv"):
        shutil.copy2(world.landing / name, landing / name)
    path = landing / "E07000105" / f"benefits_{AS_OF}.csv"
    # from the first ingest attempt (its build folder appears in the cache) append for 1 s; the
    # task's retry comes 2 s after the failed attempt and must see the file stable and whole
    appender = Appender(path, every=0.005, start_when=out / ".cache" / "ingest", window=1.0)
    appender.start()
    try:
        result = povertylink(env, *run_args(landing, out))
    finally:
        appender.stop()
    assert result.returncode == 0, result.stderr[-3000:]
    assert appender.appended > 0
    assert len(appender.attempts) >= 2, f"no retry seen: {appender.attempts}"
    manifest = assert_complete(out / "current")
    entry = next(f for d in manifest["districts"] for f in d["files"] if f["file"] == path.name)
    with path.open(encoding="utf-8") as handle:
        lines = sum(1 for _ in handle) - 1
    assert entry["sha256"] == sha256_file(path)
    assert entry["rows_read"] == lines == entry["rows_valid"]
    sources = pq.read_table(out / "current" / "districts" / "E07000105" / "households.parquet",
                            columns=["source"]).column(0).to_pylist()
    assert sum(source != "uc" for source in sources) == lines  # every claim a household (UC-only ones besides)


# ---------------------------------------------------------- leftovers of killed or failed attempts

def test_next_run_removes_every_leftover_of_a_killed_run(tmp_path):
    """What a kill can leave at each point of write/publish is removed; published runs are not."""
    from pipelines.publish import CURRENT, RUNS, clean_stale_staging

    out = tmp_path / "out"
    runs = out / RUNS
    good = runs / "20261120T020000000000Z-as-of-2026-11-19"
    good.mkdir(parents=True)
    (good / "manifest.json").write_text("{}")
    os.symlink(Path(RUNS) / good.name, out / CURRENT)
    staged = runs / ".staging-20261121T020000000000Z-as-of-2026-11-20"
    (staged / "validated").mkdir(parents=True)
    os.symlink(staged, runs / "20261121T020000000000Z-as-of-2026-11-20")  # an older release, killed
    os.symlink(Path(RUNS) / good.name, out / ".current.20261122T020000000000Z-as-of-2026-11-21.tmp")  # in promote
    removed = clean_stale_staging(out)
    assert len(removed) == 3, removed
    assert sorted(p.name for p in runs.iterdir()) == [good.name]
    assert sorted(p.name for p in out.iterdir()) == [CURRENT, RUNS]
    assert target_of(out) == good.name


def test_half_built_cache_entries_are_pruned(tmp_path):
    """A failed or killed ingest attempt leaves ``<key>.building-*``; the next run removes it, keeps the rest."""
    from pipelines.ingest.cache import CACHE_DIR, prune

    root = tmp_path / CACHE_DIR
    (root / "abc").mkdir(parents=True)
    (root / "abc" / "done.json").write_text("{}")
    (root / "def.building-123-456" / "validated").mkdir(parents=True)
    assert prune(tmp_path) == 1
    assert [p.name for p in root.iterdir()] == ["abc"]
