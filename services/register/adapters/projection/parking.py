"""Parking: the events the register keeps aside in `dead_events`, with their bytes, and why.

- An event whose application failed (a value the store refuses, a bug) is parked by the consumer
  (`RegisterProjection.park`) until `kaa register reapply` applies it after the fix.
- While a youth has a parked event from a topic, the youth's later events of that topic are parked
  behind it (held), so they apply in their order (a topic's order is the one the events have: a
  leaving after its entry, a measure's steps after its offer; between topics there is none).
- Casework that arrives before its youth's identification (the register reads the topics
  concurrently) waits, parked, until the youth is identified, and is then applied in its order;
  it becomes a dead event when the youth never arrives within KAA_EARLY_EVENT_WAIT.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Sequence
from typing import Any

import asyncpg
from pydantic import TypeAdapter

from services.register.adapters.database import Connection
from services.register.adapters.projection.applied import already_applied, apply_items
from shared.contracts.events import AnyEvent, YouthIdentified
from shared.contracts.topics import IDENTIFY_EVENTS, RETENTION_EVENTS
from shared.messaging.consumer import Delivery, Parsed
from shared.messaging.failures import failure_reason, is_transient

_EVENT: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)

OPEN_PARKED = "payload IS NOT NULL AND reapplied_at IS NULL AND discarded_at IS NULL"
"""A parked event that is neither re-applied nor discarded: the youth's later events wait for it."""
EARLY = "waiting: the youth is not identified yet; applied in its order when it is"
HELD = "held: an earlier event of this youth on its topic is parked; re-applied after it, in order"

PARKED = """
INSERT INTO dead_events (event_id, tenant, youth_id, event_type, reason, recorded_at, payload,
                         source, topic, waits_for_youth)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (event_id) DO UPDATE SET reason = EXCLUDED.reason, payload = EXCLUDED.payload,
    source = EXCLUDED.source, topic = EXCLUDED.topic, dead_at = now(), reapplied_at = NULL,
    discarded_at = NULL, waits_for_youth = EXCLUDED.waits_for_youth
"""
_WAITING = f"""
SELECT youth_id, bool_and(waits_for_youth) AS for_youth FROM dead_events
WHERE {OPEN_PARKED} AND topic = $2 AND youth_id = ANY($1::uuid[])
GROUP BY youth_id
"""  # noqa: S608
# By the youths' key (tenant, youth): a lookup by youth id alone scanned every youth per batch.
_KNOWN = """
SELECT y.tenant, y.youth_id FROM youths y
JOIN (SELECT DISTINCT * FROM unnest($1::char(4)[], $2::uuid[])) AS u(tenant, youth_id)
  ON y.tenant = u.tenant AND y.youth_id = u.youth_id
"""
_ALL_KNOWN = "SELECT tenant, youth_id FROM youths"
_RELEASABLE = f"""
SELECT event_id, youth_id, event_type, payload, topic FROM dead_events
WHERE {OPEN_PARKED} AND waits_for_youth AND youth_id = ANY($1::uuid[])
ORDER BY parked_seq
"""  # noqa: S608
_WAITING_KNOWN = f"""
SELECT DISTINCT youth_id FROM dead_events d
WHERE {OPEN_PARKED} AND waits_for_youth
  AND EXISTS (SELECT FROM youths y WHERE y.tenant = d.tenant AND y.youth_id = d.youth_id)
"""  # noqa: S608
_STILL_STUCK = "UPDATE dead_events SET reason = $2, waits_for_youth = false WHERE event_id = $1"
# Topics whose events need no youth identified first (they identify, or they only purge).
_NEEDS_NO_YOUTH = frozenset({IDENTIFY_EVENTS, RETENTION_EVENTS})


def parked_row(
    topic: str, partition: int, item: Parsed[AnyEvent], reason: str, for_youth: bool
) -> tuple[Any, ...]:
    """The arguments of `PARKED` for an event as it was read."""
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
    done = await already_applied(conn, [i.message.event_id for i in items])
    rows = [
        parked_row(topic, partition, item, *why(item.message))
        for item in items
        if item.message.event_id not in done
    ]
    if rows:
        await conn.executemany(PARKED, rows)


async def hold_behind_parked(
    conn: Connection, topic: str, partition: int, items: list[Parsed[AnyEvent]]
) -> list[Parsed[AnyEvent]]:
    """The items to apply now: a youth with a parked event from this topic gets the rest of its
    events of the topic parked behind it (with their bytes), so a re-apply keeps their order; the
    others go on."""
    if not items:
        return items
    youths = list({i.message.youth_id for i in items})
    waiting = {
        row["youth_id"]: row["for_youth"] for row in await conn.fetch(_WAITING, youths, topic)
    }
    if not waiting:
        return items
    if any(waiting.values()):
        # Serialised with the transaction that identifies the youth, as in `park_early`: read
        # without the lock, the casework it is releasing looked still waiting, and an event held
        # behind it waited for a youth already identified (until KAA_EARLY_EVENT_WAIT).
        await _lock_youths(conn, [y for y, for_youth in waiting.items() if for_youth])
        waiting = {
            row["youth_id"]: row["for_youth"] for row in await conn.fetch(_WAITING, youths, topic)
        }
        if not waiting:
            return items
    held = [i for i in items if i.message.youth_id in waiting]
    # Behind casework that waits for its youth, an event waits for the youth too.
    await _keep(conn, topic, partition, held,
                lambda e: (EARLY, True) if waiting[e.youth_id] else (HELD, False))  # fmt: skip
    return [i for i in items if i.message.youth_id not in waiting]


async def park_early(
    conn: Connection,
    topic: str,
    partition: int,
    items: list[Parsed[AnyEvent]],
    known_before: Collection[tuple[str, uuid.UUID]] = (),
) -> list[Parsed[AnyEvent]]:
    """Casework about a youth the register does not know yet is parked until the youth is
    identified (`release_waiting`), not applied ahead of it: the topics are read concurrently.
    `known_before`: (tenant, youth)s the caller read from this register's youths before (a youth
    the register knows stays known: its row is never deleted); only the others are looked up."""
    casework = [i for i in items if type(i.message).topic not in _NEEDS_NO_YOUTH]
    if not casework:
        return items
    asked = {(i.message.tenant, i.message.youth_id) for i in casework}
    # The batch's youths a rebuild knows are done here (`difference` walks the batch's set).
    asked = asked.difference(known_before)
    if not asked:
        return items
    unknown = asked - await _known(conn, asked)
    early = [i for i in casework if (i.message.tenant, i.message.youth_id) in unknown]
    if not early:
        return items
    # Serialised with the transaction that identifies the youth (`release_waiting` takes the
    # same locks): either it committed before (then the youth is known now) or it releases what
    # this one parks. Without it, concurrent writers (replicas, a rebuild) left casework waiting.
    await _lock_youths(conn, [youth for _, youth in unknown])
    known = await _known(conn, unknown)
    early = [i for i in early if (i.message.tenant, i.message.youth_id) not in known]
    if not early:
        return items
    await _keep(conn, topic, partition, early, lambda e: (EARLY, True))
    parked = {id(i) for i in early}
    return [i for i in items if id(i) not in parked]


async def _known(
    conn: Connection, youths: set[tuple[str, uuid.UUID]]
) -> set[tuple[str, uuid.UUID]]:
    """Which of these (tenant, youth)s the register knows (has identified)."""
    rows = await conn.fetch(_KNOWN, *map(list, zip(*youths, strict=True)))
    return {(row["tenant"], row["youth_id"]) for row in rows}


async def known_youths(conn: Connection) -> set[tuple[str, uuid.UUID]]:
    """Every (tenant, youth) the register knows now (for `park_early`'s `known_before`)."""
    return {(row["tenant"], row["youth_id"]) for row in await conn.fetch(_ALL_KNOWN)}


async def release_waiting(conn: Connection, applied: Sequence[Parsed[AnyEvent]]) -> None:
    """The casework that waited for the youths identified just now, applied in its order, each in
    a savepoint of its own: one that fails stays parked with the reason, and the rest of its
    topic's events of that youth stay parked behind it (for `kaa register reapply`)."""
    identified = list({i.message.youth_id for i in applied if type(i.message) is YouthIdentified})
    if identified:
        await _release(conn, identified)


async def release_known(conn: Connection) -> None:
    """Casework still waiting for a youth the register knows now, applied in its order (as
    `release_waiting` does when the youth is identified): what a rebuild does after its last
    batch, so it ends with every event applied that the live register applied."""
    known = await conn.fetch(_WAITING_KNOWN)
    if known:
        await _release(conn, [row["youth_id"] for row in known])


async def _release(conn: Connection, identified: list[uuid.UUID]) -> None:
    await _lock_youths(conn, identified)  # see park_early
    rows = await conn.fetch(_RELEASABLE, identified)
    stuck: set[tuple[uuid.UUID, str]] = set()
    for row in rows:
        where = (row["youth_id"], row["topic"])
        if where in stuck:
            await conn.execute(_STILL_STUCK, row["event_id"], HELD)
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
                _STILL_STUCK, row["event_id"], failure_reason(exc, row["event_type"])
            )


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
