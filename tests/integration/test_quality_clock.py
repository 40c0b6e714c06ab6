"""The register's response figure counts from when the municipality could know of a youth.

A baseline extract can name a youth whose scope began long ago: the municipality learns of them
on the day identify records the episode (`identified_on`), and its response is measured from
then, not from the legal entry date (issue 13, section 4).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from services.register.adapters.projection.handlers import apply_events
from services.register.commands.quality import quality
from services.register.domain.period import half_year
from shared.contracts.events import AnyEvent, ContactAttempted, YouthIdentified

TENANT = "0180"


def envelope(youth: uuid.UUID, day: date, actor: str) -> dict[str, Any]:
    when = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
    return {
        "event_id": uuid.uuid4(), "tenant": TENANT, "youth_id": youth, "occurred_at": when,
        "recorded_at": when, "actor": actor, "correlation_id": uuid.uuid4(),
    }  # fmt: skip


def identified(youth: uuid.UUID, entered: date, known: date | None) -> YouthIdentified:
    return YouthIdentified(
        **envelope(youth, known or entered, "system:identify"),
        scope_episode_id=uuid.uuid4(), entered_on=entered, scope_ends_on=date(2028, 1, 1),
        identified_on=known, rule_version="kaa-2018-07-01", facts={"age": "17"},
    )  # fmt: skip


def attempt(youth: uuid.UUID, day: date) -> ContactAttempted:
    return ContactAttempted(
        **envelope(youth, day, "user:anna"), contact_attempt_id=uuid.uuid4(), channel="phone",
        outcome="reached", attempted_at=datetime(day.year, day.month, day.day, 10, tzinfo=UTC),
    )  # fmt: skip


async def test_the_wait_for_a_first_attempt_counts_from_the_identification(
    register: asyncpg.Pool,
) -> None:
    late, old_event, long_entitled = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    events: list[AnyEvent] = [
        # Entitled from 5 January, learnt of on Monday 2 February, reached on the Wednesday.
        identified(late, date(2026, 1, 5), date(2026, 2, 2)),
        attempt(late, date(2026, 2, 4)),
        # An event from before identification was dated: the entry date stands in for it.
        identified(old_event, date(2026, 1, 12), None),
        attempt(old_event, date(2026, 1, 13)),
        # In scope since 2025, learnt of in this half-year: counts, from the day it was learnt of.
        identified(long_entitled, date(2025, 6, 1), date(2026, 2, 9)),
        attempt(long_entitled, date(2026, 2, 16)),
    ]
    async with register.acquire() as conn, conn.transaction():
        await apply_events(conn, events)
    figures = await quality(register, TENANT, half_year("2026H1"), date(2026, 3, 2))
    # 2, 1 and 5 working days; counted from the entry dates it would have been 22 and 1, the
    # long-entitled youth left out.
    assert figures["median_working_days_to_first_attempt"] == 2
    assert figures["episodes_begun_without_attempt"] == 0
    timeline = await register.fetch(
        "SELECT youth_id, entered_on, identified_on FROM scope_episodes ORDER BY entered_on"
    )
    assert [(r["entered_on"], r["identified_on"]) for r in timeline] == [
        (date(2025, 6, 1), date(2026, 2, 9)),
        (date(2026, 1, 5), date(2026, 2, 2)),
        (date(2026, 1, 12), None),
    ]
