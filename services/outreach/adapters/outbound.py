"""Outreach domain events → public integration events (the relay's mapper).

A corrected entry is its public event again with the new values and the same entity id (the
attempt's, the occupation's), naming the event it corrects (`corrects`, the event id of the
entry's version) and why (`correction`); a withdrawn entry is `OutreachEntryWithdrawn`."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

from services.outreach.domain import OutreachCase
from shared.contracts.envelope import IntegrationEvent
from shared.contracts.events import (
    CaseAssigned,
    ContactAttempted,
    ContactDetailsRecorded,
    ContactEstablished,
    Correction,
    OccupationRecorded,
    OutreachEntryWithdrawn,
    YouthInformed,
)
from shared.messaging.relay import envelope_of, event_id_for

Case: Any = OutreachCase
RELAYED = (
    Case.ContactAttempted,
    Case.ContactEstablished,
    Case.YouthInformed,
    Case.OccupationRecorded,
    Case.CaseAssigned,
    Case.ContactDetailsRecorded,
    Case.EntryCorrected,
    Case.EntryWithdrawn,
)
SERVICE = "outreach"


def entry_event_id(youth_id: uuid.UUID, version: int) -> uuid.UUID:
    """The event id callers know an entry of a youth's case by (its public event's id)."""
    return event_id_for(SERVICE, youth_id, version)


def _envelope(e: Any, occurred_at: Any = None) -> dict[str, Any]:
    return envelope_of("outreach", e, occurred_at)


def _correction(e: Any) -> dict[str, Any]:
    return {
        "corrects": entry_event_id(e.originator_id, e.corrects),
        "correction": Correction(reason=e.reason, sealed_note=e.sealed_note),
    }


def _fact(e: Any, kind: str, v: Any, why: dict[str, Any]) -> IntegrationEvent | None:
    """The public event of a fact (`v`: the domain event, or a correction's values as a
    namespace), with `why` (the correction's fields) when it corrects one."""
    if kind == "ContactAttempted":
        return ContactAttempted(
            **_envelope(e, v.attempted_at), contact_attempt_id=uuid.UUID(v.contact_attempt_id),
            channel=v.channel, outcome=v.outcome, attempted_at=v.attempted_at, **why,
        )  # fmt: skip
    if kind == "ContactEstablished":
        return ContactEstablished(
            **_envelope(e, v.established_at), established_at=v.established_at,
            channel=v.channel, **why,
        )  # fmt: skip
    if kind == "YouthInformed":
        return YouthInformed(
            **_envelope(e, v.informed_at), informed_at=v.informed_at, channel=v.channel, **why
        )
    if kind == "OccupationRecorded":
        return OccupationRecorded(
            **_envelope(e), occupation_id=uuid.UUID(v.occupation_id), category=v.category,
            code_list_version=v.code_list_version, tense=v.tense, from_date=v.from_date,
            to_date=v.to_date, confirmed_on=v.confirmed_on, **why,
        )  # fmt: skip
    if kind == "ContactDetailsRecorded":
        return ContactDetailsRecorded(**_envelope(e), contact_details=v.contact_details, **why)
    if kind == "CaseAssigned":
        return CaseAssigned(
            **_envelope(e), assignee_kind=v.assignee_kind, assignee=v.assignee,
            previous_assignee=v.previous_assignee, **why,
        )  # fmt: skip
    return None


def to_integration_event(e: Any) -> IntegrationEvent | None:
    if isinstance(e, Case.EntryCorrected):
        return _fact(e, e.event_type, SimpleNamespace(**e.values), _correction(e))
    if isinstance(e, Case.EntryWithdrawn):
        return OutreachEntryWithdrawn(
            **_envelope(e), withdraws=entry_event_id(e.originator_id, e.withdraws),
            withdrawn_event_type=e.withdrawn_event_type,
            correction=Correction(reason=e.reason, sealed_note=e.sealed_note),
        )  # fmt: skip
    if isinstance(e, RELAYED):
        return _fact(e, type(e).__name__, e, {})
    return None
