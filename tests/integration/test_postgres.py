"""The launched PostgreSQL server works with asyncpg and with the eventsourcing recorder."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from shared.eventstore import eventsourcing_env
from tests.conftest import RunningInfra


async def test_asyncpg_round_trip_in_the_tests_own_schema(
    infra: RunningInfra, db: asyncpg.Connection, db_schema: str
) -> None:
    await db.execute("CREATE TABLE probe (id uuid PRIMARY KEY, note text NOT NULL)")
    ids = [uuid.uuid4() for _ in range(3)]
    async with db.transaction():
        await db.executemany(
            "INSERT INTO probe (id, note) VALUES ($1, $2)",
            [(i, f"n{n}") for n, i in enumerate(ids)],
        )
    rows = await db.fetch("SELECT id, note FROM probe ORDER BY note")
    assert [(r["id"], r["note"]) for r in rows] == [(i, f"n{n}") for n, i in enumerate(ids)]
    schema = await db.fetchval(
        "SELECT table_schema FROM information_schema.tables WHERE table_name = 'probe'"
    )
    assert schema == db_schema

    # A rolled-back transaction leaves nothing behind.
    other = await asyncpg.connect(infra.database_url, server_settings={"search_path": db_schema})
    try:
        tx = other.transaction()
        await tx.start()
        await other.execute("INSERT INTO probe (id, note) VALUES ($1, 'rolled back')", uuid.uuid4())
        await tx.rollback()
    finally:
        await other.close()
    assert await db.fetchval("SELECT count(*) FROM probe") == 3


class Probe(Aggregate):
    """A throwaway aggregate: the recorder, not a domain model, is under test here."""

    @event("Created")
    def __init__(self, label: str) -> None:
        self.label = label
        self.marks: list[str] = []

    @event("Marked")
    def mark(self, mark: str) -> None:
        self.marks.append(mark)


def _store_and_reload(database_url: str, schema: str) -> tuple[list[str], list[str], int]:
    env = eventsourcing_env(database_url, schema)
    writer = Application[uuid.UUID](env=env)
    probe = Probe("first")
    probe.mark("a")
    probe.mark("b")
    writer.save(probe)
    writer.close()

    # A second application instance (as after a process restart) reads what the first stored.
    reader = Application[uuid.UUID](env=env)
    try:
        reloaded: Probe = reader.repository.get(probe.id)
        topics = [n.topic for n in reader.notification_log.select(start=1, limit=10)]
        version = reloaded.version
        return reloaded.marks, topics, version
    finally:
        reader.close()


async def test_eventsourcing_postgres_recorder_round_trip(
    infra: RunningInfra, db_schema: str
) -> None:
    marks, topics, version = await asyncio.to_thread(
        _store_and_reload, infra.database_url, db_schema
    )
    assert marks == ["a", "b"]
    assert version == 3
    assert [t.rsplit(".", 1)[-1] for t in topics] == ["Created", "Marked", "Marked"]
    assert all(t.split(":")[-1].startswith("Probe.") for t in topics)
