"""Caseworker commands on the real PostgreSQL: group commit gives each command its own answer."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import pytest

from services.outreach.adapters.store import OutreachApplication
from services.outreach.domain import OutreachCase
from shared.casework.adapters.group_commit import Command
from shared.casework.commands import take_in_identify_batch
from shared.casework.domain import CaseNotFound, CommandRefused, NotInScope
from shared.contracts.events import YouthIdentified, YouthLeftScope
from shared.eventstore import eventsourcing_env
from tests.conftest import RunningInfra

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)


class CountingApplication(OutreachApplication):
    """The outreach store (its tables), noting the size of every batch its writer hands over."""

    name = OutreachApplication.name

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(env)
        self.batches: list[int] = []

    def run_commands(self, batch: list[Command]) -> None:
        self.batches.append(len(batch))
        super().run_commands(batch)


@pytest.fixture
def app(infra: RunningInfra) -> Iterator[CountingApplication]:
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(infra.database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    application = CountingApplication(eventsourcing_env(infra.database_url, schema))
    yield application
    application.close()
    with psycopg.connect(infra.database_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def envelope(youth: uuid.UUID) -> dict[str, Any]:
    return {"event_id": uuid.uuid4(), "tenant": "0180", "youth_id": youth, "occurred_at": NOW,
            "recorded_at": NOW, "actor": "system:identify", "correlation_id": uuid.uuid4()}  # fmt: skip


def in_scope(app: OutreachApplication, youths: list[uuid.UUID], left: uuid.UUID) -> None:
    episodes = {y: uuid.uuid4() for y in [*youths, left]}
    messages: list[Any] = [
        YouthIdentified(**envelope(y), scope_episode_id=e, entered_on=date(2026, 1, 15),
                        scope_ends_on=date(2027, 5, 1), rule_version="r", facts={})
        for y, e in episodes.items()
    ]  # fmt: skip
    messages.append(
        YouthLeftScope(**envelope(left), scope_episode_id=episodes[left], left_on=date(2026, 2, 1),
                       reason="moved_out", rule_version="r")
    )  # fmt: skip
    take_in_identify_batch(app, messages, "identify", 0, len(messages))


def attempt(case: OutreachCase) -> bool:
    return case.attempt_contact(uuid.uuid4(), "phone", "reached", NOW, "user:anna", uuid.uuid4())


async def test_commands_that_arrive_together_share_a_transaction_and_keep_their_own_answers(
    app: CountingApplication,
) -> None:
    youths = [uuid.uuid4() for _ in range(20)]
    left = uuid.uuid4()
    in_scope(app, youths, left)

    def slow(case: OutreachCase) -> bool:
        time.sleep(0.3)  # the others queue up meanwhile
        return attempt(case)

    first = app.submit(youths[0], "0180", slow)
    await asyncio.sleep(0.05)

    def refused(case: OutreachCase) -> bool:
        raise CommandRefused("category", "unknown occupation code")

    futures = [app.submit(y, "0180", attempt) for y in youths[1:]]
    futures.append(app.submit(uuid.uuid4(), "0180", attempt))  # nobody
    futures.append(app.submit(youths[1], "1480", attempt))  # another municipality's
    futures.append(app.submit(left, "0180", attempt))  # not in scope any more
    futures.append(app.submit(youths[2], "0180", refused))
    assert await asyncio.wait_for(first, timeout=10) is True
    outcomes = await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), 10)
    assert outcomes[:19] == [True] * 19
    assert [type(o) for o in outcomes[19:]] == [
        CaseNotFound,
        CaseNotFound,
        NotInScope,
        CommandRefused,
    ]
    assert app.batches[0] == 1
    assert app.batches[1:] == [23], "the commands that waited went in one transaction"

    # Every accepted attempt is stored once, the refused ones not at all.
    fresh = OutreachApplication(dict(app.env))
    try:
        attempts = sum(len(fresh.case_of(y, "0180").contact_attempt_ids) for y in youths)
        assert attempts == 20
    finally:
        fresh.close()


def test_a_command_with_a_stale_copy_is_run_again_on_fresh_state(
    app: CountingApplication,
) -> None:
    youth = uuid.uuid4()
    in_scope(app, [youth], uuid.uuid4())
    assert app.command(youth, "0180", attempt)
    other = OutreachApplication(dict(app.env))  # another replica writes the same case
    try:
        assert other.command(youth, "0180", attempt)
    finally:
        other.close()
    assert app.command(youth, "0180", attempt)  # the cached copy is one version behind
    assert len(app.case_of(youth, "0180").contact_attempt_ids) == 3
