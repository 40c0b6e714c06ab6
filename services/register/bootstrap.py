"""Composition root of the register service: the projection consumer, the schedules and the query
API, wired from the settings. Reads top to bottom: the database, the reader, the producer, the
consumer and schedules (at start-up), then the routes with the roles each needs.

A register an older projection version built is rebuilt first (`adapters/upgrade.py`): in the
background, so `/health` answers at once and says how far it is, the routes answer 503 and the
consumer and schedules start once the rebuilt register is in place."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, HTTPException

from services.register.adapters import access, scratch
from services.register.adapters.database import SCHEMA, create_pool, create_tables
from services.register.adapters.export_log import create_export_log
from services.register.adapters.upgrade import Upgrade, needs_upgrade, stamp, upgrade
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
from shared.runtime import BackgroundLoops, idempotent_producer, service_app, with_closing
from shared.settings import ServiceSettings
from shared.tracing import traced

Loop = Callable[[], Awaitable[None]]


def create_app(settings: ServiceSettings) -> FastAPI:
    database_url = settings.database_url.get_secret_value()

    def today() -> date:
        return settings.today or datetime.now(ZoneInfo("Europe/Stockholm")).date()

    # A register an older projection version built is rebuilt from the topics in the background:
    # /health answers at once and says why the register is not serving yet (adapters/upgrade.py).
    upgrading = Upgrade()

    async def serving() -> None:
        why = upgrading.why()
        if why is not None:
            raise HTTPException(503, f"register: {why}", headers={"Retry-After": "30"})

    @with_closing
    async def setup(app: FastAPI, loops: BackgroundLoops, closing: AsyncExitStack) -> None:
        # One database, one deployment: the register's schemas have fixed names (eventstore).
        await asyncio.to_thread(claim_database, database_url, settings.namespace)
        opened: dict[str, Any] = {}
        in_place = asyncio.Event()

        async def open_register() -> None:
            """Once (a projection loop restarted after an upgrade finds it open); an attempt that
            fails closes what it opened, one that succeeds hands it to the service's teardown."""
            if in_place.is_set():
                return
            async with AsyncExitStack() as opening:
                await upgrade(
                    database_url, settings.kafka_bootstrap_servers, settings.namespace,
                    settings.tenants, shown=upgrading,
                )  # fmt: skip
                pool = await create_pool(database_url, min_size=1, max_size=8)
                opening.push_async_callback(pool.close)
                await create_tables(pool)
                async with pool.acquire() as conn:
                    await stamp(conn)
                    await scratch.sweep(conn)  # what replays killed midway left
                await create_export_log(pool)
                await access_log.create(pool)
                # The query API reads as a role row-level security applies to (shared/isolation.py).
                given = settings.reader_database_url
                reader = await reader_pool(
                    pool, database_url, given.get_secret_value() if given else None,
                    settings.master_key.get_secret_value(), access.SERVICE,
                    readable=access.READABLE, writable=access.WRITABLE,
                    untenanted=access.UNTENANTED, min_size=1, max_size=8,
                    server_settings={"search_path": SCHEMA},
                )  # fmt: skip
                opening.push_async_callback(reader.close)
                producer = idempotent_producer(settings)
                opening.push_async_callback(producer.stop)  # also what a failed start left open
                await producer.start()
                closing.push_async_exit(opening.pop_all())
                closing.push_async_callback(scratch.all_dropped)  # before the pools close
            opened.update(pool=pool, reader=reader, producer=producer)
            app.state.pool, app.state.reader = pool, reader
            upgrading.active = False
            in_place.set()

        def once_in_place(loop: Callable[[], Loop]) -> Loop:
            """A loop that starts when the register is in place (made then, of what is open)."""

            async def run() -> None:
                await in_place.wait()
                await loop()()

            return run

        if await needs_upgrade(database_url):
            upgrading.active = True  # rebuilt by the projection loop, in the background

            async def projection() -> None:
                await open_register()
                await projection_consumer(settings, opened["pool"], opened["producer"]).run()

            loops.add("projection", projection)
        else:
            await open_register()
            loops.add(
                "projection", projection_consumer(settings, opened["pool"], opened["producer"]).run
            )
        loops.check(upgrading.problems)

        async def parked() -> list[str]:
            return await parked_events_check(opened["pool"])() if in_place.is_set() else []

        loops.check(parked)
        loops.add(
            "early-events",
            once_in_place(lambda: early_events_loop(opened["pool"], settings.early_event_wait)),
        )
        loops.add(
            "retention",
            once_in_place(
                lambda: retention_loop(settings, opened["pool"], opened["producer"], today)
            ),
        )

    async def replayer(tenant: str, as_of: datetime, youth_id: uuid.UUID | None) -> dict[str, Any]:
        return await replay(database_url, tenant, as_of, datetime.now(UTC), youth_id,
                            answer_first=True)  # fmt: skip

    app = service_app(title="kaa register", settings=settings, setup=setup)
    authenticate = principal_dependency(settings.token_verifier(), settings.tenants)
    keys = TenantKeys(settings.master_key.get_secret_value())
    reader = require_role(authenticate, "caseworker", "coordinator", "inspector")
    inspector = require_role(authenticate, "inspector")
    # Dead events: ids, types and reasons only.
    operations = require_role(authenticate, "caseworker", "coordinator", "inspector", "operator")
    casework = require_role(authenticate, "caseworker", "coordinator")
    routers = [
        audit_routes(inspector, replayer, keys),
        register_routes(reader, today, keys),
        operations_routes(operations),
        scb_routes(require_role(authenticate, "coordinator"), today, keys),
        identity_routes(casework, inspector, keys),
        names_routes(casework, today, keys),
        lookup_routes(casework, settings.pseudonym_key.get_secret_value()),
        extract_routes(require_role(authenticate, "coordinator"), keys, settings.retention_days),
    ]
    for router in routers:  # each answers 503 while the register is being rebuilt
        app.include_router(router, dependencies=[Depends(serving)])
    return traced(app, "register")  # when a collector is named (OTEL_EXPORTER_OTLP_ENDPOINT)
