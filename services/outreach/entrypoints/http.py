"""HTTP API of the outreach service: contact work, occupations, case ownership, worklists.

Tenant and actor come from the token: `caseworker` records and reads its own municipality's
youths, `coordinator` also assigns cases and sets the municipality's time rules. Each route
parses the request, calls its handler (`services.outreach.commands`) and renders the answer;
refusals become 404 / 409 / 422 (`shared.casework.entrypoints.http.add_refusal_handlers`).

No `from __future__ import annotations` here: FastAPI must see the dependency annotations, which
are built inside `routes`, as real objects.
"""

import uuid
from datetime import date
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.outreach import commands
from services.outreach.adapters.worklists import Item, ListName
from services.outreach.commands import OutreachHandlers
from services.outreach.commands.corrections import (
    AssignmentValues,
    NotAllowedToAssign,
    entries_shown,
)
from services.outreach.entrypoints.caseload import caseload_routes
from shared import dates
from shared.auth import Principal
from shared.casework.entrypoints.http import CaseRoutes, answer_recorded, rules_routes
from shared.contracts.events import (
    ContactChannel,
    ContactDetails,
    ContactOutcome,
    OccupationTense,
)
from shared.contracts.text import Text

ClientId = Field(
    default=None,
    description="Client-chosen id; repeating a request with it records it once, and the same id "
    "with other content is refused (409).",
)
MAX_OFFSET = 1_000_000  # further than any municipality's list reaches


class ContactAttemptRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: ContactChannel
    outcome: ContactOutcome
    attempted_at: dates.Instant
    contact_attempt_id: uuid.UUID | None = ClientId


class ContactAttemptRecorded(BaseModel):
    contact_attempt_id: uuid.UUID
    youth_id: uuid.UUID
    recorded: bool = Field(description="False when this id had been recorded already (a retry).")


class ContactRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: dates.Instant = Field(description="When the contact took place.")
    channel: ContactChannel
    contact_id: uuid.UUID | None = ClientId


class InformationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: dates.Instant = Field(description="When the youth was informed.")
    channel: ContactChannel
    information_id: uuid.UUID | None = ClientId


class Recorded(BaseModel):
    youth_id: uuid.UUID
    recorded: bool


class OccupationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: Text = Field(max_length=64, description="Code of the occupation code list.")
    tense: OccupationTense
    from_date: dates.Day
    to_date: dates.Day | None = None
    confirmed_on: dates.Day | None = Field(default=None, description="Default: today.")
    occupation_id: uuid.UUID | None = ClientId


class OccupationRecorded(BaseModel):
    occupation_id: uuid.UUID
    youth_id: uuid.UUID
    recorded: bool
    code_list_version: str


class AssignmentRequest(AssignmentValues):
    """One form for assignees: a caseworker is their actor `user:<subject>` (the token's `sub`;
    a bare subject is taken as that caseworker's and written `user:<subject>`), so the case shows
    in their `mine=true` worklists; a team is its code."""


class AssignmentRecorded(BaseModel):
    youth_id: uuid.UUID
    recorded: bool
    assignee_kind: str
    assignee: str = Field(description="As recorded (a caseworker as 'user:<subject>').")


class WorklistPage(BaseModel):
    worklist: str
    state: str
    total: int
    limit: int
    offset: int
    items: list[Item]


class WorklistCounts(BaseModel):
    today: date
    open: dict[str, int]
    teams: list[str] = Field(description="The caller's teams, as their token names them.")


AssignedQuery = Annotated[
    commands.Assigned | None,
    Query(
        description="Whose cases: 'me' (as mine=true), 'my_teams' (assigned to one of the "
        "teams the caller's token names), 'none' (unassigned). With assignee, or other than "
        "'me' with mine=true: 422 naming assigned."
    ),
]


class CaseView(BaseModel):
    youth_id: uuid.UUID
    in_scope: bool
    entered_on: date | None = Field(description="The scope episode's legal entry date.")
    identified_on: date | None = Field(
        description="When identify recorded the episode: the municipality could know from then."
    )
    scope_ends_on: date | None
    left_on: date | None
    left_reason: str | None
    assignee_kind: str | None
    assignee: str | None
    contact_clock: dict[str, Any] | None
    last_attempt_on: date | None
    last_attempt_outcome: str | None
    last_contact_on: date | None
    informed_on: date | None
    occupation: str = Field(description="The current occupation's code, or 'unknown'.")
    occupations: list[dict[str, Any]]
    entries: list[dict[str, Any]] = Field(
        description="Every fact recorded, corrections too, in the order recorded: its event_id "
        "(what a correction or withdrawal names), event_type, actor, values, what it corrects "
        "and whether it was corrected or withdrawn since (by which event, who, when, reason)."
    )


def page_answer(page: dict[str, Any]) -> Response:
    """A worklist page as JSON, serialised at once: the same bytes as `WorklistPage` (a test
    holds them equal), without validating the page's items again and serialising them through
    the model, which took a third of a worklist request's CPU (measured). The documented schema
    stays `WorklistPage` (`response_model`)."""
    return Response(orjson.dumps(page, default=_uuid_text), media_type="application/json")


def _uuid_text(value: object) -> str:
    """The ids as the database driver gives them (its own subclass of UUID, which orjson does
    not take for one) in the form the model writes."""
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"not serialisable in a worklist page: {type(value).__name__}")


def routes(context: CaseRoutes, handlers: OutreachHandlers) -> APIRouter:
    router = APIRouter(prefix="/v1")
    Caseworker = Annotated[Principal, Depends(context.caseworker)]

    @router.post(
        "/youths/{youth_id}/contact-attempts",
        status_code=status.HTTP_201_CREATED,
        response_model=ContactAttemptRecorded,
    )
    async def attempt_contact(
        youth_id: uuid.UUID, body: ContactAttemptRequest, response: Response, caller: Caseworker
    ) -> ContactAttemptRecorded:
        done = await handlers.attempt_contact(
            caller,
            commands.AttemptContact(
                youth_id, body.channel, body.outcome, body.attempted_at, body.contact_attempt_id
            ),
        )
        return ContactAttemptRecorded(
            contact_attempt_id=done.contact_attempt_id,
            youth_id=youth_id,
            recorded=answer_recorded(response, done.recorded),
        )

    @router.post(
        "/youths/{youth_id}/contacts",
        status_code=status.HTTP_201_CREATED,
        response_model=Recorded,
        summary="Contact established (a conversation, a meeting)",
        name="establish_contact",
    )
    async def establish_contact(
        youth_id: uuid.UUID, body: ContactRequest, response: Response, caller: Caseworker
    ) -> Recorded:
        done = await handlers.establish_contact(
            caller, commands.EstablishContact(youth_id, body.at, body.channel, body.contact_id)
        )
        return Recorded(youth_id=youth_id, recorded=answer_recorded(response, done.recorded))

    @router.post(
        "/youths/{youth_id}/information",
        status_code=status.HTTP_201_CREATED,
        response_model=Recorded,
        summary="The youth was informed about the municipality's offer",
        name="inform",
    )
    async def inform(
        youth_id: uuid.UUID, body: InformationRequest, response: Response, caller: Caseworker
    ) -> Recorded:
        done = await handlers.inform(
            caller, commands.Inform(youth_id, body.at, body.channel, body.information_id)
        )
        return Recorded(youth_id=youth_id, recorded=answer_recorded(response, done.recorded))

    @router.post(
        "/youths/{youth_id}/occupations",
        status_code=status.HTTP_201_CREATED,
        response_model=OccupationRecorded,
    )
    async def record_occupation(
        youth_id: uuid.UUID, body: OccupationRequest, response: Response, caller: Caseworker
    ) -> OccupationRecorded:
        done = await handlers.record_occupation(
            caller,
            commands.RecordOccupation(
                youth_id, body.category, body.tense, body.from_date, body.to_date,
                body.confirmed_on, body.occupation_id,
            ),
        )  # fmt: skip
        return OccupationRecorded(
            occupation_id=done.occupation_id,
            youth_id=youth_id,
            recorded=answer_recorded(response, done.recorded),
            code_list_version=done.code_list_version,
        )

    @router.put("/youths/{youth_id}/contact-details", response_model=Recorded)
    async def record_contact_details(
        youth_id: uuid.UUID, body: ContactDetails, response: Response, caller: Caseworker
    ) -> Recorded:
        """How to reach the youth (e-mail, phone): sealed with the youth's data key before it is
        recorded; the register shows it to those who may read the youth's identity."""
        done = await handlers.record_contact_details(
            caller, commands.RecordContactDetails(youth_id, body)
        )
        return Recorded(youth_id=youth_id, recorded=answer_recorded(response, done.recorded))

    @router.put("/youths/{youth_id}/assignment", response_model=AssignmentRecorded)
    async def assign(
        youth_id: uuid.UUID, body: AssignmentRequest, response: Response, caller: Caseworker
    ) -> AssignmentRecorded | JSONResponse:
        """Give the case to a caseworker (`user:<subject>`) or a team (coordinators); a
        reassignment is an event. A caseworker may take an unassigned case for themselves
        (`{"assignee_kind": "caseworker", "assignee": "user:<their sub>"}`); anything else of
        theirs is 403, a case another has 409."""
        try:
            done = await handlers.assign(
                caller, commands.Assign(youth_id, body.assignee_kind, body.assignee)
            )
        except NotAllowedToAssign as refused:
            return JSONResponse(
                status_code=status.HTTP_403_FORBIDDEN,
                content={"detail": "forbidden",
                         "errors": [{"field": refused.field, "problem": refused.reason}]},
            )  # fmt: skip
        return AssignmentRecorded(
            youth_id=youth_id,
            recorded=answer_recorded(response, done.recorded),
            assignee_kind=body.assignee_kind,
            assignee=body.assignee,
        )

    @router.get("/youths/{youth_id}/case", response_model=CaseView)
    async def case_view(youth_id: uuid.UUID, caller: Caseworker) -> CaseView:
        """The youth's outreach case: scope, owner, contact clock, contacts and occupations."""
        shown = await handlers.show_case(caller, youth_id)
        case = shown.case
        return CaseView(
            youth_id=case.id,
            in_scope=case.in_scope,
            entered_on=case.entered_on,
            identified_on=case.identified_on,
            scope_ends_on=case.scope_ends_on,
            left_on=case.left_on,
            left_reason=case.left_reason,
            assignee_kind=case.assignee_kind,
            assignee=case.assignee,
            contact_clock=shown.contact_clock,
            last_attempt_on=case.last_attempt_on,
            last_attempt_outcome=case.last_attempt_outcome,
            last_contact_on=case.last_contact_on,
            informed_on=case.informed_on,
            occupation=shown.occupation,
            occupations=case.occupations,
            entries=entries_shown(case),
        )

    @router.get("/worklists", response_model=WorklistCounts)
    async def worklist_counts(
        caller: Caseworker,
        mine: Annotated[
            bool, Query(description="Only cases assigned to the caller (user:<sub>).")
        ] = False,
        assigned: AssignedQuery = None,
    ) -> WorklistCounts:
        """How many open items each worklist has in the caller's municipality today (only the
        caller's own cases with `mine=true`, only those of `assigned`), and the caller's teams."""
        today, open_items = await handlers.worklist_counts(caller, mine, assigned, caller.teams)
        return WorklistCounts(today=today, open=open_items, teams=sorted(caller.teams))

    @router.get("/worklists/{name}", response_model=WorklistPage)
    async def get_worklist(
        name: ListName,
        caller: Caseworker,
        assignee: Annotated[
            Text | None,
            Query(
                min_length=1,
                max_length=120,
                description="A caseworker ('user:<subject>') or a team code, as assigned.",
            ),
        ] = None,
        mine: Annotated[
            bool, Query(description="Only cases assigned to the caller (user:<sub>).")
        ] = False,
        state: Annotated[Literal["open", "closed"], Query()] = "open",
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
        assigned: AssignedQuery = None,
    ) -> Response:
        """One worklist, oldest first: each item says why it is there and since when.

        first_contact, recontact, stale_occupation, turning_20, follow_up. `state=closed`: the
        items closed in the last 90 days because the youth left scope, with the reason.
        `assigned=none`: the unassigned cases only; `assigned=my_teams`: those of the caller's
        teams."""
        query = commands.WorklistQuery(name, assignee, mine, state == "closed", limit, offset,
                                       assigned, caller.teams)  # fmt: skip
        total, items = await handlers.worklist(caller, query)
        return page_answer(
            {"worklist": name, "state": state, "total": total, "limit": limit, "offset": offset,
             "items": items}
        )  # fmt: skip

    router.include_router(rules_routes(context))
    router.include_router(caseload_routes(context, handlers))
    return router
