"""How the identify service's domain events become public integration events (the relay's mapper)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from typing import Any

from services.identify.domain import Person
from shared.contracts.envelope import IntegrationEvent
from shared.contracts.events import YouthIdentified, YouthLeftScope
from shared.messaging.relay import event_id_for


def _at_start_of(day: Any) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def to_integration_event(domain_event: Any) -> IntegrationEvent | None:
    envelope = {
        "event_id": event_id_for(
            "identify", domain_event.originator_id, domain_event.originator_version
        ),
        "recorded_at": domain_event.timestamp,
    }
    if isinstance(domain_event, Person.ScopeEntered):  # type: ignore[attr-defined]
        return YouthIdentified(
            **envelope,
            tenant=domain_event.tenant,
            youth_id=uuid.UUID(domain_event.youth_id),
            occurred_at=_at_start_of(domain_event.entered_on),
            actor=domain_event.actor,
            correlation_id=domain_event.correlation_id,
            causation_id=domain_event.correlation_id,
            scope_episode_id=uuid.UUID(domain_event.scope_episode_id),
            entered_on=domain_event.entered_on,
            scope_ends_on=domain_event.scope_ends_on,
            rule_version=domain_event.rule_version,
            facts=domain_event.facts,
        )
    if isinstance(domain_event, Person.ScopeLeft):  # type: ignore[attr-defined]
        return YouthLeftScope(
            **envelope,
            tenant=domain_event.tenant,
            youth_id=uuid.UUID(domain_event.youth_id),
            occurred_at=_at_start_of(domain_event.left_on),
            actor=domain_event.actor,
            correlation_id=domain_event.correlation_id,
            causation_id=domain_event.correlation_id,
            scope_episode_id=uuid.UUID(domain_event.scope_episode_id),
            left_on=domain_event.left_on,
            reason=domain_event.reason,
            rule_version=domain_event.rule_version,
        )
    return None  # internal facts (population, enrolments) stay in the service
