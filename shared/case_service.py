"""Assembly shared by the two caseworker services (outreach, measures).

Both: an event store of youth cases fed by identify's events, HTTP commands authorised by token,
and an outbox relay publishing their own events. Only the domain and the routes differ.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import asyncpg
from fastapi import APIRouter, FastAPI, Request, Response, status
from fastapi.responses import JSONResponse

from shared import access_log, dates
from shared.auth import Principal, principal_dependency, require_role
from shared.cases import (
    CaseApplication,
    CaseNotFound,
    CommandRefused,
    NotInScope,
    ScopedYouthCase,
)
from shared.contracts.events import AnyEvent
from shared.contracts.topics import IDENTIFY_EVENTS, SUBSCRIPTIONS, dead_letter_topic
from shared.crypto import KEYRING_DDL, TenantKeys
from shared.eventstore import ensure_schema, eventsourcing_env
from shared.isolation import TenantScoped, reader_pool
from shared.logs import correlation_id as request_correlation_id
from shared.messaging.consumer import ExactlyOnceConsumer
from shared.messaging.eventstore_sink import EventStoreSink
from shared.messaging.parsing import event_parser
from shared.messaging.relay import Mapper, OutboxRelay
from shared.runtime import BackgroundLoops, idempotent_producer, service_app
from shared.settings import ServiceSettings

C = TypeVar("C", bound=ScopedYouthCase)
STOCKHOLM = ZoneInfo("Europe/Stockholm")
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class CaseRoutes:
    """What a caseworker service's routes need: who may call, and what day it is."""

    caseworker: Callable[..., Awaitable[Principal]]
    coordinator: Callable[..., Awaitable[Principal]]
    settings: ServiceSettings
    # Configuration (time rules, the measure catalogue): no personal data, so the consortium's
    # administrator may keep it too.
    configurer: Callable[..., Awaitable[Principal]]
    configuration_reader: Callable[..., Awaitable[Principal]]
    service: str = "case"

    async def logged(
        self, request: Request, caller: Principal, youth_id: uuid.UUID, what: str
    ) -> None:
        """The access log entry of a read of a youth's casework (shared/access_log.py)."""
        async with TenantScoped(request.app.state.pool, caller.tenant).acquire() as conn:
            entry = access_log.Access(caller.tenant, caller.actor, "casework", what, self.service)
            await access_log.record(conn, entry, [youth_id])

    def today(self) -> date:
        return self.settings.today or datetime.now(STOCKHOLM).date()

    def check_past(self, field: str, value: date | datetime) -> None:
        """Refuse a date of something that has happened (casework under the activity
        responsibility) that cannot be true: in the future, before 2015-01-01, before 1900
        (`shared.dates`, the one rule)."""
        if isinstance(value, datetime):
            now = datetime.now(UTC) if self.settings.today is None else None
            if now is not None and value > now + CLOCK_SKEW:
                raise CommandRefused(field, "is in the future")
        dates.check(field, value, today=self.today(), since_law=True)

    def check_dates(self, values: dict[str, date | None]) -> None:
        """Refuse a date of casework (a plan's, a measure's) that cannot be true whether past or
        future: before 2015-01-01 or before 1900 (`shared.dates`)."""
        for field, value in values.items():
            dates.check(field, value, since_law=True)


def application_of(request: Request) -> CaseApplication:
    application: CaseApplication = request.app.state.application
    return application


async def record_on_case(
    request: Request,
    response: Response,
    caller: Principal,
    youth_id: uuid.UUID,
    case_class: type[C],
    record: Callable[[C, uuid.UUID], bool],
) -> bool:
    """Run a recording command on the caller's case, off the event loop.

    `record(case, correlation_id)` returns False when the thing was already recorded (a retried
    request), which answers 200 instead of 201. Refusals become 404 / 409 / 422 (see
    `add_refusal_handlers`).
    """
    application = application_of(request)
    correlation_id = request_correlation_id()  # the request's: its events carry it

    def action(case: Any) -> bool:
        if not isinstance(case, case_class):
            raise TypeError(f"expected a {case_class.__name__}")
        return record(case, correlation_id)

    recorded: bool = await application.submit(youth_id, caller.tenant, action)
    if not recorded:
        response.status_code = status.HTTP_200_OK
    return recorded


async def rules_of(application: CaseApplication, tenant: str) -> dict[str, int]:
    """The tenant's rules: from memory when fresh, else read off the event loop."""
    cached = application.cached_rules(tenant)
    if cached is not None:
        return cached
    return await asyncio.to_thread(application.rules, tenant)


def add_refusal_handlers(app: FastAPI) -> None:
    """Domain refusals as HTTP answers naming the field and the reason; another municipality's
    youth is 'not found' (its existence is not disclosed)."""

    def problem(code: int, detail: str, field: str, reason: str) -> JSONResponse:
        return JSONResponse(
            status_code=code,
            content={"detail": detail, "errors": [{"field": field, "problem": reason}]},
        )

    @app.exception_handler(CaseNotFound)
    async def _not_found(request: Request, exc: CaseNotFound) -> JSONResponse:
        return problem(404, "not found", "youth_id", "no such youth in your municipality")

    @app.exception_handler(NotInScope)
    async def _not_in_scope(request: Request, exc: NotInScope) -> JSONResponse:
        return problem(
            409,
            "not allowed now",
            "youth_id",
            "the youth is not in the municipality's activity responsibility now",
        )

    @app.exception_handler(CommandRefused)
    async def _refused(request: Request, exc: CommandRefused) -> JSONResponse:
        if exc.conflict:
            return problem(409, "not allowed now", exc.field, exc.reason)
        return problem(422, "invalid request", exc.field, exc.reason)

    @app.exception_handler(dates.ImplausibleDate)
    async def _implausible(request: Request, exc: dates.ImplausibleDate) -> JSONResponse:
        return problem(422, "invalid request", exc.field, exc.reason)


async def _keep_session(conn: asyncpg.Connection) -> None:
    """The read pool's connections hold no session state but the municipality, which is set anew
    on every acquire (`TenantScoped`), so a connection goes back to the pool as it is instead of
    being reset: a round trip per request."""


def create_case_service(
    *,
    name: str,
    settings: ServiceSettings,
    application_class: type[CaseApplication],
    mapper: Mapper,
    relayed: tuple[type[Any], ...],
    routes: Callable[[CaseRoutes], APIRouter],
    also_consume: dict[str, Callable[[Any], Callable[[list[Any], str, int, int], None]]]
    | None = None,
) -> FastAPI:
    """A caseworker service. `also_consume` maps further topics to the application method that
    takes their batches (outreach reads the measures service's follow-ups)."""

    async def setup(app: FastAPI, loops: BackgroundLoops) -> Callable[[], Awaitable[None]]:
        database_url = settings.database_url.get_secret_value()
        await asyncio.to_thread(ensure_schema, database_url, name, namespace=settings.namespace)
        application = await asyncio.to_thread(
            application_class, env=eventsourcing_env(database_url, name)
        )
        application.tenant_keys = TenantKeys(settings.master_key.get_secret_value())
        producer = idempotent_producer(settings)
        await producer.start()
        handlers: dict[str, Callable[[list[Any], str, int, int], None]] = {
            settings.topic(IDENTIFY_EVENTS): application.take_in_identify_batch,
            **{settings.topic(t): pick(application) for t, pick in (also_consume or {}).items()},
        }

        declared = {settings.topic(t) for t in SUBSCRIPTIONS[name]}
        if set(handlers) != declared:  # the contract's declaration is what the documents show
            raise RuntimeError(
                f"{name} consumes {sorted(handlers)}, its contract {sorted(declared)}"
            )

        def apply_batch(messages: list[Any], topic: str, partition: int, offset: int) -> None:
            handlers[topic](messages, topic, partition, offset)

        # The read tables are read as a role row-level security applies to (shared/isolation.py);
        # it also appends to the access log.
        read_tables = [f"{name}.{table}" for table in application.read_tables]
        owner = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
        try:
            await access_log.create(owner)
            await owner.execute(KEYRING_DDL)  # the data keys contact details are sealed with
            given = settings.reader_database_url
            pool = await reader_pool(
                owner, database_url, given.get_secret_value() if given else None,
                settings.master_key.get_secret_value(), name, readable=read_tables,
                writable=["access_log.entries"], min_size=2, max_size=10, reset=_keep_session,
            )  # fmt: skip
        finally:
            await owner.close()
        consumer = ExactlyOnceConsumer[AnyEvent](
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=f"{settings.namespace}kaa.{name}",
            topics=list(handlers),
            parse=event_parser(SUBSCRIPTIONS[name], settings.namespace, settings.tenants),
            sink=EventStoreSink(application, apply_batch),
            dead_letters=producer,
            service=name,
            batch_size=settings.batch_size,
        )
        relay = OutboxRelay(
            application, producer, mapper, topic_prefix=settings.namespace, relayed=relayed,
            park_topic=dead_letter_topic(settings.topic(f"kaa.{name}.events.v1")), service=name,
        )  # fmt: skip
        loops.add("identify-consumer", consumer.run)
        loops.parked("consumer", lambda: (consumer.parked.count, consumer.parked.last_reason))
        loops.parked("outbox-relay", lambda: (relay.parked.count, relay.parked.last_reason))
        loops.add("outbox-relay", relay.run)
        app.state.application = application
        app.state.pool = pool
        app.state.schema = name

        async def teardown() -> None:
            await producer.stop()
            await pool.close()
            await asyncio.to_thread(application.close)

        return teardown

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
    return app
