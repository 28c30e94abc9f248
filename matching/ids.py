"""Stable household ids: carried forward from the previous run, new ones derived deterministically.

A county household is a cluster of claims (one claim, or claims in several districts that
share a person). It keeps the id the previous run's ``households.parquet`` gave any of its
claims (matched on lad_code + claim_ref; failing that, on the linked lad_code + account_ref).
A household with no previous id gets ``H-`` + 12 hex digits of SHA-256 of its smallest
(lad_code, claim_ref): identical inputs give identical ids; never random. No personal data.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from pathlib import Path

import duckdb

from matching.persons import insert_rows

ID_PREFIX = "H-"


def new_household_id(lad_code: str, claim_ref: str, salt: int = 0) -> str:
    """The deterministic id of a new household whose smallest claim is (lad_code, claim_ref)."""
    text = f"{lad_code}\x1f{claim_ref}" + (f"\x1f{salt}" if salt else "")
    return ID_PREFIX + hashlib.sha256(text.encode()).hexdigest()[:12]


def read_previous(con: duckdb.DuckDBPyConnection, previous_dir: Path | None) -> list[tuple[str, str, str, str | None]]:
    """(household_id, lad_code, claim_ref, account_ref) rows of the previous run, or [] when there is none."""
    if previous_dir is None:
        return []
    path = Path(previous_dir) / "households.parquet"
    if not path.is_file():
        return []
    columns = {r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()}
    account = "account_ref" if "account_ref" in columns else "NULL"
    rows = con.execute(
        f"""SELECT household_id, lad_code, claim_ref, {account} FROM read_parquet(?)
            WHERE household_id IS NOT NULL ORDER BY ALL""", [str(path)]).fetchall()
    return [(str(h), str(lad), str(ref), None if acc is None else str(acc)) for h, lad, ref, acc in rows]


def assign_household_ids(con: duckdb.DuckDBPyConnection, previous_dir: Path | None) -> dict[str, int]:
    """Create ``household_keys(lad_code, claim_ref, household_id, other_districts)`` from ``_lk_claim_clusters``.

    Needs ``links`` (claim -> account) and ``_lk_claim_clusters``; returns counts of ids carried and new.
    """
    previous = read_previous(con, previous_dir)
    by_claim = {(lad, ref): hid for hid, lad, ref, _ in previous}
    by_account = {(lad, acc): hid for hid, lad, _, acc in previous if acc is not None}
    rows = con.execute("""
        SELECT k.cluster, k.lad_code, k.claim_ref, k.other_districts, l.account_ref
        FROM _lk_claim_clusters k LEFT JOIN links l ON l.lad_code = k.lad_code AND l.claim_ref = k.claim_ref
        ORDER BY k.cluster, k.lad_code, k.claim_ref""").fetchall()
    clusters: dict[str, list[tuple[str, str, str, str | None]]] = defaultdict(list)
    for cluster, lad, ref, other, acc in rows:
        clusters[cluster].append((lad, ref, other, acc))
    # each cluster's claims on previous ids: (priority, -votes, id); priority 0 by claim, 1 by account
    wishes: dict[str, list[tuple[int, int, str]]] = {}
    for cluster, members in clusters.items():
        votes: Counter[tuple[int, str]] = Counter()
        for lad, ref, _, acc in members:
            if (lad, ref) in by_claim:
                votes[(0, by_claim[(lad, ref)])] += 1
            elif acc is not None and (lad, acc) in by_account:
                votes[(1, by_account[(lad, acc)])] += 1
        wishes[cluster] = sorted((p, -n, hid) for (p, hid), n in votes.items())
    taken: dict[str, str] = {}
    order = sorted(wishes, key=lambda c: (wishes[c][0] if wishes[c] else (9, 0, ""), min(clusters[c])))
    for cluster in order:
        for _, _, hid in wishes[cluster]:
            if hid not in taken:
                taken[hid] = cluster
                break
    chosen = {cluster: hid for hid, cluster in taken.items()}
    carried = len(chosen)
    used = set(by_claim.values()) | set(by_account.values()) | set(chosen.values())
    for cluster in sorted(clusters, key=lambda c: min(clusters[c])):
        if cluster in chosen:
            continue
        lad, ref = min((m[0], m[1]) for m in clusters[cluster])
        salt = 0
        hid = new_household_id(lad, ref)
        while hid in used:
            salt += 1
            hid = new_household_id(lad, ref, salt)
        used.add(hid)
        chosen[cluster] = hid
    con.execute("""CREATE OR REPLACE TABLE household_keys (lad_code VARCHAR, claim_ref VARCHAR,
        household_id VARCHAR, other_districts VARCHAR)""")
    out = [(lad, ref, chosen[c], other) for c, members in clusters.items() for lad, ref, other, _ in members]
    if out:
        insert_rows(con, "household_keys", sorted(out))
    return {"households": len(clusters), "ids_carried": carried, "ids_new": len(clusters) - carried,
            "claims": len(out)}
