"""Composition root of the connect service, read top to bottom: settings and the organisers
(`KAA_CONNECTORS_FILE`), the state in PostgreSQL, the producer and the feed publisher, a loop per
organiser, the population directory's watcher (`KAA_POPULATION_DIR`), the callback and operator
routes.

Its own service rather than a part of identify's intake: it talks HTTP outwards to many
organisers with their own credentials, waits on their rate limits and takes their callbacks from
outside, none of which may slow or stop identify's consumer; and what it produces goes through
the very intake a loaded file does (sealed per person onto the feed topics, validated and
dead-lettered by identify), so identify needs nothing new to trust it.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

import asyncpg
import httpx
import structlog
from fastapi import FastAPI

from services.connect.adapters.leadership import Leadership, key
from services.connect.adapters.publisher import FeedPublisher
from services.connect.adapters.ss12000 import Ss12000Client
from services.connect.adapters.state import ConnectState
from services.connect.commands.sync import OrganiserSync
from services.connect.entrypoints.deliveries import (
    delivery_loop,
    delivery_problems,
    delivery_status,
)
from services.connect.entrypoints.http import ConnectRuntime, routes
from services.connect.entrypoints.loops import OrganiserLoop
from shared import connectors
from shared.auth import principal_dependency, require_role
from shared.contracts.topics import SS12000_FEED
from shared.crypto import TenantKeys
from shared.runtime import BackgroundLoops, idempotent_producer, service_app, with_closing
from shared.settings import ServiceSettings
from shared.tracing import traced

log = structlog.get_logger(__name__)


def create_app(settings: ServiceSettings) -> FastAPI:
    connected = (
        connectors.load(settings.connectors_file, settings.tenants)
        if settings.connectors_file
        else connectors.Connectors({})
    )
    runtime = ConnectRuntime()

    @with_closing
    async def setup(app: FastAPI, loops: BackgroundLoops, closing: AsyncExitStack) -> None:
        keys = TenantKeys(settings.master_key.get_secret_value())
        pseudonym = settings.pseudonym_key.get_secret_value()
        pool = await asyncpg.create_pool(
            settings.database_url.get_secret_value(), min_size=1, max_size=4
        )
        closing.push_async_callback(pool.close)
        state = ConnectState(pool, keys, pseudonym)
        await state.ensure([(t, o.id, o.source, o.name) for t, o in connected.all()])
        producer = idempotent_producer(settings)
        closing.push_async_callback(producer.stop)  # also what a start that failed left open
        await producer.start()
        publisher = FeedPublisher(producer, pool, keys, pseudonym, settings.topic(SS12000_FEED))
        http = httpx.AsyncClient()
        closing.push_async_callback(http.aclose)

        # One process of the deployment runs the loops; a callback reaches it by NOTIFY.
        leadership = Leadership(settings.database_url.get_secret_value())
        closing.push_async_callback(leadership.close)
        loops.add("leadership", leadership.run)
        organiser_loops = []
        for tenant, organiser in connected.all():
            client = Ss12000Client(organiser, organiser.client_secret(), http)
            sync = OrganiserSync(tenant, organiser, client, state, publisher)
            loop = OrganiserLoop(sync, settings.connect_public_url)
            organiser_loops.append(loop)
            loops.add(loop.name, leadership.leading(loop.run))
            leadership.callbacks[key(tenant, organiser.id)] = loop.callback
        runtime.state = state
        runtime.configured = {(t, o.id) for t, o in connected.all()}
        runtime.wake = lambda tenant, organiser: leadership.notify(pool, tenant, organiser)

        async def failing() -> list[str]:  # /health: degraded while an organiser fails
            rows = await state.all(settings.tenants, runtime.configured)
            return [f"{r.last_error}" for r in rows if r.errors_in_a_row and r.last_error]

        loops.check(failing)
        if settings.population_dir is not None:
            loops.add("population deliveries", leadership.leading(delivery_loop(settings)))
            runtime.deliveries = delivery_status
            loops.check(delivery_problems)
        log.info(
            "connect: organisers", count=len(organiser_loops),
            subscriptions=settings.connect_public_url is not None,
            population_dir=settings.population_dir is not None,
        )  # fmt: skip

    app = service_app(title="kaa connect", settings=settings, setup=setup)
    authenticate = principal_dependency(settings.token_verifier(), settings.tenants)
    app.include_router(routes(runtime, require_role(authenticate, "operator")))
    return traced(app, "connect")  # when a collector is named (OTEL_EXPORTER_OTLP_ENDPOINT)
