"""HTTP API of corrections and withdrawals in the outreach service (a caseworker or coordinator of
the youth's municipality):

    POST /v1/youths/{youth_id}/corrections   a fact recorded again with new values
    POST /v1/youths/{youth_id}/withdrawals   a fact that did not happen

The body names the entry by the event id the case view shows (`corrects` / `withdraws`), a reason
code, an optional note (at most 300 characters, sealed), and for a correction `values`: the fact's
fields as for recording it (an attempt's channel, outcome, attempted_at; a contact's or an
information's at, channel; an occupation's category, tense, from_date, to_date, confirmed_on;
contact details' email, phone; an assignment's assignee_kind, assignee). 201 when recorded, 200
with `recorded: false` for a retry. An entry stays correctable after the youth left scope. An
assignment is put right only by whom may assign (a coordinator): anyone else 403 naming the
field and why. An event id that is no entry of this youth's case, or a youth
of another municipality: 404 naming `corrects` / `withdraws`; an entry withdrawn or corrected since:
409 naming the field (and the newer event id); a bad reason, note or value: 422 naming it
(`values.<field>`). Values never echoed.

No `from __future__ import annotations` here: FastAPI must see the dependency annotations.
"""

import uuid
from collections.abc import Awaitable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.outreach.commands.corrections import (
    Correct,
    Done,
    NotAllowedToAssign,
    OutreachCorrections,
    Withdraw,
)
from shared.auth import Principal
from shared.casework.domain import CaseNotFound
from shared.casework.entrypoints.http import CaseRoutes, Note, WithdrawalRequest, answer_recorded
from shared.contracts.events import CorrectionReasonCode
from shared.contracts.text import FreeText


class CorrectionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    corrects: uuid.UUID = Field(description="The event id of the entry it corrects (the latest).")
    reason: CorrectionReasonCode
    note: FreeText | None = Note
    values: dict[str, Any] = Field(
        max_length=10, description="The fact's fields as for recording it (its ids aside)."
    )


class CorrectionRecorded(BaseModel):
    youth_id: uuid.UUID
    recorded: bool = Field(description="False when it had been recorded already (a retry).")
    event_type: str = Field(description="The type of the fact corrected or withdrawn.")
    event_id: uuid.UUID = Field(description="The correction's or withdrawal's own event id.")


async def answered(
    field: str, response: Response, work: Awaitable[Done]
) -> CorrectionRecorded | JSONResponse:
    """The command's answer; the entry (or the youth) not found is 404 naming `field`; an
    assignment put right by a caller who may not assign is 403 naming `field` and why."""
    try:
        done = await work
    except NotAllowedToAssign as refused:
        return JSONResponse(
            status_code=status.HTTP_403_FORBIDDEN,
            content={"detail": "forbidden", "errors": [
                {"field": refused.field, "problem": refused.reason}
            ]},
        )  # fmt: skip
    except CaseNotFound:
        return JSONResponse(
            status_code=status.HTTP_404_NOT_FOUND,
            content={"detail": "not found", "errors": [
                {"field": field, "problem": "no such entry of a youth in your municipality"}
            ]},
        )  # fmt: skip
    return CorrectionRecorded(
        youth_id=done.youth_id,
        recorded=answer_recorded(response, done.recorded),
        event_type=done.event_type,
        event_id=done.event_id,
    )


def correction_routes(context: CaseRoutes, handlers: OutreachCorrections) -> APIRouter:
    router = APIRouter()  # included in the service's /v1 router
    Caseworker = Annotated[Principal, Depends(context.caseworker)]

    @router.post(
        "/youths/{youth_id}/corrections",
        status_code=status.HTTP_201_CREATED,
        response_model=CorrectionRecorded,
    )
    async def correct(
        youth_id: uuid.UUID, body: CorrectionRequest, response: Response, caller: Caseworker
    ) -> CorrectionRecorded | JSONResponse:
        """Correct a fact of the youth's outreach case: a contact attempt, contact established,
        the youth informed, an occupation, contact details, an assignment."""
        command = Correct(youth_id, body.corrects, body.reason, body.values, body.note)
        return await answered("corrects", response, handlers.correct(caller, command))

    @router.post(
        "/youths/{youth_id}/withdrawals",
        status_code=status.HTTP_201_CREATED,
        response_model=CorrectionRecorded,
    )
    async def withdraw(
        youth_id: uuid.UUID, body: WithdrawalRequest, response: Response, caller: Caseworker
    ) -> CorrectionRecorded | JSONResponse:
        """Withdraw a fact of the youth's outreach case: it did not happen."""
        command = Withdraw(youth_id, body.withdraws, body.reason, body.note)
        return await answered("withdraws", response, handlers.withdraw(caller, command))

    return router
