"""School notifications over HTTP (skollagen 15 kap. 15 §), for the role `school-reporter`.

A school notifies the student's hemkommun. A reporter's token says which municipalities it may
notify (its tenant, or a consortium token's tenants with the one a request acts for named in
`X-Kaa-Tenant`), and a notification is a fact for that municipality only: sent to 0180 about a
youth folkbokförd in 1480, it changes nothing in 1480's register (the school must notify 1480).
The event names the reporter (its actor), the school unit and, when given, the school's huvudman.

No `from __future__ import annotations` here: FastAPI must see the dependency annotations, which
are built inside `routes`, as real objects.
"""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.identify.commands import IdentifyCommands
from services.identify.commands.in_error import MarkInError, mark_registered_in_error
from services.identify.commands.notifications import (
    NotTheNotifiedMunicipality,
    SchoolNotification,
    check_school_notification,
)
from services.identify.domain import NotificationIdTaken
from services.identify.domain.in_error import AlreadyInError, MarkRefused
from shared import dates, personnummer
from shared.auth import TENANT_HEADER, Principal
from shared.contracts.envelope import Kommunkod
from shared.contracts.events.corrections import NOTE_MAX_LENGTH, CorrectionReasonCode
from shared.contracts.feeds import SCHOOL_TYPES
from shared.contracts.text import FreeText, Text
from shared.logs import correlation_id


class SchoolNotificationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    personnummer: Text = Field(description="The student's personnummer or samordningsnummer.")
    kind: Literal["started", "left", "absence"]
    on: dates.Day = Field(
        description="Day the student started or left, or the absence began (not in the future)."
    )
    school_type: Text = Field(description="SS 12000 school type, e.g. GY.")
    school_unit: Text = Field(min_length=1, max_length=100, description="SS 12000 school unit id.")
    hemkommun: Kommunkod | None = Field(
        default=None,
        description="The municipality notified (the student's hemkommun); if given, it must be the "
        "one the token acts for. A notification counts for that municipality only.",
    )
    reporting_organisation: Text | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="The school's huvudman: organisationsnummer or SS 12000 Organisation id.",
    )
    notification_id: uuid.UUID | None = Field(
        default=None,
        description="Client-chosen id; repeating a request with it records it once, and an id "
        "already used for a different notification is refused (409).",
    )

    @field_validator("personnummer")
    @classmethod
    def _valid(cls, value: str) -> str:
        return personnummer.normalize(value)

    @field_validator("school_type")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in SCHOOL_TYPES:
            raise ValueError("unknown school type (not in SS 12000 Code_SchoolType)")
        return value


class IdentifyRuntime:
    """The handlers as the HTTP API holds them from the start: made empty by the composition root,
    filled when the service has started (`start`). A notification is checked (the command's own
    rules) before the handlers are needed, so a refused one never waits for, or touches, the
    store."""

    def __init__(self) -> None:
        self._handlers: IdentifyCommands | None = None

    def start(self, handlers: IdentifyCommands) -> None:
        self._handlers = handlers

    @property
    def handlers(self) -> IdentifyCommands:
        if self._handlers is None:
            raise RuntimeError("the service has not started")
        return self._handlers

    def take_in_school_notification(
        self, notification: SchoolNotification, today: date
    ) -> tuple[str, bool]:
        """`IdentifyCommands.school_notification_taken`, its refusals before the store."""
        check_school_notification(notification, today)
        return self.handlers.school_notification_taken(notification, today)


class SchoolNotificationAccepted(BaseModel):
    notification_id: uuid.UUID
    youth_id: uuid.UUID
    repeat: bool = Field(
        default=False,
        description="True when this notification (its id and content) was recorded before: "
        "nothing new was recorded.",
    )


def routes(
    runtime: IdentifyRuntime,
    reporter: Callable[..., Awaitable[Principal]],
    today: Callable[[], date],
) -> APIRouter:
    router = APIRouter(prefix="/v1")
    Reporter = Annotated[Principal, Depends(reporter)]

    @router.post(
        "/school-notifications",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=SchoolNotificationAccepted,
    )
    async def notify(
        body: SchoolNotificationRequest, caller: Reporter
    ) -> SchoolNotificationAccepted | JSONResponse:
        notification = SchoolNotification(
            notification_id=body.notification_id or uuid.uuid4(),
            tenant=caller.tenant,
            personnummer=body.personnummer,
            kind=body.kind,
            on=body.on,
            school_type=body.school_type,
            school_unit=body.school_unit,
            reported_by=caller.actor,
            reporting_organisation=body.reporting_organisation,
            correlation_id=correlation_id(),
            hemkommun=body.hemkommun,
        )
        try:
            youth_id, new = await asyncio.to_thread(
                runtime.take_in_school_notification, notification, today()
            )
        except NotTheNotifiedMunicipality as refused:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"{refused.field}: your token does not act for this municipality (a token "
                f"covering several names the one a request acts for in {TENANT_HEADER})",
            ) from None
        except dates.ImplausibleDate as refused:
            raise RequestValidationError(
                [{"loc": ("body", refused.field), "msg": refused.reason,
                  "type": "implausible_date"}]
            ) from None  # fmt: skip
        except NotificationIdTaken as taken:
            return JSONResponse(
                status_code=status.HTTP_409_CONFLICT,
                content={
                    "detail": "conflict",
                    "errors": [{"field": f"body.{taken.field}", "problem": taken.reason}],
                },
            )
        return SchoolNotificationAccepted(
            notification_id=notification.notification_id,
            youth_id=uuid.UUID(youth_id),
            repeat=not new,
        )

    return router


class InErrorRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: CorrectionReasonCode = Field(description="Why the episode should never have been.")
    note: FreeText | None = Field(
        default=None,
        max_length=NOTE_MAX_LENGTH,
        description="Optional note, sealed with the youth's data key (never in logs or events).",
    )


class EpisodeMarked(BaseModel):
    scope_episode_id: uuid.UUID
    youth_id: uuid.UUID
    entered_on: date
    left_on: date
    left_reason: Literal["registered_in_error"]
    rule_version: str


def in_error_routes(
    runtime: IdentifyRuntime, coordinator: Callable[..., Awaitable[Principal]]
) -> APIRouter:
    """A coordinator marks one of the municipality's scope episodes registered in error: it
    leaves today's register and reports (as of the day it began) and stays in the audit replay."""
    router = APIRouter(prefix="/v1")
    Coordinator = Annotated[Principal, Depends(coordinator)]

    @router.post(
        "/youths/{youth_id}/scope-episodes/{scope_episode_id}/registered-in-error",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=EpisodeMarked,
        responses={404: {"description": "No such youth or episode in your municipality"},
                   409: {"description": "The episode is already marked"}},
    )  # fmt: skip
    async def registered_in_error(
        youth_id: uuid.UUID, scope_episode_id: uuid.UUID, body: InErrorRequest, caller: Coordinator
    ) -> EpisodeMarked:
        command = MarkInError(caller.tenant, youth_id, scope_episode_id, body.reason,
                              caller.actor, correlation_id(), body.note)  # fmt: skip
        try:
            marked = await asyncio.to_thread(
                mark_registered_in_error, runtime.handlers.store, command
            )
        except MarkRefused as refusal:
            code = 409 if isinstance(refusal, AlreadyInError) else 404
            raise HTTPException(code, str(refusal)) from None
        assert marked.left_on is not None
        return EpisodeMarked(
            scope_episode_id=scope_episode_id, youth_id=youth_id, entered_on=marked.entered_on,
            left_on=marked.left_on, left_reason="registered_in_error",
            rule_version=marked.rule_version,
        )  # fmt: skip

    return router
