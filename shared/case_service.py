"""Assembly shared by the two caseworker services (outreach, measures).

Both: an event store of youth cases fed by identify's events, HTTP commands authorised by token,
and an outbox relay publishing their own events. Only the domain and the routes differ.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response, status
from pydantic import TypeAdapter

from shared.auth import Principal, principal_dependency, require_role
from shared.cases import CaseApplication, CaseNotFound, NotInScope, ScopedYouthCase
from shared.contracts.events import AnyEvent
from shared.contracts.topics import IDENTIFY_EVENTS
from shared.eventstore import ensure_schema, eventsourcing_env
from shared.messaging.consumer import ExactlyOnceConsumer
from shared.messaging.eventstore_sink import EventStoreSink
from shared.messaging.parsing import parser
from shared.messaging.relay import Mapper, OutboxRelay
from shared.runtime import BackgroundLoops, idempotent_producer, service_app
from shared.settings import ServiceSettings

C = TypeVar("C", bound=ScopedYouthCase)


def caseworker(settings: ServiceSettings) -> Callable[..., Principal]:
    authenticate = principal_dependency(settings.token_secret.get_secret_value(), settings.tenants)
    return require_role(authenticate, "caseworker", "coordinator")


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
    request), which answers 200 instead of 201. Domain refusals become 404 / 409.
    """
    application = application_of(request)
    correlation_id = uuid.uuid4()

    def action(case: Any) -> bool:
        if not isinstance(case, case_class):
            raise TypeError(f"expected a {case_class.__name__}")
        return record(case, correlation_id)

    try:
        recorded: bool = await asyncio.to_thread(
            application.command, youth_id, caller.tenant, action
        )
    except CaseNotFound:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, "youth_id: no such youth in your municipality"
        ) from None
    except NotInScope:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "youth_id: the youth is not in the municipality's activity responsibility now",
        ) from None
    if not recorded:
        response.status_code = status.HTTP_200_OK
    return recorded


def create_case_service(
    *,
    name: str,
    settings: ServiceSettings,
    application_class: type[CaseApplication],
    mapper: Mapper,
    relayed: tuple[type[Any], ...],
    routes: Callable[[Callable[..., Principal]], APIRouter],
) -> FastAPI:
    async def setup(app: FastAPI, loops: BackgroundLoops) -> Callable[[], Awaitable[None]]:
        database_url = settings.database_url.get_secret_value()
        await asyncio.to_thread(ensure_schema, database_url, name)
        application = await asyncio.to_thread(
            application_class, env=eventsourcing_env(database_url, name)
        )
        producer = idempotent_producer(settings)
        await producer.start()
        consumer = ExactlyOnceConsumer[AnyEvent](
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=f"{settings.namespace}kaa.{name}",
            topics=[settings.topic(IDENTIFY_EVENTS)],
            parse=parser(TypeAdapter(AnyEvent), settings.tenants),
            sink=EventStoreSink(application, application.take_in_identify_batch),
            dead_letters=producer,
            service=name,
            batch_size=settings.batch_size,
        )
        relay = OutboxRelay(
            application, producer, mapper, topic_prefix=settings.namespace, relayed=relayed
        )
        loops.add("identify-consumer", consumer.run)
        loops.add("outbox-relay", relay.run)
        app.state.application = application

        async def teardown() -> None:
            await producer.stop()
            await asyncio.to_thread(application.close)

        return teardown

    app = service_app(title=f"kaa {name}", settings=settings, setup=setup)
    app.include_router(routes(caseworker(settings)))
    return app
