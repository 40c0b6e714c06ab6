"""Retention (gallring) by crypto-shredding (DOMAIN.md section 7): the daily run, also `kaa
retention run`. When a youth is due is the domain's (`domain/retention.py`); the keyring and the
topic are `adapters/retention.py`'s."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import asyncpg
from aiokafka import AIOKafkaProducer

from services.register.adapters import retention
from services.register.domain.retention import DEFAULT_RETENTION_DAYS, is_due, purged
from services.register.domain.retention import retention_days as days_of

Progress = Callable[[int, int], None]
RETENTION_BATCH = 1000  # youths whose keys go in one transaction


@dataclass(frozen=True)
class RetentionResult:
    due: int
    keys_destroyed: int
    events_published: int
    intake_keys_destroyed: int = 0
    expired_intake_keys_destroyed: int = 0
    # Youths purged per municipality (kommunkod), for `GET /metrics`.
    purged_by_tenant: dict[str, int] = field(default_factory=dict)


async def run_retention(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    topic: str,
    tenants: Sequence[str],
    today: date,
    retention_days: Mapping[str, int] | None = None,
    progress: Progress | None = None,
) -> RetentionResult:
    """Purge every due youth of the served municipalities (the pool is the register's owner), in
    batches: their intake and data keys destroyed, then `PersonalDataPurged` published (a run that
    stopped in between finds the youth again and publishes). Intake keys unused for longer than
    the feed topics keep records go too."""
    days = dict(retention_days or {})
    expired = await retention.destroy_expired_intake_keys(pool, tenants)
    shortest = min([DEFAULT_RETENTION_DAYS, *days.values()])
    found = await retention.candidates(pool, today - timedelta(days=shortest), tenants)
    due = [(t, y, left) for t, y, left in found if is_due(left, days_of(t, days), today)]
    destroyed = published = intake_destroyed = 0
    now = datetime.now(UTC)
    for start in range(0, len(due), RETENTION_BATCH):
        chunk = due[start : start + RETENTION_BATCH]
        data, intake = await retention.destroy_keys(pool, chunk)
        destroyed, intake_destroyed = destroyed + data, intake_destroyed + intake
        events = [purged(tenant, youth, left, days, now) for tenant, youth, left in chunk]
        published += await retention.publish(producer, topic, events)
        if progress is not None:
            progress(published, len(due))
    by_tenant: dict[str, int] = {}
    for tenant, _, _ in due:
        by_tenant[tenant] = by_tenant.get(tenant, 0) + 1
    return RetentionResult(len(due), destroyed, published, intake_destroyed, expired, by_tenant)
