"""The generator at any scale: any number of districts (ONS codes, then synthetic), districts past the
4,000 postcode units of one outward code."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from pipelines.synthetic import generator as syn
from pipelines.synthetic.districts import SYNTHETIC_PREFIX, district_list, district_name, ons_districts
from pipelines.synthetic.places import OUTWARDS_PER_DISTRICT, _Overflow, _Units, synthetic_outward
from schemas.columns import LAD_PATTERN, POSTCODE_PATTERN
from schemas.reference import KENT_DISTRICTS


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_district_list_is_kent_then_england_then_synthetic() -> None:
    ons = ons_districts()
    assert set(KENT_DISTRICTS) <= set(ons) and len(ons) > 250
    assert all(__import__("re").match(LAD_PATTERN, c) for c in ons)
    codes = district_list(len(ons) + 3)
    assert codes[:12] == sorted(KENT_DISTRICTS)
    assert set(codes[12:len(ons)]) == set(ons) - set(KENT_DISTRICTS)
    assert codes[len(ons):] == [f"{SYNTHETIC_PREFIX}00000{n}" for n in (1, 2, 3)]
    assert len(set(codes)) == len(codes)
    assert district_name("E08000025") == "Birmingham" and district_name(codes[-1]) == "Synthetic district 3"


def test_synthetic_outward_codes_are_unique_and_never_real_areas() -> None:
    codes = [synthetic_outward(d, k) for d in range(330) for k in range(OUTWARDS_PER_DISTRICT)]
    assert len(set(codes)) == len(codes)
    assert all(c[0] in "QVX" and __import__("re").match(POSTCODE_PATTERN, f"{c} 1AB") for c in codes)


def test_an_outward_code_past_its_4000_units_goes_on_with_synthetic_ones() -> None:
    units = _Units(random.Random(1), "TN24", _Overflow(0, 0))
    taken = [units.take(random.Random(k).randrange(10)) for k in range(4000 + 450)]
    assert len(set(taken)) == len(taken)
    assert all(t.startswith("TN24 ") for t in taken[:4000])
    assert {t.split(" ")[0] for t in taken[4000:]} == {synthetic_outward(0, 0)}


def test_more_districts_than_kent_are_valid_and_distinct(tmp_path: Path) -> None:
    summary = syn.generate(tmp_path, districts=14, households=40, seed=3, raw=False)
    codes = [d.lad_code for d in summary.districts]
    assert codes[:12] == sorted(KENT_DISTRICTS) and codes[12:] == district_list(14)[12:]
    lookup = read(tmp_path / "postcode_lookup.csv")
    assert len({r["postcode"] for r in lookup}) == len(lookup)
    outside = [r for r in lookup if r["lad_code"] not in KENT_DISTRICTS]
    assert outside and all(r["postcode"][0] in "QVX" for r in outside)
    stamp = syn.EXTRACT_DATE.isoformat()
    rows = read(tmp_path / codes[13] / f"council_tax_{stamp}.csv")
    assert len(rows) == 40 and {r["postcode"].split()[0][0].upper() for r in rows if r["postcode"]} <= set("QVX")
    people = read(tmp_path / "_truth" / "persons.csv")
    assert len({(r["lad_code"], r["kind"], r["ref"], r["role"]) for r in people}) == len(people)


def test_people_numbers_stay_inside_the_nino_space() -> None:
    kent = [syn.people_base(i, 60_000) for i in range(12)]
    assert kent == [((i + 1) * 10_000_000, (i + 1) * 10_000_000 + syn.MOVER_BASE) for i in range(12)]
    last, _ = syn.people_base(299, 85_000)
    assert syn.KENT_PEOPLE <= last < syn.NINO_NUMBERS
