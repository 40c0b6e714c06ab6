"""The release's query (`RELEASABLE`) against a real scope_pending table: it chooses persons every
one of whose pending rows may be decided, with all their rows, skips a person still waiting in
another municipality however many of them come first, and reads about a round's rows, not the
table (a round that hashed the whole table made the release of N persons cost N²)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import DictRow, dict_row

from services.identify.adapters import pending, pending_summary
from tests.conftest import RunningInfra

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)
COMPLETE = NOW - timedelta(hours=1)  # both sources of "0180" are complete up to here
SETTLED = NOW - timedelta(days=3)  # who waits since before this is decided anyway


class Pending:
    """A scope_pending table of its own, and the connection to it."""

    def __init__(self, conn: psycopg.Connection[DictRow], schema: str) -> None:
        self.conn, self.schema = conn, schema

    def execute(self, text: str, params: Any = None) -> None:
        self.conn.execute(pending.statement(text, self.schema), params)


@pytest.fixture
def table(infra: RunningInfra) -> Iterator[Pending]:
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(infra.database_url, autocommit=True, row_factory=dict_row) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        for ddl in pending.DDL:
            conn.execute(ddl.format(schema=schema))
        yield Pending(conn, schema)
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def hold(
    table: Pending,
    rows: list[tuple[uuid.UUID, str, datetime]],
    since: datetime = NOW,
    partition: int = -1,
) -> None:
    """Pending rows (person, municipality, fact_at), waiting since `since`, held from the feed
    `partition` (-1: a row from before the column)."""
    with table.conn.cursor() as cursor:
        cursor.executemany(
            pending.statement(
                "INSERT INTO {schema}.scope_pending (person_id, tenant, fact_at, since, "
                "feed_partition) VALUES (%s, %s, %s, %s, %s)",
                table.schema,
            ),
            [(p, t, at, since, partition) for p, t, at in rows],
        )


def releasable(
    table: Pending, limit: int, *, explain: bool = False, partitions: list[int] | None = None
) -> Any:
    query = pending.statement(pending.RELEASABLE, table.schema)
    if explain:
        query = sql.SQL("EXPLAIN (ANALYZE, FORMAT JSON) ") + query
    params = {"tenants": ["0180", "1480"], "completes": [COMPLETE, None], "settled": SETTLED,
              "limit": limit, "partitions": partitions}  # fmt: skip
    with table.conn.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def test_a_person_waiting_elsewhere_stays_and_a_decidable_one_comes_with_all_rows(
    table: Pending,
) -> None:
    alone, mover, blocked, late = (uuid.uuid4() for _ in range(4))
    hold(table, [(alone, "0180", COMPLETE - timedelta(minutes=5)),
                 (mover, "0180", COMPLETE), (mover, "0180x", COMPLETE),
                 (blocked, "0180", COMPLETE), (blocked, "1480", COMPLETE),
                 (late, "0180", COMPLETE + timedelta(minutes=1))])  # fmt: skip
    # "0180x" is a municipality not served here: no sources, so never complete, not settled
    rows = releasable(table, 100)
    chosen = {(r["person_id"], r["tenant"]) for r in rows}
    assert chosen == {(alone, "0180")}, "the mover, the blocked and the late one wait"
    table.execute(
        "UPDATE {schema}.scope_pending SET since = %s WHERE person_id = %s",
        (SETTLED - timedelta(seconds=1), mover),
    )
    chosen = {(r["person_id"], r["tenant"]) for r in releasable(table, 100)}
    assert chosen == {(alone, "0180"), (mover, "0180"), (mover, "0180x")}, "settled: all rows"


def test_blocked_persons_first_do_not_starve_the_round_and_it_reads_only_its_rows(
    table: Pending,
) -> None:
    free = [uuid.uuid4() for _ in range(5000)]
    hold(table, [(p, "0180", COMPLETE) for p in free], NOW - timedelta(minutes=1))
    blocked = [uuid.uuid4() for _ in range(300)]  # held last: the release looks at them first
    hold(table, [(p, t, COMPLETE) for p in blocked for t in ("0180", "1480")])
    table.execute("ANALYZE {schema}.scope_pending")
    rows = releasable(table, 50)
    assert len(rows) == 50, "a full round, though 300 persons who wait come first"
    assert {r["person_id"] for r in rows} <= set(free)
    plan = releasable(table, 50, explain=True)[0]["QUERY PLAN"][0]["Plan"]
    read = read_for_candidates(plan)
    assert read < 1000, f"a round of 50 read {read} rows of a table of 5,600"


def read_for_candidates(plan: dict[str, Any]) -> int:
    """Rows (or index entries) a plan read looking for candidates: not probes by the key."""
    return sum((node["Actual Rows"] + node.get("Rows Removed by Filter", 0)) * node["Actual Loops"]
               for node in walk(plan) if candidates(node))  # fmt: skip


def candidates(node: dict[str, Any]) -> bool:
    """A scan for candidates (not a probe of a person's rows by the key)."""
    if node["Node Type"] in {"Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Index Scan"}:
        return node.get("Index Name") != "scope_pending_pkey"
    return False


def walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", ()):
        yield from walk(child)


def test_settled_persons_come_first_then_the_most_recently_held(table: Pending) -> None:
    settled = [uuid.uuid4() for _ in range(30)]
    hold(table, [(p, "1480", COMPLETE) for p in settled], SETTLED - timedelta(hours=1))
    older, newer = [uuid.uuid4() for _ in range(100)], [uuid.uuid4() for _ in range(40)]
    hold(table, [(p, "0180", COMPLETE) for p in older], NOW - timedelta(hours=2))
    hold(table, [(p, "0180", COMPLETE) for p in newer], NOW - timedelta(hours=1))
    hold(table, [(uuid.uuid4(), "0180", COMPLETE + timedelta(minutes=1))])  # not yet complete
    table.execute("ANALYZE {schema}.scope_pending")
    chosen = {r["person_id"] for r in releasable(table, 50)}
    assert chosen >= set(settled), "settled persons first: however many are newer, none starves"
    assert chosen - set(settled) <= set(newer), "the most recently held after the settled"
    assert len(chosen) == 50


def test_persons_held_after_the_watermarks_do_not_cost_a_round_a_walk_past_them(
    table: Pending,
) -> None:
    """A load under way: the most recently held wait for their watermarks; a round reads past
    at most a window of them, then finds the decidable ones by the (tenant, fact_at) index."""
    ready = [uuid.uuid4() for _ in range(500)]
    hold(table, [(p, "0180", COMPLETE) for p in ready], NOW - timedelta(hours=1))
    hold(table, [(uuid.uuid4(), "0180", NOW) for _ in range(5000)])
    table.execute("ANALYZE {schema}.scope_pending")
    rows = releasable(table, 50)
    assert len(rows) == 50
    assert {r["person_id"] for r in rows} <= set(ready)
    read = read_for_candidates(releasable(table, 50, explain=True)[0]["QUERY PLAN"][0]["Plan"])
    assert read < 1000, f"a round of 50 read {read} rows of a table of 5,500"


def test_a_replica_takes_the_persons_its_partitions_held_and_anyones_settled(
    table: Pending,
) -> None:
    """Replicas release at once, each the persons its own feed partitions held (its cache has
    them); the settled, and rows from before the partitions were kept, are anyone's."""
    by_partition = {n: [uuid.uuid4() for _ in range(1000)] for n in range(6)}
    for batch in range(10):  # the partitions' batches come in turn
        for n, persons in by_partition.items():
            held = persons[batch * 100 : (batch + 1) * 100]
            since = NOW - timedelta(hours=1) + timedelta(minutes=batch)
            hold(table, [(p, "0180", COMPLETE) for p in held], since, n)
    older = [uuid.uuid4() for _ in range(5)]  # held before the column: partition -1
    hold(table, [(p, "0180", COMPLETE) for p in older], NOW - timedelta(hours=2))
    settled = [uuid.uuid4() for _ in range(5)]
    hold(table, [(p, "0180", COMPLETE) for p in settled], SETTLED - timedelta(hours=1), 5)
    table.execute("ANALYZE {schema}.scope_pending")
    mine = [*by_partition[0], *by_partition[2], *by_partition[4], *older, *settled]
    completes: dict[str, datetime | None] = {"0180": COMPLETE, "1480": None}
    with table.conn.cursor() as cursor:
        rows = pending.releasable(cursor, table.schema, completes, SETTLED, 10_000, [0, 2, 4])
        assert {r[0] for r in rows} == set(mine)
        everyone = pending.releasable(cursor, table.schema, completes, SETTLED, 10_000)
        assert len({r[0] for r in everyone}) == 6 * 1000 + 10, "None: every replica's"
        unassigned = pending.releasable(cursor, table.schema, completes, SETTLED, 10_000, [])
        assert {r[0] for r in unassigned} == {*older, *settled}, "a replica reading no partition"
    plan = releasable(table, 50, explain=True, partitions=[-1, 0, 2, 4])[0]["QUERY PLAN"][0]
    read = read_for_candidates(plan["Plan"])
    # Two to three times a round's window (walking past the other replica's rows), not the table.
    assert read < 600, f"a round of 50 of half the partitions read {read} rows of 6,010"


def test_a_round_is_planned_for_its_own_values_every_time(table: Pending) -> None:
    """Never prepared: PostgreSQL may plan a prepared statement once for all values after five
    runs (a generic plan), and for this query that plan took three to four times as long."""
    ready = [uuid.uuid4() for _ in range(20)]
    hold(table, [(p, "0180", COMPLETE) for p in ready], NOW - timedelta(hours=1))
    completes: dict[str, datetime | None] = {"0180": COMPLETE, "1480": None}
    with table.conn.cursor() as cursor:
        for _ in range(8):  # psycopg prepares a statement on its sixth run
            rows = pending.releasable(cursor, table.schema, completes, SETTLED, 10)
            assert len(rows) == 10
            assert {person for person, _, _ in rows} <= set(ready)
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [r["statement"] for r in cursor.fetchall()]
    assert not [s for s in prepared if "WITH c(tenant, complete)" in s], "the round was prepared"


def test_whether_any_person_is_decidable_now(table: Pending) -> None:
    def any_now() -> bool:
        with table.conn.cursor() as cursor:
            return pending_summary.any_decidable(
                cursor, table.schema, {"0180": ("population", "ss12000")}, NOW - SETTLED, NOW
            )

    assert not any_now(), "nobody waits"
    hold(table, [(uuid.uuid4(), "0180", COMPLETE)])
    assert not any_now(), "no watermark: the source is not complete"
    hold(table, [(uuid.uuid4(), "1480", COMPLETE)], SETTLED - timedelta(seconds=1))
    assert any_now(), "waited past the settle window"
    table.execute("DELETE FROM {schema}.scope_pending WHERE tenant = '1480'")
    for source in ("population", "ss12000"):
        table.execute(
            "INSERT INTO {schema}.feed_watermarks (tenant, source, partition, partitions, "
            "complete_up_to, watermark_id) VALUES ('0180', %s, 0, 1, %s, %s)",
            (source, COMPLETE, uuid.uuid4()),
        )
    assert any_now(), "both sources complete up to the person's facts"
    table.execute(
        "UPDATE {schema}.feed_watermarks SET complete_up_to = %s WHERE source = 'ss12000'",
        (COMPLETE - timedelta(seconds=1),),
    )
    assert not any_now(), "one source complete only up to before the person's facts"


def test_the_summary_counts_who_waits_and_who_may_be_decided(table: Pending) -> None:
    """`kaa scope pending`: per municipality, how many wait, how many may be decided now, the
    oldest and each source's completeness."""
    waiting = [uuid.uuid4() for _ in range(3)]
    hold(table, [(p, "0180", COMPLETE) for p in waiting], NOW - timedelta(hours=2))
    hold(table, [(uuid.uuid4(), "0180", COMPLETE + timedelta(minutes=1))])
    hold(table, [(uuid.uuid4(), "1480", COMPLETE)], SETTLED - timedelta(seconds=1))
    for source in ("population", "ss12000"):
        table.execute(
            "INSERT INTO {schema}.feed_watermarks (tenant, source, partition, partitions, "
            "complete_up_to, watermark_id) VALUES ('0180', %s, 0, 1, %s, %s)",
            (source, COMPLETE, uuid.uuid4()),
        )
    sources = {"0180": ("population", "ss12000"), "1480": ("population",)}
    with table.conn.cursor() as cursor:
        rows = pending_summary.summary(cursor, table.schema, sources, NOW - SETTLED, NOW)
    by_tenant = {r["tenant"]: r for r in rows}
    assert [r["tenant"] for r in rows] == ["0180", "1480"]
    assert (by_tenant["0180"]["waiting"], by_tenant["0180"]["decidable"]) == (4, 3)
    assert by_tenant["0180"]["oldest_since"] == NOW - timedelta(hours=2)
    assert by_tenant["0180"]["complete_up_to"] == {"population": COMPLETE, "ss12000": COMPLETE}
    assert (by_tenant["1480"]["waiting"], by_tenant["1480"]["decidable"]) == (1, 1), "settled"
    assert by_tenant["1480"]["complete_up_to"] == {"population": None}


def test_a_replica_starting_does_not_wait_for_the_tables_readers(
    table: Pending, infra: RunningInfra
) -> None:
    """The DDL runs at every start: the partition column is looked up before it is added, since
    ALTER TABLE takes the table whole before it finds the column there, and would queue behind a
    release round's read (and every batch behind itself)."""
    with psycopg.connect(infra.database_url) as reader:
        reader.execute(pending.statement("SELECT count(*) FROM {schema}.scope_pending",
                                         table.schema))  # fmt: skip
        # The reader's transaction is open: it holds the table for reading.
        table.conn.execute("SET lock_timeout = '2s'")
        for ddl in pending.DDL:
            table.conn.execute(ddl.format(schema=table.schema))
        table.conn.execute("RESET lock_timeout")
