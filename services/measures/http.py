"""HTTP commands of the measures service (caseworkers; tenant and actor from the token)."""

import uuid
from collections.abc import Callable
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from services.measures.domain import MeasuresCase
from shared.auth import Principal
from shared.case_service import record_on_case


class MeasureOfferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    measure_type: str = Field(
        min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$", description="Measure catalogue code."
    )
    offered_on: date
    can_start_on: date | None = None
    measure_id: uuid.UUID | None = Field(
        default=None, description="Client-chosen id; repeating a request with it records it once."
    )


class MeasureOfferRecorded(BaseModel):
    measure_id: uuid.UUID
    youth_id: uuid.UUID
    recorded: bool


def routes(caseworker: Callable[..., Principal]) -> APIRouter:
    router = APIRouter(prefix="/v1")
    Caller = Annotated[Principal, Depends(caseworker)]

    @router.post(
        "/youths/{youth_id}/measure-offers",
        status_code=status.HTTP_201_CREATED,
        response_model=MeasureOfferRecorded,
    )
    async def offer_measure(
        youth_id: uuid.UUID,
        body: MeasureOfferRequest,
        request: Request,
        response: Response,
        caller: Caller,
    ) -> MeasureOfferRecorded:
        measure_id = body.measure_id or uuid.uuid4()
        recorded = await record_on_case(
            request,
            response,
            caller,
            youth_id,
            MeasuresCase,
            lambda case, correlation_id: case.offer_measure(
                measure_id,
                body.measure_type,
                body.offered_on,
                body.can_start_on,
                caller.actor,
                correlation_id,
            ),
        )
        return MeasureOfferRecorded(measure_id=measure_id, youth_id=youth_id, recorded=recorded)

    return router
