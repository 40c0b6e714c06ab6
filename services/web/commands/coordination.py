"""The coordinator's team overview: the caseload per caseworker and team (outreach's
`GET /v1/caseload`), the unassigned youths, the first contacts past the municipality's limit, the
stale occupations, one holder's cases; and assigning one or many youths at once (outreach's
`PUT /v1/youths/{id}/assignment` for each).

Who holds cases is named in an address by a keyed hash (`domain.coordination.holder_key`), never
by a user name; the youths by their pseudonymous ids.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.web.adapters.services_api import Refused, ServicesApi, Unavailable
from services.web.adapters.sessions import Session
from services.web.commands import Name, names_of
from services.web.commands.youth import ASSIGNEE_KINDS, FormRefused
from services.web.domain import swedish
from services.web.domain.clock import ClockShown, shown
from services.web.domain.coordination import (
    ASSIGNEE_PATTERN,
    UNASSIGNED,
    holder_key,
    holder_text,
)

PAGE_SIZE = 50
MAX_CHOSEN = 200  # youths assigned in one go
AT_ONCE = 4  # assignments under way at the same time
# The lists of the overview: (address word, heading).
VIEWS: dict[str, str] = {
    "ej-tilldelade": "Ej tilldelade ungdomar",
    "forsta-kontakt": "Första kontakt över gränsen",
    "sysselsattning": "Sysselsättning att bekräfta",
    "ansvarig": "Ärenden hos",
}


@dataclass(frozen=True)
class HolderRow:
    kind: str | None
    assignee: str | None
    text: str
    key: str
    open: int
    first_contact_overdue: int
    stale_occupation: int


@dataclass(frozen=True)
class Row:
    youth_id: uuid.UUID
    name: Name | None
    detail: str
    holder: str
    clock: ClockShown | None = None


@dataclass(frozen=True)
class Overview:
    today: date
    first_contact_limit: int
    currency_days: int
    holders: list[HolderRow]  # the caseworkers and teams, the most open cases first
    unassigned: int
    overdue: int
    stale: int
    chosen: str
    title: str
    total: int
    rows: list[Row] = field(default_factory=list)
    names_missing: bool = False
    chosen_key: str = ""

    @property
    def open(self) -> int:
        return self.unassigned + sum(h.open for h in self.holders)


async def team_overview(
    api: ServicesApi, user: Session, chosen: str, key: str, secret: str
) -> Overview:
    """The overview's figures and the chosen list (`chosen`: a word of VIEWS; `ansvarig` with the
    holder's `key`): its first page, with the youths' names as Min dag shows them."""
    load = await api.call("outreach", "GET", "/v1/caseload", user.token, user.tenant)
    everyone = [
        HolderRow(h.get("assignee_kind"), h.get("assignee"),
                  holder_text(h.get("assignee_kind"), h.get("assignee")),
                  holder_key(secret, h.get("assignee_kind"), h.get("assignee")),
                  int(h["open"]), int(h["first_contact_overdue"]), int(h["stale_occupation"]))
        for h in load["holders"]
    ]  # fmt: skip
    holders = [h for h in everyone if h.assignee]
    nobody = next((h for h in everyone if not h.assignee), None)
    held = next((h for h in holders if h.key == key), None) if chosen == "ansvarig" else None
    if chosen not in VIEWS or (chosen == "ansvarig" and held is None):
        chosen = "ej-tilldelade"
    total, raw = await _listed(
        api, user, chosen, held, sum(h.first_contact_overdue for h in everyone)
    )
    try:
        names: dict[uuid.UUID, Name] | None = await names_of(api, user, [r.youth_id for r in raw])
    except Unavailable:
        names = None
    title = f"{VIEWS['ansvarig']} {held.text}" if held else VIEWS[chosen]
    return Overview(
        today=date.fromisoformat(str(load["today"])),
        first_contact_limit=int(load["first_contact_working_days"]),
        currency_days=int(load["occupation_currency_days"]),
        holders=holders,
        unassigned=nobody.open if nobody else 0,
        overdue=sum(h.first_contact_overdue for h in everyone),
        stale=sum(h.stale_occupation for h in everyone),
        chosen=chosen, title=title, total=total,
        rows=[Row(r.youth_id, (names or {}).get(r.youth_id), r.detail, r.holder, r.clock)
              for r in raw],
        names_missing=names is None and bool(raw),
        chosen_key=held.key if held else "",
    )  # fmt: skip


async def _listed(
    api: ServicesApi, user: Session, chosen: str, held: HolderRow | None, overdue: int
) -> tuple[int, list[Row]]:
    """The chosen list's first page (without names) and how many it has in all."""
    if chosen in ("ej-tilldelade", "ansvarig"):
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        if held is not None:
            params["assignee"] = held.assignee
        page = await api.call("outreach", "GET", "/v1/caseload/cases", user.token, user.tenant,
                              params=params)  # fmt: skip
        return int(page["total"]), [
            Row(uuid.UUID(i["youth_id"]), None,
                f"I aktivitetsansvaret sedan {swedish.swedish_iso_date(i.get('entered_on'))}",
                holder_text(i.get("assignee_kind"), i.get("assignee")))
            for i in page["items"]
        ]  # fmt: skip
    name = "first_contact" if chosen == "forsta-kontakt" else "stale_occupation"
    page = await api.call("outreach", "GET", f"/v1/worklists/{name}", user.token, user.tenant,
                          params={"limit": PAGE_SIZE})  # fmt: skip
    rows = []
    for item in page["items"]:  # oldest first: the first contacts past the limit lead the list
        clock = item.get("clock")
        if name == "first_contact" and (not clock or clock.get("within_limit", True)):
            continue
        rows.append(Row(
            uuid.UUID(item["youth_id"]), None,
            swedish.why_said(item.get("why"), swedish.WORKLISTS[name][1]),
            swedish_holder(item.get("assignee")),
            shown(clock) if clock else None,
        ))  # fmt: skip
    return (overdue if name == "first_contact" else int(page["total"])), rows


def swedish_holder(assignee: str | None) -> str:
    """A worklist item's assignee (the list does not say its kind): a caseworker `user:<sub>`
    by name, anything else a team's code."""
    if not assignee:
        return UNASSIGNED
    return holder_text("caseworker" if assignee.startswith("user:") else "team", assignee)


@dataclass(frozen=True)
class NotAssigned:
    youth_id: uuid.UUID
    name: str
    reason: str


@dataclass(frozen=True)
class AssignOutcome:
    assigned: int
    holder: str
    refused: list[NotAssigned] = field(default_factory=list)


REASONS = {
    404: "finns inte (längre) i kommunens register",
    409: "är inte i aktivitetsansvaret nu",
    403: "du får inte tilldela ärendet",
}


def chosen_youths(values: list[str]) -> list[uuid.UUID]:
    """The youths ticked (each once, in order; what is no UUID is no youth)."""
    found: list[uuid.UUID] = []
    for value in values[:MAX_CHOSEN]:
        try:
            youth = uuid.UUID(value)
        except ValueError:
            continue
        if youth not in found:
            found.append(youth)
    return found


def _checked(fields: Mapping[str, str], youths: list[uuid.UUID]) -> dict[str, str]:
    kind, assignee = fields.get("assignee_kind", ""), fields.get("assignee", "").strip()
    errors: dict[str, str] = {}
    if not youths:
        errors["tilldela-ungdomar"] = "Välj minst en ungdom att tilldela."
    if kind not in ASSIGNEE_KINDS:
        errors["tilldela-assignee_kind"] = (
            "Välj om ärendena ska till en handläggare eller ett team."
        )
    if not assignee:
        errors["tilldela-assignee"] = "Fyll i handläggarens användarnamn eller teamets kod."
    elif not ASSIGNEE_PATTERN.match(assignee) or (kind == "team" and ":" in assignee):
        errors["tilldela-assignee"] = (
            "Skriv handläggarens användarnamn eller teamets kod (bokstäver, siffror, punkt, "
            "understreck, bindestreck)."
        )
    return errors


async def assign_many(
    api: ServicesApi, user: Session, fields: Mapping[str, str], youths: list[uuid.UUID]
) -> AssignOutcome:
    """Give each chosen youth's case to one caseworker or team; what was refused, by whom it
    concerns (the name as Min dag shows it) and why. A form the page or the service finds wrong
    (no youth, no assignee) is `FormRefused`."""
    errors = _checked(fields, youths)
    if errors:
        raise FormRefused(errors)
    kind, assignee = fields["assignee_kind"], fields["assignee"].strip()
    gate = asyncio.Semaphore(AT_ONCE)

    async def one(youth: uuid.UUID) -> tuple[uuid.UUID, str | None]:
        async with gate:
            try:
                await api.call("outreach", "PUT", f"/v1/youths/{youth}/assignment", user.token,
                               user.tenant, body={"assignee_kind": kind, "assignee": assignee})  # fmt: skip
            except Refused as refused:
                if refused.status == 422:
                    return youth, "invalid"
                if refused.status not in REASONS:
                    raise
                return youth, REASONS[refused.status]
            except Unavailable:
                return youth, "tjänsten svarade inte; försök igen"
            return youth, None

    outcomes = await asyncio.gather(*(one(y) for y in youths))
    if any(reason == "invalid" for _, reason in outcomes):
        raise FormRefused({"tilldela-assignee": "Handläggaren eller teamet godtogs inte: kontrollera "
                                                "hur det är skrivet."})  # fmt: skip
    refused = [(y, reason) for y, reason in outcomes if reason]
    try:
        names = await names_of(api, user, [y for y, _ in refused])
    except (Unavailable, Refused):
        names = {}
    shown_as = holder_text(
        kind, assignee if kind == "team" else "user:" + assignee.removeprefix("user:")
    )
    return AssignOutcome(
        assigned=len(outcomes) - len(refused), holder=shown_as,
        refused=[NotAssigned(y, names[y].text if y in names else f"Ärende {i + 1}", reason)
                 for i, (y, reason) in enumerate(refused)],
    )  # fmt: skip
