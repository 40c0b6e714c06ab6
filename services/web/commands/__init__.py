"""The web application's use cases: what each page asks of the services, for one signed-in user.
Callable without HTTP (the routes, the benchmark and the tests call the same functions)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from services.web.adapters.services_api import ServicesApi
from services.web.adapters.sessions import Session
from services.web.domain import swedish
from services.web.domain.clock import ClockShown, shown

Whose = Literal["mine", "all"]
PAGE_SIZE = 25


@dataclass(frozen=True)
class ListItem:
    youth_id: uuid.UUID
    reason: str
    since: date
    assignee: str | None
    clock: ClockShown | None


@dataclass(frozen=True)
class MyDay:
    today: date
    counts: dict[str, int]
    chosen: str
    whose: Whose
    total: int
    items: list[ListItem] = field(default_factory=list)


async def my_day(api: ServicesApi, user: Session, chosen: str, whose: Whose) -> MyDay:
    """Min dag: every worklist's count, and the chosen list's first page (the user's own cases,
    or all of the municipality's)."""
    if chosen not in swedish.WORKLISTS:
        chosen = "first_contact"
    params: dict[str, Any] = {"limit": PAGE_SIZE, "mine": whose == "mine"}
    counts, page = await asyncio.gather(
        api.call("outreach", "GET", "/v1/worklists", user.token, user.tenant),
        api.call("outreach", "GET", f"/v1/worklists/{chosen}", user.token, user.tenant,
                 params=params),
    )  # fmt: skip
    items = [
        ListItem(
            youth_id=uuid.UUID(item["youth_id"]),
            reason=item["reason"],
            since=date.fromisoformat(item["since"]),
            assignee=item.get("assignee"),
            clock=shown(item.get("clock")),
        )
        for item in page["items"]
    ]
    return MyDay(
        today=date.fromisoformat(counts["today"]),
        counts={name: int(counts["open"].get(name, 0)) for name in swedish.WORKLISTS},
        chosen=chosen,
        whose=whose,
        total=int(page["total"]),
        items=items,
    )


async def take_case(api: ServicesApi, user: Session, youth_id: uuid.UUID) -> None:
    """Assign the youth's case to the signed-in caseworker."""
    await api.call("outreach", "PUT", f"/v1/youths/{youth_id}/assignment", user.token,
                   user.tenant, body={"assignee_kind": "caseworker", "assignee": user.actor})  # fmt: skip


async def youth_case(api: ServicesApi, user: Session, youth_id: uuid.UUID) -> dict[str, Any]:
    """The youth's case as outreach holds it (scope, clock, contacts, occupations, entries)."""
    case: dict[str, Any] = await api.call(
        "outreach", "GET", f"/v1/youths/{youth_id}/case", user.token, user.tenant
    )
    return case
