"""HTTP API of corrections and withdrawals in the measures service (a caseworker or coordinator of
the youth's municipality):

    POST /v1/youths/{youth_id}/measures/{measure_id}/corrections   a step recorded again
    POST /v1/youths/{youth_id}/measures/{measure_id}/withdrawals   a step that did not happen
    POST /v1/youths/{youth_id}/plan/corrections                     a plan revision recorded again
    POST /v1/youths/{youth_id}/plan/withdrawals                     a plan revision withdrawn
    POST /v1/youths/{youth_id}/follow-ups/{follow_up_id}/corrections a completion on another day
    POST /v1/youths/{youth_id}/follow-ups/{follow_up_id}/withdrawals a completion withdrawn
    POST /v1/youths/{youth_id}/objections/corrections               an objection on another day
    POST /v1/youths/{youth_id}/objections/withdrawals               an objection withdrawn

The body names the entry by the event id the views show (`corrects` / `withdraws`), a reason
code, an optional note (at most 300 characters, sealed), and for a correction the fact's fields
as for recording it. 201 when recorded, 200 with `recorded: false` for a retry. An event id that
is no entry of this youth's measures (of the measure named), or a youth of another municipality:
404 naming `corrects` / `withdraws`; a step others depend on, a correction out of order, an entry
corrected since: 409 naming the field; a bad reason or note: 422 naming it. Values never echoed.

No `from __future__ import annotations` here: FastAPI must see the dependency annotations.
"""

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.measures.commands import Effort
from services.measures.commands.corrections import (
    CorrectDay,
    CorrectPlanRevision,
    CorrectStep,
    MeasuresCorrections,
    Withdraw,
    WithdrawDay,
)
from services.measures.entrypoints.http import Code, Mapping, Recorded
from services.measures.entrypoints.http import Effort as EffortBody
from shared.auth import Principal
from shared.casework.domain import CaseNotFound
from shared.casework.entrypoints.http import CaseRoutes, Note, WithdrawalRequest, answer_recorded
from shared.contracts.events import CorrectionReasonCode
from shared.contracts.text import FreeText


class StepCorrectionRequest(BaseModel):
    """The step recorded again: its day (`on`; an offer's may be given as `offered_on`), and an
    offer's `measure_type`, `can_start_on`, `content`, an end's `end_reason`,
    `occupation_after`."""

    model_config = ConfigDict(extra="forbid")
    corrects: uuid.UUID = Field(description="The event id of the step it corrects (the latest).")
    reason: CorrectionReasonCode
    note: FreeText | None = Note
    on: date | None = None
    offered_on: date | None = None
    measure_type: Code | None = None
    can_start_on: date | None = None
    content: FreeText | None = Field(default=None, max_length=500)
    end_reason: Code | None = None
    occupation_after: Code | None = None


class DayCorrectionRequest(BaseModel):
    """A follow-up's completion or an objection recorded again on another day (`on`)."""

    model_config = ConfigDict(extra="forbid")
    corrects: uuid.UUID = Field(description="The event id of the entry it corrects (the latest).")
    reason: CorrectionReasonCode
    note: FreeText | None = Note
    on: date


class PlanCorrectionRequest(BaseModel):
    """The revision recorded again (the same number); `valid_from` left out keeps its day."""

    model_config = ConfigDict(extra="forbid")
    corrects: uuid.UUID = Field(description="The event id of the revision (the latest).")
    reason: CorrectionReasonCode
    note: FreeText | None = Note
    valid_from: date | None = None
    goal: FreeText = Field(min_length=1, max_length=2000)
    mapping: Mapping = Field(default_factory=Mapping)
    efforts: list[EffortBody] = Field(default_factory=list, max_length=50)
    follow_up_on: date | None = None
    evaluation_on: date | None = None


def not_found(field: str) -> JSONResponse:
    return JSONResponse(
        status_code=status.HTTP_404_NOT_FOUND,
        content={"detail": "not found", "errors": [
            {"field": field, "problem": "no such entry of a youth in your municipality"}
        ]},
    )  # fmt: skip


def missing(field: str) -> JSONResponse:
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
        content={"detail": "invalid request", "errors": [{"field": field, "problem": "required"}]},
    )


async def answered(
    youth_id: uuid.UUID, field: str, response: Response, work: Awaitable[bool]
) -> Recorded | JSONResponse:
    """The command's answer; the entry (or the youth) not found is 404 naming `field`."""
    try:
        recorded = await work
    except CaseNotFound:
        return not_found(field)
    return Recorded(youth_id=youth_id, recorded=answer_recorded(response, recorded))


def correction_routes(context: CaseRoutes, handlers: MeasuresCorrections) -> APIRouter:
    router = APIRouter(prefix="/v1")
    Caseworker = Annotated[Principal, Depends(context.caseworker)]

    def post(path: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return router.post(path, status_code=status.HTTP_201_CREATED, response_model=Recorded)

    @post("/youths/{youth_id}/measures/{measure_id}/corrections")
    async def correct_step(
        youth_id: uuid.UUID,
        measure_id: uuid.UUID,
        body: StepCorrectionRequest,
        response: Response,
        caller: Caseworker,
    ) -> Recorded | JSONResponse:
        """Correct a step of the measure (offer, acceptance, decline, start, end)."""
        on = body.on or body.offered_on
        if on is None:
            return missing("on")
        command = CorrectStep(
            youth_id, measure_id, body.corrects, body.reason, on, body.note, body.measure_type,
            body.can_start_on, body.content, body.end_reason, body.occupation_after,
        )  # fmt: skip
        return await answered(
            youth_id, "corrects", response, handlers.correct_step(caller, command)
        )

    @post("/youths/{youth_id}/measures/{measure_id}/withdrawals")
    async def withdraw_step(
        youth_id: uuid.UUID,
        measure_id: uuid.UUID,
        body: WithdrawalRequest,
        response: Response,
        caller: Caseworker,
    ) -> Recorded | JSONResponse:
        """Withdraw a step of the measure: it did not happen (not while later steps stand)."""
        command = Withdraw(youth_id, body.withdraws, body.reason, measure_id, body.note)
        return await answered(youth_id, "withdraws", response, handlers.withdraw(caller, command))

    @post("/youths/{youth_id}/plan/corrections")
    async def correct_plan(
        youth_id: uuid.UUID, body: PlanCorrectionRequest, response: Response, caller: Caseworker
    ) -> Recorded | JSONResponse:
        """Correct a revision of the individual plan."""
        command = CorrectPlanRevision(
            youth_id, body.corrects, body.reason, body.goal, body.mapping.model_dump(),
            tuple(Effort(**e.model_dump()) for e in body.efforts), body.valid_from,
            body.follow_up_on, body.evaluation_on, body.note,
        )  # fmt: skip
        work = handlers.correct_plan_revision(caller, command)
        return await answered(youth_id, "corrects", response, work)

    @post("/youths/{youth_id}/plan/withdrawals")
    async def withdraw_revision(
        youth_id: uuid.UUID, body: WithdrawalRequest, response: Response, caller: Caseworker
    ) -> Recorded | JSONResponse:
        """Withdraw a revision of the individual plan: it was never made."""
        command = Withdraw(youth_id, body.withdraws, body.reason, None, body.note)
        return await answered(youth_id, "withdraws", response, handlers.withdraw(caller, command))

    @post("/youths/{youth_id}/follow-ups/{follow_up_id}/corrections")
    async def correct_completion(
        youth_id: uuid.UUID,
        follow_up_id: uuid.UUID,
        body: DayCorrectionRequest,
        response: Response,
        caller: Caseworker,
    ) -> Recorded | JSONResponse:
        """Correct the day a follow-up was completed."""
        command = CorrectDay(youth_id, body.corrects, body.reason, body.on, follow_up_id, body.note)
        return await answered(youth_id, "corrects", response, handlers.correct_day(caller, command))

    @post("/youths/{youth_id}/follow-ups/{follow_up_id}/withdrawals")
    async def withdraw_completion(
        youth_id: uuid.UUID,
        follow_up_id: uuid.UUID,
        body: WithdrawalRequest,
        response: Response,
        caller: Caseworker,
    ) -> Recorded | JSONResponse:
        """Withdraw a follow-up's completion: it was not done, the follow-up is due again."""
        command = WithdrawDay(youth_id, body.withdraws, body.reason, follow_up_id, body.note)
        work = handlers.withdraw_day(caller, command)
        return await answered(youth_id, "withdraws", response, work)

    @post("/youths/{youth_id}/objections/corrections")
    async def correct_objection(
        youth_id: uuid.UUID, body: DayCorrectionRequest, response: Response, caller: Caseworker
    ) -> Recorded | JSONResponse:
        """Correct the day of an objection."""
        command = CorrectDay(youth_id, body.corrects, body.reason, body.on, None, body.note)
        return await answered(youth_id, "corrects", response, handlers.correct_day(caller, command))

    @post("/youths/{youth_id}/objections/withdrawals")
    async def withdraw_objection(
        youth_id: uuid.UUID, body: WithdrawalRequest, response: Response, caller: Caseworker
    ) -> Recorded | JSONResponse:
        """Withdraw an objection: it was not made."""
        command = WithdrawDay(youth_id, body.withdraws, body.reason, None, body.note)
        work = handlers.withdraw_day(caller, command)
        return await answered(youth_id, "withdraws", response, work)

    return router
