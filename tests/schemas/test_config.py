"""The run configuration: typed sections checked in full before anything runs, one-line errors naming
the key and the keys allowed, and every TOML example in the README and docs accepted."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from schemas.config import LinkSettings, RunConfig, parse_config
from schemas.errors import UserError
from schemas.parameters import Parameters
from tests.cli import error_lines

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "matching" / "README.md"]
TOML_BLOCK = re.compile(r"```toml\n(.*?)```", re.S)


def toml_examples() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for n, block in enumerate(TOML_BLOCK.findall(doc.read_text(encoding="utf-8"))):
            found.append((f"{doc.relative_to(ROOT)}#{n + 1}", block))
    return found


def test_the_docs_hold_config_examples() -> None:
    assert any(name.startswith("README.md") for name, _ in toml_examples())


@pytest.mark.parametrize(("name", "text"), toml_examples(), ids=[n for n, _ in toml_examples()])
def test_every_documented_example_is_accepted(name: str, text: str) -> None:
    config = parse_config(text, name)
    assert config.model_dump(exclude_unset=True), f"{name} sets nothing"


def test_the_readme_example_sets_what_it_says() -> None:
    _, text = toml_examples()[0]
    config = parse_config(text, "README")
    assert config.linkage.threshold == 0.95
    assert str(config.parameters["food_weekly_per_person"]) == "34.0"


@pytest.mark.parametrize(("text", "message"), [
    ("[linkage]\nmatch_threshold = 0.9\n",
     "x: [linkage] unknown key 'match_threshold'; allowed: threshold, person_threshold, review_lower, "),
    ("[scoring]\nfuel_poverty_method = 'lilee'\n", "x: unknown section [scoring]; allowed: [parameters], [linkage]"),
    ("[linkage]\nthreshold = 1.5\n", "x: [linkage] threshold: Input should be less than 1"),
    ("[linkage]\nestimator = 'magic'\n", "x: [linkage] estimator: Input should be 'em' or 'ecm'"),
    ("[parameters]\nfood_weekly = 34\n", "x: [parameters] unknown key 'food_weekly'; allowed: "),
    ("[linkage\n", "x: not valid TOML"),
])
def test_a_bad_config_is_one_line_naming_the_key(text: str, message: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_config(text, "x")
    assert str(caught.value).startswith(message), str(caught.value)
    assert "\n" not in str(caught.value)


def test_unknown_parameter_lists_the_known_ones() -> None:
    with pytest.raises(UserError) as caught:
        parse_config("[parameters]\nfood_weekly = 34\n", "x")
    assert all(name in str(caught.value) for name in Parameters.parameter_names())


def test_defaults_are_the_linkage_defaults() -> None:
    assert RunConfig().linkage == LinkSettings()


def test_run_refuses_a_bad_config_before_reading_any_extract(tmp_path: Path) -> None:
    """Exit 2 within seconds (no ingest), one line on stderr, nothing written to the output folder."""
    config = tmp_path / "bad.toml"
    config.write_text("[linkage]\nmatch_threshold = 0.9\n", encoding="utf-8")
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--input", str(ROOT / "data" / "sample"),
                             "--output", str(tmp_path / "out"), "--as-of", "2026-11-20", "--config", str(config)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert error_lines(result.stderr) == [
        f"povertylink: error: --config {config}: [linkage] unknown key 'match_threshold'; allowed: "
        + ", ".join(LinkSettings.model_fields)]
    assert not (tmp_path / "out").exists()
    assert time.perf_counter() - started < 60


def test_resources_budget_from_the_setting_or_a_share_of_the_machine() -> None:
    from schemas.config import MEMORY_SHARE, MIN_MEMORY_BYTES, duckdb_size, machine_memory_bytes

    assert parse_config('[resources]\nmemory_limit = "1.5GB"\n', "x").resources.memory_bytes() == 1_500_000_000
    assert parse_config('[resources]\nmemory_limit = "1536MiB"\nthreads = 2\n', "x").resources.memory_bytes() \
        == 1536 * 2**20
    default = RunConfig().resources.memory_bytes()
    assert default == max(machine_memory_bytes() // MEMORY_SHARE, MIN_MEMORY_BYTES)
    assert duckdb_size(1536 * 2**20) == "1536MiB"
    for bad, says in (('"lots"', "not a size"), ('"100MB"', "too small")):
        with pytest.raises(UserError, match=says):
            parse_config(f"[resources]\nmemory_limit = {bad}\n", "x")
    with pytest.raises(UserError, match="threads"):
        parse_config("[resources]\nthreads = -1\n", "x")
