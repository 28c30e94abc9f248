"""report.html: rendered from real tables, opened in a real headless Chromium (DevTools
protocol over a websocket): no console errors, no network requests, a screenshot saved."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from websockets.sync.client import connect

from benchmarks.build import TABLES, build_benchmarks
from benchmarks.output_tables import create_from_model
from benchmarks.report import write_report
from pipelines.lifeline import end_process
from schemas.outputs import QuarantineRow
from tests.benchmarks.households import kent_households, publish_run
from tests.benchmarks.test_benchmarks import D1, D2, A, B, first_run, second_run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOT_COPY = Path("/tmp/report_screenshot.png")


def two_runs(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """Benchmarks of two hand-built runs, quarantine rows, and links, on one connection."""
    first_run(con)
    build_benchmarks(con, "r1", D1, None)
    run1 = publish_run(con, tmp_path / "runs" / "r1", (*TABLES, "households"))
    second_run(con)
    build_benchmarks(con, "r2", D2, run1)
    extras(con)


def kent_runs(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """Three monthly runs of synthetic households in all 12 Kent districts, then the extras."""
    previous = None
    for run, day in enumerate((dt.date(2026, 9, 20), dt.date(2026, 10, 20), dt.date(2026, 11, 20))):
        kent_households(con, run, f"2026-{9 + run:02d}-20T02")
        build_benchmarks(con, f"2026-{9 + run:02d}-20T02", day, previous)
        previous = publish_run(con, tmp_path / "runs" / str(run), (*TABLES, "households"))
    extras(con)


def extras(con: duckdb.DuckDBPyConnection) -> None:
    """Quarantine rows, a benefits caseload and accepted links."""
    create_from_model(con, "quarantine", QuarantineRow)
    con.execute(f"INSERT INTO quarantine VALUES "
                f"('{A}', 'benefits', 'benefits_2026-11-20.csv', 7, 'postcode', 'not a UK postcode'),"
                f" ('{A}', 'benefits', 'benefits_2026-11-20.csv', 9, 'postcode', 'not a UK postcode'),"
                f" ('{B}', 'council_tax', 'council_tax_2026-11-20.csv', 3, 'band', 'not one of A..H'),"
                f" ('county', 'postcode_lookup', 'postcode_lookup.csv', 12, 'lsoa21cd', 'required')")
    con.execute("CREATE TABLE benefits AS SELECT lad_code, claim_ref FROM households")
    con.execute("CREATE TABLE links AS SELECT lad_code, claim_ref, 'A' || claim_ref AS account_ref, "
                "CASE WHEN hash(claim_ref) % 3 = 0 THEN 'probabilistic' ELSE 'uprn' END AS method, "
                "0.99 AS match_probability FROM households WHERE hash(claim_ref) % 7 <> 0")


MANIFEST = {"run_id": "r2", "as_of": "2026-11-20", "tax_year": "2026/27",
            "linkage": {"links": 109, "candidate_pairs": 3737, "em_iterations": 12, "threshold": 0.9,
                        "cross_district": {"by_nino": 5, "claims_in_other_districts": 16},
                        "match_weight_histogram": {"candidates": [{"pairs": 170}]}}}


def test_report_html_is_self_contained_and_shows_suppression(tmp_path: Path) -> None:
    con = duckdb.connect()
    two_runs(con, tmp_path)
    out = tmp_path / "report.html"
    write_report(con, MANIFEST, out)
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html and "<link" not in html
    assert "Folkestone and Hythe" in html and "Canterbury" in html
    assert "[c]" in html and "suppressed" in html
    assert "£19,000" in html  # county Pension Credit now received (£18,720) and unclaimed (£19,072), to £1,000
    assert "£18,720" not in html and "£19,072" not in html
    assert "not a UK postcode" in html and "Kent (county files)" in html
    assert html.count("<svg") >= 8
    assert "cross district · by nino" in html and "em iterations" in html
    quality, appendix = html[html.index('id="quality"'):html.index('id="notes"')], html[html.index('id="appendix"'):]
    assert "em iterations" in appendix and "em iterations" not in quality  # internals apart from what people read
    assert "per household" not in html and "each)" not in html  # no £ divided by a rounded count
    assert "Why are these figures rounded?" in html
    row = re.search(r"cross district · by nino</dt><dd>([^<]*)<", html)
    assert row and row.group(1) == "[c]"  # 5 claims across districts: suppressed
    for claim in con.execute("SELECT claim_ref FROM households LIMIT 20").fetchall():
        assert claim[0] not in html  # no row-level identifiers


def test_report_reads_link_rates_from_the_manifest(tmp_path: Path) -> None:
    con = duckdb.connect()
    first_run(con)
    build_benchmarks(con, "r1", D1, None)
    linkage = {"districts": [{"lad_code": A, "claims": 50, "linked_uprn": 30, "linked_probabilistic": 15,
                              "unlinked": 5, "link_rate": 0.9}]}
    out = tmp_path / "report.html"
    write_report(con, {"run_id": "r1", "linkage": linkage}, out)
    html = out.read_text(encoding="utf-8")
    assert "by probabilistic" in html and "by uprn" in html
    assert "<td>90%</td>" in html and "<td>67%</td>" in html and "<td>33%</td>" in html  # 45 of 50; 30 and 15 of 45


def test_report_tolerates_a_first_run_with_no_extras(tmp_path: Path) -> None:
    con = duckdb.connect()
    first_run(con)
    build_benchmarks(con, "r1", D1, None)
    out = tmp_path / "report.html"
    write_report(con, {"run_id": "r1", "history": {"runs_kept": 8}}, out)
    html = out.read_text(encoding="utf-8")
    assert "Trends need runs as of at least two different dates" in html
    assert "Runs kept: 8, all as of" in html  # eight runs on disk, one date in the history
    assert "No linkage figures" in html and "Every input row passed validation" in html


class DevTools:
    """A minimal Chrome DevTools Protocol client over one flattened session."""

    def __init__(self, url: str) -> None:
        self.ws = connect(url, max_size=64 * 2**20, open_timeout=20)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None

    def call(self, method: str, timeout: float = 30, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if self.session:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            reply = json.loads(self.ws.recv(timeout=max(deadline - time.monotonic(), 0.1)))
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            self.events.append(json.loads(self.ws.recv(timeout=max(deadline - time.monotonic(), 0.1))))

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.events.append(json.loads(self.ws.recv(timeout=max(deadline - time.monotonic(), 0.05))))
            except TimeoutError:
                break


def render_in_chromium(page: Path, profile: Path, screenshot: Path, height: int = 2400, width: int = 1400,
                       probe: str | None = None, probed: dict[str, Any] | None = None) -> list[str]:
    """Open ``page`` in headless Chromium, save a ``width`` x ``height`` screenshot, return problems seen
    (console errors, exceptions, failed loads, any request that is not file: or data:). ``probe``: a
    JavaScript expression evaluated in the page once loaded; its JSON value goes to ``probed["probe"]``."""
    assert CHROMIUM
    process = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--remote-debugging-port=0",
         f"--window-size={width},{height}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        url = None
        deadline = time.monotonic() + 60
        assert process.stderr is not None
        while url is None and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line and process.poll() is not None:
                break
            found = re.search(r"DevTools listening on (ws://\S+)", line)
            url = found.group(1) if found else None
        assert url, "Chromium did not start its DevTools endpoint"
        tools = DevTools(url)
        target = tools.call("Target.createTarget", url="about:blank")["targetId"]
        tools.session = tools.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            tools.call(f"{domain}.enable")
        tools.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                   mobile=width < 600)
        tools.events.clear()
        tools.call("Page.navigate", url=page.as_uri())
        tools.wait_for("Page.loadEventFired")
        tools.drain(0.5)
        if probe is not None and probed is not None:
            result = tools.call("Runtime.evaluate", expression=f"JSON.stringify({probe})", returnByValue=True)
            probed["probe"] = json.loads(result["result"]["value"])
        shot = tools.call("Page.captureScreenshot", format="png")
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        problems = []
        for event in tools.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                problems.append(f"console: {params.get('args')}")
            elif method == "Runtime.exceptionThrown":
                problems.append(f"exception: {params.get('exceptionDetails', {}).get('text')}")
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                problems.append(f"log: {params['entry'].get('text')}")
            elif method == "Network.requestWillBeSent":
                requested = params.get("request", {}).get("url", "")
                if not requested.startswith(("file:", "data:", "about:")):
                    problems.append(f"network: {requested}")
            elif method == "Network.loadingFailed":
                problems.append(f"failed load: {params.get('errorText')}")
        tools.ws.close()
        return problems
    finally:
        end_process(process, grace_s=10)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; `make chromium`)")
def test_report_renders_in_chromium_without_errors(tmp_path: Path) -> None:
    con = duckdb.connect()
    kent_runs(con, tmp_path)
    page = tmp_path / "report.html"
    write_report(con, {**MANIFEST, "run_id": "2026-11-20T02"}, page)
    assert "Tunbridge Wells" in page.read_text(encoding="utf-8")
    screenshot = tmp_path / "report_screenshot.png"
    problems = render_in_chromium(page, tmp_path / "profile", screenshot)
    assert problems == []
    data = screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000
    if os.access(SCREENSHOT_COPY.parent, os.W_OK):
        shutil.copyfile(screenshot, SCREENSHOT_COPY)


# Every chart text's rendered size (its font size times the chart's scale on screen), and the page's width.
READABILITY = """(() => {
  const sizes = [...document.querySelectorAll('svg.chart text')].map(t =>
      parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a);
  const wide = [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 400.5
      && !e.closest('.scroll') && getComputedStyle(e).position !== 'fixed').map(e => e.tagName + '.' + e.className);
  return {texts: sizes.length, smallest: Math.min(...sizes), scrollWidth: document.documentElement.scrollWidth,
          wide: wide.slice(0, 5)};
})()"""


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; `make chromium`)")
def test_report_is_readable_at_400_px(tmp_path: Path) -> None:
    """At a phone's 400 px: no sideways scrolling of the page (wide tables scroll in their own box) and
    no chart text drawn smaller than 10 px; the county report and a district's report alike."""
    from benchmarks.district_report import write_district_report

    con = duckdb.connect()
    kent_runs(con, tmp_path)
    manifest = {**MANIFEST, "run_id": "2026-11-20T02"}
    county = tmp_path / "report.html"
    write_report(con, manifest, county)
    district = write_district_report(con, manifest, "E07000115", tmp_path / "districts" / "E07000115",
                                     tmp_path / "runs" / "1")
    for page in (county, district):
        found: dict[str, Any] = {}
        shot = tmp_path / f"{page.parent.name}_400.png"
        problems = render_in_chromium(page, tmp_path / f"profile_{page.parent.name}", shot, height=1600, width=400,
                                      probe=READABILITY, probed=found)
        assert problems == []
        seen = found["probe"]
        assert seen["texts"] >= 10, seen
        assert seen["smallest"] >= 10, seen
        assert seen["scrollWidth"] <= 400 and seen["wide"] == [], seen
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        if os.access(SCREENSHOT_COPY.parent, os.W_OK):
            shutil.copyfile(shot, SCREENSHOT_COPY.with_name(f"report_400_{page.parent.name}.png"))
