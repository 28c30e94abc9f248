"""Pydantic model of one ``links.parquet`` row (an accepted claim -> account pair), for the data dictionary.

Personal data: none (references, method, probabilities and comparison levels only).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

_LEVEL = "comparison level: -1 missing on either side, 0 disagrees, higher agrees more closely"


class LinkRow(BaseModel):
    """An accepted link of a benefit claim to a council-tax account in one district."""

    lad_code: str = Field(description="ONS local-authority code of the district")
    claim_ref: str = Field(description="the district's benefit claim reference")
    account_ref: str = Field(description="the district's council-tax account reference")
    method: str = Field(description="'uprn' (same UPRN, addresses agree), 'probabilistic' (Fellegi-Sunter) or "
                                    "'clerical' (an analyst decided the pair is a match: povertylink review)")
    match_probability: float = Field(ge=0, le=1, description="model probability that the pair is the same household")
    match_weight: float = Field(description="log2 odds of a match: prior odds plus the levels' weights plus "
                                            "tf_weight")
    tf_weight: float = Field(description="term-frequency adjustment included in match_weight (log2): an exact "
                                         "agreement on a common surname, or on a common street where the postcode "
                                         "does not place the pair, weighs less than the level's average, a rare "
                                         "one more; 0 where none applies")
    uprn_level: int = Field(description=f"UPRN: 1 same, 0 different; {_LEVEL}")
    postcode_level: int = Field(description=f"postcode: 3 same, 2 same sector or one character apart, 1 same "
                                            f"outward code; {_LEVEL}")
    house_number_level: int = Field(description=f"house number: 2 same, 1 a number in common; {_LEVEL}")
    flat_level: int = Field(description="flat: 2 same flat, 1 neither is a flat, 0 a flat on one side only")
    street_level: int = Field(description=f"address words: 3 same, 2 one side's all in the other's, 1 half in "
                                          f"common or Jaro-Winkler >= 0.9; {_LEVEL}")
    name_level: int = Field(description=f"claimant or partner name vs liable name (encodings): 5 same, 4 nickname, "
                                        f"3 typo, 2 surname only, 1 forename only; {_LEVEL}")
    dob_level: int = Field(description=f"date of birth: 2 same, 1 one part differs or day/month swapped; {_LEVEL}")
    address_level: int = Field(description=f"address overall (used by the model): 6 same address, 5 near, 4 same "
                                           f"number and street in another postcode, 3 flat on one side only, "
                                           f"2 same sector, 1 street near in another sector; {_LEVEL}")
