"""[resources]: a run under the smallest budget allowed (one thread) publishes the same outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from perf.compare_runs import compare
from pipelines.run import RunRequest, run_local
from pipelines.synthetic.generator import generate
from tests.cli import AS_OF_DATE

pytestmark = pytest.mark.slow


def test_a_tiny_memory_budget_gives_the_same_outputs(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    generate(landing, districts=3, households=1500, seed=8, raw=False)
    tight = tmp_path / "tight.toml"
    tight.write_text('[resources]\nmemory_limit = "256MiB"\nthreads = 1\n', encoding="utf-8")
    roomy = run_local(RunRequest(landing, tmp_path / "roomy", AS_OF_DATE))
    small = run_local(RunRequest(landing, tmp_path / "small", AS_OF_DATE, config=tight))
    assert roomy.published is not None and small.published is not None
    assert small.manifest["config"]["resources"] == {"memory_limit": "256MiB", "memory_budget_mb": 256, "threads": 1}
    assert roomy.manifest["config"]["resources"]["memory_budget_mb"] >= 1024
    differ = [d for d in compare(roomy.published, small.published) if not d.startswith("manifest.json")]
    assert differ == []
    assert compare(roomy.published, small.published) in ([], ["manifest.json: differs in config"])
