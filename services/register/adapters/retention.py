"""Retention (gallring) by crypto-shredding (DOMAIN.md section 7): the keyring and the topic.

When a youth is due is the domain's (`domain/retention.py`); the run is `commands/retention.py`.
For each due youth:
1. the data key is destroyed (deleted from the keyring, the destruction noted without key
   material): from that commit on, every sealed copy of their personal details and of the free
   text caseworkers wrote about them (plans, measures' content) — in the event stores, on the
   topics, in backups — is unreadable;
2. `PersonalDataPurged` is published (event id derived from the youth, so a repeated run
   publishes the same event and consumers apply it once); the register then deletes the sealed
   details and free text and marks the youth purged. Dates, codes, actors and rule versions stay
   for audit.
The intake keys their feed records were sealed with are destroyed with the data key (identify stores
the person's keyed hash with the data key); any intake key nothing was sealed with for longer than
the feed topics keep records goes too.
A run that stopped between 1 and 2 finds the youth again (not yet marked purged) and publishes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

import asyncpg
from aiokafka import AIOKafkaProducer

from shared.contracts.events import PersonalDataPurged
from shared.contracts.topics import FEED_RETENTION_SECONDS
from shared.crypto import ensure_keyring

_CANDIDATES = """
SELECT tenant, youth_id, left_on FROM youths
WHERE status = 'out_of_scope' AND purged_at IS NULL AND left_on IS NOT NULL
  AND left_on <= $1 AND tenant = ANY($2::char(4)[])
ORDER BY tenant, left_on, youth_id
"""
_DESTROY = """
WITH gone AS (
    DELETE FROM keyring.youth_keys k USING unnest($1::char(4)[], $2::uuid[]) AS u(tenant, youth_id)
    WHERE k.tenant = u.tenant AND k.youth_id = u.youth_id
    RETURNING k.tenant, k.youth_id
)
INSERT INTO keyring.destroyed_keys (tenant, youth_id, reason)
SELECT tenant, youth_id, $3 FROM gone
ON CONFLICT (tenant, youth_id) DO NOTHING
RETURNING youth_id
"""
# The intake keys their feed records were sealed with (shared/intake.py): the subject is stored
# with the data key, so this runs before the data key goes.
_DESTROY_INTAKE = """
DELETE FROM keyring.intake_keys k
USING keyring.youth_keys y, unnest($1::char(4)[], $2::uuid[]) AS u(tenant, youth_id)
WHERE y.tenant = u.tenant AND y.youth_id = u.youth_id
  AND k.tenant = y.tenant AND k.subject = y.subject
"""
# Intake keys nothing was sealed with for longer than the feed topics keep records: every record
# sealed with one has left the topics and their dead letters (FEED_RETENTION), so the key goes.
_DESTROY_EXPIRED = """
DELETE FROM keyring.intake_keys
WHERE last_sealed_at < now() - make_interval(secs => $1) AND tenant = ANY($2::char(4)[])
"""


Due = tuple[str, uuid.UUID, date]
"""A youth whose retention may be due: municipality, youth, the day their last episode ended."""


async def destroy_expired_intake_keys(pool: asyncpg.Pool, tenants: Sequence[str]) -> int:
    """Destroy the intake keys nothing was sealed with for longer than the feed topics keep
    records; returns how many."""
    await ensure_keyring(pool)  # a register started before identify ever ran
    status = await pool.execute(_DESTROY_EXPIRED, FEED_RETENTION_SECONDS + 86400, list(tenants))
    return _count(status)


async def candidates(pool: asyncpg.Pool, left_by: date, tenants: Sequence[str]) -> list[Due]:
    """The youths out of scope since `left_by` or before, not purged yet."""
    rows = await pool.fetch(_CANDIDATES, left_by, list(tenants))
    return [(r["tenant"], r["youth_id"], r["left_on"]) for r in rows]


async def destroy_keys(pool: asyncpg.Pool, due: Sequence[Due]) -> tuple[int, int]:
    """Destroy the youths' intake keys and data keys in one transaction; returns how many data
    keys and intake keys were destroyed."""
    tenants, youths = [t for t, _, _ in due], [y for _, y, _ in due]
    async with pool.acquire() as conn, conn.transaction():
        intake = _count(await conn.execute(_DESTROY_INTAKE, tenants, youths))
        data = len(await conn.fetch(_DESTROY, tenants, youths, "retention period passed"))
    return data, intake


async def publish(
    producer: AIOKafkaProducer, topic: str, events: Sequence[PersonalDataPurged]
) -> int:
    """Publish the events (keyed by youth) and wait until every one is acknowledged."""
    sent = [
        await producer.send(topic, value=event.to_bytes(), key=str(event.youth_id).encode())
        for event in events
    ]
    for future in sent:
        await future
    return len(sent)


def _count(status: str) -> int:
    """Rows of an asyncpg command status such as `DELETE 12`."""
    return int(status.rsplit(" ", 1)[-1])
