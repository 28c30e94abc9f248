"""Performance harness: Kent-scale synthetic data, each stage of ``run`` timed, a table printed.

    python -m perf.harness                       # 12 districts x 60,000 dwellings (Kent scale)
    python -m perf.harness --districts 3 --households 2000
    python -m perf.harness --end-to-end          # also time `povertylink run` through Prefect
    python -m perf.harness --peer                # also run the linkage bench (ours vs Splink)
    python -m perf.harness --scale 1,2 --cache /tmp/scale_data   # 1x and 2x Kent: scale table, England projection
    python -m perf.harness --generate-only --districts 1 --households 500000   # the generator alone, timed
    python -m perf.harness --without-uc          # scoring with / without the UC extracts (issue 17: <= 2x)

The data are generated once per (districts, households, seed) and cached in perf/.cache/. They hold
Universal Credit extracts at the caseload's real share (about one household in six on UC; see
pipelines/synthetic/universal_credit.py), as a county's landing folder would.
The run goes in this process, without Prefect (the same code as ``run``), so each stage is
measured alone: wall seconds, CPU seconds (all threads) and peak resident memory (sampled
every 20 ms). Targets live here, not in unit tests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from perf.score_ratio import best_of, capturing_score_inputs  # noqa: E402
from pipelines.ingest import gx_worker  # noqa: E402
from pipelines.lifeline import end_process  # noqa: E402
from pipelines.measure import StageTimer  # noqa: E402
from pipelines.run import RunRequest, run_local  # noqa: E402
from schemas.config import load_config  # noqa: E402

CACHE = Path(os.environ.get("POVERTYLINK_PERF_CACHE") or Path(__file__).resolve().parent / ".cache")
AS_OF = dt.date(2026, 11, 20)
TARGETS = {  # stage -> (wall seconds, peak MB) at Kent scale, from the issues
    "ingest": (20.0, 3072.0),
    "link": (30.0, 4096.0),
    "score": (5.0, None),
    "total": (60.0, 4096.0),
}


def landing_for(districts: int, households: int, seed: int, cache: Path | None = None) -> Path:
    """The cached synthetic landing folder (under ``cache``, default :data:`CACHE`), generated on first use
    by :func:`generate_measured`."""
    folder = (cache or CACHE) / f"landing-{districts}x{households}-s{seed}-uc"  # '-uc': with UC extracts
    if not (folder / "_truth").is_dir():
        shutil.rmtree(folder, ignore_errors=True)
        figures = generate_measured(folder, districts, households, seed)
        print(f"generated {folder.name}: {figures['wall_s']:.1f} s wall, {figures['cpu_s']:.1f} s CPU, "
              f"peak {figures['peak_rss_mb']:.0f} MB (load {figures['load']})", flush=True)
    return folder


def load_average() -> str:
    """The machine's 1-, 5- and 15-minute load averages (2 cores: above ~2 the machine is busy)."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def generate_measured(folder: Path, districts: int, households: int, seed: int) -> dict[str, float | str]:
    """Run ``povertylink sample`` in a child process (pseudonymised, as the harness uses it) into ``folder``;
    its wall and CPU seconds and peak resident memory (the child's own, from ``wait4``), and the load
    average at the end. Writes the figures to ``folder/_truth/generator.json``."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "sample", "--out", str(folder), "--districts",
                              str(districts), "--households", str(households), "--seed", str(seed)],
                             stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"povertylink sample failed ({child.returncode})")
    figures: dict[str, float | str] = {
        "districts": districts, "households": households, "wall_s": round(time.perf_counter() - start, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "load": load_average()}
    (folder / "_truth" / "generator.json").write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return figures


def run_stages(landing: Path, output: Path, as_of: dt.date = AS_OF, districts: tuple[str, ...] = (),
               config: Path | None = None) -> StageTimer:
    """A whole run in this process (:func:`pipelines.run.run_local`, no Prefect), each stage measured;
    publishes into ``output``. The GX worker process's CPU is counted with the ingest stage's CPU, its
    peak memory added to the stage's peak."""
    before = gx_worker.usage.cpu_s
    outcome = run_local(RunRequest(landing, output, as_of, districts, config))
    if outcome.published is None:
        raise SystemExit(f"the run failed: {'; '.join(outcome.errors)}")
    timer = StageTimer()
    for name, figures in outcome.manifest["timings"].items():
        if name != "total":
            timer.stages[name] = dict(figures)
    timer.stages["ingest"]["cpu_s"] += round(gx_worker.usage.cpu_s - before, 3)
    timer.stages["ingest"]["peak_rss_mb"] += round(gx_worker.usage.peak_rss_mb, 1)
    return timer


def print_table(title: str, timer: StageTimer, targets: dict[str, tuple[float, float | None]] | None = None) -> None:
    """A fixed-width table of the stages' figures, with targets where given."""
    print(f"\n{title}")
    print(f"  {'stage':<12}{'wall s':>9}{'cpu s':>9}{'peak MB':>10}  target")
    total_wall = sum(m["wall_s"] for m in timer.stages.values())
    peak = max((m["peak_rss_mb"] for m in timer.stages.values()), default=0.0)
    rows = list(timer.stages.items()) + [("total", {"wall_s": total_wall, "cpu_s": sum(
        m["cpu_s"] for m in timer.stages.values()), "peak_rss_mb": peak})]
    for name, m in rows:
        target = ""
        if targets and name in targets:
            wall, mem = targets[name]
            ok = m["wall_s"] <= wall and (mem is None or m["peak_rss_mb"] <= mem)
            target = f"< {wall:g} s" + (f", < {mem:g} MB" if mem else "") + ("  ok" if ok else "  MISSED")
        print(f"  {name:<12}{m['wall_s']:>9.2f}{m['cpu_s']:>9.2f}{m['peak_rss_mb']:>10.0f}  {target}")


def high_water_mb(pid: int | str = "self") -> float:
    """Peak resident MB of process ``pid`` so far (``VmHWM``: its own, since its last exec; 0 when gone).

    Not ``ru_maxrss``: Linux carries a forked child's high-water mark across ``exec``, so a run started
    from this (large) process would report this process's peak as its own."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def measured_run(landing: Path, output: Path, extra: list[str] | None = None,
                 env: dict[str, str] | None = None) -> tuple[float, float]:
    """``povertylink run`` as a user runs it (Prefect start-up included): wall seconds, and the peak resident
    MB of the run's own process (the hub; read from ``/proc`` every 0.2 s until it ends)."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", "--input", str(landing), "--output",
                              str(output), "--as-of", AS_OF.isoformat(), *(extra or [])],
                             stdout=subprocess.DEVNULL, env=env)
    peak = 0.0
    while child.poll() is None:
        peak = max(peak, high_water_mb(child.pid))
        time.sleep(0.2)
    return time.perf_counter() - start, peak


def end_to_end(landing: Path, output: Path, extra: list[str] | None = None,
               env: dict[str, str] | None = None) -> float:
    """Wall seconds of ``povertylink run`` as a user runs it (Prefect start-up included)."""
    return measured_run(landing, output, extra, env)[0]


@contextmanager
def prefect_server(home: Path, port: int = 4299) -> Iterator[dict[str, str]]:
    """A self-hosted Prefect server on loopback for the measurement (as the nightly service runs);
    yields the environment that points ``povertylink run`` at it, and stops it afterwards."""
    env = os.environ | {"PREFECT_HOME": str(home), "PREFECT_API_URL": f"http://127.0.0.1:{port}/api"}
    server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port",
                               str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2):
                    break
            except OSError:
                time.sleep(1)
        yield env
    finally:
        end_process(server, grace_s=30)


def dask_end_to_end(landing: Path, output: Path, threaded: Path | None = None) -> float:
    """Wall seconds of ``povertylink run`` on a local Dask cluster of two worker processes (started
    beforehand, not timed); prints the figure with the hub's and the workers' peak memory, and whether its
    outputs equal the threaded run's in ``threaded`` (a published output folder), by :mod:`perf.compare_runs`."""
    from distributed import Client, LocalCluster

    from perf.compare_runs import compare

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        wall, hub = measured_run(landing, output, ["--task-runner", "dask", "--dask-address",
                                                   cluster.scheduler_address])
        peaks = client.run(high_water_mb)
    manifest = json.loads((output / "current" / "manifest.json").read_text(encoding="utf-8"))
    stages = ", ".join(f"{name} {m['wall_s']:.1f} s" for name, m in manifest["timings"].items() if "wall_s" in m)
    print(f"  povertylink run --task-runner dask (LocalCluster, 2 workers x 1 thread): {wall:.1f} s wall; "
          f"hub's peak {hub:.0f} MB, workers' peak {max(peaks.values()):.0f} MB; {stages}")
    if threaded is not None:
        differ = compare((threaded / "current").resolve(), (output / "current").resolve())
        shown = f"{len(differ)} file(s) differ: {'; '.join(differ[:5])}" if differ else "identical (perf.compare_runs)"
        print(f"  outputs of the Dask run and the threaded run: {shown}")
    return wall


def linked_copy(landing: Path, into: Path, keep: Callable[[Path], bool]) -> Path:
    """A copy of the files of ``landing`` that ``keep`` accepts (path relative to ``landing``), as hard links
    where the filesystem allows (ingest refuses symbolic links that leave the landing folder)."""
    for path in sorted(landing.rglob("*")):
        if path.is_file() and keep(path.relative_to(landing)):
            target = into / path.relative_to(landing)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, target)
            except OSError:  # another filesystem: copy
                shutil.copy2(path, target)
    return into


def first_districts(landing: Path, n: int, into: Path) -> Path:
    """A landing folder of ``landing``'s first ``n`` districts (and the county files; :func:`linked_copy`)."""
    chosen = {p.name for p in sorted(p for p in landing.iterdir() if p.is_dir() and not p.name.startswith("_"))[:n]}
    return linked_copy(landing, into, lambda rel: len(rel.parts) == 1 or rel.parts[0] in chosen)


def dask_hub_memory(landing: Path, counts: list[int], tmp: Path) -> list[tuple[int, float, float]]:
    """The hub's peak resident MB under the Dask run, against the number of districts (the first n of
    ``landing``, fresh output each): (districts, wall s, hub peak MB) per count, printed as they come."""
    from distributed import LocalCluster

    rows: list[tuple[int, float, float]] = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        for n in counts:
            subset = first_districts(landing, n, tmp / f"first-{n}")
            wall, hub = measured_run(subset, tmp / f"dask-{n}", ["--task-runner", "dask", "--dask-address",
                                                                 cluster.scheduler_address])
            print(f"  Dask run, first {n} districts: {wall:.1f} s wall, hub's peak {hub:.0f} MB", flush=True)
            rows.append((n, round(wall, 1), round(hub)))
    return rows


def run_stages_capturing(landing: Path, output: Path, capture: Path, districts: tuple[str, ...] = (),
                         config: Path | None = None) -> StageTimer:
    """:func:`run_stages`, the hub's tables copied into ``capture`` as the score stage starts (for
    :mod:`perf.score_ratio`); the copy's seconds are taken off the score stage's figures."""
    spent: dict[str, float] = {}
    with capturing_score_inputs(capture, spent):
        timer = run_stages(landing, output, districts=districts, config=config)
    score = timer.stages["score"]
    score["wall_s"], score["cpu_s"] = (round(score["wall_s"] - spent["wall_s"], 3),
                                       round(score["cpu_s"] - spent["cpu_s"], 3))
    return timer


def without_uc(landing: Path, work: Path, with_uc: StageTimer, with_uc_capture: Path, districts: tuple[str, ...] = (),
               config: Path | None = None, repeats: int = 3) -> dict[str, object]:
    """Run ``landing`` again with its Universal Credit extracts hidden (a copy of the folder, hard links where
    the filesystem allows, without ``*/universal_credit_*.csv``) and print the score stage with and without them
    (issue 17's target: scoring with UC at most 2x without; CPU seconds are the figure on a shared machine):
    each run's own stage, then the best of ``repeats`` runs of the stage on each run's captured inputs, in turn
    (:mod:`perf.score_ratio`), which is what the target is judged on."""
    hidden = linked_copy(landing, work / "landing-without-uc", lambda rel: not rel.name.startswith("universal_credit_"))
    load = load_average()
    plain_capture = work / "score-without-uc.duckdb"
    timer = run_stages_capturing(hidden, work / "out-without-uc", plain_capture, districts, config)
    uc, plain = with_uc.stages["score"], timer.stages["score"]
    best = best_of({"with UC": with_uc_capture, "without UC": plain_capture}, AS_OF, load_config(config), repeats)
    ratio = {"wall": uc["wall_s"] / max(plain["wall_s"], 1e-9), "cpu": uc["cpu_s"] / max(plain["cpu_s"], 1e-9)}
    best_ratio = {unit: best["with UC"][f"best_{unit}_s"] / max(best["without UC"][f"best_{unit}_s"], 1e-9)
                  for unit in ("wall", "cpu")}
    print(f"\nscore stage with / without Universal Credit extracts (target: at most 2x; load {load} -> "
          f"{load_average()})")
    for label, m in (("with UC", uc), ("without UC", plain)):
        print(f"  {label:<12}{m['wall_s']:>9.2f} s wall{m['cpu_s']:>9.2f} s CPU   (in the run)")
    print(f"  {'ratio':<12}{ratio['wall']:>9.2f}x wall{ratio['cpu']:>8.2f}x CPU   (in the run)")
    for label, m in best.items():
        print(f"  {label:<12}{m['best_wall_s']:>9.2f} s wall{m['best_cpu_s']:>9.2f} s CPU   "
              f"(best of {repeats} on the run's inputs; CPU {', '.join(f'{c:.2f}' for c in m['cpu_s'])})")
    print(f"  {'ratio':<12}{best_ratio['wall']:>9.2f}x wall{best_ratio['cpu']:>8.2f}x CPU"
          f"  {'ok' if best_ratio['cpu'] <= 2 else 'MISSED'} (CPU, best of {repeats})")
    return {"score_wall_ratio": round(ratio["wall"], 2), "score_cpu_ratio": round(ratio["cpu"], 2),
            "score_without_uc": dict(plain), "repeated": best,
            "best_wall_ratio": round(best_ratio["wall"], 2), "best_cpu_ratio": round(best_ratio["cpu"], 2)}


ENGLAND_DWELLINGS = 25_000_000  # about 25 million dwellings in about 300 districts
ENGLAND_DISTRICTS = 296
LARGEST_DISTRICT = 480_000  # Birmingham, about 480,000 dwellings: the district that sets the memory
PARALLEL_STAGES = ("ingest", "partition")  # per-district steps: spread over Dask workers
KENT = (12, 60_000)


def scale_rows(multiples: list[int], cache: Path | None, seed: int) -> list[dict[str, object]]:
    """Each multiple m of Kent (12 districts x 60,000 m dwellings) generated (once, cached) and run in a
    child harness of its own (so each peak is its own); one row of figures per multiple."""
    rows: list[dict[str, object]] = []
    for m in multiples:
        districts, households = KENT[0], KENT[1] * m
        landing = landing_for(districts, households, seed, cache)
        with tempfile.TemporaryDirectory(prefix="povertylink-scale-") as tmp:
            out = Path(tmp) / "figures.json"
            before = load_average()
            start = time.perf_counter()
            child = subprocess.Popen([sys.executable, "-m", "perf.harness", "--districts", str(districts),
                                      "--households", str(households), "--seed", str(seed), "--json", str(out),
                                      *(["--cache", str(cache)] if cache else [])], stdout=subprocess.DEVNULL)
            _, status, usage = os.wait4(child.pid, 0)
            failed = bool(os.waitstatus_to_exitcode(status))  # its reason is on stderr; the other multiples go on
            stages = {} if failed else json.loads(out.read_text(encoding="utf-8"))["stages"]
        generator = json.loads((landing / "_truth" / "generator.json").read_text(encoding="utf-8"))
        rows.append({"multiple": m, "districts": districts, "dwellings": districts * households,
                     "wall_s": round(time.perf_counter() - start, 1),
                     "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
                     "peak_rss_mb": round(usage.ru_maxrss / 1024), "stages": stages, "generator": generator,
                     "load_before": before, "load_after": load_average(), "failed": failed})
    return rows


def print_scale_table(rows: list[dict[str, object]]) -> None:
    """The scale table: whole run (wall, CPU, peak of the process) and each stage's wall and peak."""
    print("\nscale (each run a child process: its own peak; load = 1-, 5-, 15-minute averages, 2 cores)")
    print(f"  {'data':<22}{'wall s':>8}{'cpu s':>8}{'peak MB':>9}  stages (wall s / peak MB)   load before -> after")
    for r in rows:
        stages = r["stages"]
        assert isinstance(stages, dict)
        detail = ", ".join(f"{n} {m['wall_s']:.0f}/{m['peak_rss_mb']:.0f}" for n, m in stages.items()) \
            if not r.get("failed") else "FAILED (its error is printed above)"
        print(f"  {r['multiple']}x Kent {r['dwellings']:>11,}{r['wall_s']:>8}{r['cpu_s']:>8}{r['peak_rss_mb']:>9}  "
              f"{detail}   {r['load_before']} -> {r['load_after']}")


def projection(row: dict[str, object], workers: int = 8) -> list[str]:
    """England from one measured scale, with the arithmetic: CPU grows with dwellings (linear, the
    measured growth is a little slower); memory follows the largest district (the hub works district by
    district), so it is the measured peak scaled by largest district / measured district; on a Dask
    cluster the per-district stages divide by the workers, the hub's cross-district stages do not."""
    stages = row["stages"]
    assert isinstance(stages, dict)
    dwellings, districts = int(str(row["dwellings"])), int(str(row["districts"]))
    factor = ENGLAND_DWELLINGS / dwellings
    cpu = sum(m["cpu_s"] for m in stages.values())
    wall = sum(m["wall_s"] for m in stages.values())
    parallel = sum(m["wall_s"] for n, m in stages.items() if n in PARALLEL_STAGES)
    serial = wall - parallel
    district = dwellings / districts
    peak = int(str(row["peak_rss_mb"]))
    return [
        f"England ~{ENGLAND_DWELLINGS:,} dwellings in ~{ENGLAND_DISTRICTS} districts, from {row['multiple']}x Kent "
        f"({dwellings:,} dwellings, {districts} districts):",
        f"  one machine like this one: wall {wall:.0f} s x {factor:.1f} = {wall * factor / 60:.0f} min "
        f"(CPU {cpu:.0f} s x {factor:.1f} = {cpu * factor / 60:.0f} CPU-min on 2 cores)",
        f"  memory: the largest district ~{LARGEST_DISTRICT:,} dwellings vs {district:,.0f} here: peak {peak} MB "
        f"scales at most x {LARGEST_DISTRICT / district:.1f} = {peak * LARGEST_DISTRICT / district / 1024:.1f} GB, "
        f"capped by [resources] memory_limit (DuckDB spills beyond it) plus ~0.5 GB of Python",
        f"  Dask, {workers} workers of 2 cores: per-district stages {parallel:.0f} s x {factor:.1f} / {workers} + hub "
        f"{serial:.0f} s x {factor:.1f} = {(parallel * factor / workers + serial * factor) / 60:.0f} min "
        f"(the hub's share: cross-district person links, EM, scoring, writing)",
    ]


def main(argv: list[str] | None = None) -> None:
    """Command-line entry: generate or reuse data, run and print the stage table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--districts", type=int, default=12)
    parser.add_argument("--households", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--end-to-end", action="store_true", help="also time `povertylink run` through Prefect")
    parser.add_argument("--rerun", action="store_true",
                        help="also time a rerun of one unchanged district after the end-to-end run (implies it)")
    parser.add_argument("--server", action="store_true",
                        help="run the end-to-end and rerun timings against a self-hosted Prefect server on loopback "
                             "(as the nightly service does) instead of Prefect's temporary one")
    parser.add_argument("--dask", action="store_true",
                        help="also time `povertylink run --task-runner dask` on a LocalCluster of two worker "
                             "processes (one thread each) on this machine, fresh output folder")
    parser.add_argument("--dask-districts", type=str, default=None,
                        help="comma-separated district counts, e.g. 3,6,12: the hub's peak memory under a Dask run "
                             "of the first n districts (does it grow with the number of districts?)")
    parser.add_argument("--peer", action="store_true", help="also run the linkage bench against Splink")
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    parser.add_argument("--cache", type=Path, default=None,
                        help="where generated landing folders are kept (default perf/.cache, or "
                             "$POVERTYLINK_PERF_CACHE): big ones belong outside the checkout")
    parser.add_argument("--generate-only", action="store_true",
                        help="only generate the landing folder (timed: wall, CPU, peak memory) and stop")
    parser.add_argument("--without-uc", action="store_true",
                        help="also run the same landing folder with its Universal Credit extracts hidden and print "
                             "the score stage's ratio with / without them (issue 17: at most 2x)")
    parser.add_argument("--score-repeats", type=int, default=3,
                        help="with --without-uc: runs of the score stage on each run's captured inputs (best kept)")
    parser.add_argument("--config", type=Path, default=None,
                        help="the run's config file (e.g. [resources] memory_limit), as `run --config`")
    parser.add_argument("--first", type=int, default=0,
                        help="run only the first N districts of the landing folder (memory against the number "
                             "of districts at a fixed district size)")
    parser.add_argument("--scale", type=str, default=None,
                        help="comma-separated multiples of Kent (12 districts x 60,000 m dwellings), e.g. 1,2,4: "
                             "each generated once and run in a child process; prints the scale table and the "
                             "projection to England")
    args = parser.parse_args(argv)
    if args.scale:
        rows = scale_rows([int(m) for m in args.scale.split(",")], args.cache, args.seed)
        print_scale_table(rows)
        done = [r for r in rows if not r.get("failed")]
        if done:
            print("\n".join(projection(done[-1])))
        if args.json:
            args.json.write_text(json.dumps(rows, indent=2))
        return
    landing = landing_for(args.districts, args.households, args.seed, args.cache)
    if args.generate_only:
        print((landing / "_truth" / "generator.json").read_text(encoding="utf-8"))
        return
    kent = args.districts == 12 and args.households >= 60_000
    with tempfile.TemporaryDirectory(prefix="povertylink-perf-") as tmp:
        chosen = tuple(sorted(p.name for p in landing.iterdir() if p.is_dir() and not p.name.startswith("_"))
                       [:args.first]) if args.first else ()
        if args.without_uc:  # the score stage's inputs kept, to be scored again beside those without UC
            with_uc_capture = Path(tmp) / "score-with-uc.duckdb"
            timer = run_stages_capturing(landing, Path(tmp) / "out", with_uc_capture, chosen, args.config)
        else:
            timer = run_stages(landing, Path(tmp) / "out", districts=chosen, config=args.config)
        print_table(f"stages of `run`, {len(chosen) or args.districts} districts x {args.households:,} dwellings "
                    f"({os.cpu_count()} cores)", timer, TARGETS if kent else None)
        figures: dict[str, object] = {"stages": timer.stages}
        if args.without_uc:
            figures["without_uc"] = without_uc(landing, Path(tmp), timer, with_uc_capture, chosen, args.config,
                                               args.score_repeats)
        if args.end_to_end or args.rerun:
            with prefect_server(Path(tmp) / "prefect") if args.server else nullcontext(None) as env:
                where = "self-hosted Prefect server" if args.server else "Prefect's temporary server"
                wall = end_to_end(landing, Path(tmp) / "e2e", env=env)
                print(f"\n  povertylink run (end to end, {where}): {wall:.1f} s wall")
                figures["end_to_end_s"] = round(wall, 2)
                if args.rerun:  # the ingest cache is warm: the district's unchanged files are not validated again
                    lad = sorted(p.name for p in landing.iterdir() if p.is_dir() and not p.name.startswith("_"))[0]
                    again = end_to_end(landing, Path(tmp) / "e2e", ["--district", lad], env=env)
                    print(f"  povertylink run --district {lad} (unchanged, cache warm): {again:.1f} s wall, "
                          f"{again / wall:.2f} of the full run (target < 0.33)")
                    figures["rerun_one_district_s"] = round(again, 2)
        if args.dask:
            figures["dask_end_to_end_s"] = round(dask_end_to_end(landing, Path(tmp) / "dask", Path(tmp) / "out"), 2)
        if args.dask_districts:
            figures["dask_hub_memory"] = dask_hub_memory(
                landing, [int(n) for n in args.dask_districts.split(",")], Path(tmp) / "by-districts")
    if args.peer:
        from perf.linkage_bench import main as bench_main

        bench_main(["--districts", str(args.districts), "--households", str(args.households)])
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
