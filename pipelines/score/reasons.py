"""The plain-English ``reasons`` of each household, as one SQL expression (RULES.md flags).

One clause per flag that holds (council tax at summons or later first, whatever the status), then the
resilience status, joined by '; ', worded so that a benefits officer can read it out on the phone.
Money in reasons is rounded to the penny (a week or a month as said), and the Pension Credit yearly
figure to the pound ("about £1,768 a year"). Reads only the scored columns of
``pipelines.score.households_sql``; no personal data.
"""

from __future__ import annotations

from decimal import Decimal

from schemas.parameters import Parameters
from schemas.sql import quote_str
from schemas.vocabulary import RECOVERY_STAGE_WORDS


def money(expr: str, places: int = 2) -> str:
    """SQL: '£1,234.56' from a numeric expression (absolute value is the caller's job)."""
    return f"('£' || format('{{:,.{places}f}}', CAST({expr} AS DOUBLE)))"


def _pounds_text(value: Decimal) -> str:
    return f"£{value:,.0f}" if value == value.to_integral_value() else f"£{value:,.2f}"


def _percent_text(share: Decimal) -> str:
    return f"{float(share) * 100:g}%"


def reasons_sql(p: Parameters, takeup: list[str] | None = None) -> str:
    """SQL expression of the reasons text, evaluated over the last CTE of the households SQL.

    ``takeup``: SQL expressions of the take-up checks' clauses (NULL where not flagged), placed after
    the Pension Credit clause and before the poverty flags.
    """
    stage_words = " ".join(f"WHEN {quote_str(k)} THEN {quote_str(v)}" for k, v in RECOVERY_STAGE_WORDS.items())
    stage = f"(CASE recovery_stage {stage_words} ELSE replace(recovery_stage, '_', ' ') END)"
    coping = _pounds_text(p.resilience_coping_from.value)
    comfortable = _pounds_text(p.resilience_comfortable_from.value)
    left = f"{money('cashflow_monthly')} || ' a month left after essentials'"
    short = f"'spends ' || {money('-cashflow_monthly')} || ' a month more than comes in'"
    status = f"""CASE resilience_status
        WHEN 'in_crisis' THEN 'In crisis: ' || {short}
            || ', and council tax recovery has reached ' || {stage}
        WHEN 'at_risk' THEN 'At risk: ' || {short}
        WHEN 'struggling' THEN 'Struggling: only ' || {left} || ' (under {coping})'
        WHEN 'coping' THEN 'Coping: ' || {left} || ' (under {comfortable})'
        ELSE 'Comfortable: ' || {left} END"""
    fuel = (f"CASE WHEN fuel_poverty THEN 'Fuel poverty: energy ' || {money('energy_monthly')} || ' a month is more '"
            f" || 'than {_percent_text(p.fuel_poverty_share.value)} of income of ' || {money('income_monthly')}"
            f" || ' a month' END")
    after_housing = "(income_monthly - housing_costs_monthly)"
    water = f"""CASE WHEN water_poverty THEN CASE WHEN income_a - housing_a <= 0
            THEN 'Water poverty: nothing is left after housing costs to pay water of ' || {money('water_monthly')}
                 || ' a month'
            ELSE 'Water poverty: water ' || {money('water_monthly')} || ' a month is more than '
                 || '{_percent_text(p.water_poverty_share.value)} of income after housing costs of '
                 || {money(after_housing)} || ' a month' END END"""
    food_min = f"CAST(food_a AS DOUBLE) / 12 * {float(p.food_poverty_share.value)!r}"
    food = f"""CASE WHEN food_poverty THEN CASE WHEN left_for_food_a < 0
            THEN 'Food poverty: nothing is left for food (short by ' || {money('-left_for_food_monthly')}
                 || ' a month before food); the minimum food cost is ' || {money(food_min)} || ' a month'
            ELSE 'Food poverty: ' || {money('left_for_food_monthly')} || ' a month is left for food, below the '
                 || 'minimum food cost of ' || {money(food_min)} || ' a month' END END"""
    pension = f"""CASE WHEN pension_credit_missing THEN 'Pension Credit: income ' || {money('income_pc_w')}
            || ' a week is below the guarantee of ' || {money('guarantee_w')} || '; about '
            || {money('pension_credit_value_annual', 0)} || ' a year unclaimed'
        WHEN pension_credit_unchecked THEN 'Pension Credit may be unclaimed: couple income '
            || {money('income_pc_w')} || ' a week is below the guarantee of ' || {money('guarantee_w')}
            || ', but the partner''s date of birth is not held to check their age' END"""
    at_law = ", ".join(quote_str(k) for k in RECOVERY_STAGE_WORDS)  # summons or later: named whatever the status
    recovery = f"""CASE WHEN recovery_stage IN ({at_law}) THEN 'Council tax recovery has reached ' || {stage}
            || coalesce(' with ' || {money('account_arrears')} || ' arrears', '')
            || ': refer to the recovery team before further action' END"""
    clauses = [recovery, pension, *(takeup or []), fuel, water, food, status]
    return f"concat_ws('; ', {', '.join(clauses)})"
