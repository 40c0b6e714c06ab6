"""HTTP API of the measures service: individual plan, measures, follow-ups, objections, catalogue.

Tenant and actor come from the token: `caseworker` records and reads its own municipality's
youths, `coordinator` also maintains the measure catalogue and the municipality's rules. Free-text
fields are capped in length, and a text that looks like sensitive personal data is kept but
answered with a warning (documentation must not hold such data). Free text is personal data: it is
sealed with the youth's data key before it is recorded, and opened only in the views that show it
(`shared/free_text.py`).

No `from __future__ import annotations` here: FastAPI must see the dependency annotations, which
are built inside `routes`, as real objects.
"""

import asyncio
import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from services.measures.application import MeasuresApplication
from services.measures.domain import MeasuresCase
from shared.auth import Principal
from shared.casework.commands import rules_of
from shared.casework.entrypoints.http import (
    CaseRoutes,
    application_of,
    record_on_case,
    rules_routes,
)
from shared.codelists import free_text_warnings
from shared.contracts.events import EffortResponsible
from shared.contracts.text import FreeText, Text
from shared.crypto import SealedDataError
from shared.free_text import Opener, content_shown, opener, plan_revision_shown
from shared.logs import correlation_id

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


def routes(context: CaseRoutes) -> APIRouter:
    router = APIRouter(prefix="/v1")
    Caseworker = Annotated[Principal, Depends(context.caseworker)]
    Configurer = Annotated[Principal, Depends(context.configurer)]
    ConfigurationReader = Annotated[Principal, Depends(context.configuration_reader)]

    def application(request: Request) -> MeasuresApplication:
        app = application_of(request)
        assert isinstance(app, MeasuresApplication)
        return app

    async def case_and_opener(
        request: Request, youth_id: uuid.UUID, caller: Principal
    ) -> tuple[MeasuresCase, Opener]:
        """The caller's case, and what opens its sealed text: the youth's key as the keyring
        holds it now (none once retention destroyed it)."""
        app = application(request)

        def read() -> tuple[MeasuresCase, Opener]:
            case: MeasuresCase = app.case_of(youth_id, caller.tenant)
            try:
                key = app.stored_data_key(caller.tenant, youth_id)
            except SealedDataError:  # the wrapped key fails: every text shows `tampered`
                return case, opener(None, caller.tenant, youth_id, key_refused=True)
            return case, opener(key, caller.tenant, youth_id)

        return await asyncio.to_thread(read)

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
        caller: Caseworker,
    ) -> MeasureOfferRecorded:
        """Offer a measure from the catalogue (or offer a declined measure again)."""
        context.check_past("offered_on", body.offered_on)
        context.check_dates({"can_start_on": body.can_start_on})
        await asyncio.to_thread(
            application(request).check_measure_type, caller.tenant, body.measure_type
        )
        measure_id = body.measure_id or uuid.uuid4()
        app = application(request)
        recorded = await record_on_case(
            request, response, caller, youth_id, MeasuresCase,
            lambda case, cid: case.offer_measure(
                measure_id, body.measure_type, body.offered_on, body.can_start_on, caller.actor,
                cid, body.content,
                app.sealer(case.tenant, case.id) if body.content is not None else None,
            ),
        )  # fmt: skip
        return MeasureOfferRecorded(
            measure_id=measure_id,
            youth_id=youth_id,
            recorded=recorded,
            warnings=free_text_warnings({"content": body.content}),
        )

    def transition(path: str, verb: str, summary: str) -> None:
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
            request: Request,
            response: Response,
            caller: Caseworker,
        ) -> Recorded:
            context.check_past("on", body.on)
            rules = await rules_of(application(request), caller.tenant)

            def act(case: MeasuresCase, cid: uuid.UUID) -> bool:
                if verb == "decline":
                    return case.decline(
                        measure_id, body.on, rules["reoffer_after_days"], caller.actor, cid
                    )
                method = case.accept if verb == "accept" else case.start
                return method(measure_id, body.on, caller.actor, cid)

            recorded = await record_on_case(request, response, caller, youth_id, MeasuresCase, act)
            return Recorded(youth_id=youth_id, recorded=recorded)

    transition("acceptance", "accept", "The youth accepted the measure")
    transition("decline", "decline", "The youth declined (a re-offer reminder is scheduled)")
    transition("start", "start", "The accepted measure started")

    @router.post(
        "/youths/{youth_id}/measures/{measure_id}/end",
        status_code=status.HTTP_201_CREATED,
        response_model=Recorded,
    )
    async def end_measure(
        youth_id: uuid.UUID,
        measure_id: uuid.UUID,
        body: MeasureEndRequest,
        request: Request,
        response: Response,
        caller: Caseworker,
    ) -> Recorded:
        """The started measure ended: why, and what the youth does after it."""
        context.check_past("on", body.on)
        recorded = await record_on_case(
            request, response, caller, youth_id, MeasuresCase,
            lambda case, cid: case.end(
                measure_id, body.on, body.end_reason, body.occupation_after, caller.actor, cid
            ),
        )  # fmt: skip
        return Recorded(youth_id=youth_id, recorded=recorded)

    @router.get("/youths/{youth_id}/measures")
    async def list_measures(
        youth_id: uuid.UUID, request: Request, caller: Caseworker
    ) -> dict[str, Any]:
        case, open_ = await case_and_opener(request, youth_id, caller)
        await context.logged(request, caller, youth_id, "measures")
        return {
            "youth_id": youth_id,
            "measures": [measure_shown(k, v, open_) for k, v in case.measures.items()],
            "follow_ups": list(case.follow_ups.values()),
            "objections": case.objections,
        }

    @router.put(
        "/youths/{youth_id}/plan",
        status_code=status.HTTP_201_CREATED,
        response_model=PlanRevisionRecorded,
    )
    async def revise_plan(
        youth_id: uuid.UUID,
        body: PlanRevisionRequest,
        request: Request,
        response: Response,
        caller: Caseworker,
    ) -> PlanRevisionRecorded:
        """Record a new revision of the individual plan; earlier revisions stay as they were.
        With a `revision_id`, a retried request records it once (200, `recorded: false`)."""
        valid_from = body.valid_from or context.today()
        context.check_dates(
            {"valid_from": valid_from, "follow_up_on": body.follow_up_on,
             "evaluation_on": body.evaluation_on}
            | {f"efforts[{n}].{k}": getattr(e, k) for n, e in enumerate(body.efforts)
               for k in ("start_date", "end_date")}
        )  # fmt: skip
        efforts = [
            {**e.model_dump(), "effort_id": str(e.effort_id or uuid.uuid4())} for e in body.efforts
        ]

        app = application(request)
        correlation = correlation_id()  # the request's (the command runs in another thread)

        def revise(case: MeasuresCase) -> tuple[int, bool]:
            before = len(case.plan_revisions)
            revision = case.revise_plan(
                valid_from=valid_from, goal=body.goal, mapping=body.mapping.model_dump(),
                efforts=efforts, follow_up_on=body.follow_up_on,
                evaluation_on=body.evaluation_on, actor=caller.actor,
                correlation_id=correlation, sealer=app.sealer(case.tenant, case.id),
                revision_id=body.revision_id, valid_from_given=body.valid_from is not None,
            )  # fmt: skip
            return revision, len(case.plan_revisions) > before

        revision, recorded = await app.submit(youth_id, caller.tenant, revise)
        if not recorded:
            response.status_code = status.HTTP_200_OK
        texts: dict[str, str | None] = {"goal": body.goal}
        for part, items in body.mapping.model_dump().items():
            texts.update({f"mapping.{part}[{n}]": item for n, item in enumerate(items)})
        for n, effort in enumerate(body.efforts):
            texts[f"efforts[{n}].description"] = effort.description
            texts[f"efforts[{n}].end_reason"] = effort.end_reason
        return PlanRevisionRecorded(
            youth_id=youth_id,
            revision=revision,
            recorded=recorded,
            warnings=free_text_warnings(texts),
        )

    @router.get("/youths/{youth_id}/plan", response_model=PlanView)
    async def get_plan(
        youth_id: uuid.UUID,
        request: Request,
        caller: Caseworker,
        as_of: Annotated[date | None, Query(description="Default: today.")] = None,
    ) -> PlanView:
        """The individual plan as it was in force on a day (its text opened; `text` says
        `redacted` once retention destroyed the youth's key)."""
        case, open_ = await case_and_opener(request, youth_id, caller)
        day = as_of or context.today()
        await context.logged(request, caller, youth_id, f"individual plan as of {day}")
        plan = case.plan_on(day)
        shown = plan_revision_shown(plan, open_) if plan is not None else None
        return PlanView(youth_id=youth_id, as_of=day, plan=shown)

    @router.get("/youths/{youth_id}/plan/revisions")
    async def plan_revisions(
        youth_id: uuid.UUID, request: Request, caller: Caseworker
    ) -> dict[str, Any]:
        case, open_ = await case_and_opener(request, youth_id, caller)
        await context.logged(request, caller, youth_id, "individual plan revisions")
        revisions = [plan_revision_shown(r, open_) for r in case.plan_revisions]
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
        request: Request,
        response: Response,
        caller: Caseworker,
    ) -> Recorded:
        context.check_past("on", body.on)
        recorded = await record_on_case(
            request, response, caller, youth_id, MeasuresCase,
            lambda case, cid: case.complete_follow_up(follow_up_id, body.on, caller.actor, cid),
        )  # fmt: skip
        return Recorded(youth_id=youth_id, recorded=recorded)

    @router.post(
        "/youths/{youth_id}/objections",
        status_code=status.HTTP_201_CREATED,
        response_model=Recorded,
    )
    async def record_objection(
        youth_id: uuid.UUID,
        body: ObjectionRequest,
        request: Request,
        response: Response,
        caller: Caseworker,
    ) -> Recorded:
        """The youth objects: recorded; the youth stays in the register (förordning 2006:39 § 1)."""
        context.check_past("on", body.on)
        recorded = await record_on_case(
            request, response, caller, youth_id, MeasuresCase,
            lambda case, cid: case.record_objection(
                body.on, caller.actor, cid, body.objection_id
            ),
        )  # fmt: skip
        return Recorded(youth_id=youth_id, recorded=recorded)

    @router.get("/catalogue")
    async def get_catalogue(request: Request, caller: ConfigurationReader) -> dict[str, Any]:
        """Standard measures, the municipality's own, and the consortium's partner offerings."""
        entries = await asyncio.to_thread(application(request).catalogue, caller.tenant)
        return {
            "tenant": caller.tenant,
            "entries": sorted(entries.values(), key=lambda e: e["code"]),
        }

    @router.put("/catalogue/{code}")
    async def define_entry(
        code: Code, body: CatalogueEntryRequest, request: Request, caller: Configurer
    ) -> dict[str, Any]:
        return await asyncio.to_thread(
            lambda: application(request).define_entry(
                caller.tenant, code, name=body.name, description=body.description,
                provider=body.provider, shared=body.shared, actor=caller.actor,
            )
        )  # fmt: skip

    @router.delete("/catalogue/{code}", status_code=status.HTTP_204_NO_CONTENT)
    async def retire_entry(
        code: Code,
        request: Request,
        caller: Configurer,
        shared: Annotated[bool, Query()] = False,
    ) -> Response:
        """Retire an entry: no new offers of it; measures already offered keep their code."""
        await asyncio.to_thread(
            lambda: application(request).retire_entry(
                caller.tenant, code, shared=shared, actor=caller.actor
            )
        )
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    router.include_router(rules_routes(context))
    return router


def measure_shown(measure_id: str, measure: dict[str, Any], open_: Opener) -> dict[str, Any]:
    """A measure as the view shows it: its content opened (`text` says what became of it)."""
    shown = {"measure_id": measure_id, **measure}
    shown.pop("content_digest", None)
    if measure.get("content_digest") is None:  # recorded before free text was sealed
        shown["text"] = None if measure.get("content") is None else "open"
        return shown
    shown["content"], shown["text"] = content_shown(measure.get("content"), open_)
    return shown
