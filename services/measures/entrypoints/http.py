"""HTTP API of the measures service: individual plan, measures, follow-ups, objections, catalogue.

Tenant and actor come from the token: `caseworker` records and reads its own municipality's
youths, `coordinator` also maintains the measure catalogue and the municipality's rules. Free-text
fields are capped in length, and a text that looks like sensitive personal data is kept but
answered with a warning (documentation must not hold such data). Free text is personal data: it is
sealed with the youth's data key before it is recorded, and opened only in the views that show it
(`shared/free_text.py`).

The routes parse a request, hand a command to `MeasuresCommands` (the use cases, built once by
the composition root) and render its answer; refusals become 404 / 409 / 422 (`shared.casework.entrypoints.http`).

No `from __future__ import annotations` here: FastAPI must see the dependency annotations, which
are built inside `routes`, as real objects.
"""

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from services.measures import commands
from services.measures.commands import MeasuresCommands
from services.measures.domain import Step
from shared.auth import Principal
from shared.casework.entrypoints.http import CaseRoutes, answer_recorded, rules_routes
from shared.contracts.events import EffortResponsible
from shared.contracts.text import FreeText, Text

Code = Annotated[Text, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")]
ShortText = Annotated[Text, Field(min_length=1, max_length=300)]
ClientId = Field(
    default=None, description="Client-chosen id; repeating a request with it records it once."
)


class MeasureOfferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    measure_type: Code = Field(description="Measure catalogue code.")
    offered_on: date
    can_start_on: date | None = None
    content: FreeText | None = Field(
        default=None, max_length=500, description="What the measure holds for this youth."
    )
    measure_id: uuid.UUID | None = Field(
        default=None,
        description="Client-chosen id (a retry records it once); a declined measure's id offers "
        "it again.",
    )


class MeasureOfferRecorded(BaseModel):
    measure_id: uuid.UUID
    youth_id: uuid.UUID
    recorded: bool
    warnings: list[str] = Field(default_factory=list)


class DayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on: date


class ObjectionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on: date
    objection_id: uuid.UUID | None = Field(
        default=None,
        description="Client-chosen id: a retry records it once; the id with another day is 409. "
        "Without it, one objection per day is recorded.",
    )


class MeasureEndRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on: date
    end_reason: Code = Field(description="Code of the measure-end-reason code list.")
    occupation_after: Code | None = Field(
        default=None, description="Code of the occupation code list: what the youth does next."
    )


class Recorded(BaseModel):
    youth_id: uuid.UUID
    recorded: bool


class Effort(BaseModel):
    model_config = ConfigDict(extra="forbid")
    effort_id: uuid.UUID | None = None
    description: FreeText = Field(min_length=1, max_length=500)
    responsible: EffortResponsible
    other_actor: Text | None = Field(default=None, max_length=200)
    start_date: date | None = None
    end_date: date | None = None
    end_reason: Text | None = Field(default=None, max_length=300)


class Mapping(BaseModel):
    """Kartläggning: short structured items, not a narrative."""

    model_config = ConfigDict(extra="forbid")
    goals: list[ShortText] = Field(default_factory=list, max_length=20)
    needs: list[ShortText] = Field(default_factory=list, max_length=20)
    expectations: list[ShortText] = Field(default_factory=list, max_length=20)
    interests: list[ShortText] = Field(default_factory=list, max_length=20)


class PlanRevisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    valid_from: date | None = Field(default=None, description="Default: today.")
    goal: FreeText = Field(min_length=1, max_length=2000, description="The goal of the efforts.")
    mapping: Mapping = Field(default_factory=Mapping)
    efforts: list[Effort] = Field(default_factory=list, max_length=50)
    follow_up_on: date | None = None
    evaluation_on: date | None = None
    revision_id: uuid.UUID | None = Field(
        default=None,
        description="Client-chosen id: a retry records the revision once (200); the id with "
        "other content is 409.",
    )


class PlanRevisionRecorded(BaseModel):
    youth_id: uuid.UUID
    revision: int
    recorded: bool = True
    warnings: list[str]


class PlanView(BaseModel):
    youth_id: uuid.UUID
    as_of: date
    plan: dict[str, Any] | None = Field(description="The revision in force, or null.")


class CatalogueEntryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text = Field(min_length=1, max_length=200)
    description: Text | None = Field(default=None, max_length=1000)
    provider: Text | None = Field(default=None, max_length=200)
    shared: bool = Field(
        default=False, description="A partner offering every municipality of the consortium sees."
    )


class CatalogueChange(BaseModel):
    at: datetime = Field(description="When the change was recorded.")
    actor: str | None = Field(description="Who made it ('user:<subject>').")
    catalogue: Literal["municipality", "consortium"]
    change: Literal["added", "changed", "retired"]
    code: str
    name: str | None = Field(description="As defined (null for a retirement).")
    description: str | None
    provider: str | None


class CatalogueHistory(BaseModel):
    tenant: str
    changes: list[CatalogueChange] = Field(description="Oldest first.")


def routes(context: CaseRoutes, handlers: MeasuresCommands) -> APIRouter:
    router = APIRouter(prefix="/v1")
    Caseworker = Annotated[Principal, Depends(context.caseworker)]
    Configurer = Annotated[Principal, Depends(context.configurer)]
    ConfigurationReader = Annotated[Principal, Depends(context.configuration_reader)]

    @router.post(
        "/youths/{youth_id}/measure-offers",
        status_code=status.HTTP_201_CREATED,
        response_model=MeasureOfferRecorded,
    )
    async def offer_measure(
        youth_id: uuid.UUID,
        body: MeasureOfferRequest,
        response: Response,
        caller: Caseworker,
    ) -> MeasureOfferRecorded:
        """Offer a measure from the catalogue (or offer a declined measure again)."""
        offered = await handlers.offer_measure(
            caller, commands.OfferMeasure(youth_id, **body.model_dump())
        )
        return MeasureOfferRecorded(
            measure_id=offered.measure_id,
            youth_id=youth_id,
            recorded=answer_recorded(response, offered.recorded),
            warnings=offered.warnings,
        )

    def transition(path: str, step: Step, summary: str) -> None:
        @router.post(
            f"/youths/{{youth_id}}/measures/{{measure_id}}/{path}",
            status_code=status.HTTP_201_CREATED,
            response_model=Recorded,
            summary=summary,
            name=f"measure_{path}",
        )
        async def record(
            youth_id: uuid.UUID,
            measure_id: uuid.UUID,
            body: DayRequest,
            response: Response,
            caller: Caseworker,
        ) -> Recorded:
            command = commands.TakeStep(youth_id, measure_id, step, body.on)
            recorded = await handlers.take_step(caller, command)
            return Recorded(youth_id=youth_id, recorded=answer_recorded(response, recorded))

    transition("acceptance", Step.ACCEPT, "The youth accepted the measure")
    transition("decline", Step.DECLINE, "The youth declined (a re-offer reminder is scheduled)")
    transition("start", Step.START, "The accepted measure started")

    @router.post(
        "/youths/{youth_id}/measures/{measure_id}/end",
        status_code=status.HTTP_201_CREATED,
        response_model=Recorded,
    )
    async def end_measure(
        youth_id: uuid.UUID,
        measure_id: uuid.UUID,
        body: MeasureEndRequest,
        response: Response,
        caller: Caseworker,
    ) -> Recorded:
        """The started measure ended: why, and what the youth does after it."""
        command = commands.EndMeasure(youth_id, measure_id, **body.model_dump())
        recorded = await handlers.end_measure(caller, command)
        return Recorded(youth_id=youth_id, recorded=answer_recorded(response, recorded))

    @router.get("/youths/{youth_id}/measures")
    async def list_measures(youth_id: uuid.UUID, caller: Caseworker) -> dict[str, Any]:
        shown = await handlers.show_measures(caller, youth_id)
        return {
            "youth_id": youth_id,
            "measures": shown.measures,
            "follow_ups": shown.follow_ups,
            "objections": shown.objections,
            "objection_entries": shown.objection_entries,
        }

    @router.put(
        "/youths/{youth_id}/plan",
        status_code=status.HTTP_201_CREATED,
        response_model=PlanRevisionRecorded,
    )
    async def revise_plan(
        youth_id: uuid.UUID,
        body: PlanRevisionRequest,
        response: Response,
        caller: Caseworker,
    ) -> PlanRevisionRecorded:
        """Record a new revision of the individual plan; earlier revisions stay as they were.
        With a `revision_id`, a retried request records it once (200, `recorded: false`)."""
        command = commands.RevisePlan(
            youth_id, body.goal, body.mapping.model_dump(),
            tuple(commands.Effort(**e.model_dump()) for e in body.efforts), body.valid_from,
            body.follow_up_on, body.evaluation_on, body.revision_id,
        )  # fmt: skip
        revised = await handlers.revise_plan(caller, command)
        return PlanRevisionRecorded(
            youth_id=youth_id,
            revision=revised.revision,
            recorded=answer_recorded(response, revised.recorded),
            warnings=revised.warnings,
        )

    @router.get("/youths/{youth_id}/plan", response_model=PlanView)
    async def get_plan(
        youth_id: uuid.UUID,
        caller: Caseworker,
        as_of: Annotated[date | None, Query(description="Default: today.")] = None,
    ) -> PlanView:
        """The individual plan as it was in force on a day (its text opened; `text` says
        `redacted` once retention destroyed the youth's key)."""
        shown = await handlers.show_plan(caller, youth_id, as_of)
        return PlanView(youth_id=youth_id, as_of=shown.as_of, plan=shown.plan)

    @router.get("/youths/{youth_id}/plan/revisions")
    async def plan_revisions(youth_id: uuid.UUID, caller: Caseworker) -> dict[str, Any]:
        revisions = await handlers.show_plan_revisions(caller, youth_id)
        return {"youth_id": youth_id, "revisions": revisions}

    @router.post(
        "/youths/{youth_id}/follow-ups/{follow_up_id}/completion",
        status_code=status.HTTP_201_CREATED,
        response_model=Recorded,
    )
    async def complete_follow_up(
        youth_id: uuid.UUID,
        follow_up_id: uuid.UUID,
        body: DayRequest,
        response: Response,
        caller: Caseworker,
    ) -> Recorded:
        command = commands.CompleteFollowUp(youth_id, follow_up_id, body.on)
        recorded = await handlers.complete_follow_up(caller, command)
        return Recorded(youth_id=youth_id, recorded=answer_recorded(response, recorded))

    @router.post(
        "/youths/{youth_id}/objections",
        status_code=status.HTTP_201_CREATED,
        response_model=Recorded,
    )
    async def record_objection(
        youth_id: uuid.UUID,
        body: ObjectionRequest,
        response: Response,
        caller: Caseworker,
    ) -> Recorded:
        """The youth objects: recorded; the youth stays in the register (förordning 2006:39 § 1)."""
        command = commands.RecordObjection(youth_id, body.on, body.objection_id)
        recorded = await handlers.record_objection(caller, command)
        return Recorded(youth_id=youth_id, recorded=answer_recorded(response, recorded))

    @router.get("/catalogue")
    async def get_catalogue(caller: ConfigurationReader) -> dict[str, Any]:
        """Standard measures, the municipality's own, and the consortium's partner offerings."""
        entries = await handlers.catalogue(caller)
        return {"tenant": caller.tenant, "entries": entries}

    @router.get("/catalogue/history", response_model=CatalogueHistory)
    async def get_catalogue_history(caller: ConfigurationReader) -> CatalogueHistory:
        """Every change of the municipality's own catalogue and the consortium's shared one (each
        an event), oldest first: when, who, the entry, added, changed or retired."""
        changes = await handlers.catalogue_history(caller)
        return CatalogueHistory(tenant=caller.tenant,
                                changes=[CatalogueChange(**c) for c in changes])  # fmt: skip

    @router.put("/catalogue/{code}")
    async def define_entry(
        code: Code, body: CatalogueEntryRequest, caller: Configurer
    ) -> dict[str, Any]:
        command = commands.DefineEntry(code, **body.model_dump())
        return await handlers.define_entry(caller, command)

    @router.delete("/catalogue/{code}", status_code=status.HTTP_204_NO_CONTENT)
    async def retire_entry(
        code: Code,
        caller: Configurer,
        shared: Annotated[bool, Query()] = False,
    ) -> Response:
        """Retire an entry: no new offers of it; measures already offered keep their code."""
        await handlers.retire_entry(caller, code, shared=shared)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    router.include_router(rules_routes(context))
    return router
