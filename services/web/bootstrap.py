"""Composition root of the web application, read top to bottom: its settings, the services' APIs,
the sessions in PostgreSQL, the pages and their static files, and the security headers."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from services.web.adapters.config import WebConfig
from services.web.adapters.live import LiveHub, LiveSubscriber
from services.web.adapters.services_api import ServicesApi
from services.web.adapters.sessions import SessionStore
from services.web.entrypoints.common import Web
from services.web.entrypoints.coordinator_pages import coordinator_routes
from services.web.entrypoints.errors import error_pages
from services.web.entrypoints.inspector_pages import inspector_routes
from services.web.entrypoints.live import live_routes
from services.web.entrypoints.operator_pages import operator_routes
from services.web.entrypoints.pages import pages
from services.web.entrypoints.plan_pages import plan_routes
from services.web.entrypoints.scb_pages import scb_routes
from services.web.entrypoints.school_pages import school_routes
from services.web.entrypoints.security import SecurityHeaders
from services.web.entrypoints.signin import OidcFlow, signin_routes
from services.web.entrypoints.youth_pages import youth_routes
from shared.contracts.topics import namespace_prefix
from shared.runtime import BackgroundLoops, service_app, with_closing
from shared.settings import ServiceSettings
from shared.tracing import traced

STATIC = Path(__file__).resolve().parent / "static"
SWEEP_SECONDS = 600.0


def create_app(settings: ServiceSettings, config: WebConfig | None = None) -> FastAPI:
    config = config or WebConfig()
    web = Web(
        config=config,
        api=ServicesApi(config),
        store=None,
        token_secret=settings.token_secret.get_secret_value(),
        tenants=list(settings.tenants),
        fixed_today=settings.today,
        max_token_seconds=settings.token_max_lifetime,
    )
    hub = LiveHub()  # the open pages' live-update streams
    oidc = OidcFlow(web, settings) if config.oidc_configured else None  # the provider's sign-in

    @with_closing
    async def setup(app: FastAPI, loops: BackgroundLoops, closing: AsyncExitStack) -> None:
        store = web.store = await SessionStore.open(
            settings.database_url.get_secret_value(),
            idle=timedelta(minutes=config.session_idle_minutes),
            absolute=timedelta(hours=config.session_absolute_hours),
        )
        closing.push_async_callback(store.close)

        async def sweep() -> None:  # sessions past their absolute end
            while True:
                await web.sessions.sweep()
                await asyncio.sleep(SWEEP_SECONDS)

        loops.add("session-sweep", sweep)
        live = LiveSubscriber(settings.kafka_bootstrap_servers,
                              namespace_prefix(settings.namespace), settings.tenants, hub)  # fmt: skip
        loops.add("live-updates", live.run)
        # Made with the app, not by an attempt: closed by the teardown only (first, as before).
        if oidc is not None:
            closing.push_async_callback(oidc.close)
        closing.push_async_callback(web.api.close)

    app = service_app(title="kaa web", settings=settings, setup=setup)
    app.add_middleware(SecurityHeaders)
    for exception, handler in error_pages(web).items():
        app.add_exception_handler(exception, handler)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in routers(web, hub, oidc):
        app.include_router(router)
    return traced(app, "web")  # when a collector is named (OTEL_EXPORTER_OTLP_ENDPOINT)


def routers(web: Web, hub: LiveHub, oidc: OidcFlow | None) -> list[APIRouter]:
    """Every page of the web application, by whom they are for (the page matrix test builds the
    same list)."""
    return [
        signin_routes(web, oidc),
        pages(web),  # Min dag
        live_routes(web, hub),
        youth_routes(web),  # a youth's case
        plan_routes(web),  # a youth's plan and measures
        coordinator_routes(web),
        scb_routes(web),
        inspector_routes(web),
        school_routes(web),
        operator_routes(web),
    ]
