"""The synthetic sample generator: reproducible, valid against the models, noise at its stated rates."""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from pipelines.pseudonymise import SAMPLE_KEY, pseudonymise_record
from pipelines.synthetic import generator as syn
from pipelines.synthetic.money import Claim, Household, cashflow_monthly, pension_credit_terms
from pipelines.synthetic.people import Person
from schemas.columns import normalise_postcode
from schemas.inputs import RAW_IDENTIFIER_COLUMNS, model_for
from schemas.reference import KENT_DISTRICTS

LADS = sorted(KENT_DISTRICTS)[:2]
STAMP = syn.EXTRACT_DATE.isoformat()
NAME_ROLES = {"benefits": ("claimant", "partner"), "council_tax": ("liable",)}


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def extract(folder: Path, lad: str, kind: str) -> list[dict[str, str]]:
    return read(folder / lad / f"{kind}_{STAMP}.csv")


def all_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def raw_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("raw")
    syn.generate(out, districts=2, households=1500, seed=11, raw=True)
    return out


@pytest.fixture(scope="module")
def pseudo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pseudo")
    syn.generate(out, districts=2, households=1500, seed=11, raw=False)
    return out


@pytest.fixture(scope="module")
def truth(raw_dir: Path) -> dict[str, list[dict[str, str]]]:
    return {name: read(raw_dir / "_truth" / f"{name}.csv") for name in ("links", "persons", "noise", "claims")}


@pytest.fixture(scope="module")
def noise_by(truth: dict[str, list[dict[str, str]]]) -> dict[str, set[tuple[str, ...]]]:
    """noise label -> {(lad, kind, ref, role)}"""
    out: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for n in truth["noise"]:
        out[n["noise"]].add((n["lad_code"], n["kind"], n["ref"], n["role"]))
    return out


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        syn.generate(tmp_path / name, districts=2, households=300, seed=seed, raw=False)
    a, b, c = (all_files(tmp_path / n) for n in "abc")
    assert a == b
    assert a.keys() == c.keys()
    assert all(a[k] != c[k] for k in a if k != "_truth/README.md")


def test_layout_districts_and_summary(tmp_path: Path) -> None:
    summary = syn.generate(tmp_path, districts=3, households=60, seed=1, raw=False)
    assert [d.lad_code for d in summary.districts] == ["E07000105", "E07000106", "E07000107"]
    for lad in ("E07000105", "E07000106", "E07000107"):
        assert {p.name for p in (tmp_path / lad).iterdir()} == {f"benefits_{STAMP}.csv", f"council_tax_{STAMP}.csv",
                                                                f"universal_credit_{STAMP}.csv"}
    assert {p.name for p in (tmp_path / "_truth").iterdir()} == {
        "README.md", "links.csv", "persons.csv", "noise.csv", "claims.csv", "universal_credit.csv", "takeup.csv"}
    assert (tmp_path / "epc.csv").exists() and (tmp_path / "postcode_lookup.csv").exists()
    text = str(summary)
    assert "Canterbury: 60 council-tax accounts" in text and "pseudonymised" in text
    assert all(d.accounts == 60 for d in summary.districts)


@pytest.mark.parametrize("form", ["raw", "pseudo"])
def test_every_row_valid_against_its_model(form: str, raw_dir: Path, pseudo_dir: Path) -> None:
    folder, raw = (raw_dir, True) if form == "raw" else (pseudo_dir, False)
    for lad in LADS:
        for kind in ("benefits", "council_tax", "universal_credit"):
            model = model_for(kind, raw)
            path = folder / lad / f"{kind}_{STAMP}.csv"
            assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(model.model_fields)
            for row in read(path):
                model.model_validate(row)


def test_raw_and_pseudonymised_forms(raw_dir: Path, pseudo_dir: Path) -> None:
    raw_names: set[str] = set()
    ninos: set[str] = set()
    for lad in LADS:
        for kind in ("benefits", "council_tax"):
            raw_rows, pseudo_rows = extract(raw_dir, lad, kind), extract(pseudo_dir, lad, kind)
            assert not [c for c in raw_rows[0] if c.endswith(("_key", "_name"))]
            assert not set(RAW_IDENTIFIER_COLUMNS[kind]) & set(pseudo_rows[0])
            assert len(raw_rows) == len(pseudo_rows)
            for r, p in zip(raw_rows, pseudo_rows, strict=True):  # row for row, as pseudonymise would write it
                assert pseudonymise_record(SAMPLE_KEY, kind, r) == p
            for r in raw_rows:
                for role in NAME_ROLES[kind]:
                    for part in ("forename", "surname"):
                        raw_names.update(w for w in re.findall("[a-z]+", r[f"{role}_{part}"].lower()) if len(w) > 1)
                    if r[f"{role}_nino"]:
                        ninos.add(r[f"{role}_nino"])
    assert len(raw_names) > 300 and len(ninos) > 500
    for name, content in all_files(pseudo_dir).items():
        tokens = set(re.findall("[a-z0-9_]+", content.decode("utf-8").lower()))
        assert not tokens & raw_names, f"raw names in {name}: {sorted(tokens & raw_names)[:5]}"
        assert not {n.lower() for n in ninos} & tokens, f"raw NINO in {name}"


def test_benefits_cover_15_to_20_percent_of_dwellings(raw_dir: Path) -> None:
    for lad in LADS:
        accounts, claims = extract(raw_dir, lad, "council_tax"), extract(raw_dir, lad, "benefits")
        assert len(accounts) == 1500
        assert 0.15 <= len(claims) / len(accounts) <= 0.20


def test_files_are_sorted_by_reference(raw_dir: Path, truth: dict[str, list[dict[str, str]]]) -> None:
    for name, rows in truth.items():
        keys = [tuple(r.values()) for r in rows]
        assert keys == sorted(keys), name
    for lad in LADS:
        for kind, ref in (("benefits", "claim_ref"), ("council_tax", "account_ref")):
            refs = [r[ref] for r in extract(raw_dir, lad, kind)]
            assert refs == sorted(refs)


def test_truth_links_and_persons_refer_to_real_records(raw_dir: Path, truth: dict[str, list[dict[str, str]]],
                                                      noise_by: dict[str, set[tuple[str, ...]]]) -> None:
    refs = {(lad, kind): {r["claim_ref" if kind == "benefits" else "account_ref"] for r in extract(raw_dir, lad, kind)}
            for lad in LADS for kind in ("benefits", "council_tax")}
    links = truth["links"]
    assert all(lk["claim_ref"] in refs[(lk["lad_code"], "benefits")] for lk in links)
    assert all(lk["account_ref"] in refs[(lk["lad_code"], "council_tax")] for lk in links)
    assert len({(lk["lad_code"], lk["claim_ref"]) for lk in links}) == len(links)
    assert len({(lk["lad_code"], lk["account_ref"]) for lk in links}) == len(links)
    unlinked = {(lad, "benefits", ref, "") for lad in LADS for ref in refs[(lad, "benefits")]} - {
        (lk["lad_code"], "benefits", lk["claim_ref"], "") for lk in links}
    assert unlinked == noise_by["no_account"]
    for p in truth["persons"]:
        assert p["ref"] in refs[(p["lad_code"], p["kind"])]
    assert {(c["lad_code"], c["claim_ref"]) for c in truth["claims"]} == {
        (lad, ref) for lad in LADS for ref in refs[(lad, "benefits")]}


def test_moved_households_are_the_same_people_in_two_districts(raw_dir: Path,
                                                               truth: dict[str, list[dict[str, str]]]) -> None:
    claims = {(lad, r["claim_ref"]): r for lad in LADS for r in extract(raw_dir, lad, "benefits")}
    by_household = defaultdict(list)
    for c in truth["claims"]:
        if c["moved"]:
            by_household[c["household_id"]].append(c)
    assert by_household
    for pair in by_household.values():
        assert sorted(c["moved"] for c in pair) == ["moved", "moved_stale"]
        assert pair[0]["lad_code"] != pair[1]["lad_code"]
        a, b = (claims[(c["lad_code"], c["claim_ref"])] for c in pair)
        for col in ("claimant_nino", "claimant_birth_date", "partner_nino", "partner_birth_date"):
            assert a[col] == b[col]
        new, old = sorted(pair, key=lambda c: c["moved"])
        assert (claims[(old["lad_code"], old["claim_ref"])]["claim_start_date"]
                < claims[(new["lad_code"], new["claim_ref"])]["claim_start_date"])


def test_noise_rates_match_their_promise(raw_dir: Path, truth: dict[str, list[dict[str, str]]]) -> None:
    rows = {(lad, kind): extract(raw_dir, lad, kind) for lad in LADS for kind in ("benefits", "council_tax")}
    records = sum(len(v) for v in rows.values())
    claims = sum(len(rows[(lad, "benefits")]) for lad in LADS)
    accounts = records - claims
    names = sum(1 for (_, kind), rs in rows.items() for r in rs for role in NAME_ROLES[kind] if r[f"{role}_forename"])
    count = Counter(n["noise"] for n in truth["noise"])
    couples = sum(1 for c in truth["claims"] if c["household_type"] in (
        "pensioner_couple", "mixed_age_couple", "couple_no_children", "couple_with_children"))
    assert count["name_typo"] / names == pytest.approx(syn.NAME_TYPO_RATE, abs=0.015)
    assert count["nickname"] / names == pytest.approx(syn.NICKNAME_RATE, abs=0.015)
    assert count["uprn_missing"] / records == pytest.approx(syn.UPRN_MISSING_RATE, abs=0.02)
    assert count["uprn_mistyped"] / records == pytest.approx(syn.UPRN_MISTYPED_RATE, abs=0.008)
    assert count["postcode_format"] / records == pytest.approx(syn.POSTCODE_FORMAT_RATE, abs=0.02)
    assert count["address_format"] / claims == pytest.approx(syn.ADDRESS_FORMAT_RATE, abs=0.05)
    assert count["liable_is_partner"] / couples == pytest.approx(syn.LIABLE_PARTNER_RATE, abs=0.06)
    assert count["moved"] / claims == pytest.approx(syn.MOVED_RATE, abs=0.006)
    assert count["moved_stale"] == count["moved"]
    assert count["no_account"] / claims == pytest.approx(syn.NO_ACCOUNT_RATE, abs=0.006)
    with_ids = sum(1 for lad in LADS for r in rows[(lad, "council_tax")] if r["liable_nino"])
    assert with_ids / accounts == pytest.approx(syn.LIABLE_IDENTIFIERS_RATE, abs=0.02)


def test_noise_is_where_the_truth_says(raw_dir: Path, truth: dict[str, list[dict[str, str]]],
                                      noise_by: dict[str, set[tuple[str, ...]]]) -> None:
    rows = {(lad, kind, r["claim_ref" if kind == "benefits" else "account_ref"]): r
            for lad in LADS for kind in ("benefits", "council_tax") for r in extract(raw_dir, lad, kind)}
    missing = {k for k, r in rows.items() if not r["uprn"]}
    assert missing == {k[:3] for k in noise_by["uprn_missing"]}
    odd_postcode = {k for k, r in rows.items() if r["postcode"] != normalise_postcode(r["postcode"])}
    assert odd_postcode == {k[:3] for k in noise_by["postcode_format"]}
    for n in truth["noise"]:
        if n["noise"] == "uprn_mistyped":
            shown, true = rows[(n["lad_code"], n["kind"], n["ref"])]["uprn"], n["detail"].split("=")[1]
            assert len(shown) == len(true) and sum(a != b for a, b in zip(shown, true, strict=True)) == 1
    # linked pairs: the claim's address differs from the account's exactly when address_format says so,
    # and the same person's name is written the same way unless name noise says otherwise
    person = {(p["lad_code"], p["kind"], p["ref"], p["role"]): p["person_id"] for p in truth["persons"]}
    name_noise = noise_by["name_typo"] | noise_by["nickname"]
    compared = differ = 0
    for lk in truth["links"]:
        lad = lk["lad_code"]
        claim, account = rows[(lad, "benefits", lk["claim_ref"])], rows[(lad, "council_tax", lk["account_ref"])]
        differs = [claim[c] for c in ("address_line_1", "address_line_2", "town")] != [
            account[c] for c in ("address_line_1", "address_line_2", "town")]
        assert differs == ((lad, "benefits", lk["claim_ref"], "") in noise_by["address_format"])
        claim_key, account_key = (lad, "benefits", lk["claim_ref"]), (lad, "council_tax", lk["account_ref"], "liable")
        role = next(r for r in ("claimant", "partner") if person.get((*claim_key, r)) == person[account_key])
        assert (role == "partner") == (account_key in noise_by["liable_is_partner"])
        noisy = {(*claim_key, role), account_key} & name_noise
        same = (claim[f"{role}_forename"], claim[f"{role}_surname"]) == (account["liable_forename"],
                                                                          account["liable_surname"])
        assert same or noisy
        compared, differ = compared + 1, differ + (not same)
    assert compared > 400 and differ > 0.1 * compared


def test_household_mix_and_money_are_consistent(raw_dir: Path, truth: dict[str, list[dict[str, str]]]) -> None:
    facts = {(c["lad_code"], c["claim_ref"]): c for c in truth["claims"]}
    assert {c["household_type"] for c in facts.values()} == set(syn.HOUSEHOLD_TYPES)
    accounts = {(lad, r["account_ref"]): r for lad in LADS for r in extract(raw_dir, lad, "council_tax")}
    account_of = {(lk["lad_code"], lk["claim_ref"]): accounts[(lk["lad_code"], lk["account_ref"])]
                  for lk in truth["links"]}
    for lad in LADS:
        for r in extract(raw_dir, lad, "benefits"):
            f = facts[(lad, r["claim_ref"])]
            money = {k: float(v) for k, v in r.items() if k.endswith(("_weekly", "_monthly")) or k == "capital"}
            if f["pensioner"] == "true":
                assert money["state_pension_weekly"] >= 100 * int(r["adults"]) - 0.01 and money["uc_monthly"] == 0
                assert all(_age(r[f"{p}_birth_date"]) >= 67 for p in ("claimant", "partner") if r[f"{p}_birth_date"])
            if f["on_uc"] == "true":
                assert money["uc_monthly"] > 0
            if r["tenure"] == "owner_occupier":
                assert money["hb_weekly"] == 0 and money["rent_weekly"] == 0
            assert money["hb_weekly"] <= money["rent_weekly"] and money["ctr_weekly"] <= money["council_tax_weekly"]
            assert (r["partner_birth_date"] != "") == (r["adults"] == "2")
            ages = [int(a) for a in r["child_ages"].split(";")] if r["child_ages"] else []
            assert len(ages) == int(r["children"])
            expected_cb = 26.05 + 17.25 * (len(ages) - 1) if ages else 0.0
            assert money["child_benefit_weekly"] == pytest.approx(expected_cb)
            account = account_of.get((lad, r["claim_ref"]))
            if account is not None:
                assert money["council_tax_weekly"] == pytest.approx(float(account["annual_charge"]) / 52, abs=0.01)
                assert float(account["ctr_annual"]) == pytest.approx(money["ctr_weekly"] * 52, abs=0.01)
    working_age = [f for f in facts.values() if f["pensioner"] == "false"]
    assert sum(f["on_uc"] == "true" for f in working_age) / len(working_age) > 0.9


def _age(birth: str) -> int:
    b, d = dt.date.fromisoformat(birth), syn.EXTRACT_DATE
    return d.year - b.year - ((d.month, d.day) < (b.month, b.day))


def test_outcomes_are_plausible(truth: dict[str, list[dict[str, str]]]) -> None:
    claims = truth["claims"]
    negative = sum(float(c["cashflow_monthly_claim"]) < 0 for c in claims) / len(claims)
    assert 0.05 <= negative <= 0.16
    entitled = [c for c in claims if c["pension_credit_entitled"] == "true"]
    missing = [c for c in entitled if c["pension_credit_missing"] == "true"]
    assert 0.2 <= len(missing) / len(entitled) <= 0.55  # PC_TAKEUP 0.64: ~36% missing; small sample
    assert all(float(c["pension_credit_value_annual"]) > 0 for c in missing)


def test_council_tax_bands_charges_and_recovery(raw_dir: Path) -> None:
    for lad in LADS:
        rows = extract(raw_dir, lad, "council_tax")
        plain_d = [r for r in rows if r["band"] == "D" and r["single_person_discount"] == "false"
                   and r["disabled_band_reduction"] == "false" and not r["exemption_class"]]
        assert {float(r["annual_charge"]) for r in plain_d} == {syn.band_d(lad)}
        single_a = [r for r in rows if r["band"] == "A" and r["single_person_discount"] == "true"
                    and r["disabled_band_reduction"] == "false"]
        assert {float(r["annual_charge"]) for r in single_a} == {round(syn.band_d(lad) * 6 / 9 * 0.75, 2)}
        stages = Counter(r["recovery_stage"] for r in rows)
        assert stages["none"] / len(rows) > 0.85 and stages["summons"] > 0
        assert all(float(r["arrears"]) > 0 for r in rows if r["recovery_stage"] != "none")


def test_epc_and_postcode_lookup_cover_the_extracts(raw_dir: Path) -> None:
    epc, lookup = read(raw_dir / "epc.csv"), read(raw_dir / "postcode_lookup.csv")
    assert {e["current_energy_rating"] for e in epc} <= set("ABCDEFG")
    dwellings = sum(len(extract(raw_dir, lad, "council_tax")) for lad in LADS)
    assert len(epc) / dwellings == pytest.approx(syn.EPC_RATE, abs=0.05)
    assert len({e["uprn"] for e in epc}) == len(epc)
    codes = {r["postcode"]: r for r in lookup}
    assert len(codes) == len(lookup)
    assert all(re.fullmatch(r"E01\d{6}", r["lsoa21cd"]) and re.fullmatch(r"E05\d{6}", r["ward_code"]) for r in lookup)
    for lad in LADS:
        for kind in ("benefits", "council_tax"):
            for r in extract(raw_dir, lad, kind):
                assert codes[normalise_postcode(r["postcode"])]["lad_code"] == lad


def test_flats_share_a_building_number(raw_dir: Path) -> None:
    rows = extract(raw_dir, LADS[0], "council_tax")
    flats = Counter(re.sub(r"^Flat \d+, ", "", r["address_line_1"]) + "|" + r["address_line_2"]
                    for r in rows if r["address_line_1"].startswith("Flat "))
    assert max(flats.values()) >= 4


def test_pension_credit_terms_rules_worked_example() -> None:
    """RULES.md: single, born 1 Mar 1950, SP 180 + private 20, capital 12,000 -> £1,768.00 a year."""
    p = Person("P1", 1, "F", "Ann", "Lee", dt.date(1950, 3, 1))
    h = Household("H1", "single_pensioner", p, None, [], 0, state_pension=180.0, private_pension=20.0,
                  capital=12_000.0)
    income, guarantee = pension_credit_terms(h)
    assert (income, guarantee) == (204.0, 238.0)
    assert (guarantee - income) * 52 == pytest.approx(1768.0)


def test_cashflow_monthly_hand_worked() -> None:
    """Single adult, UC £500/month, rent £100/wk fully, council tax £20/wk less CTR £16/wk.

    income 500; housing 100*52/12 = 433.33; council tax 4*52/12 = 17.33; food 33*52/12 = 143;
    energy 1641*0.7/12 = 95.725; water 639*0.75/12 = 39.9375; other 35*52/12 = 151.67
    -> cashflow = 500 - 433.333 - 17.333 - 143 - 95.725 - 39.9375 - 151.667 = -381.00
    """
    p = Person("P1", 1, "M", "Bob", "Ray", dt.date(1990, 1, 1))
    h = Household("H1", "single_adult", p, None, [], 0)
    c = Claim(h, "council", 100.0, 20.0, 1040.0, True, False, hb=0.0, ctr=16.0, uc_monthly=500.0, on_uc=True)
    assert cashflow_monthly(c) == pytest.approx(-381.00, abs=0.01)


def test_cli_sample_writes_a_folder(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pipelines.cli import app

    result = CliRunner().invoke(app, ["sample", "--out", str(tmp_path / "s"), "--districts", "1",
                                      "--households", "40", "--raw"])
    assert result.exit_code == 0, result.output
    assert "Ashford: 40 council-tax accounts" in result.output
    assert "claimant_nino" in (tmp_path / "s" / "E07000105" / f"benefits_{STAMP}.csv").read_text()
