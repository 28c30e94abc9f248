"""Linkage settings (the run config's ``[linkage]`` section) and the starting models.

The starting m/u values are judgement, used as the EM's starting point and, where a run has
too few candidate pairs for EM to be trusted (a small test or a one-district run), as the
model itself. No personal data.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from matching.estimate import FSModel


class LinkSettings(BaseModel):
    """Thresholds and options of the linkage stage (override any in the run config's ``[linkage]``)."""

    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(default=0.9, gt=0, lt=1,
        description="least probability of a probabilistic claim-account link")
    person_threshold: float = Field(default=0.9, gt=0, lt=1,
        description="least probability of a cross-district person link")
    review_lower: float = Field(default=0.2, ge=0, le=1,
        description="borderline band for clerical review: lower probability")
    review_upper: float = Field(default=0.98, ge=0, le=1,
        description="borderline band for clerical review: upper probability")
    use_uprn: bool = Field(default=True,
        description="link first on the same UPRN where the addresses agree")
    min_pairs_for_em: int = Field(default=2000, ge=0,
        description="fewer candidate pairs than this: use the starting model")
    em_max_iterations: int = Field(default=200, ge=1,
        description="EM iteration limit")
    estimator: Literal["em", "ecm"] = Field(default="em",
        description="m/u estimator: the project's EM (default, chosen by measurement: matching/README.md) "
                    "or recordlinkage's ECM")
    histogram_bin_width: float = Field(default=2.0, gt=0,
        description="width of the match-weight histogram bins (log2 odds)")


def within_start_model() -> FSModel:
    """Starting model of claim -> account comparisons (levels as in :mod:`matching.compare`)."""
    m = {
        "uprn_level": {1: 0.9, 0: 0.1},
        "address_level": {5: 0.85, 4: 0.08, 3: 0.03, 2: 0.02, 1: 0.01, 0: 0.01},
        "name_level": {5: 0.75, 4: 0.04, 3: 0.08, 2: 0.04, 1: 0.02, 0: 0.07},
        "dob_level": {2: 0.95, 1: 0.03, 0: 0.02},
    }
    u = {
        "uprn_level": {1: 0.001, 0: 0.999},
        "address_level": {5: 0.01, 4: 0.005, 3: 0.005, 2: 0.03, 1: 0.6, 0: 0.35},
        "name_level": {5: 0.002, 4: 0.001, 3: 0.003, 2: 0.05, 1: 0.02, 0: 0.924},
        "dob_level": {2: 0.003, 1: 0.01, 0: 0.987},
    }
    return FSModel(m=m, u=u, prior=0.05)


def person_start_model() -> FSModel:
    """Starting model of cross-district person comparisons."""
    m = {
        "key_level": {1: 0.97, 0: 0.03},
        "name_level": {5: 0.85, 4: 0.03, 3: 0.06, 2: 0.03, 1: 0.02, 0: 0.01},
        "dob_level": {2: 0.96, 1: 0.03, 0: 0.01},
    }
    u = {
        "key_level": {1: 0.0001, 0: 0.9999},
        "name_level": {5: 0.05, 4: 0.01, 3: 0.02, 2: 0.3, 1: 0.3, 0: 0.32},
        "dob_level": {2: 0.3, 1: 0.05, 0: 0.65},
    }
    return FSModel(m=m, u=u, prior=0.2)
