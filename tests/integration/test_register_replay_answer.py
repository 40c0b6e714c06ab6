"""An audit replay of a whole municipality projects only what its answer reads (issue 21: the
contact log, plans, a measure's later steps, assignments, contact details and objections are left
out; contact attempts, measure offers and occupations are copied from the archive unparsed), and
answers exactly what the projection of every archived event answers: for a year of
synthetic histories at several instants, and with a correction and a withdrawal recorded (then
every event is projected, since a correction's entry may be one of those left out). On the
database (no Kafka, no processes).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from kaa.dev.synthetic import generate
from services.register.adapters import readmodel
from services.register.adapters.archive import drop_schema, project_archive
from services.register.commands import replay as replay_module
from shared.contracts.events import (
    AnyEvent,
    ContactAttempted,
    Correction,
    IndividualPlanRevised,
    MeasuresEntryWithdrawn,
    OccupationRecorded,
)
from shared.contracts.topics import IDENTIFY_EVENTS
from tests.conftest import RunningInfra
from tests.integration.test_register_projection import Partition

TENANT = "0180"
INSTANTS = ("2025-03-31T23:59:59+02:00", "2025-09-30T23:59:59+02:00", "2026-12-31T23:59:59+01:00")


def histories() -> list[AnyEvent]:
    """A year and a half of 120 youths' casework in one municipality (and a few in another)."""
    made = generate(3000, "replay-answer-test-master-key-0123", tenants=(TENANT, "0114"),
                    first_tenant_youths=120)  # fmt: skip
    tenses = ("previous", "current", "planned")
    events: list[AnyEvent] = list(made.events)  # type: ignore[arg-type]
    return [  # occupations of every tense (the generator records current ones)
        e.model_copy(update={"tense": tenses[n % 3]}) if isinstance(e, OccupationRecorded) else e
        for n, e in enumerate(events)
    ]


async def applied(register: asyncpg.Pool, events: Sequence[AnyEvent]) -> None:
    """Apply as the live register does: each topic's events in their order, in batches, the
    identifications first."""
    topics: dict[str, list[AnyEvent]] = {}
    for event in events:
        topics.setdefault(type(event).topic, []).append(event)
    for topic in sorted(topics, key=lambda t: t != IDENTIFY_EVENTS):
        partition, pending = Partition(register, topic), topics[topic]
        for start in range(0, len(pending), 400):
            await partition.apply(pending[start : start + 400])


COUNTED_ROWS = (
    "SELECT count(*) FROM contact_log",
    "SELECT * FROM contacts ORDER BY event_id",
    "SELECT event_id, tenant, youth_id, measure_id, measure_type, offered_on, can_start_on, actor"
    " FROM measures ORDER BY event_id",
    "SELECT * FROM occupations ORDER BY event_id",
)


async def answer(
    infra: RunningInfra, archive: str, as_of: datetime, answer_only: bool
) -> tuple[dict[str, Any], list[list[asyncpg.Record]]]:
    """A whole-register replay's answer from a projection of the archive, with how many rows the
    projection put in the contact log (none: the fast path left it out) and its contact attempts
    and measure offers (the fast path copied them from the archive)."""
    scratch = f"{archive}_r{int(answer_only)}"
    try:
        count = await project_archive(infra.database_url, TENANT, as_of, scratch,
                                      archive_schema=archive, answer_only=answer_only)  # fmt: skip
        replayed = await replay_module._replayed(
            infra.database_url, scratch, TENANT, as_of, count, None
        )
        conn = await asyncpg.connect(infra.database_url, server_settings={"search_path": scratch})
        try:
            return replayed, [await conn.fetch(query) for query in COUNTED_ROWS]
        finally:
            await conn.close()
    finally:
        await drop_schema(infra.database_url, scratch)


async def test_a_replay_projecting_what_its_answer_reads_answers_as_the_whole_projection(
    infra: RunningInfra, register: asyncpg.Pool, db_schema: str
) -> None:
    await applied(register, histories())
    for instant in INSTANTS:
        as_of = datetime.fromisoformat(instant)
        full, (logged, *rows) = await answer(infra, db_schema, as_of, False)
        fast, (left_out, *copied) = await answer(infra, db_schema, as_of, True)
        assert fast == full, instant
        assert full["youths"]
        assert full["summary"]["contact_attempts"] > 0
        assert logged[0][0] > 0  # the whole projection held the contact log ...
        assert left_out[0][0] == 0  # ... the fast path was taken, and left it out
        # Attempts, offers and occupations: copied from the archive as their handlers write them.
        assert copied == rows
        assert all(rows)


async def test_every_youth_lists_what_the_page_of_every_youth_lists(
    register: asyncpg.Pool,
) -> None:
    """The replay's answer counts a whole register's attempts and offers by group, a page youth
    by youth: the same rows in the same order."""
    await applied(register, histories())
    every = await readmodel.every_youth(register, TENANT)
    total, page = await readmodel.list_youths(register, TENANT, None, 100_000, 0)
    assert every == page
    assert total == len(every) > 100
    assert any(y["contacts"] > 1 for y in every)
    assert any(y["measures"] > 0 for y in every)
    assert any(y["measures"] == 0 for y in every)


def why() -> Correction:
    return Correction(reason="wrong_date")


async def test_after_a_correction_and_a_withdrawal_every_event_is_projected_and_the_same_answered(
    infra: RunningInfra, register: asyncpg.Pool, db_schema: str
) -> None:
    events = histories()
    await applied(register, events)
    plan = next(e for e in events if isinstance(e, IndividualPlanRevised) and e.tenant == TENANT)
    attempt = next(e for e in events if isinstance(e, ContactAttempted) and e.tenant == TENANT)
    later = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def envelope(of: AnyEvent) -> dict[str, Any]:
        return {"event_id": uuid.uuid4(), "tenant": TENANT, "youth_id": of.youth_id,
                "occurred_at": later, "recorded_at": later, "actor": "user:anna",
                "correlation_id": uuid.uuid4()}  # fmt: skip

    fixed = attempt.model_copy(
        update={
            **envelope(attempt),
            "attempted_at": later,
            "corrects": attempt.event_id,
            "correction": why(),
        }
    )
    withdrawn = MeasuresEntryWithdrawn(**envelope(plan), withdraws=plan.event_id,
                                       withdrawn_event_type=plan.event_type, correction=why())  # fmt: skip
    await applied(register, [fixed, withdrawn])
    as_of = datetime.fromisoformat(INSTANTS[-1])
    full, _ = await answer(infra, db_schema, as_of, answer_only=False)
    fast, (logged, *_) = await answer(infra, db_schema, as_of, answer_only=True)
    assert fast == full
    assert {row["kind"] for row in full["corrections"]} == {"corrected", "withdrawn"}
    assert logged[0][0] > 0  # every event projected


async def test_a_replay_the_database_restarted_under_gives_no_answer(
    infra: RunningInfra, register: asyncpg.Pool, db_schema: str, monkeypatch: Any
) -> None:
    """Its scratch tables are unlogged: a restart empties them, so what it would answer after one
    is refused (the server's start time read before and after; here a clock stands in for it)."""
    await applied(register, histories())
    as_of, now = datetime.fromisoformat(INSTANTS[1]), datetime(2026, 12, 1, tzinfo=UTC)
    steps: list[int] = []
    answered = await replay_module.replay(infra.database_url, TENANT, as_of, now,
                                          progress=lambda done, _: steps.append(done),
                                          archive_schema=db_schema)  # fmt: skip
    assert answered["youths"]
    assert steps, "the projection's path was taken"
    scratch = "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'replay\\_%'"
    before = await register.fetchval(scratch)
    monkeypatch.setattr(replay_module, "SERVER_STARTED", "SELECT clock_timestamp()")
    with pytest.raises(replay_module.ReplayInterrupted, match="restarted during the replay"):
        await replay_module.replay(infra.database_url, TENANT, as_of, now,
                                   progress=lambda done, _: None, archive_schema=db_schema)  # fmt: skip
    assert await register.fetchval(scratch) == before, "its scratch schema is dropped"
