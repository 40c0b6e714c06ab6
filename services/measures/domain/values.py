"""Values the measures case is made of: the ids it makes for follow-ups, the purpose a measure's
content is sealed for, and the refusal of a client id taken by other content."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from shared.casework.domain import CommandRefused
from shared.contracts.events import MeasureOffered
from shared.crypto import YouthSealer

CONTENT = MeasureOffered.CONTENT_PURPOSE
"""What a measure's content is sealed for (its keyed digest is made for the same purpose)."""

_FOLLOW_UP_NAMESPACE = uuid.UUID("9d4c2f7a-61b3-4e0f-8a25-3c7d9e1b5f60")


class FollowUpSubject(StrEnum):
    PLAN_FOLLOW_UP = "plan_follow_up"
    PLAN_EVALUATION = "plan_evaluation"
    MEASURE_REOFFER = "measure_reoffer"


def follow_up_id(
    case_id: uuid.UUID, subject: FollowUpSubject, measure_id: str | None = None
) -> str:
    """Plan follow-ups have one open id per subject (a revision moves its date); a re-offer
    reminder has one per measure."""
    return str(uuid.uuid5(_FOLLOW_UP_NAMESPACE, f"{case_id}:{subject.value}:{measure_id or ''}"))


def taken(field: str, what: str) -> CommandRefused:
    """A client id used again with different content: 409, the id is taken."""
    return CommandRefused(
        field, f"is taken by {what} with different content; use a new id", conflict=True
    )


def content_digest(measure: Mapping[str, Any], sealer: YouthSealer | None) -> str | None:
    """The keyed digest of an offer's content (one recorded before it was sealed is clear)."""
    if measure.get("content_digest") is not None:
        return str(measure["content_digest"])
    clear: str | None = measure.get("content")
    if clear is None or sealer is None:
        return clear
    return sealer.digest(clear.encode(), CONTENT)
