"""The register's reads (caseworkers, coordinators, inspectors; tenant from the token): the list
of youths, a youth's timeline, the data-quality figures and the summary.

Every answer names the field and the problem and never echoes a submitted value: query parameters
are bounded and validated by type or pattern (`params.py`).
"""

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel

from services.register.adapters import readmodel as queries
from services.register.commands.quality import quality
from services.register.domain.quality import DEFAULT_CURRENCY_DAYS
from services.register.entrypoints.http.params import (
    Offset,
    Period,
    half_year_of,
    logged,
    refused,
    scoped,
)
from shared.auth import Principal
from shared.contracts.text import Text
from shared.crypto import TenantKeys


class YouthRow(BaseModel):
    youth_id: uuid.UUID
    status: str
    scope_episode_id: uuid.UUID
    entered_on: date
    scope_ends_on: date
    left_on: date | None
    left_reason: str | None
    rule_version: str
    contacts: int
    measures: int


class YouthPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[YouthRow]


def register_routes(
    reader: Callable[..., Awaitable[Principal]],
    today: Callable[[], date],
    keys: TenantKeys,
) -> APIRouter:
    """The register's reads. `keys` open the caseworkers' words in a youth's timeline (plan
    revisions, measures' content), sealed with the youth's data key."""
    router = APIRouter(prefix="/v1")
    Reader = Annotated[Principal, Depends(reader)]

    @router.get("/youths", response_model=YouthPage)
    async def list_youths(
        request: Request,
        caller: Reader,
        status_filter: Annotated[
            queries.YouthStatus | None,
            Query(alias="status", description="in_scope or out_of_scope"),
        ] = None,
        in_scope_on: Annotated[date | None, Query(description="In scope on this day.")] = None,
        occupation: Annotated[
            Literal["known", "unknown"] | None,
            Query(description="Occupation confirmed within currency_days before today, or not."),
        ] = None,
        currency_days: Annotated[int, Query(ge=14, le=365)] = 90,
        contacted: Annotated[
            bool | None,
            Query(description="With (true) or without (false) a contact attempt in the period."),
        ] = None,
        contacted_from: Annotated[date | None, Query()] = None,
        contacted_to: Annotated[date | None, Query()] = None,
        measure_type: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9_]+$")] = None,
        assignee: Annotated[Text | None, Query(min_length=1, max_length=120)] = None,
        sort: Annotated[queries.SortKey, Query()] = "entered_on",
        order: Annotated[Literal["asc", "desc"], Query()] = "asc",
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Offset = 0,
    ) -> YouthPage:
        """The municipality's youths, filtered, sorted and paginated."""
        if contacted_from and contacted_to and contacted_to < contacted_from:
            raise refused("contacted_to", "is before contacted_from")
        filters = queries.YouthFilter(
            status=status_filter,
            in_scope_on=in_scope_on,
            occupation=occupation,
            occupation_as_of=today(),
            currency_days=currency_days,
            contacted=contacted,
            contacted_from=contacted_from,
            contacted_to=contacted_to,
            measure_type=measure_type,
            assignee=assignee,
            sort=sort,
            descending=order == "desc",
        )
        total, rows = await queries.list_youths(
            scoped(request, caller), caller.tenant, status_filter, limit, offset, filters
        )
        return YouthPage(
            total=total, limit=limit, offset=offset, items=[YouthRow(**r) for r in rows]
        )

    @router.get("/youths/{youth_id}")
    async def youth(youth_id: uuid.UUID, request: Request, caller: Reader) -> dict[str, Any]:
        timeline = await queries.youth_timeline(scoped(request, caller), caller.tenant, youth_id)
        if timeline is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, "youth_id: no such youth in your municipality"
            )
        await logged(request, caller, [youth_id], "register", "register timeline")
        return await queries.open_free_text(
            scoped(request, caller), keys, caller.tenant, youth_id, timeline
        )

    @router.get("/quality")
    async def data_quality(
        request: Request,
        caller: Reader,
        period: Period,
        currency_days: Annotated[
            int, Query(ge=14, le=365, description="Days an occupation stays known.")
        ] = DEFAULT_CURRENCY_DAYS,
    ) -> dict[str, Any]:
        """Data-quality figures of the caller's municipality for a half-year."""
        day = today()
        half = half_year_of(period, day)
        return await quality(scoped(request, caller), caller.tenant, half, day, currency_days)

    @router.get("/summary")
    async def summary(request: Request, caller: Reader) -> dict[str, Any]:
        return {
            "tenant": caller.tenant,
            **await queries.summary(scoped(request, caller), caller.tenant),
        }

    return router
