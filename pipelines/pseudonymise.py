"""Keyed pseudonymisation of names and NINOs, run at each district before data leaves it.

Personal data flows IN here (raw forenames, surnames, NINOs) and only keyed encodings flow
out. Every encoding is keyed with the partnership secret (HMAC-SHA256), so that someone
without the key cannot test a guessed name or NINO against the output.

A name encoding is one text value, ``v2|FN|FC|SN|SP|FB|SB``:

- ``FN``: keyed hash of the normalised forename (16 hex digits),
- ``FC``: exactly ``CANONICAL_SLOTS`` keyed hashes, ``,``-separated, sorted: the forename
  itself and up to ``CANONICAL_SLOTS - 1`` formal names it is a nickname of ("bill" ->
  william, ...; the most popular first), padded with keyed dummies so that the count does
  not reveal how ambiguous the name is ("ann" has 15 canonicals, "david" none),
- ``SN``: keyed hash of the normalised surname,
- ``SP``: keyed hash of the surname's Metaphone code (catches spelling variants),
- ``FB``/``SB``: 256-bit Bloom filters (64 hex digits) of the forename's and surname's
  letter bigrams, each bigram set at 10 keyed positions; compared by Dice similarity they
  score typos ("Jonh"/"John") without revealing the letters.

Half a name (a forename and no surname, or the reverse) is encoded from the part present:
the missing part's fields (``FN``, ``FC``, ``FB`` or ``SN``, ``SP``, ``SB``) are empty, and the
linker treats them as missing (no evidence), never as a disagreement. A NINO that is not a
valid one (wrong shape, a temporary ``TN`` number, an administrative prefix, a prefix letter
never issued, a bad suffix) becomes an empty key. Such rows are still written, and reported
as warnings with line, column and reason (never the value): a claim with a half name or a
temporary NINO is still a household.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import hmac
import math
import os
import re
import stat
import sys
import unicodedata
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import jellyfish
from nicknames import NickNamer

from schemas.text import csv_safe

ENCODING_VERSION = "v2"
CANONICAL_SLOTS = 5
BLOOM_BITS = 256
BLOOM_HASHES = 10
HASH_HEX = 16
MIN_KEY_BYTES = 32
# A key's entropy estimated from its byte frequencies (length x Shannon entropy per byte): 32 random bytes give
# over 140 bits, 32 hex digits about 120; a repeated byte gives 0 and a repeated 2-4 byte pattern 32-64.
MIN_KEY_ENTROPY_BITS = 100

# The committed sample data are pseudonymised with this key. It is public, so it protects
# nothing: a real partnership generates its own secret (see the README) and keeps it out of git.
SAMPLE_KEY = b"povertylink-SAMPLE-KEY-not-secret-do-not-use-for-real-data"

_NICKNAMES = NickNamer()
_NINO_SHAPE = re.compile(r"^[A-Z]{2}\d{6}[A-Z]?$")
_NINO_FIRST = set("ABCEGHJKLMNOPRSTWXYZ")  # never D F I Q U V
_NINO_SECOND = set("ABCEGHJKLMNPRSTWXYZ")  # never D F I O Q U V
_NINO_ADMIN_PREFIXES = {"BG", "GB", "KN", "NK", "NT", "ZZ"}  # not allocated (HMRC NIM39110)


class KeyFileError(ValueError):
    """The partnership key is missing, too short or unreadable."""


def normalise_name(name: str) -> str:
    """Lower-case letters only: accents folded, punctuation, spaces and digits dropped."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", folded.lower())


def nino_problem(compact: str) -> str | None:
    """Why an upper-case, space-free NINO is not a valid one (a reason without the value), or None."""
    if not _NINO_SHAPE.match(compact):
        return "not NINO-shaped (two letters, six digits, a suffix letter)"
    if compact.startswith("TN"):
        return "a temporary TN number, not a person's NINO"
    if compact[:2] in _NINO_ADMIN_PREFIXES:
        return "an administrative prefix that is never allocated"
    if compact[0] not in _NINO_FIRST or compact[1] not in _NINO_SECOND:
        return "a prefix letter that is never issued"
    if len(compact) != 9 or compact[8] not in "ABCD":
        return "a bad suffix (must be A, B, C or D)"
    return None


def normalise_nino(nino: str) -> str:
    """Upper-case, spaces removed; raises ValueError (the reason, never the value) when it is not valid."""
    compact = re.sub(r"\s+", "", nino).upper()
    problem = nino_problem(compact)
    if problem:
        raise ValueError(problem)
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


@functools.lru_cache(maxsize=1)
def _forename_rank() -> dict[str, int]:
    text = resources.files("matching").joinpath("forename_rank.txt").read_text(encoding="utf-8")
    names = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return {name: rank for rank, name in enumerate(names)}


def canonical_forenames(forename: str) -> list[str]:
    """The forename and up to CANONICAL_SLOTS - 1 formal names it is a nickname of.

    Where a nickname has more canonicals than fit ("chris": 18), the most popular names in
    England and Wales are kept first (christopher, christine, ...), then alphabetical order.
    """
    rank = _forename_rank()
    others = sorted(set(_NICKNAMES.canonicals_of(forename)) - {forename}, key=lambda n: (rank.get(n, 10**6), n))
    return sorted([forename, *others[: CANONICAL_SLOTS - 1]])


def canonical_hashes(key: bytes, forename: str) -> str:
    """Exactly CANONICAL_SLOTS keyed hashes (real ones and keyed padding), sorted, comma-joined."""
    real = [keyed_hash(key, "fc", c) for c in canonical_forenames(forename)]
    pads = [keyed_hash(key, "fcpad", f"{forename}:{i}") for i in range(CANONICAL_SLOTS - len(real))]
    return ",".join(sorted(real + pads))


@functools.lru_cache(maxsize=262144)
def name_encoding(key: bytes, forename: str, surname: str) -> str:
    """Encode one person's name (see the module docstring); raises ValueError if neither part has a letter.

    A part without a letter is missing: its fields are empty (half a name).
    """
    fore, sur = normalise_name(forename), normalise_name(surname)
    if not fore and not sur:
        raise ValueError("neither forename nor surname contains a letter")
    parts = [
        ENCODING_VERSION,
        keyed_hash(key, "fn", fore) if fore else "",
        canonical_hashes(key, fore) if fore else "",
        keyed_hash(key, "sn", sur) if sur else "",
        keyed_hash(key, "sp", jellyfish.metaphone(sur) or sur) if sur else "",
        bloom(key, fore) if fore else "",
        bloom(key, sur) if sur else "",
    ]
    return "|".join(parts)


def dice(bloom_a: str, bloom_b: str) -> float:
    """Dice similarity of two hex Bloom filters (for tests; the linker does this in SQL)."""
    a, b = int(bloom_a, 16), int(bloom_b, 16)
    total = a.bit_count() + b.bit_count()
    return 2 * (a & b).bit_count() / total if total else 0.0


PERSON_PREFIXES = {"benefits": ("claimant", "partner"), "council_tax": ("liable",),
                   "universal_credit": ("claimant", "partner")}
REFERENCE_HASHES = {"uc_claim_ref": ("award_ref", "uc")}  # raw reference -> (pseudonymised column, hash label)


def pseudonymise_record(key: bytes, kind: str, raw: dict[str, str],
                        warnings: list[tuple[str, str]] | None = None) -> dict[str, str]:
    """Turn one raw row (column -> text) into its pseudonymised form, columns in place.

    ``{p}_nino`` becomes ``{p}_key``; ``{p}_forename`` and ``{p}_surname`` become
    ``{p}_name``. Empty identifiers stay empty. An identifier that cannot be used is missing
    evidence, never a reason to drop the row: an invalid NINO gives an empty key, half a name
    is encoded from the part present, a part without a letter is missing. Each such case is
    appended to ``warnings`` as (column, reason); reasons never hold the value.
    """
    found: list[tuple[str, str]] = [] if warnings is None else warnings
    out: dict[str, str] = {}
    for column, value in raw.items():
        if column in REFERENCE_HASHES:  # a claim reference: keyed hash of the trimmed, upper-cased text
            name, label = REFERENCE_HASHES[column]
            out[name] = keyed_hash(key, label, value.strip().upper(), 64) if value.strip() else ""
            continue
        prefix, _, field = column.rpartition("_")
        if prefix not in PERSON_PREFIXES[kind] or field not in ("nino", "forename", "surname"):
            out[column] = value
            continue
        if field == "nino":
            out[f"{prefix}_key"] = ""
            if value.strip():
                try:
                    out[f"{prefix}_key"] = nino_key(key, value)
                except ValueError as err:
                    found.append((column, f"{err}; written with no NINO key"))
        elif field == "forename" or f"{prefix}_forename" not in raw:  # the name once, from both parts
            forename, surname = raw.get(f"{prefix}_forename", "").strip(), raw.get(f"{prefix}_surname", "").strip()
            fore_ok, sur_ok = bool(normalise_name(forename)), bool(normalise_name(surname))
            for part, text, ok, other_ok in (("forename", forename, fore_ok, sur_ok),
                                             ("surname", surname, sur_ok, fore_ok)):
                if text and not ok:
                    left = f"encoded without the {part}" if other_ok else "the name is left empty"
                    found.append((f"{prefix}_{part}", f"no letter in it; {left}"))
                elif not text and other_ok:
                    found.append((f"{prefix}_{part}", f"half a name: encoded without the {part}"))
            out[f"{prefix}_name"] = name_encoding(key, forename, surname) if fore_ok or sur_ok else ""
    return out


def read_key(key_file: Path) -> bytes:
    """Read the partnership key (trailing newline dropped); refuse one under MIN_KEY_BYTES.

    Warns on stderr when the file is readable by group or others. The key is never printed.
    """
    try:
        mode = key_file.stat().st_mode
        key = key_file.read_bytes().rstrip(b"\r\n")
    except OSError as err:
        raise KeyFileError(f"cannot read key file {key_file}: {err.strerror}") from None
    if len(key) < MIN_KEY_BYTES:
        raise KeyFileError(
            f"key file {key_file} holds {len(key)} bytes; the key must be at least {MIN_KEY_BYTES} bytes")
    counts = [key.count(b) for b in set(key)]
    bits = -sum(c * math.log2(c / len(key)) for c in counts)
    if bits < MIN_KEY_ENTROPY_BITS:
        raise KeyFileError(f"key file {key_file} holds a weak key (a repeated byte or short pattern: about {bits:.0f} "
                           f"bits, at least {MIN_KEY_ENTROPY_BITS} needed); make one with "
                           "`head -c 48 /dev/urandom > partnership.key`")
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        print(f"povertylink: warning: key file {key_file} is readable by other users; chmod 600 it",
              file=sys.stderr)
    return key


@dataclass
class PseudonymiseReport:
    """Outcome of pseudonymising one file: counts, rows written with a warning, rows refused.

    ``warnings`` and ``rejected`` hold (line, column, reason); reasons name columns, never values.
    """

    raw: str
    out: str
    rows_read: int = 0
    rows_written: int = 0
    warnings: list[tuple[int, str, str]] = field(default_factory=list)
    rejected: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def rows_with_warnings(self) -> int:
        """Rows written with at least one identifier missing or unusable."""
        return len({line for line, _, _ in self.warnings})

    def summary(self, limit: int = 50) -> str:
        """A few lines for the terminal; reasons name columns, never values."""
        lines = [f"pseudonymised {self.rows_written} of {self.rows_read} rows: {self.raw} -> {self.out}"]
        if self.warnings:
            lines.append(f"{self.rows_with_warnings} rows written with an identifier missing or unusable "
                         f"(kept as missing evidence; fix at source when you can):")
            lines += [f"  warning: line {line}: {column}: {reason}" for line, column, reason in self.warnings[:limit]]
            if len(self.warnings) > limit:
                lines.append(f"  ... and {len(self.warnings) - limit} more warnings")
        if self.rejected:
            lines.append(f"{len(self.rejected)} rows NOT written (they cannot be a household; fix them at source):")
            lines += [f"  line {line}: {column}: {reason}" for line, column, reason in self.rejected[:limit]]
            if len(self.rejected) > limit:
                lines.append(f"  ... and {len(self.rejected) - limit} more")
        return "\n".join(lines)


def _check_raw_header(kind: str, header: list[str]) -> None:
    from schemas.inputs import model_for

    raw_columns = list(model_for(kind, raw=True).model_fields)
    pseudo_columns = set(model_for(kind, raw=False).model_fields)
    known = [h for h in header if h in raw_columns or h in pseudo_columns]
    if len(known) * 2 < len(header):  # most cells are no column name: data, never to be echoed
        raise ValueError(f"the first line is not a header; expected columns {', '.join(raw_columns)}")
    unknown = [h for h in header if h not in raw_columns]
    if unknown:
        already = [h for h in unknown if h in pseudo_columns]
        hint = " (already pseudonymised?)" if already else ""
        raise ValueError(f"header has columns that are not in the raw {kind} extract: {', '.join(unknown)}{hint}")
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise ValueError(f"header repeats columns: {', '.join(duplicated)}")
    required = [n for n, f in model_for(kind, raw=True).model_fields.items() if f.is_required()]
    missing = [c for c in required if c not in header]
    if missing:
        raise ValueError(f"header lacks required columns of the raw {kind} extract: {', '.join(missing)}")


REF_COLUMNS = {"benefits": "claim_ref", "council_tax": "account_ref", "universal_credit": "uc_claim_ref"}


def pseudonymise_file(key_file: Path, kind: str, raw: Path, out: Path) -> PseudonymiseReport:
    """Stream a raw extract into its pseudonymised form (columns of the pseudonymised model, in order).

    Personal data: raw names and NINOs are read here and only their keyed encodings are
    written. Every row that can be a household is written; an identifier that cannot be used
    is left empty (see :func:`pseudonymise_record`) and listed as a warning with its line and
    column. Only a row that cannot be a household (no reference, the wrong number of fields) is
    refused, and it is reported. No message holds a value from the file.
    """
    from schemas.inputs import model_for

    key = read_key(key_file)
    out_columns = list(model_for(kind, raw=False).model_fields)
    report = PseudonymiseReport(raw=str(raw), out=str(out))
    tmp = out.with_name(f".{out.name}.partial")
    line = 1
    try:
        with raw.open(newline="", encoding="utf-8-sig") as src, tmp.open("w", newline="", encoding="utf-8") as dst:
            reader = csv.reader(src)
            header = [h.strip() for h in next(reader, [])]
            if not header:
                raise ValueError(f"{raw} is empty: expected a header row")
            _check_raw_header(kind, header)
            writer = csv.writer(dst, lineterminator="\n")
            writer.writerow(out_columns)
            line = reader.line_num + 1
            ref = REF_COLUMNS[kind]
            for fields in reader:
                start, line = line, reader.line_num + 1
                if not fields or all(not f.strip() for f in fields):
                    continue
                report.rows_read += 1
                if len(fields) != len(header):
                    report.rejected.append((start, "", f"{len(fields)} fields where the header has {len(header)}"))
                    continue
                values = dict(zip(header, fields, strict=True))
                if not values.get(ref, "").strip():
                    report.rejected.append((start, ref, "no reference: the row cannot be a household"))
                    continue
                found: list[tuple[str, str]] = []
                row = pseudonymise_record(key, kind, values, found)
                report.warnings += [(start, column, reason) for column, reason in found]
                writer.writerow([csv_safe(v) if isinstance(v := row.get(c, ""), str) else v  # no formula for Excel
                                 for c in out_columns])
                report.rows_written += 1
        os.replace(tmp, out)
    except UnicodeDecodeError:
        raise ValueError(f"{raw} is not UTF-8 text") from None
    except csv.Error as err:
        reason = "a field longer than the limit" if "field larger" in str(err) else "not readable as CSV"
        limit = f" of {csv.field_size_limit():,} characters" if "field larger" in str(err) else ""
        raise ValueError(f"{raw}: line {line}: {reason}{limit}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return report
