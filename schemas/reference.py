"""Reference data: the partnership's districts (Kent and its 12 districts, ONS LAD codes)."""

from __future__ import annotations

COUNTY_CODE = "county"
COUNTY_NAME = "Kent"

KENT_DISTRICTS: dict[str, str] = {
    "E07000105": "Ashford",
    "E07000106": "Canterbury",
    "E07000107": "Dartford",
    "E07000108": "Dover",
    "E07000109": "Gravesham",
    "E07000110": "Maidstone",
    "E07000111": "Sevenoaks",
    "E07000112": "Folkestone and Hythe",
    "E07000113": "Swale",
    "E07000114": "Thanet",
    "E07000115": "Tonbridge and Malling",
    "E07000116": "Tunbridge Wells",
}


PARTNERSHIP_NAME = "the partnership"
"""What the county-wide figures are called when the districts are not all Kent's and none is configured."""


def district_name(lad_code: str) -> str:
    """The district's name, or the code itself for a district outside Kent."""
    return KENT_DISTRICTS.get(lad_code, lad_code)


def partnership_name(lad_codes: list[str] | tuple[str, ...] | set[str], configured: str | None = None) -> str:
    """The name of the whole partnership (the 'county' rows): ``configured`` (the run config's
    ``[report] county_name``) when given, else "Kent" when every district is one of Kent's, else
    "the partnership"."""
    if configured:
        return configured
    codes = [c for c in lad_codes if c != COUNTY_CODE]
    return COUNTY_NAME if codes and all(c in KENT_DISTRICTS for c in codes) else PARTNERSHIP_NAME
