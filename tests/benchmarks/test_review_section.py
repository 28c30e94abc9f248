"""The report's clerical review section: precision from the manifest's decisions, the match-weight
distribution (counts under the 10-5 rule) and the model's match weights, drawn from the manifest."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from benchmarks.charts import match_weights_chart, weight_histogram_chart
from benchmarks.report import review_context, write_report

MODEL = {"source": "em", "iterations": 12, "prior": 0.2, "notes": ["a note"],
         "comparisons": {"name_level": {"5": {"m": 0.8, "u": 0.01, "weight": 6.32},
                                        "0": {"m": 0.05, "u": 0.9, "weight": -4.17}}}}
LINKAGE = {"settings": {"threshold": 0.9, "review_lower": 0.2, "review_upper": 0.98}, "review_queue": 42,
           "match_weight_histogram": {
               "links": [{"weight_from": 10.0, "weight_to": 12.0, "pairs": 120}],
               "candidates": [{"weight_from": -4.0, "weight_to": -2.0, "pairs": 7},
                              {"weight_from": 10.0, "weight_to": 12.0, "pairs": 133}]},
           "models": {"within_district": MODEL},
           "level_labels": {"name_level": {"5": "same forename and surname", "0": "different"}},
           "clerical": {"decisions": 3, "forced_links": 2, "forbidden_pairs": 1, "not_applied": 0}}


def test_no_decisions_yet_and_charts_from_the_manifest(tmp_path: Path) -> None:
    manifest = {"linkage": LINKAGE, "clerical_review": {"decisions": 0, "precision": None, "note": "no decisions yet"}}
    context = review_context(manifest)
    histogram, model = str(context["weight_svg"]), str(context["model_svg"])
    tips = re.findall(r"<title>([^<]*)</title>", histogram)
    assert "weight -4 to -2: not linked [c]" in tips  # 7 pairs: suppressed
    assert "weight 10 to 12: linked 120" in tips and "weight 10 to 12: not linked 15" in tips
    assert "threshold 0.9" in histogram and "review band" in histogram
    assert "same forename and surname" in model and "+6.3" in model and "−4.2" not in model and "-4.2" in model
    assert "+2.0" not in model and "-2.0" in model  # the prior 0.2: log2(0.25) = -2
    out = tmp_path / "report.html"
    write_report(duckdb.connect(), manifest, out)
    html = out.read_text(encoding="utf-8")
    assert "No decisions yet" in html and "Match weights of the model" in html and "a note" in html


def test_precision_and_counts_of_the_decisions() -> None:
    review = {"decisions": 3, "matches": 2, "non_matches": 1, "reviewed_links": 2, "confirmed": 1, "rejected": 1,
              "precision": 0.5, "precision_95": [0.0945, 0.9055], "reviewed_non_links": 1, "missed_links": 1}
    context = review_context({"linkage": LINKAGE, "clerical_review": review})
    assert context["review_precision"] == "50% (95% interval 9%–91%)"
    assert context["review_applied"]["forced_links"] == 2 and context["review_queue_pairs"] == "40"


def test_charts_cope_with_nothing_and_with_one_bin() -> None:
    assert "no candidate pairs" in weight_histogram_chart([], "empty")
    one = weight_histogram_chart([(0.0, 2.0, 10, 0)], "one", [(3.17, "threshold")])
    assert one.count("<rect") >= 1 and "threshold" in one
    assert "<svg" in match_weights_chart([], "none")
