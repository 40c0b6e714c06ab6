"""Outreach domain events → public integration events (the relay's mapper)."""

from __future__ import annotations

import uuid
from typing import Any

from services.outreach.domain import OutreachCase
from shared.contracts.envelope import IntegrationEvent
from shared.contracts.events import (
    CaseAssigned,
    ContactAttempted,
    ContactDetailsRecorded,
    ContactEstablished,
    OccupationRecorded,
    YouthInformed,
)
from shared.messaging.relay import envelope_of

Case: Any = OutreachCase
RELAYED = (
    Case.ContactAttempted,
    Case.ContactEstablished,
    Case.YouthInformed,
    Case.OccupationRecorded,
    Case.CaseAssigned,
    Case.ContactDetailsRecorded,
)


def _envelope(e: Any, occurred_at: Any = None) -> dict[str, Any]:
    return envelope_of("outreach", e, occurred_at)


def to_integration_event(e: Any) -> IntegrationEvent | None:
    if isinstance(e, Case.ContactAttempted):
        return ContactAttempted(
            **_envelope(e, e.attempted_at),
            contact_attempt_id=uuid.UUID(e.contact_attempt_id),
            channel=e.channel,
            outcome=e.outcome,
            attempted_at=e.attempted_at,
        )
    if isinstance(e, Case.ContactEstablished):
        return ContactEstablished(
            **_envelope(e, e.established_at), established_at=e.established_at, channel=e.channel
        )
    if isinstance(e, Case.YouthInformed):
        return YouthInformed(
            **_envelope(e, e.informed_at), informed_at=e.informed_at, channel=e.channel
        )
    if isinstance(e, Case.OccupationRecorded):
        return OccupationRecorded(
            **_envelope(e),
            occupation_id=uuid.UUID(e.occupation_id),
            category=e.category,
            code_list_version=e.code_list_version,
            tense=e.tense,
            from_date=e.from_date,
            to_date=e.to_date,
            confirmed_on=e.confirmed_on,
        )
    if isinstance(e, Case.ContactDetailsRecorded):
        return ContactDetailsRecorded(**_envelope(e), contact_details=e.contact_details)
    if isinstance(e, Case.CaseAssigned):
        return CaseAssigned(
            **_envelope(e),
            assignee_kind=e.assignee_kind,
            assignee=e.assignee,
            previous_assignee=e.previous_assignee,
        )
    return None
