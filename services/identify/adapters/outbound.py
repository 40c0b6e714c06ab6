"""How the identify service's domain events become public integration events (the relay's mapper)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any

from services.identify.domain import Person
from shared.contracts.envelope import IntegrationEvent
from shared.contracts.events import (
    AbsenceReported,
    PersonalDetailsRecorded,
    SchoolNotificationReceived,
    YouthIdentified,
    YouthLeftScope,
)
from shared.contracts.events.corrections import Correction
from shared.messaging.relay import event_id_for


def _at_start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _envelope(domain_event: Any, part: str = "") -> dict[str, Any]:
    return {
        "event_id": event_id_for(
            "identify", domain_event.originator_id, domain_event.originator_version, part
        ),
        "recorded_at": domain_event.timestamp,
        "tenant": domain_event.tenant,
        "youth_id": uuid.UUID(domain_event.youth_id),
    }


RELAYED: tuple[type[Any], ...] = (
    Person.ScopeEntered,  # type: ignore[attr-defined]
    Person.DetailsAnnounced,  # type: ignore[attr-defined]
    Person.ScopeLeft,  # type: ignore[attr-defined]
    Person.RegisteredInError,  # type: ignore[attr-defined]
    Person.SchoolNotificationReceived,  # type: ignore[attr-defined]
)


def to_integration_event(domain_event: Any) -> IntegrationEvent | list[IntegrationEvent] | None:
    if isinstance(domain_event, Person.ScopeEntered):  # type: ignore[attr-defined]
        return YouthIdentified(
            **_envelope(domain_event),
            occurred_at=_at_start_of(domain_event.entered_on),
            actor=domain_event.actor,
            correlation_id=domain_event.correlation_id,
            causation_id=domain_event.correlation_id,
            scope_episode_id=uuid.UUID(domain_event.scope_episode_id),
            entered_on=domain_event.entered_on,
            scope_ends_on=domain_event.scope_ends_on,
            rule_version=domain_event.rule_version,
            facts=domain_event.facts,
            school_background=getattr(domain_event, "school_background", None),
            personal_details=getattr(domain_event, "personal_details", None),
            identified_on=getattr(domain_event, "identified_on", None),
        )
    if isinstance(domain_event, Person.DetailsAnnounced):  # type: ignore[attr-defined]
        return PersonalDetailsRecorded(
            **_envelope(domain_event),
            occurred_at=domain_event.timestamp,
            actor="feed:population",
            correlation_id=domain_event.record_id,
            causation_id=domain_event.record_id,
            personal_details=domain_event.personal_details,
        )
    if isinstance(domain_event, Person.ScopeLeft):  # type: ignore[attr-defined]
        return YouthLeftScope(
            **_envelope(domain_event),
            occurred_at=_at_start_of(domain_event.left_on),
            actor=domain_event.actor,
            correlation_id=domain_event.correlation_id,
            causation_id=domain_event.correlation_id,
            scope_episode_id=uuid.UUID(domain_event.scope_episode_id),
            left_on=domain_event.left_on,
            reason=domain_event.reason,
            rule_version=domain_event.rule_version,
        )
    if isinstance(domain_event, Person.RegisteredInError):  # type: ignore[attr-defined]
        # The episode should never have been: it ends, registered in error, the day it began.
        return YouthLeftScope(
            **_envelope(domain_event),
            occurred_at=_at_start_of(domain_event.entered_on),
            actor=domain_event.actor,
            correlation_id=domain_event.correlation_id,
            causation_id=domain_event.correlation_id,
            scope_episode_id=uuid.UUID(domain_event.scope_episode_id),
            left_on=domain_event.entered_on,
            reason="registered_in_error",
            rule_version=domain_event.rule_version,
            correction=Correction(
                reason=domain_event.reason, sealed_note=getattr(domain_event, "sealed_note", None)
            ),
        )
    if isinstance(domain_event, Person.SchoolNotificationReceived):  # type: ignore[attr-defined]
        notification_id = uuid.UUID(domain_event.notification_id)
        common = {
            "occurred_at": _at_start_of(domain_event.on),
            "actor": domain_event.reported_by,
            "correlation_id": getattr(domain_event, "correlation_id", None) or notification_id,
            "notification_id": notification_id,
            "school_type": domain_event.school_type,
            "school_unit": domain_event.school_unit,
            "reporting_organisation": getattr(domain_event, "reporting_organisation", None),
        }
        events: list[IntegrationEvent] = [
            SchoolNotificationReceived(
                **_envelope(domain_event),
                **common,
                kind=domain_event.kind,
                on=domain_event.on,
                received_on=getattr(domain_event, "received_on", None),
            )
        ]
        if domain_event.kind == "absence":
            events.append(
                AbsenceReported(
                    **_envelope(domain_event, "absence"), **common, absent_from=domain_event.on
                )
            )
        return events
    return None  # internal facts (population, enrolments, completions) stay in the service
