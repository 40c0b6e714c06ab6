"""Two processes on one event store (replicas serving caseworkers), on the real PostgreSQL: what one
holds in memory is brought up to date in the query that loads a batch, and a save on a stale
version is refused whole, its position with it."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest.mock import patch

import psycopg
import pytest
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError
from psycopg import sql

from shared.eventstore import KafkaFedApplication, eventsourcing_env
from tests.conftest import RunningInfra


class Tally(Aggregate):
    def __init__(self) -> None:
        self.marks: list[str] = []

    @event("Marked")
    def mark(self, by: str) -> None:
        self.marks.append(by)


@pytest.fixture
def replicas(infra: RunningInfra, db_schema: str) -> Iterator[tuple[KafkaFedApplication, ...]]:
    env = eventsourcing_env(infra.database_url, db_schema)
    first, second = KafkaFedApplication(env=env), KafkaFedApplication(env=env)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def loaded(app: KafkaFedApplication, *ids: uuid.UUID) -> dict[uuid.UUID, Any]:
    cache: dict[uuid.UUID, Any] = {}
    app.preload(ids, cache, verify=True)
    return cache


def test_a_held_aggregate_takes_the_other_replica_s_events_and_an_unknown_one_loads_whole(
    replicas: tuple[KafkaFedApplication, ...],
) -> None:
    one, two = replicas
    kept, fresh = Tally(), Tally()
    kept.mark("one")
    fresh.mark("one")
    one.save_tracked([kept, fresh], None, 0, 0)
    held = loaded(one, kept.id)[kept.id]  # from one's memory, the very object it saved

    other = loaded(two, kept.id)[kept.id]  # two reads it from the store and adds to it
    other.mark("two")
    other.mark("two again")
    two.save_tracked([other], None, 0, 0)
    missing = uuid.uuid4()

    cache = loaded(one, kept.id, fresh.id, missing)

    assert cache[kept.id] is held  # brought up to date where it is, not read again
    assert held.marks == ["one", "two", "two again"]
    assert held.version == 4
    assert cache[fresh.id].marks == ["one"]
    assert cache[missing] is None
    held.mark("one again")
    one.save_tracked([held], None, 0, 0)  # on the version the store has: no conflict
    assert loaded(two, kept.id)[kept.id].marks == ["one", "two", "two again", "one again"]


def test_an_aggregate_the_store_no_longer_has_is_not_kept_from_memory(
    replicas: tuple[KafkaFedApplication, ...], infra: RunningInfra, db_schema: str
) -> None:
    one, _ = replicas
    gone = Tally()
    gone.mark("one")
    one.save_tracked([gone], None, 0, 0)
    assert loaded(one, gone.id)[gone.id] is not None
    table = sql.Identifier(db_schema, one.recorder.events_table_name)  # type: ignore[attr-defined]
    with psycopg.connect(infra.database_url, autocommit=True) as conn:  # as retention erases
        conn.execute(sql.SQL("DELETE FROM {} WHERE originator_id = %s").format(table), (gone.id,))

    assert loaded(one, gone.id)[gone.id] is None


def test_a_save_on_a_stale_version_stores_nothing_of_its_transaction(
    replicas: tuple[KafkaFedApplication, ...], infra: RunningInfra, db_schema: str
) -> None:
    one, two = replicas
    marked = sql.Identifier(db_schema, "marked")
    with psycopg.connect(infra.database_url, autocommit=True) as conn:  # a read table
        conn.execute(sql.SQL("CREATE TABLE {} (by text PRIMARY KEY)").format(marked))
    read_row = (sql.SQL("INSERT INTO {} VALUES (%s)").format(marked), [("two",)])
    tally = Tally()
    one.save_tracked([tally], "feed", 0, 5)
    mine, theirs = loaded(one, tally.id)[tally.id], loaded(two, tally.id)[tally.id]
    mine.mark("one")
    one.save_tracked([mine], None, 0, 0)
    theirs.mark("two")
    other = Tally()
    other.mark("two")

    with pytest.raises(IntegrityError):  # the conflict itself, not a pipeline's aftermath
        two.save_tracked([other, theirs], "feed", 0, 9, read_model=[read_row])

    assert two.stored_positions("feed", [0]) == {0: 5}
    assert loaded(two, other.id)[other.id] is None
    assert loaded(two, tally.id)[tally.id].marks == ["one"]
    with psycopg.connect(infra.database_url) as conn:
        assert conn.execute(sql.SQL("SELECT count(*) FROM {}").format(marked)).fetchone() == (0,)
    # Nothing is left open: the table's lock is free for the other replica, and the refused
    # replica's connections go on (each save of its own stored whole).
    mine.mark("one again")
    one.save_tracked([mine], None, 0, 0)
    for position in (9, 10, 11):
        again = loaded(two, tally.id)[tally.id]
        again.mark("two")
        two.save_tracked([again], "feed", 0, position, read_model=[read_row])
        read_row = (read_row[0], [])
    assert loaded(one, tally.id)[tally.id].marks == ["one", "one again", "two", "two", "two"]
    assert two.stored_positions("feed", [0]) == {0: 11}
    with psycopg.connect(infra.database_url) as conn:
        assert conn.execute(sql.SQL("SELECT count(*) FROM {}").format(marked)).fetchone() == (1,)


def test_a_view_reads_a_copy_taken_between_two_writes(
    replicas: tuple[KafkaFedApplication, ...],
) -> None:
    one, _ = replicas
    tally = Tally()
    tally.mark("one")
    one.save_tracked([tally], None, 0, 0)
    assert one.read(uuid.uuid4()) is None

    seen = one.read(tally.id)
    assert seen is not tally  # not the object the writer changes in place
    assert seen.marks == ["one"]
    tally.mark("unsaved")  # the writer's change, under way
    assert seen.marks == ["one"]

    stranger = Tally()  # stored by another replica: not held here
    stranger.mark("two")
    replicas[1].save_tracked([stranger], None, 0, 0)
    read_during_write: list[Any] = []
    with one.write():  # a write under way: a view of what it may change waits for its end
        elsewhere: list[Any] = []  # a view of one not held reads the store meanwhile
        other = threading.Thread(target=lambda: elsewhere.append(one.read(stranger.id)))
        other.start()
        other.join(timeout=5)
        assert [r.marks for r in elsewhere] == [["two"]]
        reader = threading.Thread(target=lambda: read_during_write.append(one.read(tally.id)))
        reader.start()
        reader.join(timeout=0.3)
        assert reader.is_alive()
        one.forget(tally.id)  # the write failed: what it held is dropped
    reader.join(timeout=5)
    assert [r.marks for r in read_during_write] == [["one"]]  # read again from the store


def test_a_failed_statement_is_raised_as_itself_however_many_follow_it(
    replicas: tuple[KafkaFedApplication, ...], infra: RunningInfra, db_schema: str
) -> None:
    """psycopg reads a pipeline's answers as it goes: a failure may surface at a later
    statement, at the sync or on leaving the pipeline (then as `PipelineAborted` for the
    statements the server skipped); the save raises the failure itself every time, so a
    conflict is retried on fresh state, not taken for a lost connection."""
    one, _ = replicas
    marked = sql.Identifier(db_schema, "rows")
    with psycopg.connect(infra.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TABLE {} (n int PRIMARY KEY)").format(marked))
    insert = sql.SQL("INSERT INTO {} VALUES (%s)").format(marked)
    many = sql.SQL("INSERT INTO {} VALUES (%s) ON CONFLICT DO NOTHING").format(marked)
    datastore = one.recorder.datastore  # type: ignore[attr-defined]
    connect = datastore.get_connection
    attempts: list[None] = []

    @contextmanager
    def counted() -> Iterator[Any]:
        attempts.append(None)
        with connect() as conn:
            yield conn

    for _ in range(3):
        tally = Tally()
        tally.mark("one")
        attempts.clear()
        with patch.object(datastore, "get_connection", counted), pytest.raises(IntegrityError):
            one.save_tracked(
                [tally], None, 0, 0,
                read_model=[(insert, [(1,), (1,)]), (many, [(n,) for n in range(2, 3000)])],
            )  # fmt: skip
        assert len(attempts) == 1  # raised at once, not retried as a lost connection
        assert loaded(one, tally.id)[tally.id] is None
    with psycopg.connect(infra.database_url) as conn:
        assert conn.execute(sql.SQL("SELECT count(*) FROM {}").format(marked)).fetchone() == (0,)
    tally = Tally()
    tally.mark("one")
    one.save_tracked([tally], None, 0, 0, read_model=[(insert, [(1,)])])  # the pool goes on
    assert loaded(one, tally.id)[tally.id].marks == ["one"]


def _scans_of(plan: dict[str, Any], table: str) -> list[dict[str, Any]]:
    found = [plan] if plan.get("Relation Name") == table else []
    for child in plan.get("Plans", ()):
        found += _scans_of(child, table)
    return found


def test_loading_a_batch_probes_each_aggregate_s_key_whatever_the_statistics_say(
    replicas: tuple[KafkaFedApplication, ...], infra: RunningInfra, db_schema: str
) -> None:
    """A batch's load reads its aggregates by the key, never the whole table: a fresh store that
    was never analysed (a deployment's first load) and an analysed one alike. As a join the
    planner walked or hashed the whole table for a batch (55 µs a row read in `bench identify`)."""
    one, _ = replicas
    tallies = [Tally() for _ in range(2_000)]
    for tally in tallies:
        tally.mark("one")
    one.save_tracked(tallies, None, 0, 0)
    table = one.recorder.events_table_name  # type: ignore[attr-defined]
    query = b"EXPLAIN (FORMAT JSON) " + one._events_from_query
    ids = [t.id for t in tallies[:50]]
    with psycopg.connect(infra.database_url, autocommit=True) as conn:
        conn.execute("SET random_page_cost = 4")  # PostgreSQL's default, for spinning disks
        for state in ("never analysed", "analysed"):
            row = conn.execute(query, (ids, [-1] * len(ids))).fetchone()
            assert row is not None
            scans = _scans_of(row[0][0]["Plan"], table)
            assert scans, state
            for scan in scans:  # an index scan's, or a bitmap scan's over the index
                probe = scan.get("Index Cond") or scan.get("Recheck Cond") or ""
                assert "originator_id = k.id" in probe, (state, scan["Node Type"])
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(db_schema, table)))
