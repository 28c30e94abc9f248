"""Clerical review: one row of ``review_queue.parquet``, and the analysts' decisions file.

The queue holds claim -> account pairs in the review band (``[linkage] review_lower`` ..
``review_upper``, match probability) with both records' address fields side by side, for an
analyst to mark match / non-match (``povertylink review export`` / ``import``). Decisions are
kept in ``<output>/review/decisions.csv`` and honoured by the next run (DESIGN.md C21, C22).

Personal data: references, UPRNs, postcodes and address lines (as the districts' own extracts
hold them, and no more identifying than the UPRN and postcode of ``households.parquet``); never
a name, a name encoding, a NINO key or a birth date.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, Field

Decision = Literal["match", "non-match"]
DECISIONS: tuple[str, ...] = get_args(Decision)
PAIR_ID_HEX = 16  # hex digits of SHA-256 in a pair id ("P-" + 16): 64 bits, no collision in any county

_LEVEL = "comparison level: -1 missing on either side, 0 disagrees, higher agrees more closely (as in links)"


class ReviewPairRow(BaseModel):
    """A claim -> account pair for clerical review: the model's view and both records side by side."""

    pair_id: str = Field(description="stable id of the pair: 'P-' and 16 hex characters of SHA-256 of the "
                                     "district code, claim reference and account reference; the same pair has the "
                                     "same id in every run, so a decision keeps applying")
    lad_code: str = Field(description="ONS local-authority code of the district")
    claim_ref: str = Field(description="the district's benefit claim reference")
    account_ref: str = Field(description="the district's council-tax account reference")
    match_probability: float = Field(ge=0, le=1, description="model probability that the pair is the same household")
    match_weight: float = Field(description="log2 odds of a match: prior odds plus the levels' weights")
    runner_up_weight: float | None = Field(None, description="the claim's next-best candidate's match weight; null "
                                                             "where it has none")
    linked: bool = Field(description="true where this run linked the pair (links.parquet)")
    method: str | None = Field(None, description="how this run linked it: uprn, probabilistic or clerical; null "
                                                 "where not linked")
    decision: Decision | None = Field(None, description="the analysts' decision in force (latest imported): match "
                                                        "(the run links the pair) or non-match (the run never links "
                                                        "it); null where not reviewed yet")
    reason: str = Field(description="why the pair is in the queue: borderline probability (linked or not), a "
                                    "strong pair not linked because its account went to a better claim, or decided")
    claim_uprn: int | None = Field(None, description="the claim's UPRN; null where not held")
    account_uprn: int | None = Field(None, description="the account's UPRN; null where not held")
    claim_postcode: str | None = Field(None, description="the claim's postcode, 'OUT IN'; null where the claim has "
                                                       "none (C19)")
    account_postcode: str = Field(description="the account's postcode, 'OUT IN'")
    claim_address_line_1: str = Field(description="the claim's first address line, as the extract holds it")
    account_address_line_1: str = Field(description="the account's first address line, as the extract holds it")
    claim_address_line_2: str | None = Field(None, description="the claim's second address line")
    account_address_line_2: str | None = Field(None, description="the account's second address line")
    claim_town: str | None = Field(None, description="the claim's town")
    account_town: str | None = Field(None, description="the account's town")
    uprn_level: int = Field(description=f"UPRN; {_LEVEL}")
    postcode_level: int = Field(description=f"postcode: 3 same, 2 same sector or one character apart, 1 same "
                                            f"outward code; {_LEVEL}")
    house_number_level: int = Field(description=f"house number: 2 same, 1 a number in common; {_LEVEL}")
    flat_level: int = Field(description="flat: 2 same flat, 1 neither is a flat, 0 a flat on one side only")
    street_level: int = Field(description=f"address words: 3 same, 2 one side's all in the other's, 1 near; {_LEVEL}")
    name_level: int = Field(description=f"claimant or partner name vs liable name (compared as encodings, never "
                                        f"shown): 5 same, 4 nickname, 3 typo, 2 surname only, 1 forename only; "
                                        f"{_LEVEL}")
    dob_level: int = Field(description=f"date of birth (compared, never shown): 2 same, 1 one part differs or "
                                       f"day/month swapped; {_LEVEL}")
    address_level: int = Field(description=f"address overall (used by the model): 6 same address .. 0 different; "
                                           f"{_LEVEL}")


REVIEW_QUEUE_COLUMNS: tuple[str, ...] = tuple(ReviewPairRow.model_fields)

# <output>/review/decisions.csv: every decision ever imported, in order; the last one for a pair is in force.
DECISION_COLUMNS: tuple[str, ...] = ("pair_id", "lad_code", "claim_ref", "account_ref", "decision", "model_linked",
                                     "reviewer", "decided_at", "imported_at", "source_file")
