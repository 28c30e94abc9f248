"""The data dictionary covers every column of every model, as Markdown and as a Frictionless
Data Package whose types match the Parquet the pipeline writes."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import duckdb
import pytest
from pydantic import BaseModel

from benchmarks.build import build_benchmarks
from pipelines.dictionary import write_dictionary
from schemas.inputs import MODELS
from schemas.outputs import OUTPUT_MODELS
from tests.benchmarks.test_benchmarks import first_run

FRICTIONLESS_TYPES = {"string", "number", "integer", "boolean", "date", "datetime", "time", "year", "array",
                      "object", "any"}
CONSTRAINTS = {"required", "unique", "minimum", "maximum", "minLength", "maxLength", "pattern", "enum"}


def all_models() -> dict[str, type[BaseModel]]:
    models: dict[str, type[BaseModel]] = {
        f"{kind}_raw" if raw else kind: model for (kind, raw), model in MODELS.items()}
    models.update(OUTPUT_MODELS)
    for table, module, name in (("households", "schemas.households", "HouseholdRow"),
                                ("links", "schemas.links", "LinkRow")):
        try:
            models[table] = getattr(__import__(module, fromlist=[name]), name)
        except (ImportError, AttributeError):
            pass  # not written yet: the dictionary skips it too
    return models


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    out = tmp_path_factory.mktemp("dictionary")
    write_dictionary(out)
    return (out / "data_dictionary.md").read_text(encoding="utf-8"), json.loads(
        (out / "datapackage.json").read_text(encoding="utf-8"))


def test_every_column_of_every_model_is_documented(written: tuple[str, dict]) -> None:
    text, package = written
    resources = {r["name"]: r for r in package["resources"] + package["povertylink:inputs"]}
    models = all_models()
    assert len(models) >= 9
    for table, model in models.items():
        assert table in resources, table
        names = [f["name"] for f in resources[table]["schema"]["fields"]]
        assert names == list(model.model_fields), table
        section = text.split(f"\n### {table}\n", 1)[1].split("\n### ", 1)[0]
        for name in model.model_fields:
            assert f"| `{name}` |" in section, (table, name)
            assert all(f.get("description") for f in resources[table]["schema"]["fields"])


def test_datapackage_is_frictionless_shaped(written: tuple[str, dict]) -> None:
    _, package = written
    assert package["profile"] == "tabular-data-package"
    names = [r["name"] for r in package["resources"]]
    assert len(names) == len(set(names)) and all(re.fullmatch(r"[a-z0-9._-]+", n) for n in names)
    for resource in package["resources"] + package["povertylink:inputs"]:
        for f in resource["schema"]["fields"]:
            assert f["type"] in FRICTIONLESS_TYPES
            assert set(f.get("constraints", {})) <= CONSTRAINTS
    benefits = next(r for r in package["povertylink:inputs"] if r["name"] == "benefits")
    tenure = next(f for f in benefits["schema"]["fields"] if f["name"] == "tenure")
    assert tenure["constraints"]["enum"][0] == "council" and tenure["constraints"]["required"]
    raw = next(r for r in package["povertylink:inputs"] if r["name"] == "benefits_raw")
    nino = next(f for f in raw["schema"]["fields"] if f["name"] == "claimant_nino")
    assert nino["povertylink:personal"] == "raw identifier"


def test_documented_types_match_the_parquet_written(written: tuple[str, dict], tmp_path: Path) -> None:
    _, package = written
    con = duckdb.connect()
    first_run(con)
    build_benchmarks(con, "r1", dt.date(2026, 11, 20), None)
    for table in ("district_benchmarks", "area_needs", "status_movement", "pension_credit_campaign"):
        path = tmp_path / f"{table}.parquet"
        con.execute(f"COPY {table} TO '{path}' (FORMAT parquet)")
        actual = dict(row[:2] for row in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall())
        resource = next(r for r in package["resources"] if r["name"] == table)
        documented = {f["name"]: f["povertylink:duckdbType"] for f in resource["schema"]["fields"]}
        assert actual == documented, table
