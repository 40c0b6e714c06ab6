"""The event-loop writer on the real PostgreSQL: the same events as the thread's writer, in the
same table under the same lock and notification; one write per batch, each command its own
answer; replicas writing one case at once both succeed, a client id is recorded once."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any

import asyncpg
import psycopg
import pytest

from services.outreach.adapters.store import OutreachApplication
from services.outreach.domain import OutreachCase
from shared.casework.adapters.loop_writer import LoopCommand, LoopWriter
from shared.casework.domain import CaseNotFound, CommandRefused, NotInScope
from shared.eventstore import eventsourcing_env
from tests.conftest import RunningInfra
from tests.integration.test_case_commands import NOW, in_scope

Replica = Callable[[], OutreachApplication]


class CountingWriter(LoopWriter):
    """The writer, noting the size of every batch it runs."""

    def __init__(self, application: Any, pool: asyncpg.Pool) -> None:
        super().__init__(application, pool)
        self.batches: list[int] = []

    async def run(self, batch: list[LoopCommand]) -> None:
        self.batches.append(len(batch))
        await super().run(batch)


@pytest.fixture
async def pool(infra: RunningInfra) -> AsyncIterator[asyncpg.Pool]:
    made = await asyncpg.create_pool(infra.database_url, min_size=1, max_size=4)
    yield made
    await made.close()


@pytest.fixture
async def replica(infra: RunningInfra, pool: asyncpg.Pool) -> AsyncIterator[Replica]:
    """Makes outreach replicas on one fresh schema, each with its own event-loop writer."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(infra.database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    made: list[OutreachApplication] = []

    def make() -> OutreachApplication:
        application = OutreachApplication(eventsourcing_env(infra.database_url, schema))
        application.loop_writer = CountingWriter(application, pool)
        made.append(application)
        return application

    yield make
    for application in made:
        if application.loop_writer is not None:
            await application.loop_writer.close()
        application.close()
    with psycopg.connect(infra.database_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


async def started(application: OutreachApplication) -> CountingWriter:
    writer = application.loop_writer
    assert isinstance(writer, CountingWriter)
    await writer.start()
    return writer


def attempt(attempt_id: uuid.UUID | None = None) -> Callable[[OutreachCase], bool]:
    return lambda case: case.attempt_contact(
        attempt_id or uuid.uuid4(), "phone", "not_reached", NOW, "user:anna", uuid.uuid4()
    )


async def test_commands_that_arrive_together_share_one_write_and_keep_their_own_answers(
    replica: Replica, pool: asyncpg.Pool
) -> None:
    app = replica()
    writer = await started(app)
    youths, left = [uuid.uuid4() for _ in range(20)], uuid.uuid4()
    in_scope(app, youths, left)
    notified: list[str] = []

    def heard(*args: Any) -> None:
        notified.append(args[2])

    async with pool.acquire() as listener:
        await listener.add_listener(writer.channel, heard)

        def refused(case: OutreachCase) -> bool:
            raise CommandRefused("category", "unknown occupation code")

        futures = [app.submit_on_loop(y, "0180", attempt()) for y in youths]
        futures.append(app.submit_on_loop(uuid.uuid4(), "0180", attempt()))  # nobody
        futures.append(app.submit_on_loop(youths[1], "1480", attempt()))  # another's
        futures.append(app.submit_on_loop(left, "0180", attempt()))  # not in scope now
        futures.append(app.submit_on_loop(youths[2], "0180", refused))
        outcomes = await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), 10)
        await asyncio.sleep(0.2)  # the notification's delivery
        await listener.remove_listener(writer.channel, heard)
    assert outcomes[:20] == [True] * 20
    kinds = [type(o) for o in outcomes[20:]]
    assert kinds == [CaseNotFound, CaseNotFound, NotInScope, CommandRefused]
    assert writer.batches == [24], "the commands that waited went in one write"
    assert notified == [writer.channel], "the relay's channel is notified once per write"
    # The worklists' rows were written with the events.
    rows = await pool.fetch(
        f'SELECT youth_id FROM "{writer.schema}".cases WHERE last_attempt_on = $1',  # noqa: S608
        NOW.date(),
    )
    assert {r["youth_id"] for r in rows} == set(youths)
    # Each accepted attempt is stored once, and the application's own read path sees it.
    assert all(len(app.case_of(y, "0180").contact_attempt_ids) == 1 for y in youths)


async def test_the_stored_events_are_those_the_thread_writer_stores(replica: Replica) -> None:
    app = replica()
    await started(app)
    by_thread, by_loop = uuid.uuid4(), uuid.uuid4()
    in_scope(app, [by_thread, by_loop], uuid.uuid4())
    attempt_id = uuid.uuid4()
    assert await app.submit(by_thread, "0180", attempt(attempt_id))
    assert await app.submit_on_loop(by_loop, "0180", attempt(attempt_id))
    recorder: Any = app.recorder
    rows = {
        youth: recorder.select_events(youth)[-1] for youth in (by_thread, by_loop)
    }  # the attempt: each case's last event
    thread, loop = rows[by_thread], rows[by_loop]
    assert (loop.topic, loop.originator_version) == (thread.topic, thread.originator_version)

    def state(stored: Any) -> dict[str, Any]:
        fields = json.loads(stored.state)
        return {k: v for k, v in fields.items() if k not in ("timestamp", "correlation_id")}

    assert state(loop) == state(thread)
    # The outbox relay reads both, in the order written.
    relayed = recorder.select_relay_batch(0, 1000, None)
    assert [n.originator_id for n in relayed if n.topic == loop.topic] == [by_thread, by_loop]


async def test_a_copy_another_replica_changed_is_caught_up_and_a_client_id_recorded_once(
    replica: Replica,
) -> None:
    first, second = replica(), replica()
    await started(first)
    await started(second)
    youth, same = uuid.uuid4(), uuid.uuid4()
    in_scope(first, [youth], uuid.uuid4())
    assert await first.submit_on_loop(youth, "0180", attempt(same))
    assert await second.submit_on_loop(youth, "0180", attempt())
    # The first's copy is a version behind: caught up, the retried id is seen as recorded.
    assert await first.submit_on_loop(youth, "0180", attempt(same)) is False
    assert await second.submit_on_loop(youth, "0180", attempt(same)) is False
    assert len(first.case_of(youth, "0180").contact_attempt_ids) == 2


async def test_replicas_writing_one_case_at_once_all_succeed_on_fresh_state(
    replica: Replica,
) -> None:
    first, second = replica(), replica()
    await started(first)
    await started(second)
    youth = uuid.uuid4()
    in_scope(first, [youth], uuid.uuid4())
    futures = []
    for _ in range(10):
        futures += [first.submit_on_loop(youth, "0180", attempt()) for _ in range(3)]
        futures += [second.submit_on_loop(youth, "0180", attempt()) for _ in range(3)]
        await asyncio.sleep(0)
    assert await asyncio.wait_for(asyncio.gather(*futures), 20) == [True] * 60
    case = replica().case_of(youth, "0180")
    assert len(case.contact_attempt_ids) == 60
    assert case.version == 2 + 60, "opened, in scope, then one version per attempt"


async def test_a_batch_that_fails_leaves_nothing_and_the_next_runs_on_stored_state(
    replica: Replica,
) -> None:
    app = replica()
    await started(app)
    youth = uuid.uuid4()
    in_scope(app, [youth], uuid.uuid4())

    def broken(case: OutreachCase) -> bool:
        attempt()(case)
        raise KeyError("a bug after a change")

    with pytest.raises(KeyError):
        await app.submit_on_loop(youth, "0180", broken)
    assert await app.submit_on_loop(youth, "0180", attempt())
    case = app.case_of(youth, "0180")
    assert len(case.contact_attempt_ids) == 1, "the broken command's change was not kept"
    assert case.entered_on == date(2026, 1, 15)


class GatedWriter(CountingWriter):
    """Holds the first batch's write until `gate` opens."""

    def __init__(self, application: Any, pool: asyncpg.Pool) -> None:
        super().__init__(application, pool)
        self.gate = asyncio.Event()

    async def _write(self, conn: Any, cases: list[Any]) -> None:
        if len(self.batches) == 1:
            await self.gate.wait()
        await super()._write(conn, cases)


async def test_a_command_on_a_case_another_batch_has_in_hand_waits_for_it(
    replica: Replica, pool: asyncpg.Pool
) -> None:
    app = replica()
    writer = GatedWriter(app, pool)
    app.loop_writer = writer
    await writer.start()
    assert writer.runners > 1, "the pool lets batches run at once"
    held, free = uuid.uuid4(), uuid.uuid4()
    in_scope(app, [held, free], uuid.uuid4())
    first = app.submit_on_loop(held, "0180", attempt())
    await asyncio.sleep(0.2)  # the first batch waits at its write
    second = app.submit_on_loop(held, "0180", attempt())
    other = app.submit_on_loop(free, "0180", attempt())
    assert await asyncio.wait_for(other, 5), "another case's command runs meanwhile"
    await asyncio.sleep(0.2)
    assert not second.done(), "the same case's waits for the batch that has it"
    writer.gate.set()
    assert list(await asyncio.wait_for(asyncio.gather(first, second), 5)) == [True, True]
    versions = [e.originator_version for e in app.recorder.select_events(held)]
    assert versions == [1, 2, 3, 4]
    await writer.close()


async def test_runners_in_one_process_never_change_one_case_at_once(replica: Replica) -> None:
    app = replica()
    writer = await started(app)
    assert writer.runners > 1, "the pool lets batches run at once"
    youths = [uuid.uuid4() for _ in range(3)]
    in_scope(app, youths, uuid.uuid4())
    futures = []
    for _ in range(15):  # each round's commands queue while the runners are busy
        futures += [app.submit_on_loop(y, "0180", attempt()) for y in youths]
        await asyncio.sleep(0.002)
    assert await asyncio.wait_for(asyncio.gather(*futures), 20) == [True] * 45
    assert len(writer.batches) > 1
    for youth in youths:  # every version stored once, none skipped
        versions = [e.originator_version for e in app.recorder.select_events(youth)]
        assert versions == list(range(1, 2 + 15 + 1))
