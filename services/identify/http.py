"""School notifications over HTTP (skollagen 15 kap. 15 §), for the role `school-reporter`.

No `from __future__ import annotations` here: FastAPI must see the dependency annotations, which
are built inside `routes`, as real objects.
"""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.identify.application import IdentifyApplication, SchoolNotification
from shared import personnummer
from shared.auth import Principal
from shared.contracts.feeds import SCHOOL_TYPES
from shared.contracts.text import Text


class SchoolNotificationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    personnummer: Text = Field(description="The student's personnummer or samordningsnummer.")
    kind: Literal["started", "left", "absence"]
    on: date = Field(description="Day the student started or left, or the absence began.")
    school_type: Text = Field(description="SS 12000 school type, e.g. GY.")
    school_unit: Text = Field(min_length=1, max_length=100, description="SS 12000 school unit id.")
    hemkommun: Text | None = Field(
        default=None, description="The municipality notified; must be the token's, if given."
    )
    notification_id: uuid.UUID | None = Field(
        default=None, description="Client-chosen id; repeating a request with it records it once."
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


class SchoolNotificationAccepted(BaseModel):
    notification_id: uuid.UUID
    youth_id: uuid.UUID


def routes(reporter: Callable[..., Awaitable[Principal]], today: Callable[[], date]) -> APIRouter:
    router = APIRouter(prefix="/v1")
    Reporter = Annotated[Principal, Depends(reporter)]

    @router.post(
        "/school-notifications",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=SchoolNotificationAccepted,
    )
    async def notify(
        body: SchoolNotificationRequest, request: Request, caller: Reporter
    ) -> SchoolNotificationAccepted:
        if body.hemkommun is not None and body.hemkommun != caller.tenant:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"hemkommun: your token covers {caller.tenant}, not {body.hemkommun}",
            )
        application: IdentifyApplication = request.app.state.application
        notification = SchoolNotification(
            notification_id=body.notification_id or uuid.uuid4(),
            tenant=caller.tenant,
            personnummer=body.personnummer,
            kind=body.kind,
            on=body.on,
            school_type=body.school_type,
            school_unit=body.school_unit,
            reported_by=caller.actor,
        )
        youth_id = await asyncio.to_thread(
            application.take_in_school_notification, notification, today()
        )
        return SchoolNotificationAccepted(
            notification_id=notification.notification_id, youth_id=uuid.UUID(youth_id)
        )

    return router
