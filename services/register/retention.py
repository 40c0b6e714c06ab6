"""Retention (gallring) by crypto-shredding (DOMAIN.md section 7).

A youth is due when their last scope episode ended at least the municipality's retention period
ago (default 730 days) and the SCB half-year containing that end has closed. For each due youth:
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import asyncpg
from aiokafka import AIOKafkaProducer

from services.register.quality import half_year
from shared.contracts.events import PersonalDataPurged
from shared.contracts.topics import FEED_RETENTION_SECONDS
from shared.crypto import ensure_keyring

DEFAULT_RETENTION_DAYS = 730
BATCH = 1000
_NAMESPACE = uuid.UUID("5b0d7c1e-2f9a-4f53-a1e8-6c7d0e9b3a21")
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


@dataclass(frozen=True)
class RetentionResult:
    due: int
    keys_destroyed: int
    events_published: int
    intake_keys_destroyed: int = 0
    expired_intake_keys_destroyed: int = 0


def purge_event_id(tenant: str, youth_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{tenant}:{youth_id}:purged")


def half_year_end(day: date) -> date:
    return half_year(f"{day.year}H{1 if day.month <= 6 else 2}").end


def is_due(left_on: date, retention_days: int, today: date) -> bool:
    return left_on + timedelta(days=retention_days) <= today and half_year_end(left_on) < today


async def run(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    topic: str,
    tenants: Sequence[str],
    today: date,
    retention_days: Mapping[str, int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RetentionResult:
    """Purge every due youth of the served municipalities (the pool is the register's owner)."""
    days = dict(retention_days or {})
    await ensure_keyring(pool)  # a register started before identify ever ran
    expired = _count(
        await pool.execute(_DESTROY_EXPIRED, FEED_RETENTION_SECONDS + 86400, list(tenants))
    )
    shortest = min([DEFAULT_RETENTION_DAYS, *days.values()])
    rows = await pool.fetch(_CANDIDATES, today - timedelta(days=shortest), list(tenants))
    due = [
        (r["tenant"], r["youth_id"], r["left_on"])
        for r in rows
        if is_due(r["left_on"], days.get(r["tenant"], DEFAULT_RETENTION_DAYS), today)
    ]
    destroyed = published = intake_destroyed = 0
    now = datetime.now(UTC)
    for start in range(0, len(due), BATCH):
        chunk = due[start : start + BATCH]
        async with pool.acquire() as conn, conn.transaction():
            intake_destroyed += _count(
                await conn.execute(
                    _DESTROY_INTAKE, [t for t, _, _ in chunk], [y for _, y, _ in chunk]
                )
            )
            destroyed += len(
                await conn.fetch(
                    _DESTROY, [t for t, _, _ in chunk], [y for _, y, _ in chunk],
                    "retention period passed",
                )
            )  # fmt: skip
        sent = [
            await producer.send(topic, value=_event(tenant, youth, left, days, now).to_bytes(),
                                key=str(youth).encode())
            for tenant, youth, left in chunk
        ]  # fmt: skip
        for future in sent:
            await future
        published += len(sent)
        if progress is not None:
            progress(published, len(due))
    return RetentionResult(len(due), destroyed, published, intake_destroyed, expired)


def _count(status: str) -> int:
    """Rows of an asyncpg command status such as `DELETE 12`."""
    return int(status.rsplit(" ", 1)[-1])


def _event(
    tenant: str, youth_id: uuid.UUID, left_on: date, days: Mapping[str, int], now: datetime
) -> PersonalDataPurged:
    event_id = purge_event_id(tenant, youth_id)
    return PersonalDataPurged(
        event_id=event_id,
        tenant=tenant,
        youth_id=youth_id,
        occurred_at=now,
        recorded_at=now,
        actor="system:retention",
        correlation_id=event_id,
        left_on=left_on,
        retention_days=days.get(tenant, DEFAULT_RETENTION_DAYS),
    )
