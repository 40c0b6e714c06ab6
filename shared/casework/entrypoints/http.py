"""HTTP helpers and routes both caseworker services have: who may call, the answer to a
retried recording, refusals as answers, the municipality's own time rules.

No `from __future__ import annotations` here: FastAPI must see the dependency annotations, which
are built inside the route factories, as real objects.
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from shared import dates
from shared.auth import Principal
from shared.casework import commands
from shared.casework.adapters.store import CaseApplication
from shared.casework.domain import CaseNotFound, CommandRefused, NotInScope
from shared.contracts.events import CorrectionReasonCode
from shared.contracts.events.corrections import NOTE_MAX_LENGTH
from shared.contracts.text import FreeText
from shared.settings import ServiceSettings

# A correction's or withdrawal's optional note, as both caseworker services take it.
Note = Field(
    default=None,
    max_length=NOTE_MAX_LENGTH,
    description="Optional short note why (sealed with the youth's data key).",
)


class WithdrawalRequest(BaseModel):
    """`POST .../withdrawals`: the entry that did not happen, and why."""

    model_config = ConfigDict(extra="forbid")
    withdraws: uuid.UUID = Field(description="The event id of the entry that did not happen.")
    reason: CorrectionReasonCode
    note: FreeText | None = Note


@dataclass(frozen=True)
class CaseRoutes:
    """What a caseworker service's routes need: who may call."""

    caseworker: Callable[..., Awaitable[Principal]]
    coordinator: Callable[..., Awaitable[Principal]]
    settings: ServiceSettings
    # Configuration (time rules, the measure catalogue): no personal data, so the consortium's
    # administrator may keep it too.
    configurer: Callable[..., Awaitable[Principal]]
    configuration_reader: Callable[..., Awaitable[Principal]]
    service: str = "case"


def application_of(request: Request) -> CaseApplication:
    application: CaseApplication = request.app.state.application
    return application


def answer_recorded(response: Response, recorded: bool) -> bool:
    """201 for something recorded now, 200 for a retried request that had been recorded."""
    if not recorded:
        response.status_code = status.HTTP_200_OK
    return recorded


def add_refusal_handlers(app: FastAPI) -> None:
    """Domain refusals as HTTP answers naming the field and the reason; another municipality's
    youth is 'not found' (its existence is not disclosed)."""

    def problem(code: int, detail: str, field: str, reason: str) -> JSONResponse:
        return JSONResponse(
            status_code=code,
            content={"detail": detail, "errors": [{"field": field, "problem": reason}]},
        )

    @app.exception_handler(CaseNotFound)
    async def _not_found(request: Request, exc: CaseNotFound) -> JSONResponse:
        return problem(404, "not found", "youth_id", "no such youth in your municipality")

    @app.exception_handler(NotInScope)
    async def _not_in_scope(request: Request, exc: NotInScope) -> JSONResponse:
        return problem(
            409,
            "not allowed now",
            "youth_id",
            "the youth is not in the municipality's activity responsibility now",
        )

    @app.exception_handler(CommandRefused)
    async def _refused(request: Request, exc: CommandRefused) -> JSONResponse:
        if exc.conflict:
            return problem(409, "not allowed now", exc.field, exc.reason)
        return problem(422, "invalid request", exc.field, exc.reason)

    @app.exception_handler(dates.ImplausibleDate)
    async def _implausible(request: Request, exc: dates.ImplausibleDate) -> JSONResponse:
        return problem(422, "invalid request", exc.field, exc.reason)


class RulesUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: dict[str, int] = Field(description="Rule name → value; unnamed rules keep theirs.")


class RulesView(BaseModel):
    tenant: str
    rules: dict[str, int]
    descriptions: dict[str, str]


class RuleChanged(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    before: int = Field(alias="from", serialization_alias="from")
    after: int = Field(alias="to", serialization_alias="to")


class RulesChange(BaseModel):
    at: datetime = Field(description="When the change was recorded.")
    actor: str | None = Field(description="Who made it ('user:<subject>').")
    version: int = Field(description="The rules' version the change made.")
    changes: dict[str, RuleChanged] = Field(description="Rule name → from and to.")


class RulesHistory(BaseModel):
    tenant: str
    changes: list[RulesChange] = Field(description="Oldest first.")


def rules_routes(context: CaseRoutes) -> APIRouter:
    """GET and PUT (coordinators, the consortium's administrator) of the municipality's time rules."""
    router = APIRouter()  # included in the service's /v1 router

    def view(application: CaseApplication, tenant: str, rules: dict[str, int]) -> RulesView:
        return RulesView(
            tenant=tenant,
            rules=rules,
            descriptions={k: r.description for k, r in application.rule_book.items()},
        )

    @router.get("/tenant-rules", response_model=RulesView)
    async def get_rules(
        request: Request, caller: Annotated[Principal, Depends(context.configuration_reader)]
    ) -> RulesView:
        application = application_of(request)
        rules = await commands.rules_of(application, caller.tenant)
        return view(application, caller.tenant, rules)

    @router.get("/tenant-rules/history", response_model=RulesHistory)
    async def get_rules_history(
        request: Request, caller: Annotated[Principal, Depends(context.configuration_reader)]
    ) -> RulesHistory:
        """Every change of the municipality's rules (each an event), oldest first: when, who,
        and each rule changed from what to what."""
        changes = await commands.rules_history(application_of(request), caller.tenant)
        return RulesHistory(tenant=caller.tenant, changes=[RulesChange(**c) for c in changes])

    @router.put("/tenant-rules", response_model=RulesView)
    async def put_rules(
        body: RulesUpdate,
        request: Request,
        caller: Annotated[Principal, Depends(context.configurer)],
    ) -> RulesView:
        application = application_of(request)
        rules = await commands.configure_rules(application, caller.tenant, body.rules, caller.actor)
        return view(application, caller.tenant, rules)

    return router
