"""Outreach domain events → public integration events (the relay's mapper)."""

from __future__ import annotations

import uuid
from typing import Any

from services.outreach.domain import OutreachCase
from shared.contracts.envelope import IntegrationEvent
from shared.contracts.events import ContactAttempted
from shared.messaging.relay import event_id_for


def to_integration_event(domain_event: Any) -> IntegrationEvent | None:
    if not isinstance(domain_event, OutreachCase.ContactAttempted):  # type: ignore[attr-defined]
        return None
    return ContactAttempted(
        event_id=event_id_for(
            "outreach", domain_event.originator_id, domain_event.originator_version
        ),
        tenant=domain_event.tenant,
        youth_id=domain_event.originator_id,
        occurred_at=domain_event.attempted_at,
        recorded_at=domain_event.timestamp,
        actor=domain_event.actor,
        correlation_id=domain_event.correlation_id,
        contact_attempt_id=uuid.UUID(domain_event.contact_attempt_id),
        channel=domain_event.channel,
        outcome=domain_event.outcome,
        attempted_at=domain_event.attempted_at,
    )
