"""The register projection: integration events → register tables, exactly once.

The statements name tables without a schema; the pool's search path chooses the register they
write: the live one (`register`), or a fresh one a rebuild writes into (see `rebuild.py`).

Every batch of one topic partition is applied in one transaction together with the partition's next
offset (`consumer_positions`), and every event id is recorded in `applied_events`, so neither a
redelivered message nor a re-published event (same event id) has a second effect. The tables can be
dropped and rebuilt from the topics at any time: they are a projection, not the source of truth.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from pydantic import TypeAdapter

from shared.contracts.events import (
    AnyEvent,
    CaseAssigned,
    ContactAttempted,
    ContactDetailsRecorded,
    ContactEstablished,
    IndividualPlanRevised,
    MeasureAccepted,
    MeasureDeclined,
    MeasureEnded,
    MeasureOffered,
    MeasureStarted,
    ObjectionRecorded,
    OccupationRecorded,
    PersonalDataPurged,
    PersonalDetailsRecorded,
    YouthIdentified,
    YouthInformed,
    YouthLeftScope,
)
from shared.contracts.topics import IDENTIFY_EVENTS, RETENTION_EVENTS
from shared.crypto import KEYRING_DDL
from shared.messaging.consumer import Delivery, Parsed
from shared.messaging.failures import failure_reason, is_transient

SCHEMA = "register"
_EVENT: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)
Connection = asyncpg.Connection | PoolConnectionProxy

DDL = """
CREATE TABLE IF NOT EXISTS consumer_positions (
    topic text NOT NULL,
    partition integer NOT NULL,
    next_offset bigint NOT NULL,
    PRIMARY KEY (topic, partition)
);
CREATE TABLE IF NOT EXISTS applied_events (
    event_id uuid PRIMARY KEY,
    tenant char(4) NOT NULL,
    event_type text NOT NULL,
    youth_id uuid NOT NULL,
    recorded_at timestamptz NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
-- The register's copy of every event it applied, in the order it applied them: what an audit
-- replay of one municipality reads (see replay.py). The raw bytes are the message as published.
ALTER TABLE applied_events ADD COLUMN IF NOT EXISTS position bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE applied_events ADD COLUMN IF NOT EXISTS payload bytea;
CREATE INDEX IF NOT EXISTS applied_events_tenant ON applied_events (tenant, position);
CREATE TABLE IF NOT EXISTS youths (
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
CREATE TABLE IF NOT EXISTS scope_episodes (
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
CREATE INDEX IF NOT EXISTS scope_episodes_youth ON scope_episodes (tenant, youth_id);
-- Why and by whom each scope decision was made (added after the first release: ALTER).
ALTER TABLE scope_episodes ADD COLUMN IF NOT EXISTS entered_facts jsonb;
ALTER TABLE scope_episodes ADD COLUMN IF NOT EXISTS entered_actor text;
ALTER TABLE scope_episodes ADD COLUMN IF NOT EXISTS entered_recorded_at timestamptz;
ALTER TABLE scope_episodes ADD COLUMN IF NOT EXISTS left_actor text;
ALTER TABLE scope_episodes ADD COLUMN IF NOT EXISTS left_recorded_at timestamptz;
ALTER TABLE scope_episodes ADD COLUMN IF NOT EXISTS school_background text;
-- When the municipality could first know of the episode (identify recorded it): where the contact
-- clock starts. Null for events from before it was named: the clock then starts at entered_on.
ALTER TABLE scope_episodes ADD COLUMN IF NOT EXISTS identified_on date;
-- When retention purged the youth's personal data (PersonalDataPurged).
ALTER TABLE youths ADD COLUMN IF NOT EXISTS purged_at timestamptz;
-- Contact details (e-mail, phone) a caseworker recorded, sealed with the youth's data key.
CREATE TABLE IF NOT EXISTS contact_details (
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    contact_details text NOT NULL,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, youth_id)
);
-- Personal details, sealed with the youth's data key (opened only for authorised reads/exports).
CREATE TABLE IF NOT EXISTS identities (
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    personal_details text NOT NULL,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, youth_id)
);
CREATE TABLE IF NOT EXISTS contacts (
    event_id uuid PRIMARY KEY,
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    contact_attempt_id uuid NOT NULL,
    channel text NOT NULL,
    outcome text NOT NULL,
    attempted_at timestamptz NOT NULL,
    actor text NOT NULL
);
CREATE INDEX IF NOT EXISTS contacts_youth ON contacts (tenant, youth_id);
CREATE TABLE IF NOT EXISTS measures (
    event_id uuid PRIMARY KEY,
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    measure_id uuid NOT NULL,
    measure_type text NOT NULL,
    offered_on date NOT NULL,
    can_start_on date,
    actor text NOT NULL
);
CREATE INDEX IF NOT EXISTS measures_youth ON measures (tenant, youth_id);
CREATE TABLE IF NOT EXISTS measure_status (
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    measure_id uuid NOT NULL,
    measure_type text,
    state text NOT NULL,
    offers integer NOT NULL DEFAULT 0,
    offered_on date,
    accepted_on date,
    declined_on date,
    started_on date,
    ended_on date,
    end_reason text,
    occupation_after text,
    PRIMARY KEY (tenant, youth_id, measure_id)
);
CREATE TABLE IF NOT EXISTS contact_log (
    event_id uuid PRIMARY KEY,
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('established', 'informed')),
    at timestamptz NOT NULL,
    channel text NOT NULL,
    actor text NOT NULL
);
CREATE INDEX IF NOT EXISTS contact_log_youth ON contact_log (tenant, youth_id);
CREATE TABLE IF NOT EXISTS occupations (
    event_id uuid PRIMARY KEY,
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    occupation_id uuid NOT NULL,
    category text NOT NULL,
    code_list_version text NOT NULL,
    tense text NOT NULL,
    from_date date NOT NULL,
    to_date date,
    confirmed_on date NOT NULL,
    actor text NOT NULL
);
CREATE INDEX IF NOT EXISTS occupations_youth ON occupations (tenant, youth_id);
CREATE TABLE IF NOT EXISTS plan_revisions (
    event_id uuid PRIMARY KEY,
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    revision integer NOT NULL,
    valid_from date NOT NULL,
    goal text NOT NULL,
    mapping jsonb NOT NULL,
    efforts jsonb NOT NULL,
    follow_up_on date,
    evaluation_on date,
    actor text NOT NULL,
    recorded_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS plan_revisions_youth ON plan_revisions (tenant, youth_id);
CREATE TABLE IF NOT EXISTS assignments (
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    assignee_kind text NOT NULL,
    assignee text NOT NULL,
    assigned_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, youth_id)
);
CREATE TABLE IF NOT EXISTS dead_events (
    event_id uuid PRIMARY KEY,
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    event_type text NOT NULL,
    reason text NOT NULL,
    recorded_at timestamptz NOT NULL,
    dead_at timestamptz NOT NULL DEFAULT now()
);
-- Events parked because applying them failed (a value the store refuses, a bug), with their
-- bytes as published, so `kaa register reapply` can apply them after the fix; `reapplied_at` is
-- set when it did. The other dead events (a measure step its state does not allow) have no bytes.
ALTER TABLE dead_events ADD COLUMN IF NOT EXISTS payload bytea;
ALTER TABLE dead_events ADD COLUMN IF NOT EXISTS source text;
ALTER TABLE dead_events ADD COLUMN IF NOT EXISTS reapplied_at timestamptz;
-- The order events were parked in: what `kaa register reapply` follows. While a youth has a parked
-- event from a topic, the youth's later events of that topic are parked behind it (held), so they
-- apply in their order (a topic's order is the one the events have: a leaving after its entry, a
-- measure's steps after its offer; between topics there is none to keep).
ALTER TABLE dead_events ADD COLUMN IF NOT EXISTS parked_seq bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE dead_events ADD COLUMN IF NOT EXISTS topic text;
-- Casework that arrived before its youth's identification (the register reads the topics
-- concurrently): parked until the youth is identified, then applied in its order
-- (`waits_for_youth`); a dead event when the youth never arrives within KAA_EARLY_EVENT_WAIT.
ALTER TABLE dead_events ADD COLUMN IF NOT EXISTS waits_for_youth boolean NOT NULL DEFAULT false;
-- An operator may give up on a parked event no fix will take (`kaa register discard`): it is
-- never applied, and the youth's events held behind it go on at the next re-apply.
ALTER TABLE dead_events ADD COLUMN IF NOT EXISTS discarded_at timestamptz;
ALTER TABLE dead_events ADD COLUMN IF NOT EXISTS discarded_by text;
ALTER TABLE dead_events ADD COLUMN IF NOT EXISTS discarded_why text;
DROP INDEX IF EXISTS dead_events_parked;
DROP INDEX IF EXISTS dead_events_open;
CREATE INDEX IF NOT EXISTS dead_events_open_topic ON dead_events (topic, youth_id)
    WHERE payload IS NOT NULL AND reapplied_at IS NULL AND discarded_at IS NULL;
CREATE TABLE IF NOT EXISTS objections (
    event_id uuid PRIMARY KEY,
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    objected_on date NOT NULL,
    actor text NOT NULL
);
-- Free text a caseworker wrote about the youth, sealed with the youth's data key (opened only in
-- the views that show it, shared/free_text.py): a plan revision's words (`PlanText`; goal, mapping
-- and the efforts' words are clear only in revisions recorded before sealing began) and a
-- measure's content. Retention deletes them with the youth's other personal data.
ALTER TABLE plan_revisions ADD COLUMN IF NOT EXISTS sealed_text text;
ALTER TABLE plan_revisions ALTER COLUMN goal DROP NOT NULL;
ALTER TABLE measures ADD COLUMN IF NOT EXISTS sealed_content text;
"""

# A measure's step: the state machine offered → accepted | declined → started → ended, and a
# re-offer. In SQL so that a batch's steps go to the server as one pipelined run, in order; an
# event the state does not allow is kept in dead_events with the reason.
MEASURE_FUNCTION = """
CREATE OR REPLACE FUNCTION measure_event(
    p_event_id uuid, p_tenant char(4), p_youth uuid, p_measure uuid, p_kind text, p_day date,
    p_measure_type text, p_can_start date, p_end_reason text, p_occupation_after text,
    p_event_type text, p_recorded timestamptz, p_actor text
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    needs text := CASE p_kind WHEN 'accepted' THEN 'offered' WHEN 'declined' THEN 'offered'
                              WHEN 'started' THEN 'accepted' WHEN 'ended' THEN 'started' END;
    moved uuid;
    current_state text;
BEGIN
    IF p_kind = 'offered' THEN
        INSERT INTO measures (event_id, tenant, youth_id, measure_id, measure_type, offered_on,
                              can_start_on, actor)
        VALUES (p_event_id, p_tenant, p_youth, p_measure, p_measure_type, p_day, p_can_start,
                p_actor);
        INSERT INTO measure_status AS m
            (tenant, youth_id, measure_id, measure_type, state, offers, offered_on)
        VALUES (p_tenant, p_youth, p_measure, p_measure_type, 'offered', 1, p_day)
        ON CONFLICT (tenant, youth_id, measure_id) DO UPDATE SET
            state = 'offered', measure_type = EXCLUDED.measure_type,
            offered_on = EXCLUDED.offered_on, offers = m.offers + 1;
        RETURN;
    END IF;
    UPDATE measure_status SET
        state = p_kind,
        accepted_on = CASE WHEN p_kind = 'accepted' THEN p_day ELSE accepted_on END,
        declined_on = CASE WHEN p_kind = 'declined' THEN p_day ELSE declined_on END,
        started_on = CASE WHEN p_kind = 'started' THEN p_day ELSE started_on END,
        ended_on = CASE WHEN p_kind = 'ended' THEN p_day ELSE ended_on END,
        end_reason = CASE WHEN p_kind = 'ended' THEN p_end_reason ELSE end_reason END,
        occupation_after = CASE WHEN p_kind = 'ended' THEN p_occupation_after
                                ELSE occupation_after END
    WHERE tenant = p_tenant AND youth_id = p_youth AND measure_id = p_measure AND state = needs
    RETURNING measure_id INTO moved;
    IF moved IS NULL THEN
        SELECT state INTO current_state FROM measure_status
        WHERE tenant = p_tenant AND youth_id = p_youth AND measure_id = p_measure;
        INSERT INTO dead_events (event_id, tenant, youth_id, event_type, reason, recorded_at)
        VALUES (p_event_id, p_tenant, p_youth, p_event_type,
                CASE WHEN current_state IS NULL
                     THEN 'measure_id: no such measure offered to this youth'
                     ELSE format('measure_id: a measure that is %s cannot become %s',
                                 current_state, p_kind) END,
                p_recorded)
        -- A parked event re-applied (reapply.py) and refused again: its row says why now.
        ON CONFLICT (event_id) DO UPDATE SET reason = EXCLUDED.reason;
    END IF;
END $$;
"""
_MEASURE_EVENT = "SELECT measure_event($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"

_IDENTIFIED_YOUTH = """
INSERT INTO youths AS y
    (tenant, youth_id, status, scope_episode_id, entered_on, scope_ends_on, rule_version)
SELECT tenant, youth_id, 'in_scope', episode, entered_on, scope_ends_on, rule_version
FROM unnest($1::char(4)[], $2::uuid[], $3::uuid[], $4::date[], $5::date[], $6::text[])
    AS u(tenant, youth_id, episode, entered_on, scope_ends_on, rule_version)
ON CONFLICT (tenant, youth_id) DO UPDATE SET
    status = 'in_scope', scope_episode_id = EXCLUDED.scope_episode_id,
    entered_on = EXCLUDED.entered_on, scope_ends_on = EXCLUDED.scope_ends_on,
    rule_version = EXCLUDED.rule_version, left_on = NULL, left_reason = NULL
"""
_IDENTIFIED_EPISODE = """
INSERT INTO scope_episodes
    (scope_episode_id, tenant, youth_id, entered_on, scope_ends_on, entered_rule_version,
     entered_facts, entered_actor, entered_recorded_at, school_background, identified_on)
SELECT episode, tenant, youth_id, entered_on, scope_ends_on, rule_version, facts::jsonb, actor,
       recorded_at, school_background, identified_on
FROM unnest($1::char(4)[], $2::uuid[], $3::uuid[], $4::date[], $5::date[], $6::text[],
            $7::text[], $8::text[], $9::timestamptz[], $10::text[], $11::date[])
    AS u(tenant, youth_id, episode, entered_on, scope_ends_on, rule_version, facts, actor,
         recorded_at, school_background, identified_on)
ON CONFLICT (scope_episode_id) DO NOTHING
"""
_IDENTITY = """
INSERT INTO identities AS i (tenant, youth_id, personal_details, recorded_at)
SELECT * FROM unnest($1::char(4)[], $2::uuid[], $3::text[], $4::timestamptz[])
ON CONFLICT (tenant, youth_id) DO UPDATE SET
    personal_details = EXCLUDED.personal_details, recorded_at = EXCLUDED.recorded_at
WHERE i.recorded_at <= EXCLUDED.recorded_at
"""
_LEFT_YOUTH = """
UPDATE youths SET status = 'out_of_scope', left_on = $4, left_reason = $5
WHERE tenant = $1 AND youth_id = $2 AND scope_episode_id = $3
"""
_LEFT_EPISODE = """
UPDATE scope_episodes e SET left_on = u.left_on, left_reason = u.reason,
    left_rule_version = u.rule_version, left_actor = u.actor, left_recorded_at = u.recorded_at
FROM unnest($1::char(4)[], $2::uuid[], $3::uuid[], $4::date[], $5::text[], $6::text[],
            $7::text[], $8::timestamptz[])
    AS u(tenant, youth_id, episode, left_on, reason, rule_version, actor, recorded_at)
WHERE e.scope_episode_id = u.episode AND e.tenant = u.tenant AND e.youth_id = u.youth_id
RETURNING e.scope_episode_id
"""
_DEAD = """
INSERT INTO dead_events (event_id, tenant, youth_id, event_type, reason, recorded_at)
SELECT * FROM unnest($1::uuid[], $2::char(4)[], $3::uuid[], $4::text[], $5::text[],
                     $6::timestamptz[])
ON CONFLICT (event_id) DO UPDATE SET reason = EXCLUDED.reason
"""
_ASSIGNMENT = """
INSERT INTO assignments (tenant, youth_id, assignee_kind, assignee, assigned_at)
SELECT * FROM unnest($1::char(4)[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[])
ON CONFLICT (tenant, youth_id) DO UPDATE SET assignee_kind = EXCLUDED.assignee_kind,
    assignee = EXCLUDED.assignee, assigned_at = EXCLUDED.assigned_at
"""
_PURGED_YOUTH = """
UPDATE youths y SET purged_at = u.at
FROM unnest($1::char(4)[], $2::uuid[], $3::timestamptz[]) AS u(tenant, youth_id, at)
WHERE y.tenant = u.tenant AND y.youth_id = u.youth_id
"""
_CONTACT_DETAILS = """
INSERT INTO contact_details AS c (tenant, youth_id, contact_details, recorded_at)
SELECT * FROM unnest($1::char(4)[], $2::uuid[], $3::text[], $4::timestamptz[])
ON CONFLICT (tenant, youth_id) DO UPDATE SET
    contact_details = EXCLUDED.contact_details, recorded_at = EXCLUDED.recorded_at
WHERE c.recorded_at <= EXCLUDED.recorded_at
"""
_PURGED_CONTACT_DETAILS = """
DELETE FROM contact_details c USING unnest($1::char(4)[], $2::uuid[]) AS u(tenant, youth_id)
WHERE c.tenant = u.tenant AND c.youth_id = u.youth_id
"""
# Retention: the caseworkers' words about the youth go with the rest of their personal data (the
# sealed ones are unreadable already; clear ones recorded before sealing began are removed).
_NO_PLAN_TEXT = """
UPDATE plan_revisions p SET goal = NULL, sealed_text = NULL,
    mapping = '{"goals": [], "needs": [], "expectations": [], "interests": []}',
    efforts = coalesce((SELECT jsonb_agg(e - 'description' - 'other_actor' - 'end_reason')
                        FROM jsonb_array_elements(p.efforts) AS e), '[]'::jsonb)
"""
_PURGED_PLAN_TEXT = f"""{_NO_PLAN_TEXT}
FROM unnest($1::char(4)[], $2::uuid[]) AS u(tenant, youth_id)
WHERE p.tenant = u.tenant AND p.youth_id = u.youth_id
"""
_PURGED_MEASURE_CONTENT = """
UPDATE measures m SET sealed_content = NULL
FROM unnest($1::char(4)[], $2::uuid[]) AS u(tenant, youth_id)
WHERE m.tenant = u.tenant AND m.youth_id = u.youth_id AND m.sealed_content IS NOT NULL
"""
# Text of a youth purged already (the retention topic was read before this casework's, e.g. in a
# rebuild): not kept, so the register is the same whichever topic was read first.
_PLAN_TEXT_OF_PURGED = f"""{_NO_PLAN_TEXT}
FROM youths y
WHERE p.youth_id = ANY($1::uuid[]) AND y.tenant = p.tenant AND y.youth_id = p.youth_id
  AND y.purged_at IS NOT NULL
"""
_MEASURE_CONTENT_OF_PURGED = """
UPDATE measures m SET sealed_content = NULL FROM youths y
WHERE m.youth_id = ANY($1::uuid[]) AND y.tenant = m.tenant AND y.youth_id = m.youth_id
  AND y.purged_at IS NOT NULL AND m.sealed_content IS NOT NULL
"""
_MEASURE_CONTENT = """
UPDATE measures m SET sealed_content = u.content
FROM unnest($1::uuid[], $2::text[]) AS u(event_id, content)
WHERE m.event_id = u.event_id
"""
_PURGED_IDENTITY = """
DELETE FROM identities i USING unnest($1::char(4)[], $2::uuid[]) AS u(tenant, youth_id)
WHERE i.tenant = u.tenant AND i.youth_id = u.youth_id
"""
_PARKED = """
INSERT INTO dead_events (event_id, tenant, youth_id, event_type, reason, recorded_at, payload,
                         source, topic, waits_for_youth)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (event_id) DO UPDATE SET reason = EXCLUDED.reason, payload = EXCLUDED.payload,
    source = EXCLUDED.source, topic = EXCLUDED.topic, dead_at = now(), reapplied_at = NULL,
    discarded_at = NULL, waits_for_youth = EXCLUDED.waits_for_youth
"""
# A parked event that is neither re-applied nor discarded: the youth's later events wait for it.
OPEN_PARKED = "payload IS NOT NULL AND reapplied_at IS NULL AND discarded_at IS NULL"
_WAITING = f"""
SELECT youth_id, bool_and(waits_for_youth) AS for_youth FROM dead_events
WHERE {OPEN_PARKED} AND topic = $2 AND youth_id = ANY($1::uuid[])
GROUP BY youth_id
"""  # noqa: S608
_KNOWN = "SELECT tenant, youth_id FROM youths WHERE youth_id = ANY($1::uuid[])"
EARLY = "waiting: the youth is not identified yet; applied in its order when it is"
_RELEASABLE = f"""
SELECT event_id, youth_id, event_type, payload, topic FROM dead_events
WHERE {OPEN_PARKED} AND waits_for_youth AND youth_id = ANY($1::uuid[])
ORDER BY parked_seq
"""  # noqa: S608
# Topics whose events need no youth identified first (they identify, or they only purge).
_NEEDS_NO_YOUTH = frozenset({IDENTIFY_EVENTS, RETENTION_EVENTS})
HELD = "held: an earlier event of this youth on its topic is parked; re-applied after it, in order"
_ALREADY_APPLIED = "SELECT event_id FROM applied_events WHERE event_id = ANY($1::uuid[])"


@dataclass(frozen=True)
class _Table:
    """A table rows are only ever added to (each keyed by the event that added it): written with
    COPY, the cheapest way into PostgreSQL."""

    name: str
    columns: tuple[str, ...]


_APPLIED = _Table(
    "applied_events", ("event_id", "tenant", "event_type", "youth_id", "recorded_at", "payload")
)
_CONTACTS = _Table(
    "contacts",
    ("event_id", "tenant", "youth_id", "contact_attempt_id", "channel", "outcome",
     "attempted_at", "actor"),
)  # fmt: skip
_CONTACT_LOG = _Table(
    "contact_log", ("event_id", "tenant", "youth_id", "kind", "at", "channel", "actor")
)
_OCCUPATIONS = _Table(
    "occupations",
    ("event_id", "tenant", "youth_id", "occupation_id", "category", "code_list_version", "tense",
     "from_date", "to_date", "confirmed_on", "actor"),
)  # fmt: skip
_PLANS = _Table(
    "plan_revisions",
    ("event_id", "tenant", "youth_id", "revision", "valid_from", "goal", "mapping", "efforts",
     "follow_up_on", "evaluation_on", "actor", "recorded_at", "sealed_text"),
)  # fmt: skip
_OBJECTIONS = _Table("objections", ("event_id", "tenant", "youth_id", "objected_on", "actor"))

_POSITION = """
INSERT INTO consumer_positions (topic, partition, next_offset) VALUES ($1, $2, $3)
ON CONFLICT (topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset
"""


async def create_pool(database_url: str, schema: str = SCHEMA, **kwargs: Any) -> asyncpg.Pool:
    """A pool whose statements name the register's tables without a schema: `schema` is the
    live register, or another one a rebuild or a replay writes into."""
    pool: asyncpg.Pool = await asyncpg.create_pool(
        database_url, server_settings={"search_path": schema}, **kwargs
    )
    return pool


async def create_tables(pool: asyncpg.Pool, schema: str = SCHEMA) -> None:
    # The advisory lock serialises concurrent starts of several replicas on an empty database.
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('kaa.ddl'))")
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(DDL)
        await conn.execute(MEASURE_FUNCTION)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(KEYRING_DDL)  # the data keys personal details are sealed with


class RegisterProjection:
    """The consumer sink of the register service."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def positions(self, topic: str, partitions: Sequence[int]) -> dict[int, int]:
        rows = await self.pool.fetch(
            "SELECT partition, next_offset FROM consumer_positions "
            "WHERE topic = $1 AND partition = ANY($2::int[])",
            topic,
            list(partitions),
        )
        return {row["partition"]: row["next_offset"] for row in rows}

    async def apply(
        self, topic: str, partition: int, items: list[Parsed[AnyEvent]], next_offset: int
    ) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            items = await _hold_behind_parked(conn, topic, partition, items)
            items = await _park_early(conn, topic, partition, items)
            await apply_items(conn, items)
            await release_waiting(conn, items)
            await conn.execute(_POSITION, topic, partition, next_offset)

    async def park(
        self, topic: str, partition: int, item: Parsed[AnyEvent], reason: str, next_offset: int
    ) -> None:
        """Keep an event the projection could not apply (the consumer parked it), with its bytes,
        for `GET /v1/dead-events` and `kaa register reapply`; and move past it."""
        async with self.pool.acquire() as conn, conn.transaction():
            # Kept even when a copy was applied before: this delivery failed, and says why.
            await conn.execute(_PARKED, *_parked_row(topic, partition, item, reason, False))
            await conn.execute(_POSITION, topic, partition, next_offset)


async def _hold_behind_parked(
    conn: Connection, topic: str, partition: int, items: list[Parsed[AnyEvent]]
) -> list[Parsed[AnyEvent]]:
    """The items to apply now: a youth with a parked event from this topic gets the rest of its
    events of the topic parked behind it (with their bytes), so a re-apply keeps their order; the
    others go on."""
    if not items:
        return items
    waiting = {
        row["youth_id"]: row["for_youth"]
        for row in await conn.fetch(_WAITING, list({i.message.youth_id for i in items}), topic)
    }
    if not waiting:
        return items
    held = [i for i in items if i.message.youth_id in waiting]
    # Behind casework that waits for its youth, an event waits for the youth too.
    await _keep(conn, topic, partition, held,
                lambda e: (EARLY, True) if waiting[e.youth_id] else (HELD, False))  # fmt: skip
    return [i for i in items if i.message.youth_id not in waiting]


async def _park_early(
    conn: Connection, topic: str, partition: int, items: list[Parsed[AnyEvent]]
) -> list[Parsed[AnyEvent]]:
    """Casework about a youth the register does not know yet is parked until the youth is
    identified (`release_waiting`), not applied ahead of it: the topics are read concurrently."""
    casework = [i for i in items if type(i.message).topic not in _NEEDS_NO_YOUTH]
    if not casework:
        return items
    known = {
        (row["tenant"], row["youth_id"])
        for row in await conn.fetch(_KNOWN, list({i.message.youth_id for i in casework}))
    }
    early = [i for i in casework if (i.message.tenant, i.message.youth_id) not in known]
    if not early:
        return items
    # Serialised with the transaction that identifies the youth (`release_waiting` takes the
    # same locks): either it committed before (then the youth is known now) or it releases what
    # this one parks. Without it, concurrent writers (replicas, a rebuild) left casework waiting.
    unknown = list({i.message.youth_id for i in early})
    await _lock_youths(conn, unknown)
    known |= {(row["tenant"], row["youth_id"]) for row in await conn.fetch(_KNOWN, unknown)}
    early = [i for i in early if (i.message.tenant, i.message.youth_id) not in known]
    if not early:
        return items
    await _keep(conn, topic, partition, early, lambda e: (EARLY, True))
    parked = {id(i) for i in early}
    return [i for i in items if id(i) not in parked]


def _parked_row(
    topic: str, partition: int, item: Parsed[AnyEvent], reason: str, for_youth: bool
) -> tuple[Any, ...]:
    """The arguments of `_PARKED` for an event as it was read."""
    event = item.message
    return (event.event_id, event.tenant, event.youth_id, event.event_type, reason,
            event.recorded_at, item.delivery.value, f"{topic}[{partition}]@{item.delivery.offset}",
            topic, for_youth)  # fmt: skip


async def _keep(
    conn: Connection,
    topic: str,
    partition: int,
    items: Sequence[Parsed[AnyEvent]],
    why: Callable[[AnyEvent], tuple[str, bool]],
) -> None:
    """Keep events in `dead_events` with their bytes and where they were read, in one statement;
    `why(event)` gives the reason and whether it waits for its youth. An event already applied
    (a redelivery) is not kept."""
    done = {
        row["event_id"]
        for row in await conn.fetch(_ALREADY_APPLIED, [i.message.event_id for i in items])
    }
    rows = [
        _parked_row(topic, partition, item, *why(item.message))
        for item in items
        if item.message.event_id not in done
    ]
    if rows:
        await conn.executemany(_PARKED, rows)


async def release_waiting(conn: Connection, applied: Sequence[Parsed[AnyEvent]]) -> None:
    """The casework that waited for the youths identified just now, applied in its order, each in
    a savepoint of its own: one that fails stays parked with the reason, and the rest of its
    topic's events of that youth stay parked behind it (for `kaa register reapply`)."""
    identified = list({i.message.youth_id for i in applied if type(i.message) is YouthIdentified})
    if not identified:
        return
    await _lock_youths(conn, identified)  # see _park_early
    rows = await conn.fetch(_RELEASABLE, identified)
    stuck: set[tuple[uuid.UUID, str]] = set()
    for row in rows:
        where = (row["youth_id"], row["topic"])
        if where in stuck:
            await conn.execute(
                "UPDATE dead_events SET reason = $2, waits_for_youth = false WHERE event_id = $1",
                row["event_id"], HELD,
            )  # fmt: skip
            continue
        delivery = Delivery(row["topic"], 0, 0, None, bytes(row["payload"]))
        try:
            async with conn.transaction():
                event = _EVENT.validate_json(row["payload"])  # it read once; a contract may change
                await apply_items(conn, [Parsed(delivery, event)])
                await conn.execute(
                    "UPDATE dead_events SET reapplied_at = now() WHERE event_id = $1",
                    row["event_id"],
                )
        except Exception as exc:
            if is_transient(exc):
                raise
            stuck.add(where)
            await conn.execute(
                "UPDATE dead_events SET reason = $2, waits_for_youth = false WHERE event_id = $1",
                row["event_id"], failure_reason(exc, row["event_type"]),
            )  # fmt: skip


async def _lock_youths(conn: Connection, youths: Sequence[uuid.UUID]) -> None:
    """Transaction-scoped advisory locks on these youths, taken in one order (no deadlock)."""
    keys = sorted({int.from_bytes(youth.bytes[:8], "big", signed=True) for youth in youths})
    # One statement: a function scan yields the array's elements in order, so every transaction
    # takes its locks in ascending order.
    await conn.execute(
        "SELECT count(pg_advisory_xact_lock(k)) FROM unnest($1::bigint[]) AS k", keys
    )


async def expire_waiting(pool: asyncpg.Pool, wait_seconds: float) -> int:
    """Casework whose youth was never identified within the bound becomes a dead event with the
    reason (kept with its bytes, no longer waiting); returns how many."""
    days = wait_seconds / 86400
    bound = f"{days:g} days" if days >= 1 else f"{wait_seconds:g} seconds"
    why = f"youth never identified within {bound} (KAA_EARLY_EVENT_WAIT)"
    expired = await pool.fetch(
        f"UPDATE dead_events SET discarded_at = now(), discarded_by = 'system:register',"  # noqa: S608
        f" discarded_why = $2, reason = $2, waits_for_youth = false"
        f" WHERE {OPEN_PARKED} AND waits_for_youth AND (youth_id, topic) IN ("
        f"   SELECT youth_id, topic FROM dead_events WHERE {OPEN_PARKED} AND waits_for_youth"
        f"   GROUP BY youth_id, topic HAVING min(dead_at) < now() - make_interval(secs => $1))"
        f" RETURNING event_id",
        wait_seconds, why,
    )  # fmt: skip
    return len(expired)


async def apply_items(conn: Connection, items: Sequence[Parsed[AnyEvent]]) -> int:
    """Apply events (with their raw bytes) not applied before; returns how many were new.

    A partition is applied by one consumer at a time; should two ever race, the second's copy of
    an event id fails on the key and its transaction (with its position) rolls back."""
    if not items:
        return 0
    seen = {
        row["event_id"]
        for row in await conn.fetch(_ALREADY_APPLIED, [item.message.event_id for item in items])
    }
    fresh: list[Parsed[AnyEvent]] = []
    for item in items:
        event_id = item.message.event_id
        if event_id not in seen:  # also the second copy of an event within the batch
            seen.add(event_id)
            fresh.append(item)
    await _copy(
        conn,
        _APPLIED,
        [(i.message.event_id, i.message.tenant, i.message.event_type, i.message.youth_id,
          i.message.recorded_at, i.delivery.value) for i in fresh],
    )  # fmt: skip
    await apply_events(conn, [item.message for item in fresh])
    return len(fresh)


async def _copy(conn: Connection, table: _Table, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        await conn.copy_records_to_table(table.name, records=rows, columns=list(table.columns))


_MEASURE_KINDS = (MeasureOffered, MeasureAccepted, MeasureDeclined, MeasureStarted, MeasureEnded)
_STEP = {MeasureAccepted: "accepted", MeasureDeclined: "declined", MeasureStarted: "started",
         MeasureEnded: "ended"}  # fmt: skip


_MEASURE_KIND_SET: frozenset[type] = frozenset(_MEASURE_KINDS)


def _group(event: AnyEvent) -> type:
    # A measure's events must apply in their order: they share one group (and one pipelined run).
    # (`type() is`, not isinstance: pydantic models' isinstance goes through ABCMeta, slowly.)
    kind = type(event)
    return MeasureOffered if kind in _MEASURE_KIND_SET else kind


async def apply_events(conn: Connection, events: list[AnyEvent]) -> None:
    """Apply a batch with one pipelined statement run per kind of event, whatever the mix.

    Order matters only within a youth's measure (one group, applied in order) and between a scope
    episode's start and end: all starts go first, and an end only touches the youth's current row
    when it ends the youth's current episode, so a re-entry in the same batch stays in scope.
    """
    grouped: dict[type, list[AnyEvent]] = {}
    for event in events:
        grouped.setdefault(_group(event), []).append(event)
    for kind in sorted(grouped, key=lambda k: _ORDER.get(k, len(_ORDER))):
        await _apply_group(conn, kind, grouped[kind])


_ORDER: dict[type, int] = {YouthIdentified: 0, YouthLeftScope: 1, PersonalDetailsRecorded: 2}


async def _bulk(conn: Connection, statement: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """One statement for all rows: the rows go as one array per column (`unnest`)."""
    if rows:
        await conn.execute(statement, *map(list, zip(*rows, strict=True)))


def _last_per_youth(rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """An upsert cannot touch a row twice in one statement: the batch's last row per youth wins
    (rows start with tenant and youth id, in the order the events apply)."""
    return list({(row[0], row[1]): row for row in rows}.values())


async def _apply_group(conn: Connection, kind: type, batch: list[AnyEvent]) -> None:
    if kind is YouthIdentified:
        identified = cast(list[YouthIdentified], batch)
        rows = [
            (e.tenant, e.youth_id, e.scope_episode_id, e.entered_on, e.scope_ends_on,
             e.rule_version)
            for e in identified
        ]  # fmt: skip
        await _bulk(
            conn,
            _IDENTIFIED_EPISODE,
            [
                (*row, json.dumps(e.facts, sort_keys=True), e.actor, e.recorded_at,
                 e.school_background, e.identified_on)
                for row, e in zip(rows, identified, strict=True)
            ],
        )  # fmt: skip
        await _bulk(conn, _IDENTIFIED_YOUTH, _last_per_youth(rows))
        details = sorted(
            ((e.tenant, e.youth_id, e.personal_details, e.recorded_at)
             for e in identified if e.personal_details is not None),
            key=lambda row: row[3],
        )  # fmt: skip
        await _bulk(conn, _IDENTITY, _last_per_youth(details))
    elif kind is YouthLeftScope:
        left = [
            (e.tenant, e.youth_id, e.scope_episode_id, e.left_on, e.reason, e.rule_version,
             e.actor, e.recorded_at)
            for e in cast(list[YouthLeftScope], batch)
        ]  # fmt: skip
        ended = {
            row["scope_episode_id"]
            for row in await conn.fetch(_LEFT_EPISODE, *map(list, zip(*left, strict=True)))
        }
        await conn.executemany(_LEFT_YOUTH, [row[:5] for row in left if row[2] in ended])
        # The identify topic carries a youth's start before its end: an end whose episode the
        # register never saw cannot be applied.
        unknown = [e for e in cast(list[YouthLeftScope], batch)
                   if e.scope_episode_id not in ended]  # fmt: skip
        await _bulk(
            conn,
            _DEAD,
            [(e.event_id, e.tenant, e.youth_id, e.event_type,
              "scope_episode_id: no such scope episode of this youth", e.recorded_at)
             for e in unknown],
        )  # fmt: skip
    elif kind is MeasureOffered:
        await conn.executemany(_MEASURE_EVENT, [_measure_row(e) for e in batch])
        contents = [(e.event_id, e.sealed_content) for e in batch
                    if type(e) is MeasureOffered and e.sealed_content is not None]  # fmt: skip
        if contents:
            await _bulk(conn, _MEASURE_CONTENT, contents)
            await conn.execute(_MEASURE_CONTENT_OF_PURGED, list({e.youth_id for e in batch}))
    elif kind is ContactAttempted:
        await _copy(
            conn,
            _CONTACTS,
            [(e.event_id, e.tenant, e.youth_id, e.contact_attempt_id, e.channel, e.outcome,
              e.attempted_at, e.actor)
             for e in cast(list[ContactAttempted], batch)],
        )  # fmt: skip
    elif kind is ContactEstablished:
        await _copy(
            conn,
            _CONTACT_LOG,
            [(e.event_id, e.tenant, e.youth_id, "established", e.established_at, e.channel,
              e.actor) for e in cast(list[ContactEstablished], batch)],
        )  # fmt: skip
    elif kind is YouthInformed:
        await _copy(
            conn,
            _CONTACT_LOG,
            [(e.event_id, e.tenant, e.youth_id, "informed", e.informed_at, e.channel, e.actor)
             for e in cast(list[YouthInformed], batch)],
        )  # fmt: skip
    elif kind is OccupationRecorded:
        await _copy(
            conn,
            _OCCUPATIONS,
            [(e.event_id, e.tenant, e.youth_id, e.occupation_id, e.category,
              e.code_list_version, e.tense, e.from_date, e.to_date, e.confirmed_on, e.actor)
             for e in cast(list[OccupationRecorded], batch)],
        )  # fmt: skip
    elif kind is IndividualPlanRevised:
        await _copy(
            conn,
            _PLANS,
            [(e.event_id, e.tenant, e.youth_id, e.revision, e.valid_from, e.goal,
              e.mapping.model_dump_json(),
              json.dumps([effort.model_dump(mode="json") for effort in e.efforts]),
              e.follow_up_on, e.evaluation_on, e.actor, e.recorded_at, e.sealed_text)
             for e in cast(list[IndividualPlanRevised], batch)],
        )  # fmt: skip
        await conn.execute(_PLAN_TEXT_OF_PURGED, list({e.youth_id for e in batch}))
    elif kind is CaseAssigned:
        await _bulk(
            conn,
            _ASSIGNMENT,
            _last_per_youth(
                [(e.tenant, e.youth_id, e.assignee_kind, e.assignee, e.recorded_at)
                 for e in cast(list[CaseAssigned], batch)]
            ),
        )  # fmt: skip
    elif kind is ObjectionRecorded:
        await _copy(
            conn,
            _OBJECTIONS,
            [(e.event_id, e.tenant, e.youth_id, e.objected_on, e.actor)
             for e in cast(list[ObjectionRecorded], batch)],
        )  # fmt: skip
    elif kind is PersonalDetailsRecorded:
        details = sorted(
            ((e.tenant, e.youth_id, e.personal_details, e.recorded_at)
             for e in cast(list[PersonalDetailsRecorded], batch)),
            key=lambda row: row[3],
        )  # fmt: skip
        await _bulk(conn, _IDENTITY, _last_per_youth(details))
    elif kind is ContactDetailsRecorded:
        reached = sorted(
            ((e.tenant, e.youth_id, e.contact_details, e.recorded_at)
             for e in cast(list[ContactDetailsRecorded], batch)),
            key=lambda row: row[3],
        )  # fmt: skip
        await _bulk(conn, _CONTACT_DETAILS, _last_per_youth(reached))
    elif kind is PersonalDataPurged:
        purged = cast(list[PersonalDataPurged], batch)
        await _bulk(conn, _PURGED_YOUTH, [(e.tenant, e.youth_id, e.recorded_at) for e in purged])
        await _bulk(conn, _PURGED_IDENTITY, [(e.tenant, e.youth_id) for e in purged])
        await _bulk(conn, _PURGED_CONTACT_DETAILS, [(e.tenant, e.youth_id) for e in purged])
        await _bulk(conn, _PURGED_PLAN_TEXT, [(e.tenant, e.youth_id) for e in purged])
        await _bulk(conn, _PURGED_MEASURE_CONTENT, [(e.tenant, e.youth_id) for e in purged])
    # Other events (school notifications, follow-ups) are not register content.


def _measure_row(e: AnyEvent) -> tuple[Any, ...]:
    common = (e.event_id, e.tenant, e.youth_id)
    tail = (e.event_type, e.recorded_at, e.actor)
    if isinstance(e, MeasureOffered):
        return (*common, e.measure_id, "offered", e.offered_on, e.measure_type, e.can_start_on,
                None, None, *tail)  # fmt: skip
    if isinstance(e, MeasureEnded):
        return (*common, e.measure_id, "ended", e.ended_on, None, None, e.end_reason,
                e.occupation_after, *tail)  # fmt: skip
    if isinstance(e, MeasureAccepted):
        day = e.accepted_on
    elif isinstance(e, MeasureDeclined):
        day = e.declined_on
    elif isinstance(e, MeasureStarted):
        day = e.started_on
    else:
        raise TypeError(f"not a measure event: {e.event_type}")
    return (*common, e.measure_id, _STEP[type(e)], day, None, None, None, None, *tail)
