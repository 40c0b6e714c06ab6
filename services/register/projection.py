"""The register projection: integration events → register tables, exactly once.

Every batch of one topic partition is applied in one transaction together with the partition's next
offset (`consumer_positions`), and every event id is recorded in `applied_events`, so neither a
redelivered message nor a re-published event (same event id) has a second effect. The tables can be
dropped and rebuilt from the topics at any time: they are a projection, not the source of truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from shared.contracts.events import (
    AnyEvent,
    ContactAttempted,
    MeasureOffered,
    YouthIdentified,
    YouthLeftScope,
)
from shared.messaging.consumer import Parsed

SCHEMA = "register"
Connection = asyncpg.Connection | PoolConnectionProxy

DDL = """
CREATE SCHEMA IF NOT EXISTS register;
CREATE TABLE IF NOT EXISTS register.consumer_positions (
    topic text NOT NULL,
    partition integer NOT NULL,
    next_offset bigint NOT NULL,
    PRIMARY KEY (topic, partition)
);
CREATE TABLE IF NOT EXISTS register.applied_events (
    event_id uuid PRIMARY KEY,
    tenant char(4) NOT NULL,
    event_type text NOT NULL,
    youth_id uuid NOT NULL,
    recorded_at timestamptz NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS register.youths (
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    status text NOT NULL CHECK (status IN ('in_scope', 'out_of_scope')),
    scope_episode_id uuid NOT NULL,
    entered_on date NOT NULL,
    scope_ends_on date NOT NULL,
    left_on date,
    left_reason text,
    rule_version text NOT NULL,
    PRIMARY KEY (tenant, youth_id)
);
CREATE TABLE IF NOT EXISTS register.scope_episodes (
    scope_episode_id uuid PRIMARY KEY,
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    entered_on date NOT NULL,
    scope_ends_on date NOT NULL,
    entered_rule_version text NOT NULL,
    left_on date,
    left_reason text,
    left_rule_version text
);
CREATE INDEX IF NOT EXISTS scope_episodes_youth ON register.scope_episodes (tenant, youth_id);
CREATE TABLE IF NOT EXISTS register.contacts (
    event_id uuid PRIMARY KEY,
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    contact_attempt_id uuid NOT NULL,
    channel text NOT NULL,
    outcome text NOT NULL,
    attempted_at timestamptz NOT NULL,
    actor text NOT NULL
);
CREATE INDEX IF NOT EXISTS contacts_youth ON register.contacts (tenant, youth_id);
CREATE TABLE IF NOT EXISTS register.measures (
    event_id uuid PRIMARY KEY,
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    measure_id uuid NOT NULL,
    measure_type text NOT NULL,
    offered_on date NOT NULL,
    can_start_on date,
    actor text NOT NULL
);
CREATE INDEX IF NOT EXISTS measures_youth ON register.measures (tenant, youth_id);
"""

_MARK_APPLIED = """
INSERT INTO register.applied_events (event_id, tenant, event_type, youth_id, recorded_at)
SELECT * FROM unnest($1::uuid[], $2::char(4)[], $3::text[], $4::uuid[], $5::timestamptz[])
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""
_IDENTIFIED_YOUTH = """
INSERT INTO register.youths AS y
    (tenant, youth_id, status, scope_episode_id, entered_on, scope_ends_on, rule_version)
VALUES ($1, $2, 'in_scope', $3, $4, $5, $6)
ON CONFLICT (tenant, youth_id) DO UPDATE SET
    status = 'in_scope', scope_episode_id = EXCLUDED.scope_episode_id,
    entered_on = EXCLUDED.entered_on, scope_ends_on = EXCLUDED.scope_ends_on,
    rule_version = EXCLUDED.rule_version, left_on = NULL, left_reason = NULL
"""
_IDENTIFIED_EPISODE = """
INSERT INTO register.scope_episodes
    (scope_episode_id, tenant, youth_id, entered_on, scope_ends_on, entered_rule_version)
VALUES ($3, $1, $2, $4, $5, $6)
ON CONFLICT (scope_episode_id) DO NOTHING
"""
_LEFT_YOUTH = """
UPDATE register.youths SET status = 'out_of_scope', left_on = $4, left_reason = $5
WHERE tenant = $1 AND youth_id = $2 AND scope_episode_id = $3
"""
_LEFT_EPISODE = """
UPDATE register.scope_episodes SET left_on = $4, left_reason = $5, left_rule_version = $6
WHERE scope_episode_id = $3 AND tenant = $1 AND youth_id = $2
"""
_CONTACT = """
INSERT INTO register.contacts
    (event_id, tenant, youth_id, contact_attempt_id, channel, outcome, attempted_at, actor)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
"""
_MEASURE = """
INSERT INTO register.measures
    (event_id, tenant, youth_id, measure_id, measure_type, offered_on, can_start_on, actor)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
"""
_POSITION = """
INSERT INTO register.consumer_positions (topic, partition, next_offset) VALUES ($1, $2, $3)
ON CONFLICT (topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset
"""


async def create_tables(pool: asyncpg.Pool) -> None:
    # The advisory lock serialises concurrent starts of several replicas on an empty database.
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('kaa.register.ddl'))")
        await conn.execute(DDL)


class RegisterProjection:
    """The consumer sink of the register service."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def positions(self, topic: str, partitions: Sequence[int]) -> dict[int, int]:
        rows = await self.pool.fetch(
            "SELECT partition, next_offset FROM register.consumer_positions "
            "WHERE topic = $1 AND partition = ANY($2::int[])",
            topic,
            list(partitions),
        )
        return {row["partition"]: row["next_offset"] for row in rows}

    async def apply(
        self, topic: str, partition: int, items: list[Parsed[AnyEvent]], next_offset: int
    ) -> None:
        events = [item.message for item in items]
        async with self.pool.acquire() as conn, conn.transaction():
            if events:
                new_ids = {
                    row["event_id"]
                    for row in await conn.fetch(
                        _MARK_APPLIED,
                        [e.event_id for e in events],
                        [e.tenant for e in events],
                        [e.event_type for e in events],
                        [e.youth_id for e in events],
                        [e.recorded_at for e in events],
                    )
                }
                fresh = [e for e in events if e.event_id in new_ids]
                await _apply_events(conn, _first_occurrences(fresh))
            await conn.execute(_POSITION, topic, partition, next_offset)


def _first_occurrences(events: list[AnyEvent]) -> list[AnyEvent]:
    """A batch may hold the same event twice (re-published within one poll): keep the first."""
    seen: set[object] = set()
    unique = []
    for event in events:
        if event.event_id not in seen:
            seen.add(event.event_id)
            unique.append(event)
    return unique


async def _apply_events(conn: Connection, events: list[AnyEvent]) -> None:
    # Runs of the same kind are sent as one pipelined executemany; order within the batch is kept.
    for kind, run in groupby(events, key=type):
        batch = list(run)
        if kind is YouthIdentified:
            rows = [
                (
                    e.tenant,
                    e.youth_id,
                    e.scope_episode_id,
                    e.entered_on,
                    e.scope_ends_on,
                    e.rule_version,
                )
                for e in batch
                if isinstance(e, YouthIdentified)
            ]
            await conn.executemany(_IDENTIFIED_EPISODE, rows)
            await conn.executemany(_IDENTIFIED_YOUTH, rows)
        elif kind is YouthLeftScope:
            left = [
                (e.tenant, e.youth_id, e.scope_episode_id, e.left_on, e.reason, e.rule_version)
                for e in batch
                if isinstance(e, YouthLeftScope)
            ]
            await conn.executemany(_LEFT_EPISODE, left)
            await conn.executemany(_LEFT_YOUTH, [row[:5] for row in left])
        elif kind is ContactAttempted:
            await conn.executemany(
                _CONTACT,
                [
                    (
                        e.event_id,
                        e.tenant,
                        e.youth_id,
                        e.contact_attempt_id,
                        e.channel,
                        e.outcome,
                        e.attempted_at,
                        e.actor,
                    )
                    for e in batch
                    if isinstance(e, ContactAttempted)
                ],
            )
        elif kind is MeasureOffered:
            await conn.executemany(
                _MEASURE,
                [
                    (
                        e.event_id,
                        e.tenant,
                        e.youth_id,
                        e.measure_id,
                        e.measure_type,
                        e.offered_on,
                        e.can_start_on,
                        e.actor,
                    )
                    for e in batch
                    if isinstance(e, MeasureOffered)
                ],
            )
