"""The web application's use cases: what each page asks of the services, for one signed-in user.
Callable without HTTP (the routes, the benchmark and the tests call the same functions)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from services.web.adapters.services_api import Refused, ServicesApi, Unavailable
from services.web.adapters.sessions import Session
from services.web.domain import swedish
from services.web.domain.clock import ClockShown, shown

Whose = Literal["mine", "team", "unassigned", "all"]
PAGE_SIZE = 25
# Min dag's choice of whose cases, in Swedish (the link, and the line under the heading).
WHOSE: dict[str, tuple[str, str]] = {
    "mine": ("Mina", "mina ärenden"),
    "team": ("Mitt team", "mitt teams ärenden"),
    "unassigned": ("Ej tilldelade", "ärenden som ingen har tagit"),
    "all": ("Hela kommunen", "hela kommunens ärenden"),
}
# How outreach's worklists are asked for each (`assigned`, see its GET /v1/worklists).
_HOLDER: dict[str, dict[str, Any]] = {
    "mine": {"mine": True},
    "team": {"assigned": "my_teams"},
    "unassigned": {"assigned": "none"},
    "all": {},
}


def whose_of(vems: str) -> Whose:
    """The `vems` of Min dag's address as a choice (anything else: the user's own cases)."""
    for whose in ("team", "unassigned", "all"):
        if vems == whose:
            return whose
    return "mine"


@dataclass(frozen=True)
class Name:
    """Who a youth on a list is, as the register opened it for this page (`text`: the name and
    age, or what stands instead: a protected or purged identity)."""

    text: str
    protected: bool = False


@dataclass(frozen=True)
class ListItem:
    youth_id: uuid.UUID
    reason: str
    since: date
    assignee: str | None
    clock: ClockShown | None
    name: Name | None = None


@dataclass(frozen=True)
class MyDay:
    today: date
    counts: dict[str, int]
    chosen: str
    whose: Whose
    total: int
    items: list[ListItem] = field(default_factory=list)
    names_missing: bool = False  # the register did not answer: the list without names
    teams: list[str] = field(default_factory=list)  # the user's teams, as their token names them

    @property
    def choices(self) -> list[tuple[str, str]]:
        """Min dag's choices of whose cases: (vems, link text); "my team" only with a team."""
        team = "Mina team" if len(self.teams) > 1 else WHOSE["team"][0]
        return [(whose, team if whose == "team" else text) for whose, (text, _) in WHOSE.items()
                if whose != "team" or self.teams]  # fmt: skip

    @property
    def whose_text(self) -> str:
        return WHOSE[self.whose][1]


async def my_day(api: ServicesApi, user: Session, chosen: str, whose: Whose) -> MyDay:
    """Min dag: every worklist's count, and the chosen list's first page, of the same cases: the
    user's own, their team's (cases assigned to a team their token names), the unassigned, or
    all of the municipality's. "My team" for a user without a team is their own cases."""
    if chosen not in swedish.WORKLISTS:
        chosen = "first_contact"
    try:
        counts, page = await _lists(api, user, chosen, whose)
    except Refused as refused:
        if whose != "team" or refused.status != 422:
            raise
        whose = "mine"
        counts, page = await _lists(api, user, chosen, whose)
    ids = [uuid.UUID(item["youth_id"]) for item in page["items"]]
    try:
        names = await names_of(api, user, ids)
    except Unavailable:
        names = None
    items = [
        ListItem(
            youth_id=youth_id,
            reason=swedish.why_said(item.get("why"), swedish.WORKLISTS[chosen][1]),
            since=date.fromisoformat(item["since"]),
            assignee=item.get("assignee"),
            clock=shown(item.get("clock")),
            name=(names or {}).get(youth_id),
        )
        for youth_id, item in zip(ids, page["items"], strict=True)
    ]
    return MyDay(
        today=date.fromisoformat(counts["today"]),
        counts={name: int(counts["open"].get(name, 0)) for name in swedish.WORKLISTS},
        chosen=chosen,
        whose=whose,
        total=int(page["total"]),
        items=items,
        names_missing=names is None,
        teams=[str(team) for team in counts.get("teams", [])],
    )


async def _lists(
    api: ServicesApi, user: Session, chosen: str, whose: Whose
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The counts and the chosen list's first page, asked for the same holder."""
    holder = _HOLDER[whose]
    counts, page = await asyncio.gather(
        api.call("outreach", "GET", "/v1/worklists", user.token, user.tenant, params=holder),
        api.call("outreach", "GET", f"/v1/worklists/{chosen}", user.token, user.tenant,
                 params={"limit": PAGE_SIZE, **holder}),
    )  # fmt: skip
    return counts, page


NAME_STATES = {
    "protected": "Skyddad identitet",
    "purged": "Gallrad",
    "missing": "Namn saknas",
    "tampered": "Namnet kunde inte läsas",
}


async def names_of(
    api: ServicesApi, user: Session, youth_ids: list[uuid.UUID], purpose: str = "casework"
) -> dict[uuid.UUID, Name]:
    """The names and ages of one page of youths (the register's batch read: each youth shown is
    in its access log with the purpose)."""
    if not youth_ids:
        return {}
    found = await api.call("register", "POST", "/v1/identities/batch", user.token, user.tenant,
                           body={"youth_ids": [str(y) for y in youth_ids], "purpose": purpose})  # fmt: skip
    names: dict[uuid.UUID, Name] = {}
    for item in found["items"]:
        if item["state"] == "open":
            age = f", {item['age']} år" if item.get("age") is not None else ""
            text = f"{item.get('given_name') or ''} {item.get('family_name') or ''}".strip()
            names[uuid.UUID(item["youth_id"])] = Name(f"{text}{age}")
        else:
            shown_as = NAME_STATES.get(item["state"], item["state"])
            names[uuid.UUID(item["youth_id"])] = Name(shown_as, item["state"] == "protected")
    return names


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
