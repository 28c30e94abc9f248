"""The end-of-run summary on the analyst's terminal, built from the run's manifest."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

from schemas.reference import district_name, partnership_name
from schemas.text import markdown_escape, one_line


def _ingest_table(manifest: dict[str, Any]) -> list[str]:
    """Rows received per district (its files added up), the county files, files refused whole, the total."""
    lines = ["Data received", f"  {'district':<22}{'files':>6}{'rows':>11}{'used':>11}{'set aside':>11}"]

    def row(name: str, files: list[dict[str, Any]], note: str = "") -> str:
        read, valid, aside = (sum(int(f.get(k) or 0) for f in files)
                              for k in ("rows_read", "rows_valid", "rows_quarantined"))
        return f"  {name[:21]:<22}{len(files):>6}{read:>11,}{valid:>11,}{aside:>11,}" + (f"  {note}" if note else "")

    refused: list[str] = []
    notes: list[str] = []
    for district in manifest.get("districts", []):
        name = district_name(district["lad_code"])
        files = district.get("files", [])
        if district.get("error"):
            lines.append(f"  {name[:21]:<22}FAILED: {one_line(district['error'])}")
            continue
        refused += [f"{name}: {one_line(f['file'])} refused whole ({one_line(f['reason'])})"
                    for f in files if f["status"] == "rejected"]
        lines.append(row(name, files, "reused" if district.get("reused_from") else
                         f"{sum(f['status'] == 'rejected' for f in files)} refused"
                         if any(f["status"] == "rejected" for f in files) else ""))
        notes += [f"{name}: {one_line(note)}" for note in district.get("notes", [])]
    reference = manifest.get("reference", {})
    if reference.get("files"):
        lines.append(row("county files", reference["files"]))
        refused += [f"county files: {one_line(f['file'])} refused whole ({one_line(f['reason'])})"
                    for f in reference["files"] if f["status"] == "rejected"]
    notes += [f"county files: {one_line(note)}" for note in reference.get("notes", [])]
    rec = manifest.get("reconciliation")
    if rec:
        ok = "every row accounted for" if rec["all_reconcile"] else "COUNTS DO NOT RECONCILE"
        lines.append(f"  total: {rec['rows_read']:,} rows read = {rec['rows_valid']:,} valid + "
                     f"{rec['rows_quarantined']:,} quarantined ({ok})")
    lines += [f"  REFUSED: {r}" for r in refused] + [f"  note: {n}" for n in notes]
    return lines


# The households table, column by column: (summary key, title, width); the first six always, the others
# while they fit the terminal.
_HOUSEHOLD_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("households", "scored", 7), ("in_crisis", "crisis", 7), ("at_risk", "at risk", 7),
    ("fuel_poverty", "fuel", 5), ("pension_credit_missing", "PC missed", 9),
    ("pension_credit_value_annual", "PC £/yr", 9),
    ("struggling", "struggling", 10), ("water_poverty", "water", 5), ("food_poverty", "food", 5),
    ("coping", "coping", 7), ("comfortable", "comfortable", 11),
)
NAME_WIDTH = 21


def households_table(rows: list[dict[str, Any]], county: str, width: int = 120) -> list[str]:
    """The scoring summary's published rows (rounded, hidden counts None shown as ``*``) as a table at
    most ``width`` columns wide: a line per district, the partnership last."""
    columns: list[tuple[str, str, int]] = []
    used = NAME_WIDTH
    for key, title, size in _HOUSEHOLD_COLUMNS:
        if len(columns) >= 6 and used + 2 + size > width:
            break
        columns.append((key, title, size))
        used += 2 + size

    def cell(value: Any, key: str, size: int) -> str:
        if value is None:
            return f"{'*':>{size}}"
        if key == "pension_credit_value_annual":
            number = float(value or 0)
            text = f"£{number / 1e6:.2f}m" if number >= 1e6 else f"£{number / 1000:,.0f}k" if number else "£0"
            return f"{text:>{size}}"
        return f"{int(value or 0):>{size},}"

    head = f"{'district':<{NAME_WIDTH}}" + "".join(f"  {title:>{size}}" for _, title, size in columns)
    lines = [head, "-" * len(head)]
    for r in rows:
        name = county if r.get("lad_code") == "county" else district_name(str(r.get("lad_code")))
        if r.get("lad_code") == "county" and len(rows) > 1:
            lines.append("-" * len(head))
        lines.append(f"{name[:NAME_WIDTH]:<{NAME_WIDTH}}" + "".join(f"  {cell(r.get(k), k, size)}"
                                                                     for k, _, size in columns))
    return lines


def wrap(lines: list[str], width: int | None) -> list[str]:
    """Each line folded to ``width`` columns (continuations indented); a word longer than a line (a path) is
    never broken. ``width`` None: as they are."""
    if width is None:
        return lines
    out: list[str] = []
    for line in lines:
        if len(line) <= width:
            out.append(line)
            continue
        indent = " " * (len(line) - len(line.lstrip()))
        out += textwrap.wrap(line, width, initial_indent="", subsequent_indent=indent + "    ",
                             break_long_words=False, break_on_hyphens=False) or [line]
    return out


def _run_notices(manifest: dict[str, Any]) -> list[str]:
    """Warnings about the run itself (:func:`benchmarks.report.run_warnings`), each on one line."""
    from benchmarks.report import run_warnings

    return [one_line(n) for n in run_warnings(manifest)]


def _history_lines(manifest: dict[str, Any]) -> list[str]:
    """What this run could not read from the previous run (and so ignored or rebuilt)."""
    damaged = (manifest.get("history") or {}).get("damaged") or []
    if not damaged:
        return []
    return ["", "Damaged files of the previous run, ignored (this run went on as if they were absent):",
            *[f"  {one_line(d)}" for d in damaged]]


def completeness_lines(manifest: dict[str, Any]) -> list[str]:
    """The run's completeness: each expected district not complete and why, then warnings and notes."""
    section = manifest.get("completeness")
    if not isinstance(section, dict):
        return []
    source = "the [completeness] districts" if section.get("expected_from") == "config" \
        else "the landing area's district folders"
    districts = section.get("districts", [])
    gaps = [d for d in districts if d["status"] != "complete"]
    lines = [f"Completeness: {len(districts) - len(gaps)} of {len(districts)} expected districts complete "
             f"(expected: {source})"]
    for d in gaps:
        lines.append(f"  {district_name(d['lad_code']) + ' (' + d['lad_code'] + ')':<32}{d['status'].upper()}: "
                     f"{one_line('; '.join(d['reasons']))}")
    if gaps:
        lines.append("  In the benchmarks and the report their figures are not available, and county figures cover "
                     "the complete districts only.")
    for label, items in (("WARNING", section.get("warnings", [])), ("note", section.get("notes", []))):
        lines += [f"  {label}: {one_line(item)}" for item in items]
    return lines


def format_run_summary(manifest: dict[str, Any], published: Path | None, errors: list[str],
                       width: int | None = None) -> str:
    """Ingest counts, the scoring summary, linkage headline, where the outputs are, and last the report.

    ``width``: the terminal's columns (80 or more): every line fits, except a path longer than a line;
    None: lines are not folded (the households table is laid out for 120 columns)."""
    county = str(manifest.get("county_name") or partnership_name(
        [str(d.get("lad_code")) for d in manifest.get("districts", []) if isinstance(d, dict)]))
    lines = [f"povertylink run {manifest.get('run_id', '?')} (as of {manifest.get('as_of', '?')})", ""]
    lines += [f"WARNING: {n}" for n in _run_notices(manifest)]
    lines += [""] if len(lines) > 2 else []
    lines += _ingest_table(manifest)
    gaps = completeness_lines(manifest)
    lines += ([""] + gaps) if gaps else []
    linkage = manifest.get("linkage")
    if isinstance(linkage, dict) and linkage.get("headline"):
        lines += ["", f"Linkage: {linkage['headline']}"]
    scoring = manifest.get("scoring")
    if isinstance(scoring, dict) and scoring.get("summary"):
        lines += ["", "Households scored: counts rounded to the nearest 5, £ to the nearest £1,000, * hidden "
                      "(1 to 9, or one that would reveal it): the same figures as report.html. Each district's "
                      "exact figures are in its own districts/<code>/report.html.", ""]
        lines += households_table(scoring["summary"], county, width or 120)
    lines += _history_lines(manifest)
    lines.append("")
    report = None
    if published is None:
        lines.append("RUN FAILED: nothing was published; the previous good run is still current.")
        lines += [f"  {one_line(e)}" for e in errors]
    elif not (manifest.get("history") or {}).get("becomes_current", True):
        lines.append(f"Written to {one_line(published)}; current is unchanged (a back-dated run never replaces it)")
        report = published / "report.html"
    else:
        lines.append(f"Published to {one_line(published)} (current -> {one_line(published.name)})")
        report = published.parent.parent / "current" / "report.html"
        pruned = (manifest.get("retention") or {}).get("pruned_now") or []
        if pruned:
            lines.append(f"Retention: row-level files of {len(pruned)} older run(s) removed "
                         f"(keep_runs = {manifest['retention']['keep_runs']}): {', '.join(pruned)}")
        if errors:
            lines.append("Needs attention (published):")
            lines += [f"  {one_line(e)}" for e in errors]
    if report is not None:  # last: where to look next
        lines.append(f"District reports: {one_line(report.parent)}/districts/<code>/report.html")
        lines.append(f"Report: {one_line(report)}")
    return "\n".join(wrap(lines, width))


def artifact_markdown(manifest: dict[str, Any]) -> str:
    """The Prefect artifact of a run: status, headline numbers, and a table of data-quality problems."""
    lines = [f"# povertylink run {markdown_escape(manifest.get('run_id'))}", "",
             f"As of **{markdown_escape(manifest.get('as_of'))}**: status "
             f"**{markdown_escape(manifest.get('status', 'running'))}**"
             + (", with gaps (below)." if (manifest.get("completeness") or {}).get("complete") is False else "."), ""]
    lines += [f"**Warning:** {markdown_escape(n)}\n" for n in _run_notices(manifest)]
    lines += _artifact_completeness(manifest.get("completeness"))
    rec = manifest.get("reconciliation") or {}
    if rec:
        lines.append(f"Rows read {rec['rows_read']:,} = valid {rec['rows_valid']:,} + quarantined "
                     f"{rec['rows_quarantined']:,}; files refused whole: {rec['files_rejected']}.")
    county = next((r for r in (manifest.get("scoring") or {}).get("summary", []) if r.get("lad_code") == "county"),
                  None)
    if county:
        lines += ["", "| headline | county |", "|---|---:|"]
        for key, value in county.items():
            if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
                lines.append(f"| {key.replace('_', ' ')} | {value:,} |")
            elif value is None:  # hidden by disclosure control
                lines.append(f"| {key.replace('_', ' ')} | \\* |")
        lines.append("\n\\* hidden: a count of 1 to 9 or one that would reveal it; others rounded to 5, £ to £1,000.")
    problems = [(d["lad_code"], f["file"], reason, n) for d in manifest.get("districts", [])
                for f in d.get("files", []) for reason, n in f.get("problems_by_reason", {}).items()]
    lines += ["", "## Data-quality problems", ""]
    if problems:
        lines += ["| district | file | reason | rows |", "|---|---|---|---:|"]
        lines += [f"| {markdown_escape(district_name(lad))} | {markdown_escape(file)} | {markdown_escape(reason)} | "
                  f"{n:,} |" for lad, file, reason, n in problems]
    else:
        lines.append("None: every row was valid.")
    damaged = (manifest.get("history") or {}).get("damaged") or []
    if damaged:
        lines += ["", "## Previous run: damaged files ignored", ""]
        lines += [f"- {markdown_escape(d)}" for d in damaged]
    for error in manifest.get("errors", []):
        lines.append(f"\n**Error:** {markdown_escape(error)}")
    return "\n".join(lines)


def _artifact_completeness(section: Any) -> list[str]:
    """The artifact's completeness table, warnings and notes (nothing when the manifest has none)."""
    if not isinstance(section, dict):
        return []
    districts = section.get("districts", [])
    gaps = [d for d in districts if d["status"] != "complete"]
    lines = ["## Completeness", "",
             f"**{len(districts) - len(gaps)} of {len(districts)}** expected districts complete.", ""]
    if gaps:
        lines += ["Not available, and not in the county figures:", "",
                  "| district | status | why |", "|---|---|---|"]
        lines += [f"| {markdown_escape(district_name(d['lad_code']))} ({markdown_escape(d['lad_code'])}) | "
                  f"**{markdown_escape(d['status'])}** | {markdown_escape('; '.join(d['reasons']))} |" for d in gaps]
    for label, items in (("Warning", section.get("warnings", [])), ("Note", section.get("notes", []))):
        lines += ([""] + [f"- **{label}:** {markdown_escape(item)}" for item in items]) if items else []
    return lines + [""]
