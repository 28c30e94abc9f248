"""Synthetic people for the sample generator: names, National Insurance numbers, birth dates, name noise.

Fully synthetic: forenames and surnames come from Faker's en_GB word lists (surnames with
Faker's weights), NINOs are a keyed bijection of a person number (unique, never a real
allocation pattern), and birth dates are drawn at random. No real person is described.
Personal data flows OUT of here only into the raw rows that the generator then writes or
pseudonymises.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from typing import Generic, TypeVar

from faker.providers.person.en_GB import Provider as _FakerPerson
from nicknames import NickNamer

# Words of street types and post towns (pipelines.synthetic.places): no name may be one of them.
RESERVED_WORDS = frozenset({"lane", "wells", "west", "wood", "road", "street", "hill", "row", "walk", "way",
                            "court", "house", "lodge", "park", "green", "mews"})
FORENAMES: dict[str, tuple[str, ...]] = {
    "M": tuple(n for n in _FakerPerson.first_names_male if n.lower() not in RESERVED_WORDS),
    "F": tuple(n for n in _FakerPerson.first_names_female if n.lower() not in RESERVED_WORDS),
}
_SURNAME_WEIGHTS = {n: float(w) for n, w in _FakerPerson.last_names.items() if n.lower() not in RESERVED_WORDS}
SURNAMES: tuple[str, ...] = tuple(_SURNAME_WEIGHTS)
T = TypeVar("T")


class Weighted(Generic[T]):
    """A fixed weighted choice, drawn with one random number (faster than ``random.choices``)."""

    def __init__(self, items: Sequence[T], weights: Iterable[float]) -> None:
        self.items = tuple(items)
        self.cum = list(accumulate(float(w) for w in weights))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random) -> T:
        return self.items[bisect_right(self.cum, rng.random() * self.total)]


_SURNAME_PICK = Weighted(SURNAMES, _SURNAME_WEIGHTS.values())
# Faker lists forenames most popular first: weight them like a real population (a gentle Zipf).
_FORENAME_PICK = {sex: Weighted(names, (1 / (rank + 5) for rank in range(len(names))))
                  for sex, names in FORENAMES.items()}

# NINO letters: first letter not D F I Q U V; second not D F I O Q U V; some pairs never issued.
_NINO_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
_NINO_SECOND = "ABCEGHJKLMNPRSTWXYZ"
_NINO_PREFIXES = tuple(
    a + b for a in _NINO_FIRST for b in _NINO_SECOND if a + b not in {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}
)
_NINO_SPACE = len(_NINO_PREFIXES) * 1_000_000
NINO_NUMBERS = _NINO_SPACE  # person numbers NinoMaker gives distinct NINOs (0 <= number < this)

_NICKNAMER = NickNamer()
_KEYBOARD = {  # neighbouring keys on a UK QWERTY keyboard, for substitution typos
    "a": "qwsz", "b": "vghn", "c": "xdfv", "d": "serfcx", "e": "wsdr", "f": "drtgvc", "g": "ftyhbv",
    "h": "gyujnb", "i": "ujko", "j": "huikmn", "k": "jiolm", "l": "kop", "m": "njk", "n": "bhjm",
    "o": "iklp", "p": "ol", "q": "wa", "r": "edft", "s": "awedxz", "t": "rfgy", "u": "yhji",
    "v": "cfgb", "w": "qase", "x": "zsdc", "y": "tghu", "z": "asx",
}




def _name_words() -> frozenset[str]:
    names = FORENAMES["M"] + FORENAMES["F"] + SURNAMES
    nicks = tuple(nick for n in FORENAMES["M"] + FORENAMES["F"] for nick in nicknames_of(n))
    return frozenset(w for n in names + nicks for w in re.findall("[a-z]+", n.lower()))


@dataclass(slots=True)
class Person:
    """One synthetic person. ``number`` is unique over the whole sample and fixes the NINO."""

    person_id: str
    number: int
    sex: str  # "M" or "F"
    forename: str
    surname: str
    birth_date: dt.date


class NinoMaker:
    """Unique, well-formed NINOs: an affine bijection (seeded) of the person number."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"{seed}/nino")
        self._mult = _coprime(rng.randrange(10**7, _NINO_SPACE), _NINO_SPACE)
        self._add = rng.randrange(_NINO_SPACE)

    def nino(self, number: int) -> str:
        """The NINO of person ``number`` (0 <= number < ~3.7e8), e.g. 'JK123456C'."""
        code = (self._mult * number + self._add) % _NINO_SPACE
        prefix, digits = divmod(code, 1_000_000)
        return f"{_NINO_PREFIXES[prefix]}{digits:06d}{'ABCD'[number % 4]}"


def _coprime(value: int, modulus: int) -> int:
    while math.gcd(value, modulus) != 1:
        value += 1
    return value


def new_person(rng: random.Random, person_id: str, number: int, born_from: dt.date, born_to: dt.date,
               sex: str | None = None, surname: str | None = None) -> Person:
    """Draw a person born in [born_from, born_to] (a surname may be imposed, e.g. a partner's)."""
    sex = sex or ("F" if rng.random() < 0.52 else "M")
    forename = _FORENAME_PICK[sex].pick(rng)
    if surname is None:
        surname = _SURNAME_PICK.pick(rng)
    span = max((born_to - born_from).days, 0)
    birth = born_from + dt.timedelta(days=int(rng.random() * (span + 1)))
    return Person(person_id, number, sex, forename, surname, birth)


@cache
def born_between(as_of: dt.date, min_age: int, max_age: int) -> tuple[dt.date, dt.date]:
    """Birth-date range of people aged min_age..max_age (whole years) on as_of."""
    latest = _years_before(as_of, min_age)
    earliest = _years_before(as_of, max_age + 1) + dt.timedelta(days=1)
    return earliest, latest


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def age_on(birth: dt.date, day: dt.date) -> int:
    """Whole years of age on a day."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


@cache
def nicknames_of(forename: str) -> tuple[str, ...]:
    """Plausible nicknames of a forename (at least 3 letters, and mapping back to it), capitalised."""
    name = forename.lower()
    found = [
        n for n in sorted(_NICKNAMER.nicknames_of(name))
        if len(n) >= 3 and n.isalpha() and n != name and name in _NICKNAMER.canonicals_of(n)
    ]
    return tuple(n.capitalize() for n in found)


@cache
def nickname_share() -> float:
    """Share of forename draws (sexes about equally likely, names weighted) that have a nickname."""
    share = 0.0
    for pick in _FORENAME_PICK.values():
        weights = [b - a for a, b in zip([0.0, *pick.cum[:-1]], pick.cum, strict=True)]
        share += sum(w for n, w in zip(pick.items, weights, strict=True) if nicknames_of(n)) / pick.total / 2
    return share


def typo(rng: random.Random, word: str) -> str:
    """One keyboard slip in a word: swap, drop, double or substitute a letter; never returns word."""
    for _ in range(20):
        i = rng.randrange(1, len(word)) if len(word) > 1 else 0
        how = rng.randrange(4)
        if how == 0 and i < len(word) - 1 and word[i] != word[i + 1]:
            out = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        elif how == 1 and len(word) > 3:
            out = word[:i] + word[i + 1 :]
        elif how == 2:
            out = word[: i + 1] + word[i] + word[i + 1 :]
        else:
            near = _KEYBOARD.get(word[i].lower(), "e")
            ch = rng.choice(near)
            out = word[:i] + (ch.upper() if word[i].isupper() else ch) + word[i + 1 :]
        if out != word and any(c.isalpha() for c in out):
            return out
    return word + "e"


# Spellings that sound alike (English names), both ways: a name heard, not read, is written by ear.
_PHONETIC = (("ph", "f"), ("ck", "k"), ("c", "k"), ("y", "ie"), ("ie", "y"), ("ey", "y"), ("ou", "ow"),
             ("ai", "ay"), ("ee", "ea"), ("th", "t"), ("son", "sen"), ("mc", "mac"), ("mac", "mc"), ("tt", "t"),
             ("ll", "l"), ("nn", "n"), ("ss", "s"), ("rr", "r"), ("z", "s"), ("s", "z"), ("w", "wh"),
             ("i", "y"), ("ine", "een"), ("ei", "ie"), ("e", "a"))


def phonetic(rng: random.Random, word: str) -> str:
    """The word respelt as it sounds (one rule of ``_PHONETIC`` at one place), or '' when no rule applies."""
    low = word.lower()
    options = [(i, a, b) for a, b in _PHONETIC for i in range(1, len(low)) if low.startswith(a, i)]
    options += [(0, a, b) for a, b in _PHONETIC if a in ("mc", "mac", "ph", "c") and low.startswith(a)]
    if not options:
        return ""
    i, a, b = rng.choice(options)
    out = low[:i] + b + low[i + len(a):]
    return out.capitalize() if out != low else ""


PERSON_NAME_WORDS = _name_words()  # every word of a forename, surname or nickname the generator uses
