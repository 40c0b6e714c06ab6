"""The watermarks a process keeps (`WatermarkCache`): read again exactly when a transaction wrote
them, on the real PostgreSQL; the marks it gives out are the caller's to change."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import DictRow, dict_row

from services.identify.adapters import pending
from services.identify.adapters.watermark_cache import WatermarkCache
from shared.contracts.feeds import FeedWatermark
from tests.conftest import RunningInfra

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)
SOURCES = ("population", "ss12000")


@pytest.fixture
def schema(infra: RunningInfra) -> Iterator[tuple[psycopg.Connection[DictRow], str]]:
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(infra.database_url, autocommit=True, row_factory=dict_row) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
        for ddl in pending.DDL:
            conn.execute(ddl.format(schema=name))
        yield conn, name
        conn.execute(f"DROP SCHEMA {name} CASCADE")


def marker(tenant: str, source: str, at: datetime) -> FeedWatermark:
    return FeedWatermark(
        watermark_id=uuid.uuid4(), tenant=tenant, source=source, complete_up_to=at, partitions=1
    )


def taken(conn: psycopg.Connection[DictRow], schema: str, *markers: FeedWatermark) -> None:
    """Markers written as a feed batch writes them."""
    batch = pending.PendingBatch(markers=[(m, 0) for m in markers])
    with conn.transaction(), conn.cursor() as cursor:
        for text, rows in batch.statements(schema, NOW):
            cursor.executemany(text, rows)


def test_the_cache_reads_again_exactly_when_the_watermarks_were_written(
    schema: tuple[psycopg.Connection[DictRow], str],
) -> None:
    conn, name = schema
    cache, other = WatermarkCache(), WatermarkCache()  # two processes
    with conn.cursor() as cursor:
        assert cache.load(cursor, name).complete("0180", SOURCES) is None, "nothing taken yet"
        taken(conn, name, *(marker("0180", s, NOW) for s in SOURCES))
        assert cache.load(cursor, name).complete("0180", SOURCES) == NOW
        assert other.load(cursor, name).marks == pending.Watermarks.load(cursor, name).marks

        # Nothing written: not read again, which is what saves the read of the whole table on
        # every batch (the counter is the only row read) ...
        later = NOW + timedelta(hours=1)
        with conn.transaction():  # (as if the trigger were not there)
            conn.execute(pending.statement("ALTER TABLE {schema}.feed_watermarks DISABLE TRIGGER "
                                           "feed_watermarks_written", name))  # fmt: skip
            conn.execute(
                pending.statement("UPDATE {schema}.feed_watermarks SET complete_up_to = %s", name),
                (later,),
            )
            conn.execute(pending.statement("ALTER TABLE {schema}.feed_watermarks ENABLE TRIGGER "
                                           "feed_watermarks_written", name))  # fmt: skip
        assert cache.load(cursor, name).complete("0180", SOURCES) == NOW
        # ... until anything writes the table: then all of it is read, by every process.
        taken(conn, name, marker("1480", "population", NOW))
        for process in (cache, other):
            marks = process.load(cursor, name)
            assert marks.complete("0180", SOURCES) == later
            assert marks.complete("1480", ("population",)) == NOW
            assert marks.marks == pending.Watermarks.load(cursor, name).marks


def test_marks_taken_into_a_batch_leave_the_cache_as_stored(
    schema: tuple[psycopg.Connection[DictRow], str],
) -> None:
    conn, name = schema
    cache = WatermarkCache()
    taken(conn, name, *(marker("0180", s, NOW) for s in SOURCES))
    with conn.cursor() as cursor:
        marks = cache.load(cursor, name)
        later = NOW + timedelta(minutes=5)
        assert marks.take(marker("0180", "ss12000", later), 0)
        assert marks.take(marker("2580", "population", later), 0)
        assert marks.complete("0180", SOURCES) == NOW  # the population's is the least
        assert marks.source_complete("0180", "ss12000") == later
        again = cache.load(cursor, name)  # a batch that was not saved changed nothing
        assert again.source_complete("0180", "ss12000") == NOW
        assert again.source_complete("2580", "population") is None


def test_any_write_to_the_watermarks_moves_the_counter(
    schema: tuple[psycopg.Connection[DictRow], str],
) -> None:
    """Also one the platform's code does not make: an older replica's, an operator's by hand."""
    conn, name = schema
    cache = WatermarkCache()
    taken(conn, name, marker("0180", "population", NOW))
    with conn.cursor() as cursor:
        assert cache.load(cursor, name).complete("0180", ("population",)) == NOW
        conn.execute(pending.statement("DELETE FROM {schema}.feed_watermarks", name))
        assert cache.load(cursor, name).complete("0180", ("population",)) is None


def test_the_counter_is_one_row_kept_across_restarts(
    schema: tuple[psycopg.Connection[DictRow], str],
) -> None:
    conn, name = schema
    counter = pending.statement("SELECT n FROM {schema}.feed_watermarks_written", name)
    taken(conn, name, marker("0180", "population", NOW))
    [before] = conn.execute(counter).fetchall()
    assert before["n"] > 0
    for ddl in pending.DDL:  # a restart runs the DDL again
        conn.execute(ddl.format(schema=name))
    assert conn.execute(counter).fetchall() == [before]
    taken(conn, name, marker("0180", "population", NOW + timedelta(minutes=1)))
    [after] = conn.execute(counter).fetchall()
    assert after["n"] > before["n"], "one trigger still, and it still counts"


def test_replicas_starting_together_make_the_trigger_once(infra: RunningInfra) -> None:
    name = f"test_{uuid.uuid4().hex[:12]}"
    *tables, trigger = [d for d in pending.DDL if "feed_watermarks" in d]
    assert "CREATE TRIGGER" in trigger
    with psycopg.connect(infra.database_url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {name}")
        for ddl in tables:
            admin.execute(ddl.format(schema=name))
        try:
            with psycopg.connect(infra.database_url) as first:
                first.execute(trigger.format(schema=name))  # its transaction still open
                second = threading.Thread(target=_start, args=(infra.database_url, trigger, name))
                errors.clear()
                second.start()
                second.join(timeout=1.0)
                assert second.is_alive(), "the second waits for the first's transaction"
                first.commit()
            second.join(timeout=10)
            assert errors == [], "the second start found the trigger made"
            found = admin.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgname = 'feed_watermarks_written' "
                "AND tgrelid = %s::regclass",
                (f"{name}.feed_watermarks",),
            ).fetchone()
            assert found == (1,)
        finally:
            admin.execute(f"DROP SCHEMA {name} CASCADE")


errors: list[str] = []


def _start(url: str, trigger: str, name: str) -> None:
    try:
        with psycopg.connect(url) as conn:
            conn.execute(trigger.format(schema=name))
    except psycopg.Error as exc:
        errors.append(type(exc).__name__)
