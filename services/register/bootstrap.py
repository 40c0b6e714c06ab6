"""Composition root of the register service: the projection consumer, the schedules and the query
API, wired from the settings. Reads top to bottom: the database, the reader, the producer, the
consumer and schedules (at start-up), then the routes with the roles each needs."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from services.register.adapters import access
from services.register.adapters.database import SCHEMA, create_pool, create_tables
from services.register.adapters.export_log import create_export_log
from services.register.adapters.upgrade import stamp, upgrade
from services.register.commands.replay import replay
from services.register.entrypoints.consumers import projection_consumer
from services.register.entrypoints.http.extract import extract_routes
from services.register.entrypoints.http.identity import identity_routes
from services.register.entrypoints.http.lookup import lookup_routes
from services.register.entrypoints.http.names import names_routes
from services.register.entrypoints.http.operations import audit_routes, operations_routes
from services.register.entrypoints.http.register import register_routes
from services.register.entrypoints.http.scb import scb_routes
from services.register.entrypoints.schedules import (
    early_events_loop,
    parked_events_check,
    retention_loop,
)
from shared import access_log
from shared.auth import principal_dependency, require_role
from shared.crypto import TenantKeys
from shared.eventstore import claim_database
from shared.isolation import reader_pool
from shared.runtime import BackgroundLoops, idempotent_producer, service_app
from shared.settings import ServiceSettings


def create_app(settings: ServiceSettings) -> FastAPI:
    database_url = settings.database_url.get_secret_value()

    def today() -> date:
        return settings.today or datetime.now(ZoneInfo("Europe/Stockholm")).date()

    async def setup(app: FastAPI, loops: BackgroundLoops) -> Callable[[], Awaitable[None]]:
        # One database, one deployment: the register's schemas have fixed names (eventstore).
        await asyncio.to_thread(claim_database, database_url, settings.namespace)
        # A register an older projection version built is rebuilt from the topics first.
        await upgrade(
            database_url, settings.kafka_bootstrap_servers, settings.namespace, settings.tenants
        )
        pool = await create_pool(database_url, min_size=1, max_size=8)
        await create_tables(pool)
        async with pool.acquire() as conn:
            await stamp(conn)
        await create_export_log(pool)
        await access_log.create(pool)
        # The query API reads as a role row-level security applies to (shared/isolation.py).
        given = settings.reader_database_url
        app.state.reader = await reader_pool(
            pool, database_url, given.get_secret_value() if given else None,
            settings.master_key.get_secret_value(), access.SERVICE, readable=access.READABLE,
            writable=access.WRITABLE, untenanted=access.UNTENANTED,
            min_size=1, max_size=8, server_settings={"search_path": SCHEMA},
        )  # fmt: skip
        app.state.pool = pool
        producer = idempotent_producer(settings)
        await producer.start()
        loops.add("projection", projection_consumer(settings, pool, producer).run)
        loops.check(parked_events_check(pool))
        loops.add("early-events", early_events_loop(pool, settings.early_event_wait))
        loops.add("retention", retention_loop(settings, pool, producer, today))

        async def teardown() -> None:
            await producer.stop()
            await app.state.reader.close()
            await pool.close()

        return teardown

    async def replayer(tenant: str, as_of: datetime, youth_id: uuid.UUID | None) -> dict[str, Any]:
        return await replay(database_url, tenant, as_of, datetime.now(UTC), youth_id)

    app = service_app(title="kaa register", settings=settings, setup=setup)
    authenticate = principal_dependency(settings.token_verifier(), settings.tenants)
    keys = TenantKeys(settings.master_key.get_secret_value())
    reader = require_role(authenticate, "caseworker", "coordinator", "inspector")
    inspector = require_role(authenticate, "inspector")
    # Dead events: ids, types and reasons only.
    operations = require_role(authenticate, "caseworker", "coordinator", "inspector", "operator")
    app.include_router(audit_routes(inspector, replayer, keys))
    app.include_router(register_routes(reader, today, keys))
    app.include_router(operations_routes(operations))
    app.include_router(scb_routes(require_role(authenticate, "coordinator"), today, keys))
    app.include_router(
        identity_routes(require_role(authenticate, "caseworker", "coordinator"), inspector, keys)
    )
    app.include_router(
        names_routes(require_role(authenticate, "caseworker", "coordinator"), today, keys)
    )
    app.include_router(
        lookup_routes(
            require_role(authenticate, "caseworker", "coordinator"),
            settings.pseudonym_key.get_secret_value(),
        )
    )
    app.include_router(
        extract_routes(require_role(authenticate, "coordinator"), keys, settings.retention_days)
    )
    return app
