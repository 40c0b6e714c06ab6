"""HTTP: the caseload for the coordinator's team overview (`GET /v1/caseload`, and one holder's
open cases `GET /v1/caseload/cases`). Coordinators only: it shows every caseworker's load.

No `from __future__ import annotations` here: FastAPI must see the dependency annotations.
"""

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from services.outreach.commands import OutreachHandlers
from services.outreach.commands.caseload import caseload_of, cases_held
from shared.auth import Principal
from shared.casework.entrypoints.http import CaseRoutes
from shared.contracts.text import Text


class Holding(BaseModel):
    assignee_kind: str | None = Field(description="caseworker, team, or null: unassigned.")
    assignee: str | None = Field(description="'user:<subject>', a team code, or null.")
    open: int = Field(description="Open cases (youths in scope) held.")
    first_contact_overdue: int = Field(
        description="Of them, waiting for a first contact attempt past the municipality's limit."
    )
    stale_occupation: int = Field(
        description="Of them, with no occupation confirmed within the currency period."
    )


class Caseload(BaseModel):
    today: date
    first_contact_working_days: int
    occupation_currency_days: int
    holders: list[Holding] = Field(description="Each holder, the most open cases first.")


class HeldCase(BaseModel):
    youth_id: uuid.UUID
    entered_on: date | None
    assignee_kind: str | None
    assignee: str | None


class HeldCases(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[HeldCase]


def caseload_routes(context: CaseRoutes, handlers: OutreachHandlers) -> APIRouter:
    router = APIRouter()  # included in the service's /v1 router
    Coordinator = Annotated[Principal, Depends(context.coordinator)]

    @router.get("/caseload", response_model=Caseload)
    async def get_caseload(caller: Coordinator) -> Caseload:
        """Open cases per caseworker and team, and unassigned (assignee null), each with how
        many wait past the first-contact limit and have a stale occupation."""
        today, rules, holders = await caseload_of(handlers.runtime, handlers.clock, caller)
        return Caseload(
            today=today,
            first_contact_working_days=rules["first_contact_working_days"],
            occupation_currency_days=rules["occupation_currency_days"],
            holders=[Holding(**vars(h)) for h in holders],
        )

    @router.get("/caseload/cases", response_model=HeldCases)
    async def get_held_cases(
        caller: Coordinator,
        assignee: Annotated[
            Text | None,
            Query(
                min_length=1,
                max_length=120,
                description="'user:<subject>' or a team code; absent: the unassigned cases.",
            ),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> HeldCases:
        """One holder's open cases, the earliest in scope first."""
        total, items = await cases_held(handlers.runtime, caller, assignee, limit, offset)
        return HeldCases(total=total, limit=limit, offset=offset,
                         items=[HeldCase(**vars(i)) for i in items])  # fmt: skip

    return router
