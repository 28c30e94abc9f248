"""Keyed pseudonymisation of names and NINOs, run at each district before data leaves it.

Personal data flows IN here (raw forenames, surnames, NINOs) and only keyed encodings flow
out. Every encoding is keyed with the partnership secret (HMAC-SHA256), so that someone
without the key cannot test a guessed name or NINO against the output.

A name encoding is one text value, ``v1|FN|FC|SN|SP|FB|SB``:

- ``FN``: keyed hash of the normalised forename (16 hex digits),
- ``FC``: keyed hashes of the forename's canonical forms (the name itself and the formal
  names it is a nickname of, "bill" -> william, ...), ``,``-separated, sorted,
- ``SN``: keyed hash of the normalised surname,
- ``SP``: keyed hash of the surname's Metaphone code (catches spelling variants),
- ``FB``/``SB``: 256-bit Bloom filters (64 hex digits) of the forename's and surname's
  letter bigrams, each bigram set at 10 keyed positions; compared by Dice similarity they
  score typos ("Jonh"/"John") without revealing the letters.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import unicodedata

import jellyfish
from nicknames import NickNamer

ENCODING_VERSION = "v1"
BLOOM_BITS = 256
BLOOM_HASHES = 10
HASH_HEX = 16
MIN_KEY_BYTES = 32

# The committed sample data are pseudonymised with this key. It is public, so it protects
# nothing: a real partnership generates its own secret (see the README) and keeps it out of git.
SAMPLE_KEY = b"povertylink-SAMPLE-KEY-not-secret-do-not-use-for-real-data"

_NICKNAMES = NickNamer()
_NINO_RE = re.compile(r"^[A-CEGHJ-PR-TW-Z]{2}\d{6}[A-D]$")


class KeyError_(ValueError):
    """The partnership key is missing, too short or unreadable."""


def normalise_name(name: str) -> str:
    """Lower-case letters only: accents folded, punctuation, spaces and digits dropped."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", folded.lower())


def normalise_nino(nino: str) -> str:
    """Upper-case, spaces removed; raises ValueError when it is not NINO-shaped."""
    compact = re.sub(r"\s+", "", nino).upper()
    if not _NINO_RE.match(compact):
        raise ValueError("not a National Insurance number")
    return compact


def keyed_hash(key: bytes, label: str, value: str, hex_digits: int = HASH_HEX) -> str:
    """HMAC-SHA256 of ``label:value`` under the key, truncated to ``hex_digits`` hex digits."""
    return hmac.new(key, f"{label}:{value}".encode(), hashlib.sha256).hexdigest()[:hex_digits]


def nino_key(key: bytes, nino: str) -> str:
    """The keyed hash that stands for a NINO at the hub (64 hex digits)."""
    return keyed_hash(key, "nino", normalise_nino(nino), 64)


@functools.lru_cache(maxsize=65536)
def _bigram_positions(key: bytes, bigram: str) -> tuple[int, ...]:
    digest = hmac.new(key, f"bg:{bigram}".encode(), hashlib.sha256).digest()
    return tuple(int.from_bytes(digest[2 * i : 2 * i + 2], "big") % BLOOM_BITS for i in range(BLOOM_HASHES))


def bloom(key: bytes, word: str) -> str:
    """Bloom filter of the padded word's bigrams, as BLOOM_BITS/4 hex digits."""
    padded = f"_{word}_"
    bits = 0
    for i in range(len(padded) - 1):
        for pos in _bigram_positions(key, padded[i : i + 2]):
            bits |= 1 << pos
    return format(bits, f"0{BLOOM_BITS // 4}x")


def canonical_forenames(forename: str) -> list[str]:
    """The forename and every formal name it is a known nickname of, sorted."""
    return sorted({forename} | set(_NICKNAMES.canonicals_of(forename)))


@functools.lru_cache(maxsize=262144)
def name_encoding(key: bytes, forename: str, surname: str) -> str:
    """Encode one person's name (see the module docstring); raises ValueError if empty."""
    fore, sur = normalise_name(forename), normalise_name(surname)
    if not fore or not sur:
        raise ValueError("forename and surname must each contain a letter")
    canon = ",".join(sorted(keyed_hash(key, "fc", c) for c in canonical_forenames(fore)))
    parts = [
        ENCODING_VERSION,
        keyed_hash(key, "fn", fore),
        canon,
        keyed_hash(key, "sn", sur),
        keyed_hash(key, "sp", jellyfish.metaphone(sur) or sur),
        bloom(key, fore),
        bloom(key, sur),
    ]
    return "|".join(parts)


def dice(bloom_a: str, bloom_b: str) -> float:
    """Dice similarity of two hex Bloom filters (for tests; the linker does this in SQL)."""
    a, b = int(bloom_a, 16), int(bloom_b, 16)
    total = a.bit_count() + b.bit_count()
    return 2 * (a & b).bit_count() / total if total else 0.0


PERSON_PREFIXES = {"benefits": ("claimant", "partner"), "council_tax": ("liable",)}


def pseudonymise_record(key: bytes, kind: str, raw: dict[str, str]) -> dict[str, str]:
    """Turn one raw row (column -> text) into its pseudonymised form, columns in place.

    ``{p}_nino`` becomes ``{p}_key``; ``{p}_forename`` and ``{p}_surname`` become
    ``{p}_name``. Empty identifiers stay empty. Raises ValueError naming the column when an
    identifier cannot be encoded (a malformed NINO, a name with no letters, half a name).
    """
    out: dict[str, str] = {}
    for column, value in raw.items():
        prefix, _, field = column.rpartition("_")
        if prefix not in PERSON_PREFIXES[kind] or field not in ("nino", "forename", "surname"):
            out[column] = value
            continue
        if field == "nino":
            try:
                out[f"{prefix}_key"] = nino_key(key, value) if value.strip() else ""
            except ValueError as err:
                raise ValueError(f"{column}: {err}") from None
        elif field == "forename":
            forename, surname = value.strip(), raw.get(f"{prefix}_surname", "").strip()
            if not forename and not surname:
                out[f"{prefix}_name"] = ""
            elif not forename or not surname:
                missing = f"{prefix}_forename" if not forename else f"{prefix}_surname"
                raise ValueError(f"{missing}: a name needs both forename and surname")
            else:
                try:
                    out[f"{prefix}_name"] = name_encoding(key, forename, surname)
                except ValueError as err:
                    raise ValueError(f"{prefix}_forename: {err}") from None
    return out
