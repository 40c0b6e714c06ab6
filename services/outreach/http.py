"""HTTP commands of the outreach service (caseworkers; tenant and actor from the token).

No `from __future__ import annotations` here: FastAPI must see the dependency annotations, which
are built inside `routes`, as real objects.
"""

import uuid
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.outreach.domain import OutreachCase
from shared.auth import Principal
from shared.case_service import record_on_case
from shared.contracts.events import ContactChannel, ContactOutcome


class ContactAttemptRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: ContactChannel
    outcome: ContactOutcome
    attempted_at: AwareDatetime
    contact_attempt_id: uuid.UUID | None = Field(
        default=None, description="Client-chosen id; repeating a request with it records it once."
    )


class ContactAttemptRecorded(BaseModel):
    contact_attempt_id: uuid.UUID
    youth_id: uuid.UUID
    recorded: bool = Field(description="False when this id had been recorded already (a retry).")


def routes(caseworker: Callable[..., Principal]) -> APIRouter:
    router = APIRouter(prefix="/v1")
    Caller = Annotated[Principal, Depends(caseworker)]

    @router.post(
        "/youths/{youth_id}/contact-attempts",
        status_code=status.HTTP_201_CREATED,
        response_model=ContactAttemptRecorded,
    )
    async def attempt_contact(
        youth_id: uuid.UUID,
        body: ContactAttemptRequest,
        request: Request,
        response: Response,
        caller: Caller,
    ) -> ContactAttemptRecorded:
        attempt_id = body.contact_attempt_id or uuid.uuid4()
        recorded = await record_on_case(
            request,
            response,
            caller,
            youth_id,
            OutreachCase,
            lambda case, correlation_id: case.attempt_contact(
                attempt_id,
                body.channel,
                body.outcome,
                body.attempted_at,
                caller.actor,
                correlation_id,
            ),
        )
        return ContactAttemptRecorded(
            contact_attempt_id=attempt_id, youth_id=youth_id, recorded=recorded
        )

    return router
