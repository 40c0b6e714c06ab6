"""Measures domain events → public integration events (the relay's mapper)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from typing import Any

from services.measures.domain import MeasuresCase
from shared.contracts.envelope import IntegrationEvent
from shared.contracts.events import MeasureOffered
from shared.messaging.relay import event_id_for


def to_integration_event(domain_event: Any) -> IntegrationEvent | None:
    if not isinstance(domain_event, MeasuresCase.MeasureOffered):  # type: ignore[attr-defined]
        return None
    return MeasureOffered(
        event_id=event_id_for(
            "measures", domain_event.originator_id, domain_event.originator_version
        ),
        tenant=domain_event.tenant,
        youth_id=domain_event.originator_id,
        occurred_at=datetime.combine(domain_event.offered_on, time.min, tzinfo=UTC),
        recorded_at=domain_event.timestamp,
        actor=domain_event.actor,
        correlation_id=domain_event.correlation_id,
        measure_id=uuid.UUID(domain_event.measure_id),
        measure_type=domain_event.measure_type,
        offered_on=domain_event.offered_on,
        can_start_on=domain_event.can_start_on,
    )
