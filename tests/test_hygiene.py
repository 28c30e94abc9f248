"""Repository hygiene: the installed packages are the locked ones, and no secret, key file or raw
personal data is tracked by git.

The secret scan is deliberately small and readable (no detect-secrets: it needs a baseline file,
takes ~20 s over this repository on two cores, and flags the textbook NINOs of our test fixtures).
It reads every file ``git ls-files`` lists, as it is in the work tree, and looks for:

- private keys (PEM/OpenSSH/PGP headers) and well-known token shapes (AWS, GitHub, Slack, Google,
  Stripe, PyPI, JWT);
- key-like tokens: runs of 32+ hex or base64 characters that look random. Pseudonymised
  identifiers (``*_key`` and ``*_name`` cells in the formats ``povertylink pseudonymise`` writes,
  see ``schemas/columns.py``) are keyed hashes by design and are not secrets, so CSV cells that
  match exactly those formats are skipped;
- outside ``tests/``, a literal assigned to a secret-like name (password, token, ``*_KEY`` ...).
  Exactly one such literal is allowed: ``SAMPLE_KEY`` in ``pipelines/pseudonymise.py``, the public
  sample key that ``data/sample`` was pseudonymised with (README, *Commands* and *Privacy*). It
  protects nothing and says so in its value; a test below pins that it stays that way;
- key and credential files (``*.key``, ``*.pem``, ``.env`` ...; see ``.gitignore``), tracked files
  that ``.gitignore`` excludes, and small files whose content looks like a random key.

Raw personal data: outside ``tests/`` (whose fixtures are synthetic) no tracked table may have a raw
identifier column (``*_forename``, ``*_surname``, ``*_nino`` ...), every pseudonymised column of a
tracked table must hold only the pseudonymised formats, no text may hold a NINO-shaped value
(placeholders with the digits ``123456`` excepted, like the docstring example ``JK123456C``), and
no binary data file (Parquet, DuckDB, spreadsheets) is tracked at all.
"""

from __future__ import annotations

import base64
import collections
import csv
import fnmatch
import hashlib
import io
import math
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from schemas.columns import NAME_ENCODING_PATTERN, PERSON_KEY_PATTERN
from schemas.inputs import RAW_IDENTIFIER_COLUMNS
from tests import lockcheck

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"

# ---------------------------------------------------------------------------------------------
# Locked dependencies


def test_lock_is_pinned_and_excludes_the_project():
    pins = lockcheck.pins(LOCK.read_text(encoding="utf-8").splitlines())
    assert len(pins) > 50, "requirements.lock looks truncated"
    assert "povertylink" not in pins and "pip" not in pins
    for name in ("duckdb", "prefect", "pydantic", "pytest", "ruff", "mypy", "pip-audit"):
        assert name in pins, f"{name} missing from requirements.lock: run make lock"


def test_installed_packages_match_lock():
    """Judged by the extras installed (tests/lockcheck.py): a runtime-only .venv (make run) passes when
    everything in it is locked at the lock's version; with every extra (make test) it must be the lock."""
    extras, problems = lockcheck.lock_problems(LOCK)
    assert not problems, (f"the environment (extras: {sorted(extras) or 'none'}) differs from requirements.lock "
                          "(make lock-install installs the lock; after changing dependencies run make lock and "
                          "commit requirements.lock):\n" + "\n".join(problems))


def test_lock_check_judges_by_extras(tmp_path):
    """A lock missing an installed package, or pinning another version, fails; so does a locked package
    that is not installed when every extra is (this environment has them all: make test)."""
    locked = LOCK.read_text(encoding="utf-8").splitlines()
    extras, problems = lockcheck.lock_problems(LOCK)
    assert extras == {"dev", "perf"} and not problems
    bumped = tmp_path / "bumped.lock"
    bumped.write_text("\n".join(("duckdb==1.0.0" if line.startswith("duckdb==") else line) for line in locked))
    assert [p for p in lockcheck.lock_problems(bumped)[1] if p.startswith("duckdb")] == [
        f"duckdb: installed {lockcheck.installed()['duckdb']}, locked 1.0.0"]
    fewer = tmp_path / "fewer.lock"
    fewer.write_text("\n".join(line for line in locked if not line.startswith("ruff==")))
    assert lockcheck.lock_problems(fewer)[1] == [f"ruff=={lockcheck.installed()['ruff']}: installed, not locked"]
    more = tmp_path / "more.lock"
    more.write_text("\n".join([*locked, "not-a-real-package==1.0"]))
    assert lockcheck.lock_problems(more)[1] == ["not-a-real-package==1.0: locked, not installed"]


# ---------------------------------------------------------------------------------------------
# Tracked files


def _tracked() -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [p for p in out.decode("utf-8").split("\0") if p and (ROOT / p).is_file()]


def _text(path: str) -> str | None:
    data = (ROOT / path).read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _entropy(s: str) -> float:
    counts = collections.Counter(s)
    return -sum(c / len(s) * math.log2(c / len(s)) for c in counts.values())


TOKEN_PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b"),
    "AWS secret access key": re.compile(r"(?i)aws.{0,20}secret.{0,20}[:=]\s*['\"]?[A-Za-z0-9/+=]{40}\b"),
    "GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"),
    "Stripe live key": re.compile(r"\b[rs]k_live_[0-9A-Za-z]{16,}"),
    "PyPI token": re.compile(r"\bpypi-AgE[A-Za-z0-9_\-]{50,}"),
    "JSON web token": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
}
HEX_TOKEN = re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{32,}(?![0-9A-Za-z])")
B64_TOKEN = re.compile(r"(?<![0-9A-Za-z+/])[A-Za-z0-9+/]{32,}={0,2}(?![0-9A-Za-z+/=])")
NAME_ENCODING = re.compile(NAME_ENCODING_PATTERN.strip("^$"))
PERSON_KEY = re.compile(PERSON_KEY_PATTERN)

# A literal assigned to a secret-like name: `PASSWORD = "..."`, `api_key: '...'`, `FOO_KEY = b"..."`.
SECRET_WORD = re.compile(r"(?i)password|passwd|secret|token|api_?key|access_?key|private_?key|credential")
SECRET_ASSIGNMENT = re.compile(
    r"""(?P<name>\b\w*(?:password|passwd|secret|token|api_?key|access_?key|private_?key|credential)\w*"""
    r"""|\b\w*KEY)\b["']?\s*[:=]\s*[bBrRuU]{0,2}(?P<q>["'])(?P<value>[^"'\n]{8,})(?P=q)""", re.IGNORECASE)
UPPER_KEY_NAME = re.compile(r"[A-Z0-9_]*KEY")  # a constant such as PARTNERSHIP_KEY

# The one secret-looking literal the repository may hold, and why (see the module docstring).
ALLOWED_SECRET_LITERALS = {
    ("pipelines/pseudonymise.py", "SAMPLE_KEY"):
        "the public sample key data/sample was made with; documented in the README; protects nothing",
}

KEY_FILE_GLOBS = ("*.key", "*.pem", "*.p12", "*.pfx", "*.jks", "*.keystore", "*.asc", "*.gpg",
                  "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*", ".env", ".env.*", "*.env",
                  ".netrc", ".pypirc", ".npmrc", "credentials*", "*secret*", "*.kdbx")
DATA_FILE_GLOBS = ("*.parquet", "*.duckdb", "*.duckdb.wal", "*.db", "*.sqlite", "*.sqlite3", "*.xlsx", "*.xls",
                   "*.ods", "*.sav", "*.dta", "*.feather", "*.arrow", "*.pkl", "*.pickle")


def _looks_random(token: str) -> bool:
    if HEX_TOKEN.fullmatch(token):
        return _entropy(token) >= 3.0
    has_classes = bool(re.search(r"[a-z]", token) and re.search(r"[A-Z]", token) and re.search(r"\d", token))
    return has_classes and _entropy(token.rstrip("=")) >= 4.3


def _secret_findings(path: str, text: str) -> list[str]:
    findings = []
    in_tests = path.startswith("tests/")
    for number, line in enumerate(text.splitlines(), 1):
        where = f"{path}:{number}"
        for what, pattern in TOKEN_PATTERNS.items():
            if pattern.search(line):
                findings.append(f"{where}: {what}")
        scanned = line
        if path.endswith((".csv", ".tsv")):  # drop cells in the pseudonymised formats: keyed hashes, not secrets
            cells = re.split(r"[,;\t\"]", NAME_ENCODING.sub("", line))
            scanned = ",".join(c for c in cells if not PERSON_KEY.fullmatch(c))
        for pattern in (HEX_TOKEN, B64_TOKEN):
            for m in pattern.finditer(scanned):
                if pattern is B64_TOKEN and HEX_TOKEN.fullmatch(m.group()):
                    continue  # already judged as hex
                if _looks_random(m.group()):
                    findings.append(f"{where}: key-like token {m.group()[:6]}... ({len(m.group())} chars)")
        if in_tests:
            continue
        for m in SECRET_ASSIGNMENT.finditer(line):
            name = m.group("name")
            if not SECRET_WORD.search(name) and not UPPER_KEY_NAME.fullmatch(name):
                continue  # lower-case `key=...` is a dictionary or Prefect artifact key, not a secret
            if (path, name) in ALLOWED_SECRET_LITERALS:
                continue
            findings.append(f"{where}: literal assigned to {name}")
    return findings


def _fake(n: int) -> bytes:
    """n bytes that look random, made at run time so that this file itself holds no key-like token."""
    return b"".join(hashlib.sha256(bytes([i])).digest() for i in range(n // 32 + 1))[:n]


def test_scanner_catches_what_it_should():
    b64 = base64.b64encode(_fake(32)).decode()
    alnum = "".join(c for c in base64.b64encode(_fake(60)).decode() if c.isalnum())
    planted = {
        "private key": "-----BEGIN " + "OPENSSH PRIVATE KEY-----",
        "AWS": "aws_access_key_id = AKIA" + alnum.upper()[:16],
        "GitHub": "token: ghp_" + alnum[:36],
        "hex": "hmac = " + _fake(32).hex(),
        "base64": b64,
        "assignment": 'PARTNERSHIP_KEY = b"correct horse battery staple"',
        "password": 'db_password = "hunter2hunter2"',
    }
    for what, line in planted.items():
        assert _secret_findings("pipelines/x.py", line + "\n"), what
    clean = [
        "landing/E07000112/benefits_2026-11-20.csv",
        'artifact = create_markdown_artifact(key="povertylink-run-summary")',
        'PERSON_KEY_PATTERN = r"^[0-9a-f]{64}$"',
        "def test_installed_packages_match_lock_and_everything_else_in_this_file():",
        'KEY = b"test-key-for-matching-0123456789abcdef"',  # a fixture key: allowed in tests/ only
    ]
    assert _secret_findings("tests/x.py", "\n".join(clean)) == []
    assert _secret_findings("pipelines/x.py", "\n".join(clean[:-1])) == []
    assert _secret_findings("pipelines/x.py", clean[-1])
    assert _secret_findings("pipelines/x.py", 'api_key = "0123456789"')
    # Pseudonymised cells of a CSV are skipped; the same hex anywhere else is flagged.
    key = _fake(32).hex()
    assert _secret_findings("data/x.csv", f"1,{key},Ann\n") == []
    assert _secret_findings("docs/x.md", f"key {key}\n")


def test_no_secrets_in_tracked_files():
    findings = []
    for path in _tracked():
        text = _text(path)
        if text is not None:
            findings += _secret_findings(path, text)
    assert not findings, "possible secrets in tracked files:\n" + "\n".join(findings)


def test_sample_key_is_the_only_key_literal_and_is_marked_as_public():
    from pipelines.pseudonymise import MIN_KEY_BYTES, SAMPLE_KEY

    assert list(ALLOWED_SECRET_LITERALS) == [("pipelines/pseudonymise.py", "SAMPLE_KEY")]
    assert b"SAMPLE" in SAMPLE_KEY and b"not-secret" in SAMPLE_KEY and len(SAMPLE_KEY) >= MIN_KEY_BYTES
    source = (ROOT / "pipelines/pseudonymise.py").read_text(encoding="utf-8")
    assert source.count(SAMPLE_KEY.decode()) == 1
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "SAMPLE_KEY" in readme and "never be used for real data" in readme


def test_no_key_or_credential_files_tracked():
    tracked = _tracked()
    keyish = [p for p in tracked if any(fnmatch.fnmatch(Path(p).name.lower(), g) for g in KEY_FILE_GLOBS)]
    assert not keyish, f"key or credential files are tracked: {keyish}"
    ignored = subprocess.run(["git", "ls-files", "-ci", "--exclude-standard"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    assert not ignored, f"tracked although .gitignore excludes them: {ignored}"
    gitignore = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    for pattern in ("*.key", "*.pem", ".env"):
        assert pattern in gitignore, f".gitignore must keep excluding {pattern}"
    # A partnership key is >= 32 random bytes (e.g. head -c 48 /dev/urandom): a small file of
    # binary or single-token content with high entropy, whatever it is called.
    for path in tracked:
        data = (ROOT / path).read_bytes()
        if 16 <= len(data) <= 4096:
            token = data.strip()
            unprintable = sum(b < 9 or 13 < b < 32 or b > 126 for b in data) / len(data)
            random_binary = unprintable > 0.3 and not data.startswith((b"\xff\xfe", b"\xfe\xff"))
            one_token = b"\n" not in token and b" " not in token and b"," not in token and len(token) >= 32
            assert not (random_binary or (one_token and _looks_random(token.decode("latin-1")))), \
                f"{path} looks like a key file"


# ---------------------------------------------------------------------------------------------
# Raw personal data

RAW_COLUMN = re.compile(r"(?i)(^|_)(forename|surname|first_?name|last_?name|full_?name|given_?name|family_?name"
                        r"|nino|ni_?number|national_?insurance(_number)?)$")
NINO = re.compile(r"\b([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?(\d{2}) ?(\d{2}) ?(\d{2}) ?([A-D])\b")


def _nino_findings(path: str, text: str) -> list[str]:
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for m in NINO.finditer(line):
            placeholder = "".join(m.group(2, 3, 4)) == "123456"
            if not placeholder:
                found.append(f"{path}:{number}: NINO-shaped value {m.group(1)}...")
    return found


def test_nino_check_catches_what_it_should():
    assert _nino_findings("docs/x.md", "e.g. 'JK123456C' or AB 12 34 56 C\n") == []
    assert _nino_findings("data/x.csv", "1,JT 48 29 17 B,Ann\n")


RAW_COLUMNS = {c for cols in RAW_IDENTIFIER_COLUMNS.values() for c in cols}


def _raw_data_findings(path: str, text: str) -> list[str]:
    findings = _nino_findings(path, text)
    if not path.endswith((".csv", ".tsv")):
        return findings
    rows = csv.reader(io.StringIO(text), delimiter="\t" if path.endswith(".tsv") else ",")
    header = next(rows, [])
    raw = [c for c in header if c in RAW_COLUMNS or RAW_COLUMN.search(c)]
    if raw:
        findings.append(f"{path}: raw identifier columns {raw}")
    checks = {i: PERSON_KEY if c.endswith("_key") else re.compile(NAME_ENCODING_PATTERN)
              for i, c in enumerate(header) if c.endswith(("_key", "_name"))}
    for line, row in enumerate(rows, 2):
        bad = [header[i] for i, rx in checks.items() if i < len(row) and row[i] and not rx.match(row[i])]
        if bad:
            findings.append(f"{path}:{line}: not in the pseudonymised format: {bad}")
            break
    return findings


def test_raw_data_check_catches_what_it_should():
    from pipelines.pseudonymise import SAMPLE_KEY, name_encoding, nino_key

    good = f"claim_ref,claimant_key,claimant_name\n1,{nino_key(SAMPLE_KEY, 'AB123456C')}," \
           f"\"{name_encoding(SAMPLE_KEY, 'Ann', 'Lee')}\"\n"
    assert _raw_data_findings("data/x.csv", good) == []
    assert _secret_findings("data/x.csv", good) == []  # pseudonymised cells are not secrets
    assert _raw_data_findings("data/x.csv", "claim_ref,claimant_forename\n1,Ann\n")
    assert _raw_data_findings("data/x.csv", "ref,Surname\n1,Lee\n")
    assert _raw_data_findings("data/x.csv", "claim_ref,claimant_name\n1,Ann Lee\n")


def test_no_raw_identifier_files_outside_test_fixtures():
    findings = []
    for path in _tracked():
        if path.startswith("tests/"):
            continue  # synthetic fixtures
        if any(fnmatch.fnmatch(Path(path).name.lower(), g) for g in DATA_FILE_GLOBS):
            findings.append(f"{path}: binary data file tracked (outputs may hold personal data)")
            continue
        text = _text(path)
        if text is not None:
            findings += _raw_data_findings(path, text)
    assert not findings, "raw personal data may be tracked:\n" + "\n".join(findings)
