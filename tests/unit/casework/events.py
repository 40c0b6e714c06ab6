"""identify's events as outreach and measures receive them, for the casework unit tests: a youth of
municipality 0180 identified, leaving scope, reported by a school."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from shared.contracts.events import SchoolNotificationReceived, YouthIdentified, YouthLeftScope

TENANT = "0180"
YOUTH = uuid.uuid4()
NOW = datetime(2026, 3, 2, 8, tzinfo=UTC)


def envelope(youth: uuid.UUID = YOUTH, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4(), "tenant": TENANT, "youth_id": youth, "occurred_at": NOW,
        "recorded_at": NOW, "actor": "system:identify", "correlation_id": uuid.uuid4(), **fields,
    }  # fmt: skip


def identified(
    entered_on: date = date(2026, 3, 2),
    identified_on: date | None = None,
    youth: uuid.UUID = YOUTH,
    scope_ends_on: date = date(2027, 5, 1),
) -> YouthIdentified:
    return YouthIdentified(
        **envelope(youth), scope_episode_id=uuid.uuid4(), entered_on=entered_on,
        scope_ends_on=scope_ends_on, rule_version="kaa-2018-07-01", facts={},
        identified_on=identified_on,
    )  # fmt: skip


def left_scope(
    episode: uuid.UUID, left_on: date, reason: str = "enrolled", youth: uuid.UUID = YOUTH
) -> YouthLeftScope:
    return YouthLeftScope(
        **envelope(youth), scope_episode_id=episode, left_on=left_on, reason=reason,
        rule_version="kaa-2018-07-01",
    )  # fmt: skip


def notification(
    kind: str, on: date, received_on: date | None = None, youth: uuid.UUID = YOUTH
) -> SchoolNotificationReceived:
    return SchoolNotificationReceived(
        **envelope(youth), notification_id=uuid.uuid4(), kind=kind, on=on, school_type="GY",
        school_unit="unit-1", received_on=received_on,
    )  # fmt: skip
