"""The composition of a caseworker service (outreach, measures), read top to bottom.

Both: an event store of youth cases fed by identify's events, HTTP commands authorised by token,
and an outbox relay publishing their own events. Only the domain, the routes and any further
inputs differ; each service's own `bootstrap.py` names those.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from typing import Any

import asyncpg
from fastapi import APIRouter, FastAPI
from starlette.middleware import Middleware

from shared import access_log
from shared.auth import principal_dependency, require_role
from shared.casework.adapters.reader import TenantConnection
from shared.casework.adapters.store import CaseApplication
from shared.casework.commands import CaseRuntime
from shared.casework.entrypoints.consumers import LOOP, BatchHandler, inputs_consumer
from shared.casework.entrypoints.fast import FastRoute, FastRoutes
from shared.casework.entrypoints.http import CaseRoutes, add_refusal_handlers
from shared.contracts.topics import dead_letter_topic
from shared.crypto import KEYRING_DDL, TenantKeys
from shared.eventstore import ensure_schema, eventsourcing_env
from shared.isolation import reader_pool
from shared.messaging.relay import Mapper, OutboxRelay
from shared.runtime import BackgroundLoops, idempotent_producer, service_app, with_closing
from shared.settings import ServiceSettings


async def _keep_session(conn: asyncpg.Connection) -> None:
    """The read pool's connections hold no session state but the municipality, which each
    acquire checks (`adapters.reader`), so a connection goes back to the pool as it is instead of
    being reset: a round trip per request."""


async def _read_pool(
    settings: ServiceSettings, name: str, application: CaseApplication
) -> asyncpg.Pool:
    """The pool the query API reads the read tables with, as a role row-level security applies
    to (shared/isolation.py); it also appends to the access log. Creates the access log and the
    keyring (the data keys free text and contact details are sealed with) first."""
    database_url = settings.database_url.get_secret_value()
    read_tables = [f"{name}.{table}" for table in application.read_tables]
    owner = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:
        await access_log.create(owner)
        await owner.execute(KEYRING_DDL)
        given = settings.reader_database_url
        return await reader_pool(
            owner, database_url, given.get_secret_value() if given else None,
            settings.master_key.get_secret_value(), name, readable=read_tables,
            writable=["access_log.entries"], min_size=2, max_size=10, reset=_keep_session,
            connection_class=TenantConnection,
        )  # fmt: skip
    finally:
        await owner.close()


def create_case_service(
    *,
    name: str,
    settings: ServiceSettings,
    application_class: type[CaseApplication],
    mapper: Mapper,
    relayed: tuple[type[Any], ...],
    routes: Callable[[CaseRoutes], APIRouter],
    also_consume: dict[str, Callable[[Any], BatchHandler]] | None = None,
    runtime: CaseRuntime[Any] | None = None,
    prepare: Callable[[Any], None] | None = None,
    fast_routes: Callable[[CaseRoutes], Sequence[FastRoute]] | None = None,
) -> FastAPI:
    """A caseworker service. `also_consume` maps further topics to what picks, from the
    application, the method that takes their batches (outreach reads the measures service's
    follow-ups); `runtime`, what the service's command handlers run on, is filled when the
    service starts; `prepare(application)`, run before any input is read, makes a service's
    further tables and hooks (outreach: letters); `fast_routes(context)`, the service's hottest
    routes answered the light way (`entrypoints.fast`; `KAA_FAST_ROUTES=false` leaves every request
    to the framework, to compare or should an answer ever differ)."""

    @with_closing
    async def setup(app: FastAPI, loops: BackgroundLoops, closing: AsyncExitStack) -> None:
        # The event store.
        database_url = settings.database_url.get_secret_value()
        await asyncio.to_thread(ensure_schema, database_url, name, namespace=settings.namespace)
        application = await asyncio.to_thread(
            application_class, env=eventsourcing_env(database_url, name)
        )
        closing.push_async_callback(asyncio.to_thread, application.close)
        application.tenant_keys = TenantKeys(settings.master_key.get_secret_value())
        if prepare is not None:
            await asyncio.to_thread(prepare, application)
        # The read side of the HTTP API.
        pool = await _read_pool(settings, name, application)
        closing.push_async_callback(pool.close)
        # Kafka: the inputs, and the outbox relay publishing the service's own events.
        producer = idempotent_producer(settings)
        closing.push_async_callback(producer.stop)  # also what a start that failed left open
        await producer.start()
        consumer = inputs_consumer(
            name, settings, application, producer,
            {topic: pick(application) for topic, pick in (also_consume or {}).items()},
        )  # fmt: skip
        relay = OutboxRelay(
            application, producer, mapper, topic_prefix=settings.namespace, relayed=relayed,
            park_topic=dead_letter_topic(settings.topic(f"kaa.{name}.events.v1")), service=name,
        )  # fmt: skip
        loops.add(LOOP, consumer.run)
        loops.parked("consumer", lambda: (consumer.parked.count, consumer.parked.last_reason))
        loops.parked("outbox-relay", lambda: (relay.parked.count, relay.parked.last_reason))
        loops.add("outbox-relay", relay.run)
        app.state.application = application
        app.state.pool = pool
        app.state.schema = name
        if runtime is not None:
            runtime.start(application, pool, name)

    # The HTTP API: refusals as answers, who may call what, the service's routes.
    app = service_app(title=f"kaa {name}", settings=settings, setup=setup)
    add_refusal_handlers(app)
    authenticate = principal_dependency(settings.token_verifier(), settings.tenants)
    context = CaseRoutes(
        caseworker=require_role(authenticate, "caseworker", "coordinator"),
        coordinator=require_role(authenticate, "coordinator"),
        settings=settings,
        configurer=require_role(authenticate, "coordinator", "consortium-admin"),
        configuration_reader=require_role(
            authenticate, "caseworker", "coordinator", "consortium-admin"
        ),
        service=name,
    )
    app.include_router(routes(context))
    if fast_routes is not None and settings.fast_routes:
        # The innermost of the middlewares (`add_middleware` puts a new one outermost): inside
        # the correlation id, the request line, the metrics, the body limit and the gate.
        app.user_middleware.append(Middleware(FastRoutes, routes=fast_routes(context)))
    return app
