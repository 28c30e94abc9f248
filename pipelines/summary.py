"""The end-of-run summary on the analyst's terminal, built from the run's manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from schemas.reference import district_name


def _ingest_table(manifest: dict[str, Any]) -> list[str]:
    lines = ["Data received", f"  {'district':<24}{'file':<32}{'read':>9}{'valid':>9}{'quarantined':>13}  status"]
    for district in manifest.get("districts", []):
        name = district_name(district["lad_code"])
        if district.get("error"):
            lines.append(f"  {name:<24}FAILED: {district['error']}")
        for f in district.get("files", []):
            lines.append(f"  {name:<24}{f['file']:<32}{f['rows_read']:>9,}{f['rows_valid']:>9,}"
                         f"{f['rows_quarantined']:>13,}  {f['status']}" + (f" ({f['reason']})" if f["reason"] else ""))
        for note in district.get("notes", []):
            lines.append(f"  {name:<24}note: {note}")
    for f in manifest.get("reference", {}).get("files", []):
        lines.append(f"  {'county files':<24}{f['file']:<32}{f['rows_read']:>9,}{f['rows_valid']:>9,}"
                     f"{f['rows_quarantined']:>13,}  {f['status']}")
    rec = manifest.get("reconciliation")
    if rec:
        ok = "every row accounted for" if rec["all_reconcile"] else "COUNTS DO NOT RECONCILE"
        lines.append(f"  total: {rec['rows_read']:,} rows read = {rec['rows_valid']:,} valid + "
                     f"{rec['rows_quarantined']:,} quarantined ({ok})")
    return lines


def format_run_summary(manifest: dict[str, Any], published: Path | None, errors: list[str]) -> str:
    """Ingest counts, the scoring summary, linkage headline, and where the outputs are."""
    lines = [f"povertylink run {manifest.get('run_id', '?')} (as of {manifest.get('as_of', '?')})", ""]
    lines += _ingest_table(manifest)
    linkage = manifest.get("linkage")
    if isinstance(linkage, dict) and linkage.get("headline"):
        lines += ["", f"Linkage: {linkage['headline']}"]
    scoring = manifest.get("scoring")
    if isinstance(scoring, dict) and scoring.get("summary"):
        from pipelines.score import format_summary

        lines += ["", format_summary(scoring["summary"])]
    lines.append("")
    if published is None:
        lines.append("RUN FAILED: nothing was published; the previous good run is still current.")
        lines += [f"  {e}" for e in errors]
    else:
        lines.append(f"Published to {published} (current -> {published.name})")
        if errors:
            lines.append("Files refused whole (nothing from them is used):")
            lines += [f"  {e}" for e in errors]
    return "\n".join(lines)
