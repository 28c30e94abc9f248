"""Blocking survives an error in any one field, and in the pairs of fields a typo-laden extract has.

A claim and its true account agree on everything; then one field (or two) of the claim is wrong,
and the pair must still be a candidate. Neighbours in the same postcode and namesakes elsewhere
make sure that the capped keys do not take whole streets or whole surnames in.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pytest

from matching.block import KEY_CAP, within_candidates_sql
from matching.landing_tables import create_table
from matching.normalise import prepare_sql
from tests.matching.test_within import account, claim

TRUE = {"address": "12 Kingfisher Mews", "line2": "Wincheap Estate", "postcode": "CT1 3RT",
        "fore": "Margaret", "sur": "Okonkwo", "dob": "1961-04-17"}
# (field, wrong value): one error per case, in the claim
ONE_ERROR = [
    ("postcode", "CT1 3TR"), ("postcode", "CT2 7NQ"), ("address", "12 Kingfisher Mwes"),
    ("address", "21 Kingfisher Mews"),
    ("address", "Kingfisher Mews"), ("fore", "Margeret"), ("fore", ""), ("sur", "Okonkow"), ("sur", ""),
    ("dob", "1961-07-14"), ("line2", ""),
]
TWO_ERRORS = [
    {"postcode": "CT2 7NQ", "sur": "Okonkow"},  # the case: a postcode typo and a name typo
    {"address": "21 Kingfisher Mews", "fore": "Maggie"},
    {"postcode": "CT2 7NQ", "fore": "Margeret"},
    {"postcode": "CT2 7NQ", "address": "21 Kingfisher Mews"},  # the exact rules miss these three
    {"postcode": "CT2 7NQ", "address": "Kingfisher Mews", "fore": ""},
    {"postcode": "CT2 7NQ", "address": "12 Kingfsher Mews"},
]


def _claim(ref: str, fields: dict[str, str]) -> dict[str, Any]:
    return claim(ref, fields["address"], fields["postcode"], (fields["fore"], fields["sur"]), dob=fields["dob"],
                 address_line_2=fields["line2"] or None)


def _account(ref: str, fields: dict[str, str]) -> dict[str, Any]:
    return account(ref, fields["address"], fields["postcode"], (fields["fore"], fields["sur"]),
                   address_line_2=fields["line2"] or None, liable_birth_date=dt.date.fromisoformat(fields["dob"]))


def _candidates(claims: list[dict[str, Any]], accounts: list[dict[str, Any]]) -> set[tuple[str, str]]:
    con = duckdb.connect()
    create_table(con, "benefits", claims)
    create_table(con, "council_tax", accounts)
    for sql in prepare_sql():
        con.execute(sql)
    return {(c, a) for _, c, a in con.execute(within_candidates_sql()).fetchall()}


def _population() -> list[dict[str, Any]]:
    """Neighbours on the same street and postcode, and namesakes of the claimant elsewhere in the district."""
    rows = [_account(f"N{n}", {**TRUE, "address": f"{n} Kingfisher Mews", "fore": f"Neighbour{chr(97 + n % 26)}",
                                "sur": f"Family{n}", "dob": f"19{40 + n % 50}-0{1 + n % 9}-1{n % 10}"})
            for n in range(1, 60) if n != 12]
    rows += [_account(f"S{n}", {**TRUE, "address": f"{n} Station Road", "postcode": f"CT{3 + n % 5} 1AB",
                                "line2": "", "dob": f"19{30 + n}-02-02"}) for n in range(1, 8)]
    return rows


@pytest.mark.parametrize("field,wrong", ONE_ERROR)
def test_one_wrong_field_keeps_the_true_pair(field: str, wrong: str) -> None:
    claims = [_claim("C1", {**TRUE, field: wrong})]
    assert ("C1", "A1") in _candidates(claims, [_account("A1", TRUE), *_population()])


@pytest.mark.parametrize("errors", TWO_ERRORS, ids=lambda e: "+".join(e))
def test_two_wrong_fields_keep_the_true_pair(errors: dict[str, str]) -> None:
    claims = [_claim("C1", {**TRUE, **errors})]
    assert ("C1", "A1") in _candidates(claims, [_account("A1", TRUE), *_population()])


def test_common_keys_stay_bounded() -> None:
    """A claim whose only ties to the population are common values gets no district-wide fan-out."""
    population = _population()
    claims = [_claim("C1", {**TRUE, "postcode": "CT9 9ZZ", "address": "1 Elsewhere Lane", "line2": "",
                            "dob": "1999-12-31"})]
    pairs = _candidates(claims, [_account("A1", TRUE), *population])
    # namesakes of the claimant (7 at Station Road, 1 true) share only surname + forename: no candidates
    assert not {a for _, a in pairs if a.startswith("S")}
    assert len(pairs) <= KEY_CAP
