"""The take-up checks' ground truth (TAKEUP.md section 2) for the synthetic sample, worked in Python.

An independent reading of the rules, as ``docs/TAKEUP.md`` states them, on the generator's canonical values
(before noise): each household's claim row (or, for a UC-only household, its award turned into the same
columns), the account of its dwelling and its live award. It gives what the scorer must find when every
claim is linked to its true account and every award joined to its true claim: which checks flag, with
what confidence, and the value to the penny. Amounts are exact ``Decimal`` pounds, rounded to the penny
half away from zero as DuckDB casts. Personal data: reads synthetic birth dates; writes none.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from pipelines.score.pension_age import state_pension_date
from schemas.parameters import Parameters

CHECKS = ("ctr", "fsm", "healthy_start", "attendance_allowance", "whd", "water_tariff", "watersure",
          "hb_pensioner")
RENTED = ("council", "housing_association", "private_rented")
SOCIAL = ("council", "housing_association")
WEEKLY_INCOMES = ("hb_weekly", "state_pension_weekly", "private_pension_weekly", "pension_credit_weekly",
                  "disability_benefit_weekly", "carers_allowance_weekly", "child_benefit_weekly", "other_income_weekly")
PENNY = Decimal("0.01")


def penny(x: Decimal) -> Decimal:
    return x.quantize(PENNY, rounding=ROUND_HALF_UP)


@dataclass
class Seen:
    """One household as the scorer sees it: claim columns (text, as written), account and award (or None)."""

    lad: str
    ref: str
    claim: dict[str, str]
    account: dict[str, str] | None
    award: dict[str, str] | None  # the latest live AP's row (award_monthly, earnings_monthly, child_ages)


def uc_only_claim(ap: dict[str, str]) -> dict[str, str]:
    """The benefits columns a UC-only household gets from its latest AP (monthly x 12 / 52, to the penny)."""
    def weekly(col: str) -> str:
        return str(penny(Decimal(ap[col]) * 12 / 52))

    zero = "0.00"
    return {
        "claimant_birth_date": ap["claimant_birth_date"], "partner_birth_date": ap["partner_birth_date"],
        "adults": ap["adults"], "children": ap["children"], "child_ages": ap["child_ages"], "non_dependants": "0",
        "tenure": "other", "rent_weekly": weekly("housing_element"), "council_tax_weekly": zero,
        "hb_weekly": zero, "ctr_weekly": zero, "uc_monthly": ap["award_monthly"],
        "earnings_weekly": weekly("earnings_monthly"), "state_pension_weekly": zero, "private_pension_weekly": zero,
        "pension_credit_weekly": zero, "disability_benefit_weekly": zero, "carers_allowance_weekly": zero,
        "child_benefit_weekly": zero, "other_income_weekly": weekly("other_income_monthly"),
        "capital": ap["capital"], "severe_disability": "false",
        "carer": "true" if Decimal(ap["carer_element"]) > 0 else "false", "postcode": ap["postcode"],
    }


def _d(row: dict[str, str], col: str) -> Decimal:
    return Decimal(row[col] or "0")


def _date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _factor(people: int, factors: dict[int, Decimal]) -> Decimal:
    return factors[min(people, max(factors))]


def _company(postcode: str, suppliers: Mapping[str, str]) -> str | None:
    outward = postcode.split(" ")[0]
    area = re.match(r"[A-Z]*", outward).group(0)  # type: ignore[union-attr]
    for key, company in sorted(suppliers.items(), key=lambda kv: (-len(kv[0]), kv[0])):
        if (key.isalpha() and area == key) or (not key.isalpha() and outward == key):
            return company
    return None


def evaluate(s: Seen, p: Parameters, as_of: dt.date) -> dict[str, tuple[str, Decimal | None]]:
    """check -> (confidence, £ a year or None) for every check that flags this household."""
    c, acc, aw = s.claim, s.account, s.award
    adults, children, non_dep = int(c["adults"]), int(c["children"]), int(c["non_dependants"])
    born, partner_born = _date(c["claimant_birth_date"]), _date(c.get("partner_birth_date", ""))
    couple = adults >= 2 or partner_born is not None
    bands = p.state_pension_age.value
    claimant_spa = born is not None and state_pension_date(born, bands) <= as_of
    partner_spa = None if partner_born is None else state_pension_date(partner_born, bands) <= as_of
    everyone_spa = claimant_spa and (not couple or partner_spa is True)
    money = {k: _d(c, k) for k in ("rent_weekly", "hb_weekly", "ctr_weekly", "uc_monthly", "earnings_weekly",
                                   "capital", *WEEKLY_INCOMES)}
    severe, carer = c["severe_disability"] == "true", c["carer"] == "true"
    guarantee = (p.pc_guarantee_couple.value if couple else p.pc_guarantee_single.value) \
        + (p.pc_severe_disability_addition.value if severe else 0) + (p.pc_carer_addition.value if carer else 0)
    disregard = p.pc_earnings_disregard_couple.value if couple else p.pc_earnings_disregard_single.value
    step, per_step = p.pc_tariff_step.value, p.pc_tariff_per_step.value
    excess = max(money["capital"] - p.pc_capital_disregarded.value, Decimal(0))
    income_pc = (max(money["earnings_weekly"] - disregard, Decimal(0)) + money["state_pension_weekly"]
                 + money["private_pension_weekly"] + money["carers_allowance_weekly"] + money["other_income_weekly"]
                 + per_step * -(-int(excess * 100) // int(step * 100)))  # whole steps of capital or part
    on_pc, on_hb = money["pension_credit_weekly"] > 0, money["hb_weekly"] > 0
    on_gc = on_pc and income_pc < guarantee
    award = None if aw is None else _d(aw, "award_monthly")
    on_uc = money["uc_monthly"] > 0 or (award is not None and award > 0)
    uc_nil = award is not None and award == 0 and money["uc_monthly"] == 0
    earnings_m = _d(aw, "earnings_monthly") if aw is not None else money["earnings_weekly"] * 52 / 12
    ages_text = (c.get("child_ages") or "").strip() or ((aw or {}).get("child_ages") or "").strip()
    ages = [int(x) for x in ages_text.split(";")] if ages_text else None
    out: dict[str, tuple[str, Decimal | None]] = {}

    # 2a Council Tax Reduction
    if (acc is not None and _d(acc, "annual_charge") > 0 and not acc["exemption_class"]
            and _d(acc, "ctr_annual") == 0 and money["ctr_weekly"] == 0 and (on_uc or uc_nil or on_pc or on_hb)):
        scheme = p.ctr_schemes.value.get(s.lad)
        top = scheme.max_pct if scheme else p.ctr_default_max_pct.value
        low = (min(scheme.band_pcts) if scheme.band_pcts else scheme.max_pct) if scheme else top
        pct = Decimal(1) if everyone_spa else top if earnings_m == 0 else low
        doubt = (non_dep > 0 or (not couple and acc["single_person_discount"] != "true") or uc_nil
                 or ((not on_gc) if everyone_spa else earnings_m > 0))
        out["ctr"] = ("possible" if doubt else "likely", penny(_d(acc, "annual_charge") * pct))

    # 2b free school meals (every UC household from fsm_all_uc_from; the earnings test is not needed after it)
    if as_of < p.fsm_all_uc_from.value:
        raise NotImplementedError("the truth works the free-school-meals test only after fsm_all_uc_from")
    if (on_uc or on_gc) and children > 0:
        if ages is None:
            out["fsm"] = ("possible", None)
        else:
            school = [a for a in ages if 7 <= a <= 18]
            if school or any(4 <= a <= 6 for a in ages):
                out["fsm"] = ("possible", p.fsm_value_per_child.value * len(school))

    # 2c Healthy Start
    r, under_one = p.healthy_start_weekly.value, p.healthy_start_under_one_weekly.value
    if ((on_uc and earnings_m <= p.healthy_start_earnings_limit_monthly.value) or (on_pc and children > 0)) and ages:
        young = [a for a in ages if 0 <= a <= 3]
        if young:
            out["healthy_start"] = ("possible", penny(sum(
                (26 * under_one + 26 * r if a == 0 else 26 * r if a == 3 else 52 * r for a in young), Decimal(0))))

    # 2d Attendance Allowance
    if everyone_spa and money["disability_benefit_weekly"] == 0:
        years = p.aa_sign_age.value
        aged = any(b is not None and _add_years(b, years) <= as_of for b in (born, partner_born))
        disabled = acc is not None and acc["disabled_band_reduction"] == "true"
        if disabled or severe or aged:
            sda = p.pc_severe_disability_addition.value
            knock = Decimal(0)
            if adults == 1 and not couple and non_dep == 0 and not severe:
                knock = sda * 52 if on_pc else (max(guarantee + sda - income_pc, Decimal(0))
                                                - max(guarantee - income_pc, Decimal(0))) * 52
            out["attendance_allowance"] = ("possible", penny(p.aa_lower_weekly.value * 52 + penny(knock)))

    # 2e Warm Home Discount
    if on_gc or on_uc or on_hb or on_pc:
        group_2 = "automatic" if p.whd_core_group_2_automatic.value else "possible"
        out["whd"] = ("automatic" if on_gc else group_2, p.whd_amount.value)

    # 2f water: social tariffs and WaterSure
    people = adults + children
    income_a = (money["earnings_weekly"] * 52 + money["uc_monthly"] * 12
                + sum((money[k] for k in WEEKLY_INCOMES), Decimal(0)) * 52)
    housing_a = money["rent_weekly"] * 52
    water_a = p.water_annual.value * _factor(people, p.water_size_factors.value)
    company = _company(c["postcode"], p.water_suppliers.value)
    southern_pc = company == "southern" and on_pc
    routes = (
        (company == "southern" and income_a - housing_a > 0
         and water_a > p.water_southern_bill_share.value * (income_a - housing_a)
         and money["capital"] <= p.water_southern_capital_limit.value)
        or (company == "south_east" and income_a - (money["disability_benefit_weekly"] + money["hb_weekly"]) * 52
            < p.water_south_east_income_limit.value)
        or (company == "affinity" and (income_a < p.water_affinity_income_limit.value or on_uc or on_hb or on_pc)))
    if southern_pc:
        out["water_tariff"] = ("possible", penny(p.water_southern_pc_discount.value * water_a))
    elif routes:
        out["water_tariff"] = ("possible", None)
    if (on_uc or on_hb or on_pc) and children >= p.watersure_min_children.value:
        out["watersure"] = ("possible", penny(max(water_a - p.watersure_cap_annual.value, Decimal(0))))

    # 2g Housing Benefit for pensioners who rent
    if everyone_spa and on_pc and c["tenure"] in RENTED and money["rent_weekly"] > 0 and money["hb_weekly"] == 0:
        likely = c["tenure"] in SOCIAL and non_dep == 0 and on_gc
        out["hb_pensioner"] = ("likely" if likely else "possible", penny(money["rent_weekly"] * 52))
    return out


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February: DuckDB's INTERVAL gives 28 February
        return day.replace(year=day.year + years, day=28)


def arrears_signal(account: dict[str, str], linked: bool, p: Parameters) -> Decimal | None:
    """2h: the arrears of an account at a listed recovery stage with arrears >= the minimum and no household."""
    arrears = _d(account, "arrears")
    if linked or account["recovery_stage"] not in p.arrears_signal_stages.value:
        return None
    return arrears if arrears >= p.arrears_signal_min.value else None
