"""Feed watermarks and the persons who wait for them: the register as a function of the facts, not
of the order the feed topics are read in.

Each feed load ends with a marker per municipality, "this source is complete up to T"
(`shared.contracts.feeds.FeedWatermark`), one copy on every partition of its topic. A person whose
facts a record changed is *pending* in the record's municipality until every source the
municipality waits for (`TenantPolicy.feed_sources`) is complete up to the record's `observed_at`
(the earliest such record while they wait); then the release decides them once, on all the facts
read by then. Whichever topic is read first, the decision is taken on the same facts. A source
that stays silent does not hold anyone for ever: after the settle window the person is decided on
the facts known. A school's notification (skollagen 15 kap. 15 §) is decided at once, as always.

Both tables are written by the transaction that records the person's events (the recorder's
`read_model`), so a crash can neither lose a pending person nor decide one twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import Cursor, sql
from psycopg.rows import DictRow

from shared.contracts.feeds import FeedWatermark

DDL = (
    "CREATE TABLE IF NOT EXISTS {schema}.feed_watermarks (tenant text, source text, "
    "partition int, partitions int NOT NULL, complete_up_to timestamptz NOT NULL, "
    "watermark_id uuid NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now(), "
    "PRIMARY KEY (tenant, source, partition))",
    # How many times the watermarks were written: a process reads the table again only when this
    # moved (`watermark_cache.py`). A trigger moves it in the very transaction of any write to the
    # table, whoever makes it (an older replica in a rolling upgrade, an operator's fix by hand).
    "CREATE TABLE IF NOT EXISTS {schema}.feed_watermarks_written (one boolean PRIMARY KEY "
    "DEFAULT true CHECK (one), n bigint NOT NULL DEFAULT 0)",
    "INSERT INTO {schema}.feed_watermarks_written (one) VALUES (true) ON CONFLICT DO NOTHING",
    # Made once, not replaced at every start; replicas start together, so one at a time.
    "DO $do$ BEGIN PERFORM pg_advisory_xact_lock(hashtextextended('{schema}.feed_watermarks', 0)); "
    "IF NOT EXISTS (SELECT FROM pg_trigger WHERE tgname = 'feed_watermarks_written' "
    "AND tgrelid = to_regclass('{schema}.feed_watermarks')) THEN "
    "CREATE FUNCTION {schema}.feed_watermarks_written() RETURNS trigger LANGUAGE plpgsql AS $f$ "
    "BEGIN UPDATE {schema}.feed_watermarks_written SET n = n + 1; RETURN NULL; END $f$; "
    "CREATE TRIGGER feed_watermarks_written AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
    "ON {schema}.feed_watermarks FOR EACH STATEMENT "
    "EXECUTE FUNCTION {schema}.feed_watermarks_written(); END IF; END $do$",
    "CREATE TABLE IF NOT EXISTS {schema}.scope_pending (person_id uuid, tenant text, "
    "fact_at timestamptz NOT NULL, since timestamptz NOT NULL, "
    "touched timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (person_id, tenant))",
    # The feed partition the person's latest held record came from: the replica reading that
    # partition releases them (`RELEASABLE`); -1, rows from before the column (anyone's).
    # Looked up first: ALTER TABLE locks the table before it finds the column there, and a replica
    # starting would stop the others' batches and releases meanwhile.
    "DO $do$ BEGIN IF NOT EXISTS (SELECT FROM pg_attribute WHERE attname = 'feed_partition' "
    "AND attrelid = to_regclass('{schema}.scope_pending') AND NOT attisdropped) THEN "
    "ALTER TABLE {schema}.scope_pending ADD COLUMN IF NOT EXISTS feed_partition int NOT NULL "
    "DEFAULT -1; END IF; END $do$",
    "CREATE INDEX IF NOT EXISTS scope_pending_fact_at ON {schema}.scope_pending (tenant, fact_at)",
    # The release's order (`RELEASABLE`); `since` is set on insert only, so updates stay HOT.
    "CREATE INDEX IF NOT EXISTS scope_pending_since ON {schema}.scope_pending (since)",
)

# Arrays go as binary parameters (`%b`): as text, psycopg builds them with a regular expression
# per element (about 3 µs a UUID, 6 µs a timestamp, against 0.3 µs).
UPSERT_WATERMARKS = """
INSERT INTO {schema}.feed_watermarks (tenant, source, partition, partitions, complete_up_to,
                                      watermark_id)
SELECT * FROM unnest(%b::text[], %b::text[], %b::int[], %b::int[], %b::timestamptz[], %b::uuid[])
ON CONFLICT (tenant, source, partition) DO UPDATE SET
    partitions = EXCLUDED.partitions, complete_up_to = EXCLUDED.complete_up_to,
    watermark_id = EXCLUDED.watermark_id, recorded_at = now()
"""
# A person waits until the sources are complete up to the latest of their new facts (they are
# decided on all of them); `since` stays the first, so the settle window bounds the wait.
UPSERT_PENDING = """
INSERT INTO {schema}.scope_pending (person_id, tenant, fact_at, since, feed_partition)
SELECT * FROM unnest(%b::uuid[], %b::text[], %b::timestamptz[], %b::timestamptz[], %b::int[])
ON CONFLICT (person_id, tenant) DO UPDATE SET
    fact_at = GREATEST({schema}.scope_pending.fact_at, EXCLUDED.fact_at),
    feed_partition = EXCLUDED.feed_partition,
    touched = clock_timestamp()
"""
# Only the rows as the release read them: one a concurrent writer touched since stays.
DELETE_RELEASED = """
DELETE FROM {schema}.scope_pending p
USING unnest(%b::uuid[], %b::text[], %b::timestamptz[]) AS r(person_id, tenant, touched)
WHERE p.person_id = r.person_id AND p.tenant = r.tenant AND p.touched = r.touched
"""
# No other row of the person still waits (a key probe per candidate; OFFSET 0 keeps it one: as
# an anti-join the planner hashed the whole table, twice a round, so releasing N persons read the
# table N/limit times).
_ALONE = """NOT EXISTS (
            SELECT 1 FROM {schema}.scope_pending o
            WHERE o.person_id = q.person_id AND o.tenant <> q.tenant AND o.since > %(settled)s
              AND NOT coalesce(o.fact_at <= (SELECT oc.complete FROM c oc WHERE oc.tenant = o.tenant),
                               false)
            OFFSET 0)"""
_MINE = "(%(partitions)b::int[] IS NULL OR q.feed_partition = ANY(%(partitions)b::int[]))"
# Persons every one of whose pending rows may be decided, a round of them (`limit` rows), each
# part read only if the ones before it left room:
# 1. settled persons, the longest waiting first (none waits for ever however many come after);
# 2. of the latest 4 rounds' worth of rows held (the `since` index, walked backwards), those whose
#    sources are complete: the aggregate cache (least recently used) still holds them, where the
#    oldest are the ones it let go first, and reloading those pushed out the next ones due;
# 3. the rest whose sources are complete, per municipality by the (tenant, fact_at) index: it
#    reads only decidable rows, so persons held after the watermarks (a load still under way)
#    cost a round at most part 2's window, not a walk past all of them. In the index's order and
#    with no condition on `since` (a settled row here is decidable all the same): given one, the
#    planner estimated a municipality's share at a row and intersected both indexes, reading the
#    whole `since` index once per municipality (0.5-0.7 s a round for the country's 290).
# The check for another row still waiting (`_ALONE`) runs on decidable candidates only (OFFSET 0
# keeps it out of part 2's window), until the round is full.
# A round so reads about `limit` rows (and each blocked person), not the table; the chosen
# persons' rows are read by the key.
# Parts 2 and 3 take only the rows of the feed partitions the replica reads (`%(partitions)s`;
# NULL: all): replicas so decide different persons at once, each the ones its own batches took in
# and its cache holds. Settled persons (part 1) are anyone's: no row waits on a partition nobody
# reads for longer than the settle window. Part 2's window is every replica's latest rows (of
# two replicas, about half of it this one's): a filter inside it made the planner, with the
# column's statistics from before a load, expect a few rows and sort the whole table.
RELEASABLE = """
WITH c(tenant, complete) AS (SELECT * FROM unnest(%(tenants)b::text[], %(completes)b::timestamptz[]))
SELECT p.person_id, p.tenant, p.touched FROM {schema}.scope_pending p
WHERE p.person_id = ANY(ARRAY(
    SELECT DISTINCT q.person_id FROM (
        (SELECT q.person_id FROM {schema}.scope_pending q
         WHERE q.since <= %(settled)s AND ALONE
         ORDER BY q.since LIMIT %(limit)s)
        UNION ALL
        (SELECT q.person_id FROM (
             SELECT q.person_id, q.tenant FROM (
                 SELECT * FROM {schema}.scope_pending ORDER BY since DESC LIMIT 4 * %(limit)s) q
             JOIN c ON c.tenant = q.tenant
             WHERE q.since > %(settled)s AND q.fact_at <= c.complete AND MINE
             ORDER BY q.since DESC OFFSET 0) q
         WHERE ALONE LIMIT %(limit)s)
        UNION ALL
        (SELECT q.person_id FROM c CROSS JOIN LATERAL (
             SELECT q.person_id FROM {schema}.scope_pending q
             WHERE q.tenant = c.tenant AND q.fact_at <= c.complete AND MINE AND ALONE
             ORDER BY q.fact_at LIMIT %(limit)s) q)
        LIMIT %(limit)s) q))
""".replace("ALONE", _ALONE).replace("MINE", _MINE)


CLOCK_SKEW = timedelta(hours=1)  # how far ahead of identify's clock a marker may be


class WatermarkRefused(ValueError):
    """A marker that cannot be taken: it would make a source less complete than it was."""


@dataclass
class Watermarks:
    """Per (municipality, source): the latest marker read from each partition; `written`, the
    table's write counter they are of (`WatermarkCache`; None: not known)."""

    marks: dict[tuple[str, str], dict[int, tuple[int, datetime]]] = field(default_factory=dict)
    written: int | None = None

    @classmethod
    def load(cls, cursor: Cursor[DictRow], schema: str) -> Watermarks:
        cursor.execute(
            statement("SELECT tenant, source, partition, partitions, complete_up_to "
                      "FROM {schema}.feed_watermarks", schema)
        )  # fmt: skip
        return cls.of_rows(cursor.fetchall())

    @classmethod
    def of_rows(cls, rows: Iterable[DictRow]) -> Watermarks:
        """The marks of `feed_watermarks` rows (a row without a tenant is skipped)."""
        made = cls()
        for row in rows:
            if row["tenant"] is not None:
                made.marks.setdefault((row["tenant"], row["source"]), {})[row["partition"]] = (
                    row["partitions"],
                    row["complete_up_to"],
                )
        return made

    def take(
        self,
        marker: FeedWatermark,
        partition: int,
        *,
        feed: str | None = None,
        partitions: int | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Take a marker read from `partition` of the topic of `feed`, which has `partitions`
        partitions; False when it says nothing new (a repeat). `WatermarkRefused` when it goes
        backwards, lies ahead of `now` (beyond a clock's skew), names another number of
        partitions than the topic has, or a source of another feed."""
        if partitions is not None and marker.partitions != partitions:
            raise WatermarkRefused(
                f"partitions: the topic has {partitions}; a marker goes to every one of them"
            )
        if partition >= marker.partitions:
            raise WatermarkRefused(
                "partitions: the marker was read from a partition beyond the number it names"
            )
        if feed is not None and not (
            marker.source == feed or marker.source.startswith((f"{feed}:", f"{feed}."))
        ):
            raise WatermarkRefused(
                f"source: a marker on the {feed} topic names {feed} or one of its own "
                f"sources ({feed}:<name>)"
            )
        if now is not None and marker.complete_up_to > now + CLOCK_SKEW:
            raise WatermarkRefused("complete_up_to: lies in the future")
        # A copy: the marks a `WatermarkCache` gave out share their inner mappings with it.
        known = dict(self.marks.get((marker.tenant, marker.source), {}))
        before = known.get(partition)
        if before is not None and marker.complete_up_to < before[1]:
            raise WatermarkRefused(
                "complete_up_to: goes back before the last marker of this source on this partition"
            )
        if before == (marker.partitions, marker.complete_up_to):
            return False
        known[partition] = (marker.partitions, marker.complete_up_to)
        self.marks[(marker.tenant, marker.source)] = known
        return True

    def source_complete(self, tenant: str, source: str) -> datetime | None:
        """Up to when the source is complete: once every partition has reported, the least of
        their markers; None before that."""
        known = self.marks.get((tenant, source))
        if not known:
            return None
        partitions = max(count for count, _ in known.values())
        if any(p not in known for p in range(partitions)):
            return None
        return min(at for p, (_, at) in known.items() if p < partitions)

    def complete(self, tenant: str, sources: Collection[str]) -> datetime | None:
        """Up to when every one of `sources` is complete for the municipality (None: one has not
        reported yet). Without sources, the municipality waits for nothing: `datetime.max`."""
        if not sources:
            return datetime.max.replace(tzinfo=UTC)
        least: datetime | None = None
        for source in sources:
            at = self.source_complete(tenant, source)
            if at is None:
                return None
            least = at if least is None or at < least else least
        return least

    def waiting_for(self, tenant: str, sources: Collection[str], fact_at: datetime) -> list[str]:
        """The sources not yet complete up to `fact_at`."""
        return [
            s for s in sources if (at := self.source_complete(tenant, s)) is None or at < fact_at
        ]


@dataclass
class PendingBatch:
    """A feed batch's new pending rows and markers, written with its events; `partition`, the
    feed partition the batch came from."""

    partition: int = -1
    rows: dict[tuple[uuid.UUID, str], datetime] = field(default_factory=dict)
    markers: list[tuple[FeedWatermark, int]] = field(default_factory=list)

    def hold(self, person: uuid.UUID, tenant: str, fact_at: datetime) -> None:
        known = self.rows.get((person, tenant))
        self.rows[(person, tenant)] = fact_at if known is None else max(known, fact_at)

    def statements(
        self, schema: str, now: datetime
    ) -> list[tuple[sql.Composed, list[tuple[Any, ...]]]]:
        out: list[tuple[sql.Composed, list[tuple[Any, ...]]]] = []
        if self.markers:
            columns: tuple[list[Any], ...] = ([], [], [], [], [], [])
            # One row per (tenant, source, partition): the batch's latest marker of it (an
            # upsert may not touch a row twice; markers were checked to go forward, in order).
            latest = {(m.tenant, m.source, p): (m, p) for m, p in self.markers}
            for marker, partition in latest.values():
                for column, value in zip(
                    columns,
                    (marker.tenant, marker.source, partition, marker.partitions,
                     marker.complete_up_to, marker.watermark_id),
                    strict=True,
                ):  # fmt: skip
                    column.append(value)
            out.append((statement(UPSERT_WATERMARKS, schema), [columns]))
        if self.rows:
            keys = list(self.rows)
            out.append(
                (
                    statement(UPSERT_PENDING, schema),
                    [
                        (
                            [p for p, _ in keys],
                            [t for _, t in keys],
                            [self.rows[k] for k in keys],
                            [now] * len(keys),
                            [self.partition] * len(keys),
                        )
                    ],
                )
            )
        return out


def statement(text: str, schema: str) -> sql.Composed:
    """One of this module's statements for the service's schema."""
    return sql.SQL(text).format(schema=sql.Identifier(schema))


def releasable(
    cursor: Cursor[DictRow],
    schema: str,
    completes: Mapping[str, datetime | None],
    settled: datetime,
    limit: int,
    partitions: Collection[int] | None = None,
) -> list[tuple[uuid.UUID, str, datetime]]:
    """A round's pending rows (`RELEASABLE`), of the feed `partitions` a replica reads (None:
    all). Planned for the round's own values each time, never
    prepared: psycopg prepares a statement on its sixth run, and after five more PostgreSQL
    settled on a generic plan, one made without the values (the round's size, the watermarks'
    times); that plan took 60-85 ms a round of 2,000 persons where the plan for the values takes
    16-19 (planning it costs about 0.4 ms)."""
    tenants = sorted(completes)
    params = {"tenants": tenants, "completes": [completes[t] for t in tenants],
              "settled": settled, "limit": limit,
              "partitions": None if partitions is None else sorted({-1, *partitions})}  # fmt: skip
    cursor.execute(statement(RELEASABLE, schema), params, prepare=False)
    return [(r["person_id"], r["tenant"], r["touched"]) for r in cursor.fetchall()]


def released_statement(
    schema: str, rows: Iterable[tuple[uuid.UUID, str, datetime]]
) -> tuple[sql.Composed, list[tuple[Any, ...]]]:
    chosen = list(rows)
    return (
        statement(DELETE_RELEASED, schema),
        [([r[0] for r in chosen], [r[1] for r in chosen], [r[2] for r in chosen])],
    )
