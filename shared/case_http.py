"""HTTP routes both caseworker services have: the municipality's own time rules.

No `from __future__ import annotations` here: FastAPI must see the dependency annotations, which
are built inside the route factories, as real objects.
"""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from shared.auth import Principal
from shared.case_service import CaseRoutes, application_of, rules_of
from shared.cases import CaseApplication


class RulesUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: dict[str, int] = Field(description="Rule name → value; unnamed rules keep theirs.")


class RulesView(BaseModel):
    tenant: str
    rules: dict[str, int]
    descriptions: dict[str, str]


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
        rules = await rules_of(application, caller.tenant)
        return view(application, caller.tenant, rules)

    @router.put("/tenant-rules", response_model=RulesView)
    async def put_rules(
        body: RulesUpdate,
        request: Request,
        caller: Annotated[Principal, Depends(context.configurer)],
    ) -> RulesView:
        application = application_of(request)
        rules = await asyncio.to_thread(
            application.configure_rules, caller.tenant, body.rules, caller.actor
        )
        return view(application, caller.tenant, rules)

    return router
