"""A scripted half-year for the SCB report's integration tests: integration events as the services
publish them, applied by the register's projection to a register on the database (no Kafka, no
processes), with the youths' data keys in the keyring.

The half-year is the one `tests/golden/README.md` explains line by line (the golden SCB file).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any

import asyncpg

from services.register.adapters.projection.sink import RegisterProjection
from shared.contracts.events import (
    AnyEvent,
    ContactAttempted,
    ContactEstablished,
    MeasureAccepted,
    MeasureEnded,
    MeasureOffered,
    MeasureStarted,
    OccupationRecorded,
    PersonalDetails,
    YouthIdentified,
    YouthLeftScope,
)
from shared.contracts.topics import IDENTIFY_EVENTS, MEASURES_EVENTS, OUTREACH_EVENTS
from shared.crypto import TenantKeys, new_data_key, seal
from shared.messaging.consumer import Delivery, Parsed

TENANT = "0180"
MASTER_KEY = "scb-build-test-master-key-0123456789"
TOPICS = (IDENTIFY_EVENTS, OUTREACH_EVENTS, MEASURES_EVENTS)  # a youth is identified first


def at(day: str, hour: int = 10) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(hour), tzinfo=UTC)


class HalfYear:
    """Events of one municipality, recorded when stated, and the data keys they were sealed with."""

    def __init__(self) -> None:
        self.keys = TenantKeys(MASTER_KEY)
        self.events: list[AnyEvent] = []
        self.data_keys: dict[uuid.UUID, bytes] = {}
        self.offsets = dict.fromkeys(TOPICS, 0)
        self.applied = 0

    def envelope(self, youth: uuid.UUID, when: datetime, actor: str) -> dict[str, Any]:
        return {"event_id": uuid.uuid4(), "tenant": TENANT, "youth_id": youth,
                "occurred_at": when, "recorded_at": when, "actor": actor,
                "correlation_id": uuid.uuid4()}  # fmt: skip

    def identified(
        self, youth: uuid.UUID, entered: str, background: str | None, number: str | None
    ) -> uuid.UUID:
        episode, sealed = uuid.uuid4(), None
        if number is not None:
            data_key = self.data_keys.setdefault(youth, new_data_key())
            details = PersonalDetails(personnummer=number, given_name="Test",
                                      family_name="Person", protected=False)  # fmt: skip
            sealed = seal(data_key, details.model_dump_json().encode(), TENANT, youth,
                          PersonalDetails.PURPOSE)  # fmt: skip
        self.events.append(
            YouthIdentified(
                **self.envelope(youth, at(entered, 0), "system:identify"),
                scope_episode_id=episode, entered_on=date.fromisoformat(entered),
                scope_ends_on=date(2030, 1, 1), rule_version="2018-07-01",
                facts={"tenant": TENANT}, school_background=background, personal_details=sealed,
            )
        )  # fmt: skip
        return episode

    def left(self, youth: uuid.UUID, episode: uuid.UUID, day: str, reason: str) -> None:
        self.events.append(
            YouthLeftScope(**self.envelope(youth, at(day, 0), "system:identify"),
                           scope_episode_id=episode, left_on=date.fromisoformat(day),
                           reason=reason, rule_version="2018-07-01")
        )  # fmt: skip

    def attempt(self, youth: uuid.UUID, day: str, outcome: str) -> None:
        self.events.append(
            ContactAttempted(**self.envelope(youth, at(day), "user:caseworker1"),
                             contact_attempt_id=uuid.uuid4(), channel="phone", outcome=outcome,
                             attempted_at=at(day))
        )  # fmt: skip

    def contact(self, youth: uuid.UUID, day: str) -> None:
        self.events.append(
            ContactEstablished(**self.envelope(youth, at(day), "user:caseworker1"),
                               established_at=at(day), channel="home_visit")
        )  # fmt: skip

    def occupation(self, youth: uuid.UUID, category: str, since: str, confirmed: str) -> None:
        self.events.append(
            OccupationRecorded(**self.envelope(youth, at(confirmed, 12), "user:caseworker1"),
                               occupation_id=uuid.uuid4(), category=category,
                               code_list_version="2026-1", tense="current",
                               from_date=date.fromisoformat(since),
                               confirmed_on=date.fromisoformat(confirmed))
        )  # fmt: skip

    def measure(self, youth: uuid.UUID, kind: str, offered: str, started: str,
                ended: str | None = None, after: str | None = None) -> None:  # fmt: skip
        measure, day, by = uuid.uuid4(), date.fromisoformat, "user:caseworker1"
        self.events += [
            MeasureOffered(**self.envelope(youth, at(offered), by), measure_id=measure,
                           measure_type=kind, offered_on=day(offered)),
            MeasureAccepted(**self.envelope(youth, at(offered, 11), by), measure_id=measure,
                            accepted_on=day(offered)),
            MeasureStarted(**self.envelope(youth, at(started), by), measure_id=measure,
                           started_on=day(started)),
        ]  # fmt: skip
        if ended is not None:
            self.events.append(
                MeasureEnded(**self.envelope(youth, at(ended), by), measure_id=measure,
                             ended_on=day(ended), end_reason="started_education",
                             occupation_after=after)
            )  # fmt: skip

    async def apply(self, register: asyncpg.Pool) -> None:
        """The keys into the keyring, then each topic's events as its consumer would apply them."""
        async with register.acquire() as conn:
            await conn.executemany(
                "INSERT INTO keyring.youth_keys (tenant, youth_id, wrapped) VALUES ($1, $2, $3) "
                "ON CONFLICT DO NOTHING",
                [(TENANT, y, self.keys.wrap(TENANT, y, k)) for y, k in self.data_keys.items()],
            )
        projection = RegisterProjection(register)
        for topic in TOPICS:
            items = []
            for event in (e for e in self.events if e.topic == topic):
                delivery = Delivery(topic, 0, self.offsets[topic], None, event.to_bytes())
                items.append(Parsed(delivery, event))
                self.offsets[topic] += 1
            await projection.apply(topic, 0, items, self.offsets[topic])
        self.applied += len(self.events)
        self.events = []


def golden_half_year(script: HalfYear) -> list[uuid.UUID]:
    """Five youths' first half of 2026; the three the report names (A, B, C)."""
    a, b, c, d, e = (uuid.uuid4() for _ in range(5))
    # A: in scope since before the half-year; working; contacted; a measure started and ended.
    script.identified(a, "2025-09-01", "GY", "200803142389")
    script.occupation(a, "work", "2026-01-10", "2026-02-03")
    script.contact(a, "2026-02-03")
    script.measure(a, "study_guidance", "2026-02-20", "2026-03-02", "2026-04-30", "studies_komvux")
    # B: identified in January, reached by phone, turned 20 in May.
    episode_b = script.identified(b, "2026-01-20", "GR", "200605102417")
    script.attempt(b, "2026-01-25", "reached")
    script.left(b, episode_b, "2026-05-10", "turned_20")
    # C: after an introduction programme; not reached; moved out; came back; own measure.
    episode_c = script.identified(c, "2026-02-01", "IM", "200907222558")
    script.attempt(c, "2026-02-05", "not_reached")
    script.left(c, episode_c, "2026-03-15", "moved_out")
    script.identified(c, "2026-05-02", "IM", "200907222558")
    script.measure(c, "own_mentoring", "2026-05-15", "2026-05-20")
    # D: responsibility ended before the half-year; E: identified after it.
    episode_d = script.identified(d, "2025-03-01", "GY", "200701012635")
    script.left(d, episode_d, "2025-12-01", "enrolled")
    script.identified(e, "2026-07-05", "GR", "200901012716")
    return [a, b, c]
