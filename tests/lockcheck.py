"""Does this Python environment match requirements.lock, given which extras of povertylink it has?

``requirements.lock`` pins everything ``.[dev,perf]`` resolves to. ``make run`` installs the runtime
dependencies only (``pip install -c requirements.lock -e .``) and ``make test`` adds the dev and perf
extras, so the judgement depends on what is installed:

- every installed package is in the lock, at the lock's version (never newer, never unlocked);
- every package that povertylink and its installed extras need (followed through their own
  requirements) is installed;
- with every extra installed, every locked package is installed (the environment is exactly the lock).

An extra counts as installed when all of its direct requirements are. Runs without pytest, so that a
runtime-only ``.venv`` can check itself: ``python tests/lockcheck.py`` (exit 1 and one line per problem);
``tests/test_hygiene.py`` calls :func:`lock_problems`. No personal data.
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

LOCK = Path(__file__).resolve().parent.parent / "requirements.lock"
PROJECT = "povertylink"
NOT_LOCKED = {"pip", "setuptools", "wheel", "distribute", PROJECT}  # what ``pip freeze`` leaves out


def pins(lines: list[str]) -> dict[str, str]:
    """name -> version of ``name==version`` lines (comments and blank lines skipped)."""
    found = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            if not sep:
                raise ValueError(f"not a name==version pin: {line!r}")
            found[canonicalize_name(name)] = version.strip()
    return found


def installed() -> dict[str, str]:
    """name -> version of every distribution in this environment (the project and pip's own excepted)."""
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"] or "")
        if name and name not in NOT_LOCKED:
            found[name] = dist.version
    return found


def _requirements(name: str, extras: set[str]) -> list[Requirement]:
    """The requirements of an installed distribution that apply with ``extras``."""
    wanted = []
    for text in metadata.requires(name) or []:
        req = Requirement(text)
        if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in extras or {""}):
            wanted.append(req)
    return wanted


def installed_extras() -> set[str]:
    """The project's extras whose direct requirements are all installed."""
    have = installed()
    extras = set(metadata.distribution(PROJECT).metadata.get_all("Provides-Extra") or [])
    found = set()
    for extra in extras:
        direct = [r for r in _requirements(PROJECT, {extra}) if r.marker is not None]
        if all(canonicalize_name(r.name) in have for r in direct):
            found.add(extra)
    return found


def needed(extras: set[str]) -> set[str]:
    """Every distribution the project with ``extras`` needs, followed through installed requirements."""
    seen: set[str] = set()
    todo = [(PROJECT, extras)]
    while todo:
        name, with_extras = todo.pop()
        for req in _requirements(name, with_extras):
            key = canonicalize_name(req.name)
            if key in seen:
                continue
            seen.add(key)
            try:
                metadata.distribution(req.name)
            except metadata.PackageNotFoundError:
                continue  # reported as missing by lock_problems
            todo.append((req.name, set(req.extras)))
    return seen - NOT_LOCKED


def lock_problems(lock: Path = LOCK) -> tuple[set[str], list[str]]:
    """(extras installed, problems): empty problems when the environment agrees with the lock."""
    locked = pins(lock.read_text(encoding="utf-8").splitlines())
    have = installed()
    try:
        extras = installed_extras()
    except metadata.PackageNotFoundError:
        return set(), [f"{PROJECT} is not installed in {sys.prefix} (make run or make test installs it)"]
    problems = [f"{n}: installed {v}, locked {locked[n]}" for n, v in have.items() if n in locked and locked[n] != v]
    problems += [f"{n}=={v}: installed, not locked" for n, v in have.items() if n not in locked]
    problems += [f"{n}: needed, not installed" for n in sorted(needed(extras)) if n not in have]
    all_extras = set(metadata.distribution(PROJECT).metadata.get_all("Provides-Extra") or [])
    if extras == all_extras:
        problems += [f"{n}=={v}: locked, not installed" for n, v in locked.items() if n not in have]
    return extras, sorted(problems)


def main() -> int:
    """Print the verdict; exit 1 when the environment differs from the lock."""
    extras, problems = lock_problems()
    which = f"{PROJECT}[{','.join(sorted(extras))}]" if extras else f"{PROJECT} (runtime only)"
    if problems:
        print(f"{sys.prefix}: {which} differs from requirements.lock (make lock-install installs the lock; "
              "after changing dependencies run make lock and commit requirements.lock):")
        print("\n".join(f"  {p}" for p in problems))
        return 1
    print(f"{sys.prefix}: {which}: {len(installed())} packages, all as requirements.lock pins them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
