"""The one envelope every integration event carries (NAV's rapids-and-rivers idea, pydantic-typed)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from shared.contracts.text import StoredText, Text

Kommunkod = Annotated[
    Text,
    StringConstraints(pattern=r"^\d{4}$"),
    Field(description="Tenant: the municipality's 4-digit kommunkod, e.g. 0180 (Stockholm)."),
]
Actor = Annotated[
    Text,
    StringConstraints(
        min_length=3, max_length=120, pattern=r"^(user|system|feed):[A-Za-z0-9_.@:-]+$"
    ),
    Field(
        description="Who asserted the fact: 'user:<subject>' from a token, 'system:<service>' or 'feed:<name>'."
    ),
]


def utc_now() -> datetime:
    return datetime.now(UTC)


class IntegrationEvent(BaseModel):
    """Envelope fields shared by every integration event; subclasses add the event's own fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: ClassVar[str]

    event_id: uuid.UUID = Field(description="Unique id of this event; consumers deduplicate on it.")
    event_type: StoredText = Field(description="Name of the event, past tense of the domain.")
    schema_version: int = Field(ge=1, description="Version of this event type's schema.")
    tenant: Kommunkod
    youth_id: uuid.UUID = Field(description="Pseudonymous id of the youth; never a personnummer.")
    occurred_at: AwareDatetime = Field(description="When it happened in the world.")
    recorded_at: AwareDatetime = Field(description="When the platform recorded it.")
    actor: Actor
    correlation_id: uuid.UUID = Field(
        description="The request or feed record this chain started from."
    )
    causation_id: uuid.UUID | None = Field(
        default=None, description="The message that directly caused this event, if any."
    )

    def key(self) -> bytes:
        """Kafka key: the youth id, so one youth's events stay in order on one partition."""
        return str(self.youth_id).encode()

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()
