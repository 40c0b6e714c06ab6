"""Composition root of the register service: projection consumer and query API."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import structlog
from aiokafka.errors import KafkaError
from fastapi import FastAPI

from services.register import access, retention
from services.register.http import identity_routes, routes, scb_routes
from services.register.projection import (
    OPEN_PARKED,
    SCHEMA,
    RegisterProjection,
    create_pool,
    create_tables,
    expire_waiting,
)
from services.register.replay import replay
from services.register.scb import create_export_log
from shared import access_log
from shared.auth import principal_dependency, require_role
from shared.contracts.events import AnyEvent
from shared.contracts.topics import RETENTION_EVENTS, SUBSCRIPTIONS
from shared.crypto import TenantKeys
from shared.eventstore import claim_database
from shared.isolation import reader_pool
from shared.messaging.consumer import ExactlyOnceConsumer
from shared.messaging.parsing import event_parser
from shared.runtime import BackgroundLoops, idempotent_producer, service_app
from shared.settings import ServiceSettings

log = structlog.get_logger(__name__)


def create_app(settings: ServiceSettings) -> FastAPI:
    async def setup(app: FastAPI, loops: BackgroundLoops) -> Callable[[], Awaitable[None]]:
        # One database, one deployment: the register's schemas have fixed names (eventstore.py).
        await asyncio.to_thread(
            claim_database, settings.database_url.get_secret_value(), settings.namespace
        )
        pool = await create_pool(settings.database_url.get_secret_value(), min_size=1, max_size=8)
        await create_tables(pool)
        await create_export_log(pool)
        await access_log.create(pool)
        # The query API reads as a role row-level security applies to (shared/isolation.py).
        given = settings.reader_database_url
        app.state.reader = await reader_pool(
            pool, settings.database_url.get_secret_value(),
            given.get_secret_value() if given else None, settings.master_key.get_secret_value(),
            access.SERVICE, readable=access.READABLE, writable=access.WRITABLE,
            untenanted=access.UNTENANTED,
            min_size=1, max_size=8, server_settings={"search_path": SCHEMA},
        )  # fmt: skip
        producer = idempotent_producer(settings)
        await producer.start()
        consumer = ExactlyOnceConsumer[AnyEvent](
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=f"{settings.namespace}kaa.register",
            topics=[settings.topic(t) for t in SUBSCRIPTIONS["register"]],
            parse=event_parser(SUBSCRIPTIONS["register"], settings.namespace, settings.tenants),
            sink=RegisterProjection(pool),
            dead_letters=producer,
            service="register",
            batch_size=settings.batch_size,
        )
        loops.add("projection", consumer.run)

        async def parked_events() -> list[str]:
            """Parked events wait for an operator: the register is degraded until re-applied.
            (Casework waiting for its youth's identification is the normal course, not a problem.)"""
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

        loops.check(parked_events)

        async def early_events() -> None:
            """Casework whose youth never arrives within the bound becomes a dead event."""
            while True:
                try:
                    expired = await expire_waiting(pool, settings.early_event_wait)
                    if expired:
                        log.warning("casework waited for its youth in vain; now dead events",
                                    events=expired)  # fmt: skip
                except Exception as exc:  # never the process: the next round tries again
                    log.warning("expiring early events failed; next attempt later",
                                error=type(exc).__name__)  # fmt: skip
                await asyncio.sleep(min(settings.early_event_wait / 4, 3600.0))

        loops.add("early-events", early_events)

        async def retention_schedule() -> None:
            """Daily: purge the personal data whose retention has passed (retention.py)."""
            while True:
                try:
                    result = await retention.run(
                        pool, producer, settings.topic(RETENTION_EVENTS), settings.tenants,
                        today(), settings.retention_days,
                    )  # fmt: skip
                    if result.due or result.expired_intake_keys_destroyed:
                        log.info("retention purged personal data", youths=result.due,
                                 keys_destroyed=result.keys_destroyed,
                                 intake_keys_destroyed=result.intake_keys_destroyed,
                                 expired_intake_keys=result.expired_intake_keys_destroyed)  # fmt: skip
                except (OSError, asyncpg.PostgresError, KafkaError) as exc:
                    log.warning("retention run failed; next attempt later", error=str(exc))
                await asyncio.sleep(settings.retention_interval)

        loops.add("retention", retention_schedule)
        app.state.pool = pool

        async def teardown() -> None:
            await producer.stop()
            await app.state.reader.close()
            await pool.close()

        return teardown

    app = service_app(title="kaa register", settings=settings, setup=setup)
    authenticate = principal_dependency(settings.token_verifier(), settings.tenants)

    def today() -> date:
        return settings.today or datetime.now(ZoneInfo("Europe/Stockholm")).date()

    async def replayer(tenant: str, as_of: datetime, youth_id: uuid.UUID | None) -> dict[str, Any]:
        return await replay(
            settings.database_url.get_secret_value(), tenant, as_of, datetime.now(UTC), youth_id
        )

    reader = require_role(authenticate, "caseworker", "coordinator", "inspector")
    inspector = require_role(authenticate, "inspector")
    operations = require_role(
        authenticate, "caseworker", "coordinator", "inspector", "operator"
    )  # dead events: ids, types and reasons only
    keys = TenantKeys(settings.master_key.get_secret_value())
    app.include_router(routes(reader, today, inspector, replayer, operations, keys=keys))
    coordinator = require_role(authenticate, "coordinator")
    app.include_router(scb_routes(coordinator, today, keys))
    app.include_router(identity_routes(require_role(authenticate, "caseworker", "coordinator"),
                                       inspector, keys))  # fmt: skip
    return app
