"""The project's vocabularies, each defined once: resilience statuses and recovery stages.

Literal types for the pydantic models, the same values as tuples for code and SQL.
"""

from __future__ import annotations

from typing import Literal, get_args

ResilienceStatus = Literal["in_crisis", "at_risk", "struggling", "coping", "comfortable"]
RESILIENCE_STATUSES: tuple[str, ...] = get_args(ResilienceStatus)  # worst first

RecoveryStage = Literal[
    "none", "reminder", "final_notice", "summons", "liability_order", "enforcement_agent", "attachment"
]
RECOVERY_STAGES: tuple[str, ...] = get_args(RecoveryStage)  # earliest first

RECOVERY_STAGE_WORDS = {  # plain words for the stages at summons or later, as reasons say them
    "summons": "a summons",
    "liability_order": "a liability order",
    "enforcement_agent": "enforcement agents",
    "attachment": "an attachment of earnings or benefits",
}
