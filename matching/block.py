"""Blocking rules: which pairs are compared at all (pure functions returning DuckDB SQL).

Within a district a claim (``c``, ``_lk_claims``) is compared with an account (``a``,
``_lk_accounts``) when any rule holds; the union of the rules' pairs is the candidate set.
Two flats in one building (both with a flat identifier, different) are never candidates.
Across districts, person records (``x``, ``y``) are compared when any person rule holds.
"""

from __future__ import annotations

from matching.compare import FLAT_CONFLICT

WITHIN_RULES: dict[str, str] = {
    "postcode": "c.postcode = a.postcode",
    "uprn": "c.uprn = a.uprn",
    "street_house_number": "c.street = a.street AND c.house_no = a.house_no",
    "sector_house_number_line1": "c.pc_sector = a.pc_sector AND c.house_no = a.house_no AND c.line1 = a.line1",
    "claimant_name_outward": "c.c_sn = a.l_sn AND c.c_fn = a.l_fn AND c.pc_outward = a.pc_outward",
    "claimant_surname_house_outward": "c.c_sn = a.l_sn AND c.house_no = a.house_no AND c.pc_outward = a.pc_outward",
    "partner_name_outward": "c.p_sn = a.l_sn AND c.p_fn = a.l_fn AND c.pc_outward = a.pc_outward",
    "partner_surname_house_outward": "c.p_sn = a.l_sn AND c.house_no = a.house_no AND c.pc_outward = a.pc_outward",
}

PERSON_RULES: dict[str, str] = {
    "nino_key": "x.person_key = y.person_key",
    "dob_surname": "x.person_dob = y.person_dob AND (x.person_sn = y.person_sn OR x.person_sp = y.person_sp)",
    "dob_forename": ("x.person_dob = y.person_dob"
                     " AND (x.person_fn = y.person_fn OR list_has_any(x.person_fc, y.person_fc))"),
    "forename_surname": "x.person_fn = y.person_fn AND x.person_sn = y.person_sn",
}


def within_candidates_sql(rules: dict[str, str] | None = None, where: str = "TRUE") -> str:
    """SELECT of distinct (lad_code, claim_ref, account_ref) candidate pairs inside each district."""
    rules = rules or WITHIN_RULES
    selects = [
        f"""SELECT c.lad_code, c.ref AS claim_ref, a.ref AS account_ref
            FROM _lk_claims c JOIN _lk_accounts a ON c.lad_code = a.lad_code AND ({cond})
            WHERE ({where}) AND NOT coalesce({FLAT_CONFLICT}, FALSE)"""
        for cond in rules.values()
    ]
    return "\nUNION\n".join(selects)


def person_candidates_sql(rules: dict[str, str] | None = None) -> str:
    """SELECT of distinct person-record pairs in different districts (x.pid < y.pid)."""
    rules = rules or PERSON_RULES
    selects = [
        f"""SELECT x.pid AS pid_x, y.pid AS pid_y FROM _lk_persons x JOIN _lk_persons y
            ON x.lad_code < y.lad_code AND ({cond})"""
        for cond in rules.values()
    ]
    return "\nUNION\n".join(selects)
