"""Synthetic places for the sample generator: Kent-ish streets, dwellings, postcodes, UPRNs, areas.

Every street, postcode unit, UPRN, LSOA and ward code is invented: postcodes use each Kent
district's real outward codes (so they look like Kent) with made-up inward codes; LSOA and
ward codes are well-formed (E01/E05 and six digits) but do not name real areas. No personal
data here.

Any size and any district: a district outside Kent, and a Kent outward code whose 4,000 units
(10 sectors x 400 inward letter pairs) are used up (at ~60,000 dwellings), take units of
synthetic outward codes from the district's own block (:func:`synthetic_outward`: areas QA-QZ,
VA-VZ, XA-XZ, which no real postcode area uses as first letter), handed out in a fixed order,
so the same seed gives the same places and a district stays unique.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from pipelines.synthetic.districts import ons_districts
from pipelines.synthetic.people import PERSON_NAME_WORDS, Weighted, typo

# Outward code, post town and relative weight, for each Kent district (the main towns first).
GEOGRAPHY: dict[str, tuple[tuple[str, str, int], ...]] = {
    "E07000105": (("TN23", "Ashford", 4), ("TN24", "Ashford", 4), ("TN25", "Ashford", 1), ("TN30", "Tenterden", 1)),
    "E07000106": (("CT1", "Canterbury", 4), ("CT2", "Canterbury", 4), ("CT5", "Whitstable", 2),
                  ("CT6", "Herne Bay", 2)),
    "E07000107": (("DA1", "Dartford", 4), ("DA2", "Dartford", 4), ("DA9", "Greenhithe", 1),
                  ("DA10", "Swanscombe", 1)),
    "E07000108": (("CT16", "Dover", 4), ("CT17", "Dover", 4), ("CT14", "Deal", 2), ("CT13", "Sandwich", 1)),
    "E07000109": (("DA11", "Gravesend", 4), ("DA12", "Gravesend", 4), ("DA13", "Gravesend", 1)),
    "E07000110": (("ME14", "Maidstone", 4), ("ME15", "Maidstone", 4), ("ME16", "Maidstone", 3),
                  ("ME17", "Maidstone", 1)),
    "E07000111": (("TN13", "Sevenoaks", 4), ("TN14", "Sevenoaks", 3), ("BR8", "Swanley", 2),
                  ("TN8", "Edenbridge", 1)),
    "E07000112": (("CT19", "Folkestone", 4), ("CT20", "Folkestone", 4), ("CT21", "Hythe", 2),
                  ("TN28", "New Romney", 1)),
    "E07000113": (("ME10", "Sittingbourne", 4), ("ME12", "Sheerness", 3), ("ME13", "Faversham", 2)),
    "E07000114": (("CT9", "Margate", 4), ("CT10", "Broadstairs", 3), ("CT11", "Ramsgate", 4),
                  ("CT7", "Birchington", 1)),
    "E07000115": (("TN9", "Tonbridge", 4), ("TN10", "Tonbridge", 4), ("ME19", "West Malling", 2),
                  ("ME20", "Aylesford", 2)),
    "E07000116": (("TN1", "Tunbridge Wells", 4), ("TN2", "Tunbridge Wells", 4), ("TN12", "Paddock Wood", 1),
                  ("TN17", "Cranbrook", 1)),
}

_WORDS = (
    "High", "Church", "Station", "Mill", "London", "Victoria", "Albert", "Queens", "Kings", "Park", "Manor",
    "Orchard", "Hop Garden", "Oast", "Chapel", "Castle", "Market", "Bridge", "School", "Green", "North",
    "South", "East", "West", "New", "Old", "Oak", "Ash", "Beech", "Elm", "Chestnut", "Hawthorn", "Willow",
    "Cherry", "Hazel", "Rowan", "Sycamore", "Maple", "Cedar", "Holly", "Juniper", "Laurel", "Lime", "Poplar",
    "Nelson", "Wellington", "Churchill", "Darwin", "Dickens", "Chaucer", "Becket", "Marlowe", "Conrad",
    "Tennyson", "Kipling", "Austen", "Milton", "Shakespeare", "Meadow", "Brook", "River", "Hill", "Valley",
    "Downs", "Marsh", "Cliff", "Harbour", "Sea View", "Bay", "Field", "Common", "Priory", "Abbey",
    "Canterbury", "Dover", "Hythe", "Romney", "Medway", "Stour", "Weald", "Forge", "Windmill", "Well",
    "Fair View", "Pilgrims", "Roman", "Saxon", "Tudor", "York", "Lancaster", "Cambridge", "Oxford",
    "Beaconsfield", "Gladstone", "Palmerston", "Grosvenor", "Belmont", "Sandown", "Coronation", "Jubilee",
    "Primrose", "Bluebell", "Foxglove", "Heather", "Lavender", "Kestrel", "Swallow", "Heron", "Falcon",
    "Ashdown", "Beacon", "Birch", "Blackthorn", "Bramble", "Brewery", "Broad", "Buckland", "Burgate",
    "Chalk", "Cherry Tree", "Coldharbour", "Copse", "Cornfield", "Cowslip", "Cranbrook", "Dane", "Dene",
    "Ditton", "Dunkirk", "Eastry", "Elmstone", "Fairfield", "Farleigh", "Fennel", "Ferry", "Fisher",
    "Fordwich", "Foxhill", "Furze", "Gatehouse", "Glebe", "Goldfinch", "Gorse", "Grange", "Greenacre",
    "Hamstreet", "Harebell", "Hartsdown", "Hazelwood", "Highfield", "Hillcrest", "Hollybush", "Hornbeam",
    "Ivy", "Kennington", "Kingfisher", "Knoll", "Larch", "Linden", "Lindisfarne", "Littlebrook", "Lydden",
    "Magpie", "Malthouse", "Mayfield", "Meadowbank", "Mersham", "Minster", "Mulberry", "Nackington",
    "Northdown", "Nursery", "Oakfield", "Oakwood", "Old Dover", "Orchid", "Osprey", "Otterden", "Paddock",
    "Pear Tree", "Pinewood", "Plover", "Quarry", "Queensway", "Rectory", "Redwing", "Ridgeway", "Riverdale",
    "Rochester", "Rosemary", "St Johns", "St Martins", "St Peters", "Saltwood", "Sandgate", "Seaview",
    "Shepherds", "Shorncliffe", "Sorrel", "Spinney", "Springfield", "Stanmore", "Stonebridge", "Sunningdale",
    "Swan", "Tannery", "Teasel", "Thistle", "Thornhill", "Tollgate", "Tower", "Upper Bridge", "Vicarage",
    "Walnut", "Warren", "Waterside", "Wheatfield", "Whitfield", "Wildwood", "Wingham", "Woodland", "Wren",
    "Yew Tree",
)
_SUFFIXES = (("Road", 30), ("Street", 14), ("Avenue", 8), ("Close", 10), ("Lane", 9), ("Drive", 6),
             ("Way", 5), ("Gardens", 5), ("Crescent", 4), ("Place", 3), ("Grove", 3), ("Terrace", 3),
             ("Rise", 2), ("Walk", 2), ("Row", 1), ("Mews", 1))
_SUFFIX_NAMES = tuple(s for s, _ in _SUFFIXES)
_SUFFIX_WEIGHTS = tuple(w for _, w in _SUFFIXES)
ABBREVIATIONS = {"Road": "Rd", "Street": "St", "Avenue": "Ave", "Close": "Cl", "Lane": "Ln", "Drive": "Dr",
                 "Gardens": "Gdns", "Crescent": "Cres", "Place": "Pl", "Grove": "Gr", "Terrace": "Terr"}
_BLOCK_SUFFIXES = ("Court", "House", "Lodge", "Mansions", "Heights", "Point")
_LOCALITIES = ("Northgate", "Westwood", "Eastfield", "Southfields", "Kingsmead", "Hillside", "Riverside",
               "Parkwood", "Broadmead", "Millbrook", "Newtown", "Oakdene", "Stanhope", "Westgate", "Harbourside")
_STREET_WORDS = tuple(w for w in _WORDS if not set(w.lower().split()) & PERSON_NAME_WORDS)


def post_town(lad_code: str) -> str:
    """The post town of a district outside Kent: its name (without ", City of" and the like) when no
    word of it is a person's name the generator uses, else a made-up town ("Newtown")."""
    name = ons_districts().get(lad_code, "").split(",")[0].replace(".", "")
    return name if name and not set(name.lower().split()) & PERSON_NAME_WORDS else "Newtown"


VOCABULARY = frozenset(  # every word an address can hold (lower case): never a person's name
    word for text in (_STREET_WORDS + _SUFFIX_NAMES + tuple(ABBREVIATIONS.values()) + _BLOCK_SUFFIXES
                      + _LOCALITIES + tuple(town for areas in GEOGRAPHY.values() for _, town, _ in areas)
                      + ("Flat",)) for word in text.lower().split())
OTHER_TOWN_WORDS = frozenset(  # words of the post towns outside Kent (kept out of VOCABULARY, which the
    word for code in ons_districts() for word in post_town(code).lower().split())  # committed noise draws use)
if (VOCABULARY | OTHER_TOWN_WORDS) & PERSON_NAME_WORDS:
    raise RuntimeError(f"address words that are also names: {sorted(VOCABULARY & PERSON_NAME_WORDS)}")
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the letters used in inward codes (no C I K M O V)
BANDS = "ABCDEFGH"
_FLAT_BANDS = Weighted(BANDS, (35, 35, 20, 8, 2, 0, 0, 0))
_HOUSE_BANDS = Weighted(BANDS, (6, 18, 25, 21, 14, 9, 6, 1))
EPC_RATINGS = "ABCDEFG"
_FLAT_EPC = Weighted(EPC_RATINGS, (0, 12, 45, 30, 9, 3, 1))
_HOUSE_EPC = Weighted(EPC_RATINGS, (0.5, 6, 30, 40, 16, 5.5, 2))
DWELLINGS_PER_LSOA = 650
LSOAS_PER_WARD = 6
_AREA_LETTERS = "ABCDEFGHJKLMNOPRSTUWYZ"  # second letter of a synthetic postcode area
_SYNTHETIC_FIRST = "QVX"  # never the first letter of a real postcode area
OUTWARDS_PER_DISTRICT = 20  # synthetic outward codes a district may use: ~1.2 million dwellings
SYNTHETIC_OUTWARDS_PER_OTHER_DISTRICT = 4  # a district outside Kent is laid out over this many (more on overflow)


def synthetic_outward(district_index: int, k: int) -> str:
    """The ``k``-th synthetic outward code of district ``district_index`` ("QA1", "VB17", ...): unique per
    (district, k) for up to 330 districts; never a real outward code (Q, V and X start no real area)."""
    if not 0 <= k < OUTWARDS_PER_DISTRICT:
        raise RuntimeError(f"district {district_index} needs more than {OUTWARDS_PER_DISTRICT} synthetic outward codes")
    serial = district_index * OUTWARDS_PER_DISTRICT + k
    first, rest = divmod(serial, len(_AREA_LETTERS) * 100)
    if first >= len(_SYNTHETIC_FIRST):
        raise RuntimeError(f"no synthetic outward codes left for district {district_index}")
    second, number = divmod(rest, 100)
    return f"{_SYNTHETIC_FIRST[first]}{_AREA_LETTERS[second]}{number}"


@dataclass(slots=True)
class Dwelling:
    """One dwelling; ``flat`` is None for a house. ``building`` names some blocks of flats."""

    uprn: int
    number: int
    street_base: str
    street_suffix: str
    town: str
    postcode: str
    band: str
    flat: int | None = None
    building: str | None = None
    locality: str | None = None

    @property
    def street(self) -> str:
        return f"{self.street_base} {self.street_suffix}"

    def address(self) -> tuple[str, str, str]:
        """The canonical (line 1, line 2, town), as the council-tax system holds it."""
        where = f"{self.number} {self.street}"
        if self.flat is None:
            return where, self.locality or "", self.town
        if self.building:
            return f"Flat {self.flat}, {self.building}", where, self.town
        return f"Flat {self.flat}, {where}", self.locality or "", self.town


@dataclass
class DistrictPlaces:
    """A district's dwellings (in street order) and its postcodes with their areas."""

    dwellings: list[Dwelling]
    postcodes: list[tuple[str, str, str]] = field(default_factory=list)  # (postcode, lsoa21cd, ward_code)


class _Overflow:
    """A district's synthetic outward codes beyond those it starts with, handed out in order."""

    def __init__(self, district_index: int, first: int) -> None:
        self.district_index, self.next = district_index, first

    def outward(self) -> str:
        code = synthetic_outward(self.district_index, self.next)
        self.next += 1
        return code


class _Units:
    """Hands out unused postcode units 'OUT dLL' for one outward code, a sector at a time; when all
    4,000 are used, goes on with the units of the district's next synthetic outward code."""

    def __init__(self, rng: random.Random, outward: str, overflow: _Overflow) -> None:
        self.outward, self.rng, self.overflow = outward, rng, overflow
        self.free = self._fresh(rng)

    @staticmethod
    def _fresh(rng: random.Random) -> dict[int, list[str]]:
        free = {s: [a + b for a in _INWARD_LETTERS for b in _INWARD_LETTERS] for s in range(10)}
        for units in free.values():
            rng.shuffle(units)
        return free

    def take(self, sector: int) -> str:
        for step in range(10):
            s = (sector + step) % 10
            if self.free[s]:
                return f"{self.outward} {s}{self.free[s].pop()}"
        # exhausted (only past ~60,000 dwellings on one outward code): drawn only then, so smaller
        # districts draw the same random numbers as before overflow existed
        self.outward, self.free = self.overflow.outward(), self._fresh(self.rng)
        return self.take(sector)


def district_areas(lad_code: str, district_index: int) -> tuple[tuple[str, str, int], ...]:
    """(outward code, post town, weight) of a district: Kent's real outward codes, else synthetic ones."""
    if lad_code in GEOGRAPHY:
        return GEOGRAPHY[lad_code]
    town = post_town(lad_code)
    return tuple((synthetic_outward(district_index, k), town, 1) for k in range(SYNTHETIC_OUTWARDS_PER_OTHER_DISTRICT))


def build_places(rng: random.Random, lad_code: str, district_index: int, count: int) -> DistrictPlaces:
    """Lay out ``count`` dwellings on invented streets of a district, with UPRNs, bands and postcodes."""
    areas = district_areas(lad_code, district_index)
    weights = [w for _, _, w in areas]
    overflow = _Overflow(district_index, 0 if lad_code in GEOGRAPHY else SYNTHETIC_OUTWARDS_PER_OTHER_DISTRICT)
    units = {outward: _Units(rng, outward, overflow) for outward, _, _ in areas}
    used_streets: set[tuple[str, str]] = set()
    dwellings: list[Dwelling] = []
    while len(dwellings) < count:
        outward, town, _ = rng.choices(areas, weights=weights)[0]
        base, suffix = _street_name(rng, town, used_streets)
        locality = rng.choice(_LOCALITIES) if rng.random() < 0.2 else None
        length = min(max(4, int(rng.lognormvariate(3.3, 0.8))), 250, count - len(dwellings))
        sector = rng.randrange(10)
        _lay_street(rng, dwellings, length, base, suffix, town, locality, units[outward], sector)
    uprns = sorted(rng.sample(range(100_000_000_000 + district_index * 1_000_000_000 + 60_000_000,
                                    100_000_000_000 + (district_index + 1) * 1_000_000_000), count))
    for d, u in zip(dwellings, uprns, strict=True):
        d.uprn = u
    return DistrictPlaces(dwellings, _areas(dwellings, district_index))


_TWO_WORDS_FROM = 200  # failed draws of one-word names before a street is named after two words


def _street_name(rng: random.Random, town: str, used: set[tuple[str, str]]) -> tuple[str, str]:
    """An unused street name of the town. Once a town's one-word names have run out (a two-word name was
    needed, marked in ``used`` as (town, "")), later streets there go straight to two words: the same
    names for a small district, and no 200 wasted draws per street for a big one."""
    for attempt in range(_TWO_WORDS_FROM if (town, "") in used else 0, 2000):
        base = rng.choice(_STREET_WORDS)
        if attempt >= _TWO_WORDS_FROM:  # a big town: name the street after two words ("Oak Meadow Road")
            base = f"{base} {rng.choice(_STREET_WORDS)}"
        suffix = rng.choices(_SUFFIX_NAMES, weights=_SUFFIX_WEIGHTS)[0]
        if (town, f"{base} {suffix}") not in used:
            used.add((town, f"{base} {suffix}"))
            if attempt >= _TWO_WORDS_FROM:
                used.add((town, ""))
            return base, suffix
    raise RuntimeError(f"ran out of street names in {town}")


def _lay_street(rng: random.Random, out: list[Dwelling], length: int, base: str, suffix: str, town: str,
                locality: str | None, units: _Units, sector: int) -> None:
    placed, number, in_unit, unit_size = 0, 1, 0, rng.randint(8, 22)
    postcode = units.take(sector)
    while placed < length:
        if in_unit >= unit_size:
            postcode, in_unit, unit_size = units.take(sector), 0, rng.randint(8, 22)
        if length - placed >= 4 and rng.random() < 0.07:
            flats = min(rng.randint(4, 18), length - placed)
            building = f"{rng.choice(_STREET_WORDS)} {rng.choice(_BLOCK_SUFFIXES)}" if rng.random() < 0.3 else None
            for flat in range(1, flats + 1):
                band = _FLAT_BANDS.pick(rng)
                out.append(Dwelling(0, number, base, suffix, town, postcode, band, flat, building, locality))
            placed, in_unit = placed + flats, in_unit + flats
        else:
            band = _HOUSE_BANDS.pick(rng)
            out.append(Dwelling(0, number, base, suffix, town, postcode, band, None, None, locality))
            placed, in_unit = placed + 1, in_unit + 1
        number += 1


def _areas(dwellings: list[Dwelling], district_index: int) -> list[tuple[str, str, str]]:
    """Group postcodes (in street order) into LSOAs of ~650 dwellings and LSOAs into wards."""
    per_postcode: dict[str, int] = {}
    for d in dwellings:
        per_postcode[d.postcode] = per_postcode.get(d.postcode, 0) + 1
    rows, lsoa, filled = [], 0, 0
    for postcode, n in per_postcode.items():
        if filled >= DWELLINGS_PER_LSOA:
            lsoa, filled = lsoa + 1, 0
        filled += n
        ward = lsoa // LSOAS_PER_WARD
        if lsoa >= 3000 or 24000 + district_index * 3000 + lsoa > 999_999:
            raise RuntimeError(f"district {district_index}: too many dwellings or districts for synthetic LSOA codes")
        rows.append((postcode, f"E01{24000 + district_index * 3000 + lsoa:06d}",
                     f"E05{5000 + district_index * 500 + ward:06d}"))
    return rows


def epc_rating(rng: random.Random, dwelling: Dwelling) -> str:
    """An energy rating A-G, flats rated better than houses on average."""
    return (_FLAT_EPC if dwelling.flat is not None else _HOUSE_EPC).pick(rng)


def address_variant(rng: random.Random, dwelling: Dwelling) -> tuple[tuple[str, str, str], str]:
    """The same address written differently (as a benefits system might): (lines, styles applied)."""
    styles = ["upper", "lower"]
    if dwelling.street_suffix in ABBREVIATIONS:
        styles += ["abbreviate"] * 3
    if dwelling.flat is not None and not dwelling.building:
        styles += ["flat_slash", "flat_slash", "flat_no_comma"]
    if dwelling.flat is not None and dwelling.building:
        styles += ["merge_lines", "flat_no_comma"]
    if dwelling.flat is None:
        styles += ["number_comma"]
    if dwelling.locality and not dwelling.building:
        styles += ["drop_line_2"]
    styles += ["no_town"]
    chosen = sorted(set(rng.sample(styles, 2 if rng.random() < 0.3 else 1)))
    if "upper" in chosen and "lower" in chosen:
        chosen.remove("lower")
    line1, line2, town = dwelling.address()
    street = dwelling.street
    if "abbreviate" in chosen:
        short = f"{dwelling.street_base} {ABBREVIATIONS[dwelling.street_suffix]}"
        line1, line2, street = line1.replace(street, short), line2.replace(street, short), short
    if "flat_slash" in chosen:
        line1 = f"{dwelling.flat}/{dwelling.number} {street}"
    if "flat_no_comma" in chosen:
        line1 = line1.replace(",", "")
    if "number_comma" in chosen:
        line1 = f"{dwelling.number}, {street}"
    if "merge_lines" in chosen:
        line1, line2 = f"{line1}, {line2}", ""
    if "drop_line_2" in chosen:
        line2 = ""
    if "no_town" in chosen:
        town = ""
    if "upper" in chosen:
        line1, line2, town = line1.upper(), line2.upper(), town.upper()
    if "lower" in chosen:
        line1, line2, town = line1.lower(), line2.lower(), town.lower()
    return (line1, line2, town), "+".join(chosen)


def postcode_variant(rng: random.Random, postcode: str) -> tuple[str, str]:
    """The postcode in another case or spacing (still the same postcode once normalised)."""
    style = rng.choice(("lower", "no_space", "lower_no_space", "double_space", "mixed_case"))
    outward, inward = postcode.split(" ")
    text = {
        "lower": postcode.lower(),
        "no_space": outward + inward,
        "lower_no_space": (outward + inward).lower(),
        "double_space": f"{outward}  {inward}",
        "mixed_case": outward.capitalize() + " " + inward.lower(),
    }[style]
    return text, style


def mistype_uprn(rng: random.Random, uprn: int, taken: set[int]) -> int:
    """The UPRN with one digit (not the first) changed, avoiding every UPRN in ``taken``."""
    digits = str(uprn)
    while True:
        i = rng.randrange(1, len(digits))
        new = rng.choice([c for c in "0123456789" if c != digits[i]])
        wrong = int(digits[:i] + new + digits[i + 1 :])
        if wrong not in taken:
            return wrong


def flat_split(line1: str, line2: str) -> tuple[str, str] | None:
    """'Flat 3, 12 X Road' (any case, comma or not) written as 'Flat 3' on line 1 and '12 X Road' on line 2.

    None when line 1 does not start with a flat or line 2 is taken (a locality).
    """
    found = re.match(r"^(flat \d+),? (.+)$", line1, flags=re.IGNORECASE)
    if not found or line2:
        return None
    return found.group(1), found.group(2)


def without_house_number(line1: str, number: int) -> str:
    """Line 1 with the leading house number left out ('12 X Road' or '12, X Road' -> 'X Road')."""
    return re.sub(rf"^{number},? ", "", line1)


def mistype_street(rng: random.Random, line: str, street_base: str) -> str:
    """The line with one keyboard slip in a word (4+ letters) of the street's name; unchanged if it is absent."""
    words = [w for w in street_base.split() if len(w) >= 4]
    for word in rng.sample(words, len(words)):
        at = line.lower().find(word.lower())
        if at >= 0:
            shown = line[at : at + len(word)]
            return line[:at] + typo(rng, shown) + line[at + len(word) :]
    return line


def mistype_postcode(rng: random.Random, postcode: str) -> str:
    """The postcode (as written, any case or spacing) with one inward character changed: a digit for a digit,
    a letter for a letter, so it keeps the shape of a postcode (and may be another real one)."""
    at = [i for i, c in enumerate(postcode) if c.isalnum()][-3:][rng.randrange(3)]
    old = postcode[at]
    if old.isdigit():
        new = rng.choice([d for d in "0123456789" if d != old])
    else:
        new = rng.choice([c for c in _INWARD_LETTERS if c != old.upper()])
        new = new.lower() if old.islower() else new
    return postcode[:at] + new + postcode[at + 1 :]
