"""The event the register publishes on `kaa.retention.events.v1`: a youth's personal data purged."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from shared.contracts import topics
from shared.contracts.envelope import IntegrationEvent


class PersonalDataPurged(IntegrationEvent):
    """Retention (gallring): the youth's personal data is purged. Their data key is destroyed, so
    every sealed copy of their details (events, topics, backups) is unreadable; the register keeps
    the non-identifying record (dates, codes, actors, rule versions) for audit."""

    topic = topics.RETENTION_EVENTS
    event_type: Literal["PersonalDataPurged"] = "PersonalDataPurged"
    schema_version: Literal[1] = 1
    left_on: date = Field(description="When the youth's last scope episode ended.")
    retention_days: int = Field(ge=1, description="The municipality's retention period.")
