"""What the register service does on its own, by the clock: expire casework that waited for its
youth in vain, run retention daily, and report parked events as a health problem."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from services.register.adapters.projection.parking import OPEN_PARKED, expire_waiting
from services.register.commands.retention import run_retention
from services.register.entrypoints.metrics import retention_ran
from shared.contracts.topics import RETENTION_EVENTS
from shared.settings import ServiceSettings

log = structlog.get_logger(__name__)

Loop = Callable[[], Awaitable[None]]


def parked_events_check(pool: asyncpg.Pool) -> Callable[[], Awaitable[list[str]]]:
    """Parked events wait for an operator: the register is degraded until re-applied. (Casework
    waiting for its youth's identification is the normal course, not a problem.)"""

    async def parked_events() -> list[str]:
        waiting = await pool.fetchval(
            f"SELECT count(*) FROM dead_events WHERE {OPEN_PARKED} AND NOT waits_for_youth"  # noqa: S608
        )
        if not waiting:
            return []
        return [
            f"projection: {waiting} event{'s' if waiting != 1 else ''} could not be applied "
            f"and {'are' if waiting != 1 else 'is'} parked "
            "(GET /v1/dead-events); fix the cause, then kaa register reapply"
        ]

    return parked_events


def early_events_loop(pool: asyncpg.Pool, wait_seconds: float) -> Loop:
    """Casework whose youth never arrives within the bound becomes a dead event."""

    async def early_events() -> None:
        while True:
            try:
                expired = await expire_waiting(pool, wait_seconds)
                if expired:
                    log.warning("casework waited for its youth in vain; now dead events",
                                events=expired)  # fmt: skip
            except Exception as exc:  # never the process: the next round tries again
                log.warning("expiring early events failed; next attempt later",
                            error=type(exc).__name__)  # fmt: skip
            await asyncio.sleep(min(wait_seconds / 4, 3600.0))

    return early_events


def retention_loop(
    settings: ServiceSettings,
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    today: Callable[[], date],
) -> Loop:
    """Daily: purge the personal data whose retention has passed (`commands/retention.py`)."""

    async def retention_schedule() -> None:
        while True:
            try:
                result = await run_retention(
                    pool, producer, settings.topic(RETENTION_EVENTS), settings.tenants, today(),
                    settings.retention_days,
                )  # fmt: skip
                retention_ran(settings.tenants, result.purged_by_tenant)
                if result.due or result.expired_intake_keys_destroyed:
                    log.info("retention purged personal data", youths=result.due,
                             keys_destroyed=result.keys_destroyed,
                             intake_keys_destroyed=result.intake_keys_destroyed,
                             expired_intake_keys=result.expired_intake_keys_destroyed)  # fmt: skip
            except (OSError, asyncpg.PostgresError, KafkaError) as exc:
                log.warning("retention run failed; next attempt later", error=str(exc))
            await asyncio.sleep(settings.retention_interval)

    return retention_schedule
