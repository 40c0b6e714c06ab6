"""The register's faster rebuild and replay paths (issue 21) give the register the slower ones gave,
on real PostgreSQL and Kafka:

- a whole-register audit replay copies the identifications from the archive in SQL: the youths and
  their scope episodes are those the handlers write, event by event, through re-entries, a
  repeated identification and episodes registered in error;
- a rebuild reads the youths it identified once and looks up only the others: casework of a youth
  it does not know still waits for the youth;
- a rebuild builds some indexes after its last event: the rebuilt register has every index a
  register made by its schema has, and equals the live register.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from services.register.adapters import archive as archive_module
from services.register.adapters.archive import drop_schema, project_archive
from services.register.adapters.database import Connection, create_pool, create_tables
from services.register.adapters.projection.parking import EARLY, OPEN_PARKED, park_early
from services.register.adapters.topics import BUILT_AFTER, project_topics
from services.register.commands.rebuild import verify
from shared.contracts.events import AnyEvent, CaseAssigned
from shared.contracts.topics import EVENT_TOPICS, IDENTIFY_EVENTS, OUTREACH_EVENTS
from tests.conftest import RunningInfra, Topics
from tests.integration.test_register_corrections import TENANT, Youth
from tests.integration.test_register_projection import Partition
from tests.integration.test_register_upgrade import publish

SCOPE_ROWS = ("SELECT * FROM youths ORDER BY youth_id",
              "SELECT * FROM scope_episodes ORDER BY scope_episode_id")  # fmt: skip


def assigned(youth: Youth) -> CaseAssigned:
    return CaseAssigned(**youth.envelope(), assignee_kind="caseworker", assignee="user:anna")


def histories() -> list[AnyEvent]:
    """Identify's events of youths whose row moved between episodes, in their order."""
    again, back, wrong, twice = Youth(), Youth(), Youth(), Youth()
    first, second, third, fourth, only = (uuid.uuid4() for _ in range(5))
    return [
        again.identified(first), again.left(first, "moved_out"), again.identified(second),
        back.identified(third), back.identified(fourth), back.left(fourth),  # shows the third
        wrong.identified(only), wrong.left(only),  # no other episode: keeps the reason
        twice.identified(first := uuid.uuid4()), twice.identified(first), assigned(twice),
    ]  # fmt: skip


async def scope_rows(infra: RunningInfra, schema: str) -> list[list[asyncpg.Record]]:
    conn = await asyncpg.connect(infra.database_url, server_settings={"search_path": schema})
    try:
        return [await conn.fetch(query) for query in SCOPE_ROWS]
    finally:
        await conn.close()


async def projected(
    infra: RunningInfra, archive: str, answer_only: bool
) -> tuple[list[list[asyncpg.Record]], int]:
    """The youths and episodes of a replay of the archive, and its assignments (none: the fast
    path, which leaves them out, was taken)."""
    scratch = f"{archive}_f{int(answer_only)}"
    try:
        await project_archive(infra.database_url, TENANT, datetime.now(UTC), scratch,
                              archive_schema=archive, answer_only=answer_only)  # fmt: skip
        conn = await asyncpg.connect(infra.database_url, server_settings={"search_path": scratch})
        try:
            assignments = int(await conn.fetchval("SELECT count(*) FROM assignments"))
        finally:
            await conn.close()
        return await scope_rows(infra, scratch), assignments
    finally:
        await drop_schema(infra.database_url, scratch)


async def test_a_replay_copying_identifications_in_sql_has_the_youths_the_handlers_write(
    infra: RunningInfra, register: asyncpg.Pool, db_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = histories()
    for event in events:  # one batch each: the order the register applied them in
        await Partition(register, type(event).topic).apply([event])
    live = await scope_rows(infra, db_schema)
    full, kept = await projected(infra, db_schema, answer_only=False)
    parsed: list[str] = []
    parse = archive_module._archived

    def counted(row: Any) -> AnyEvent:
        event = parse(row)
        parsed.append(event.event_type)
        return event

    monkeypatch.setattr(archive_module, "_archived", counted)
    fast, left_out = await projected(infra, db_schema, answer_only=True)
    assert kept == 1, "the whole projection held the assignment ..."
    assert left_out == 0, "... the fast path was taken, and left it out"
    assert "YouthLeftScope" in parsed, "the ends were applied by their handler ..."
    assert "YouthIdentified" not in parsed, "... the identifications copied in SQL"
    assert fast == full == live
    statuses = {row["status"] for row in live[0]}
    assert statuses == {"in_scope", "out_of_scope"}, "re-entries and ends both covered"


async def test_casework_of_a_youth_the_rebuild_did_not_read_still_waits_for_the_youth(
    register: asyncpg.Pool,
) -> None:
    known, unknown, remembered = Youth(), Youth(), Youth()
    await Partition(register, IDENTIFY_EVENTS).apply([known.identified(uuid.uuid4())])
    items = Partition(register, OUTREACH_EVENTS).parsed(
        [assigned(known), assigned(unknown), assigned(remembered)]
    )
    # `remembered`: one the rebuild read before (not in this test's table): not looked up again.
    read_before = {(TENANT, known.id), (TENANT, remembered.id)}
    async with register.acquire() as conn, conn.transaction():
        left = await park_early(conn, OUTREACH_EVENTS, 0, items, read_before)
    assert [item.message.youth_id for item in left] == [known.id, remembered.id]
    reasons = await register.fetch(f"SELECT youth_id, reason FROM dead_events WHERE {OPEN_PARKED}")  # noqa: S608
    assert [(row["youth_id"], row["reason"]) for row in reasons] == [(unknown.id, EARLY)]


async def indexes(conn: Connection, schema: str) -> list[tuple[str, str]]:
    rows = await conn.fetch(
        "SELECT indexname, replace(indexdef, $1, '') AS d FROM pg_indexes WHERE schemaname = $2 "
        "ORDER BY indexname",
        f'"{schema}".',
        schema,
    )
    return [(row["indexname"], row["d"].replace(f"{schema}.", "")) for row in rows]


async def test_a_rebuild_builds_the_indexes_it_left_out_and_equals_the_live_register(
    infra: RunningInfra, register: asyncpg.Pool, db_schema: str, topics: Topics
) -> None:
    for topic in EVENT_TOPICS:
        await topics.create(topic, partitions=1)
    namespace = f"{topics.prefix}."
    youth = Youth()
    events: Sequence[AnyEvent] = [
        youth.identified(uuid.uuid4()), youth.attempt(uuid.uuid4(), 3), assigned(youth),
    ]  # fmt: skip
    await publish(infra, namespace, list(events))
    for event in events:
        await Partition(register, type(event).topic).apply([event])
    rebuilt = f"{db_schema}_rebuilt"
    made = f"{db_schema}_made"
    pool = await create_pool(infra.database_url, made, min_size=1, max_size=1)
    try:
        await create_tables(pool, made)
        result = await project_topics(
            infra.bootstrap_servers, infra.database_url, namespace, [TENANT], rebuilt
        )
        assert result.applied == len(events)
        async with pool.acquire() as conn:
            built = await indexes(conn, rebuilt)
            assert built == await indexes(conn, made)
            assert set(BUILT_AFTER) <= {name for name, _ in built}
        assert await verify(infra.database_url, db_schema, rebuilt) == {}
    finally:
        await pool.close()
        for schema in (rebuilt, made):
            await drop_schema(infra.database_url, schema)
