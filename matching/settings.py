"""The starting models of linkage (its settings are :class:`schemas.config.LinkSettings`).

The starting m/u values are judgement, used as the EM's starting point and, where a run has
too few candidate pairs for EM to be trusted (a small test or a one-district run), as the
model itself. No personal data.
"""

from __future__ import annotations

from matching.estimate import FSModel


def within_start_model() -> FSModel:
    """Starting model of claim -> account comparisons (levels as in :mod:`matching.compare`)."""
    m = {
        "uprn_level": {1: 0.9, 0: 0.1},
        "address_level": {6: 0.8, 5: 0.08, 4: 0.04, 3: 0.02, 2: 0.02, 1: 0.02, 0: 0.02},
        "name_level": {5: 0.75, 4: 0.04, 3: 0.08, 2: 0.04, 1: 0.02, 0: 0.07},
        "dob_level": {2: 0.95, 1: 0.03, 0: 0.02},
    }
    u = {
        "uprn_level": {1: 0.001, 0: 0.999},
        "address_level": {6: 0.01, 5: 0.005, 4: 0.005, 3: 0.03, 2: 0.55, 1: 0.05, 0: 0.35},
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


# u from random pairs (as Splink's estimate_u_using_random_sampling): at most this many random
# claim-account pairs per district, drawn with a fixed seed (the same data gives the same sample). Per
# district, so that a district's sample does not depend on the others (Dask partitions): 12 districts
# give at most 120,000 pairs, about 3 s of CPU at Kent scale on a loaded machine (30,000 a district cost
# 5.7 s there). A level as rare as 1 in 10,000 pairs is still seen about once; rarer levels are smoothed
# (matching.estimate.u_from_sample). Splink's default is 1 million pairs in all: raise this before
# scoring with the random-pair u (U_FROM_RANDOM_PAIRS), which was measured with 30,000.
U_SAMPLE_PAIRS = 10_000
U_SAMPLE_SEED = 15
# Below this many claim-account pairs in all (claims x accounts, summed over districts), random pairs are
# too few, and hold too many true matches (1 in the accounts' count), for their u: the candidate set's
# EM estimate is used instead (small test districts, a one-district run on a few hundred records).
U_SAMPLE_MIN_PAIRS = 100_000
# Score with u from random pairs and the prior over all pairs (Splink's model) rather than the candidate
# set's EM u and prior. Measured on all seven bench data sets (matching/README.md section 4) it lost recall
# (F1 0.981-0.999 against 0.991-1.000): off; the random-pair u is reported in the manifest beside the u used.
U_FROM_RANDOM_PAIRS = False
