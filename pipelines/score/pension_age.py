"""State Pension age (RULES.md): the date a person reaches it, in Python and as its SQL twin.

Personal data: reads a birth date; returns a date.
"""

from __future__ import annotations

import calendar
import datetime as dt

from schemas.parameters import SpaBand
from schemas.sql import sql_date


def _add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus whole months; a day that the target month lacks (29-31) moves to the 1st of the next month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    if day.day <= calendar.monthrange(year, month + 1)[1]:
        return dt.date(year, month + 1, day.day)
    return dt.date(year, month + 1, calendar.monthrange(year, month + 1)[1]) + dt.timedelta(days=1)


def _band_months(birth: dt.date, band: SpaBand) -> int:
    months = band.years * 12 + band.months
    if band.monthly_steps and band.born_from is not None:
        start = band.born_from
        months += (birth.year - start.year) * 12 + birth.month - start.month - (1 if birth.day < start.day else 0)
    return months


def state_pension_date(birth: dt.date, bands: list[SpaBand]) -> dt.date:
    """The date a person born on ``birth`` reaches State Pension age (reached ON this date).

    Age is added in whole months from the birth date. Where the target month has no such day
    (a 29 February birth in a common year, or the 31st in a 30-day month) the age is reached on
    the 1st of the following month: the birthday that completes the age has not happened before.
    """
    for band in bands:
        if band.born_to is None or birth <= band.born_to:
            return _add_months(birth, _band_months(birth, band))
    raise ValueError("state_pension_age bands do not cover every birth date")


def spa_date_sql(birth: str, bands: list[SpaBand]) -> str:
    """SQL twin of :func:`state_pension_date` for the DATE expression ``birth`` (NULL in, NULL out)."""
    whens = []
    for band in bands:
        months = str(band.years * 12 + band.months)
        if band.monthly_steps and band.born_from is not None:
            s = band.born_from
            months += (f" + (year({birth}) - {s.year}) * 12 + month({birth}) - {s.month}"
                       f" - CASE WHEN day({birth}) < {s.day} THEN 1 ELSE 0 END")
        cond = "TRUE" if band.born_to is None else f"{birth} <= {sql_date(band.born_to)}"
        whens.append(f"WHEN {cond} THEN {months}")
    months_expr = f"CASE {' '.join(whens)} END"
    raw = f"CAST({birth} + to_months(CAST({months_expr} AS INTEGER)) AS DATE)"
    return f"(CASE WHEN day({raw}) <> day({birth}) THEN {raw} + 1 ELSE {raw} END)"
