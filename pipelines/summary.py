"""The end-of-run summary on the analyst's terminal, built from the run's manifest."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from schemas.reference import district_name
from schemas.text import markdown_escape, one_line


def _ingest_table(manifest: dict[str, Any]) -> list[str]:
    lines = ["Data received", f"  {'district':<24}{'file':<32}{'read':>9}{'valid':>9}{'quarantined':>13}  status"]
    for district in manifest.get("districts", []):
        name = district_name(district["lad_code"])
        if district.get("error"):
            lines.append(f"  {name:<24}FAILED: {one_line(district['error'])}")
        for f in district.get("files", []):
            lines.append(f"  {name:<24}{one_line(f['file']):<32}{f['rows_read']:>9,}{f['rows_valid']:>9,}"
                         f"{f['rows_quarantined']:>13,}  {f['status']}"
                         + (f" ({one_line(f['reason'])})" if f["reason"] else ""))
        for note in district.get("notes", []):
            lines.append(f"  {name:<24}note: {one_line(note)}")
    for f in manifest.get("reference", {}).get("files", []):
        lines.append(f"  {'county files':<24}{one_line(f['file']):<32}{f['rows_read']:>9,}{f['rows_valid']:>9,}"
                     f"{f['rows_quarantined']:>13,}  {f['status']}")
    for note in manifest.get("reference", {}).get("notes", []):
        lines.append(f"  {'county files':<24}note: {one_line(note)}")
    rec = manifest.get("reconciliation")
    if rec:
        ok = "every row accounted for" if rec["all_reconcile"] else "COUNTS DO NOT RECONCILE"
        lines.append(f"  total: {rec['rows_read']:,} rows read = {rec['rows_valid']:,} valid + "
                     f"{rec['rows_quarantined']:,} quarantined ({ok})")
    return lines


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


def format_run_summary(manifest: dict[str, Any], published: Path | None, errors: list[str]) -> str:
    """Ingest counts, the scoring summary, linkage headline, and where the outputs are."""
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
        from pipelines.score.households import format_summary

        lines += ["", format_summary(scoring["summary"])]
    lines += _history_lines(manifest)
    lines.append("")
    if published is None:
        lines.append("RUN FAILED: nothing was published; the previous good run is still current.")
        lines += [f"  {one_line(e)}" for e in errors]
    elif not (manifest.get("history") or {}).get("becomes_current", True):
        lines.append(f"Written to {one_line(published)}; current is unchanged (a back-dated run never replaces it)")
    else:
        lines.append(f"Published to {one_line(published)} (current -> {one_line(published.name)})")
        pruned = (manifest.get("retention") or {}).get("pruned_now") or []
        if pruned:
            lines.append(f"Retention: row-level files of {len(pruned)} older run(s) removed "
                         f"(keep_runs = {manifest['retention']['keep_runs']}): {', '.join(pruned)}")
        if errors:
            lines.append("Needs attention (published):")
            lines += [f"  {one_line(e)}" for e in errors]
    return "\n".join(lines)


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
