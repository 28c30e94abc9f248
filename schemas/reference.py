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


def district_name(lad_code: str) -> str:
    """The district's name, or the code itself for a district outside Kent."""
    return KENT_DISTRICTS.get(lad_code, lad_code)
