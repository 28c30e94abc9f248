"""Cross-district person blocking: one wrong field keeps the true pair; a namesake born in another year and on
another day is not a candidate (that rule grew with the square of the county); the same pairs either way the
rules are written (a shared nickname as an equality join, not ``list_has_any``)."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from matching.block import PERSON_RULES, person_candidates_sql
from matching.landing_tables import create_table
from matching.normalise import persons_sql, prepare_side_sql
from tests.matching.test_within import claim

MOVER = {"fore": "Margaret", "sur": "Okonkwo", "dob": "1961-04-17"}
ELSEWHERE = "E07000105"


def _claim(ref: str, lad: str, fields: dict[str, str], nino: str | None = None) -> dict[str, Any]:
    return claim(ref, "1 High Street", "CT20 1AA", (fields["fore"], fields["sur"]), dob=fields["dob"], lad=lad,
                 nino=nino)


def _pairs(claims: list[dict[str, Any]], sql: str | None = None) -> set[tuple[str, str]]:
    con = duckdb.connect()
    create_table(con, "benefits", claims)
    con.execute(prepare_side_sql("claims", "benefits", "claim_ref"))
    con.execute(persons_sql())
    rows = con.execute(f"""SELECT x.claim_ref, y.claim_ref FROM ({sql or person_candidates_sql()}) k
        JOIN _lk_persons x ON x.pid = k.pid_x JOIN _lk_persons y ON y.pid = k.pid_y""").fetchall()
    return {tuple(sorted(r)) for r in rows}


@pytest.mark.parametrize("wrong", [{"fore": "Margeret"}, {"fore": "Maggie"}, {"sur": "Okonkow"},
                                   {"dob": "1961-04-18"}, {"dob": "1961-07-14"}, {"dob": "1916-04-17"}])
def test_one_wrong_field_keeps_the_person_pair(wrong: dict[str, str]) -> None:
    """A forename or surname typo (birth date and the other name agree), a nickname, a wrong day, month or year."""
    assert ("A", "B") in _pairs([_claim("A", "E07000112", MOVER), _claim("B", ELSEWHERE, MOVER | wrong)])


def test_a_namesake_born_in_another_year_on_another_day_is_no_candidate() -> None:
    namesake = MOVER | {"dob": "1975-09-02"}
    assert _pairs([_claim("A", "E07000112", MOVER), _claim("B", ELSEWHERE, namesake)]) == set()
    same_key = [_claim("A", "E07000112", MOVER, nino="AB123456C"), _claim("B", ELSEWHERE, namesake, nino="AB123456C")]
    assert _pairs(same_key) == {("A", "B")}  # the NINO key still pairs them


def test_rules_as_equality_joins_give_the_pairs_of_the_combined_rules() -> None:
    """The split rules (dob with each name part; a nickname by unnest) pair exactly what the combined ones did."""
    people = [_claim(f"C{n}", f"E0700010{n % 3}", {"fore": fore, "sur": sur, "dob": dob})
              for n, (fore, sur, dob) in enumerate([
                  ("Margaret", "Okonkwo", "1961-04-17"), ("Maggie", "Okonkwo", "1961-04-17"),
                  ("Peggy", "Smith", "1961-04-17"), ("Margaret", "Okonkow", "1961-04-17"),
                  ("William", "Jones", "1950-01-01"), ("Bill", "Jonas", "1950-01-01"),
                  ("Billy", "Johns", "1950-01-01"), ("Will", "Jones", "1950-02-01"), ("Liam", "Jones", "1950-01-01"),
              ])]
    combined = {"dob_surname": ("x.person_dob = y.person_dob"
                                " AND (x.person_sn = y.person_sn OR x.person_sp = y.person_sp)"),
                "dob_forename": ("x.person_dob = y.person_dob"
                                 " AND (x.person_fn = y.person_fn OR list_has_any(x.person_fc, y.person_fc))")}
    split = {k: v for k, v in PERSON_RULES.items() if k.startswith("dob_")}
    old = "\nUNION\n".join(f"SELECT x.pid AS pid_x, y.pid AS pid_y FROM _lk_persons x JOIN _lk_persons y"
                           f" ON x.lad_code < y.lad_code AND ({c})" for c in combined.values())
    assert _pairs(people, person_candidates_sql(split)) == _pairs(people, old)
    assert len(_pairs(people, old)) >= 5
