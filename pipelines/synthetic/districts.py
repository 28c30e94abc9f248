"""Which districts the sample generator writes, and the council-tax figures of each.

``sample --districts N`` takes Kent's 12 districts first (code order: the committed sample is the
first three), then the other English districts of ``ons_districts.csv`` in code order, then
clearly synthetic districts (codes ``E98`` + six digits, named "Synthetic district N"), so any
number of districts can be made.

``ons_districts.csv`` (lad_code, district: its name; 296 rows): England's local-authority districts (E06
unitary, E07 non-metropolitan, E08 metropolitan, E09 London boroughs) as in the ONS list "Local
Authority Districts (December 2023) Names and Codes", transcribed for this synthetic generator in
December 2026 (not downloaded: check it against the ONS Open Geography Portal before using it
for anything but synthetic data). Public reference data, no personal data.

Band D charges and the working-age council-tax-reduction maxima of Kent's districts are the
generator's own (close to 2025-26's); for other districts they are drawn deterministically from
the district code in the same range, so they are plausible, not real.
"""

from __future__ import annotations

import csv
import random
from functools import cache
from pathlib import Path

from schemas.reference import KENT_DISTRICTS

ONS_DISTRICTS = Path(__file__).with_name("ons_districts.csv")
SYNTHETIC_PREFIX = "E98"  # not an ONS entity code: a district made up for scale tests
_KENT = sorted(KENT_DISTRICTS)
# Band D council tax (pounds a year, all precepts; Kent ~2,250) and working-age CTR maximum share.
_KENT_BAND_D = dict(zip(_KENT, (2262.34, 2241.87, 2203.55, 2279.10, 2231.62, 2288.45, 2250.03,
                                2297.66, 2214.78, 2269.91, 2236.40, 2245.12), strict=True))
_KENT_CTR_MAX = dict(zip(_KENT, (0.80, 0.80, 0.85, 0.80, 0.80, 0.80, 0.75, 0.80, 0.80, 0.85, 0.80, 0.80),
                         strict=True))
_KENT_STOCK_TRANSFER = {"E07000110", "E07000111", "E07000113", "E07000115", "E07000116"}  # no council housing


@cache
def ons_districts() -> dict[str, str]:
    """Code -> name of every English district in ``ons_districts.csv``, in code order."""
    with ONS_DISTRICTS.open(encoding="utf-8", newline="") as f:
        rows = sorted((r["lad_code"], r["district"]) for r in csv.DictReader(f))
    return dict(rows)


def district_list(count: int) -> list[str]:
    """The codes of the first ``count`` districts: Kent's, then the rest of England's, then synthetic ones."""
    if count < 1:
        raise ValueError("at least one district")
    codes = _KENT + [c for c in ons_districts() if c not in KENT_DISTRICTS]
    codes += [f"{SYNTHETIC_PREFIX}{n:06d}" for n in range(1, count - len(codes) + 1)]
    return codes[:count]


def district_name(lad_code: str) -> str:
    """The district's name (ONS list, or "Synthetic district N" for a made-up code)."""
    if lad_code.startswith(SYNTHETIC_PREFIX):
        return f"Synthetic district {int(lad_code[len(SYNTHETIC_PREFIX):])}"
    return KENT_DISTRICTS.get(lad_code) or ons_districts().get(lad_code, lad_code)


def band_d(lad_code: str) -> float:
    """Band D council tax, pounds a year (Kent's own figures; elsewhere drawn from the code, 1,900-2,400)."""
    if lad_code in _KENT_BAND_D:
        return _KENT_BAND_D[lad_code]
    return round(random.Random(f"{lad_code}/band_d").uniform(1900.0, 2400.0), 2)


def ctr_max_share(lad_code: str) -> float:
    """The working-age council-tax-reduction scheme's maximum share of the liability (0.75-1.0)."""
    if lad_code in _KENT_CTR_MAX:
        return _KENT_CTR_MAX[lad_code]
    return random.Random(f"{lad_code}/ctr").choice((0.75, 0.80, 0.80, 0.85, 0.85, 0.90, 1.0))


def stock_transfer(lad_code: str) -> bool:
    """True when the district transferred its council housing (no council tenants)."""
    if lad_code in KENT_DISTRICTS:
        return lad_code in _KENT_STOCK_TRANSFER
    return random.Random(f"{lad_code}/stock").random() < 0.4
