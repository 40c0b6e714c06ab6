"""The inspector's use cases (granskare): the register as of an instant beside another, a youth's
timeline as of an instant, and the access log. Read-only: nothing here records anything, but every
read is in the register's access log (the register logs each youth its replays show, with the
purpose `audit-replay`; and each read of the access log is the inspector's own).

An instant the inspector types is refused (`FormRefused`, messages by field) before any service is
asked; the register refuses the rest (an instant in the future, a youth not in the municipality).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.web.adapters.services_api import Refused, ServicesApi
from services.web.adapters.sessions import Session
from services.web.commands.youth import FormRefused
from services.web.domain import inspection as shown
from services.web.domain.inspection_timeline import Timeline, Words, timeline_shown
from shared.codelists import code_list
from shared.contracts.text import text_problem

REPLAY_REFUSED = "Registret kan inte visas vid den tidpunkten. Välj en tidpunkt som har passerat."
NOW_MARGIN = timedelta(seconds=2)  # "now" asked a little before now: the clocks may differ


def words() -> Words:
    return Words(
        occupations=dict(code_list("occupation").codes),
        measure_types=dict(code_list("measure-type").codes),
        end_reasons=dict(code_list("measure-end-reason").codes),
    )


def occupations() -> dict[str, str]:
    return dict(code_list("occupation").codes)


@dataclass(frozen=True)
class Instants:
    """The instants a page is asked for: the first, and the one compared with (None: now)."""

    first: datetime
    second: datetime | None


def instants(
    typed_first: str, typed_second: str, now: datetime, prefix: str = "granskning"
) -> Instants:
    """The typed instants, or `FormRefused` naming each field that is wrong (by element id)."""
    errors = {}
    problem = shown.instant_problem(typed_first, "Tidpunkt", now)
    if problem:
        errors[f"{prefix}-vid"] = problem
    second_problem = shown.instant_problem(typed_second, "Jämförelsetidpunkt", now, required=False)
    if second_problem:
        errors[f"{prefix}-jamfor"] = second_problem
    if errors:
        raise FormRefused(errors)
    first = shown.instant_typed(typed_first)
    assert first is not None
    return Instants(first, shown.instant_typed(typed_second) if typed_second.strip() else None)


async def _replay(
    api: ServicesApi, user: Session, at: datetime, youth_id: uuid.UUID | None = None
) -> dict[str, Any]:
    """The register's replay at `at`; its refusal of the instant (422: in the future by its clock,
    or outside what it holds) as the field's error."""
    path = "/v1/audit/register" if youth_id is None else f"/v1/audit/youths/{youth_id}"
    try:
        found: dict[str, Any] = await api.call("register", "GET", path, user.token, user.tenant,
                                               params={"as_of": at.isoformat()})  # fmt: skip
    except Refused as refused:
        if refused.status != 422:
            raise
        field = "granskning-vid" if youth_id is None else "tidslinje-vid"
        raise FormRefused({field: REPLAY_REFUSED}) from None
    return found


@dataclass(frozen=True)
class RegisterAsOf:
    """The register at `first` beside `second` (now when the inspector named none)."""

    first: datetime
    second: datetime
    second_is_now: bool
    comparison: shown.Comparison
    summary: list[tuple[str, int, int, str]]
    events: tuple[int, int]  # the municipality's events recorded by each instant
    rows: list[shown.Compared] = field(default_factory=list)  # the page shown
    paging: shown.Paging = field(default_factory=lambda: shown.paging(0, 1))
    only_differences: bool = False


async def register_as_of(
    api: ServicesApi, user: Session, asked: Instants, now: datetime, page: int, only_diff: bool
) -> RegisterAsOf:
    """Both replays at once (each is the register's own work: it projects the municipality's
    events recorded by then into a scratch schema), compared; one page of the rows kept."""
    second = asked.second or now - NOW_MARGIN
    then, other = await asyncio.gather(_replay(api, user, asked.first),
                                       _replay(api, user, second))  # fmt: skip
    comparison = shown.compare(then.get("youths") or [], other.get("youths") or [], occupations())
    rows = comparison.differing if only_diff else comparison.rows
    paged = shown.paging(len(rows), page)
    return RegisterAsOf(
        first=asked.first,
        second=second,
        second_is_now=asked.second is None,
        comparison=comparison,
        summary=shown.summary_rows(then.get("summary") or {}, other.get("summary") or {}),
        events=(int(then.get("events_recorded_by_then") or 0),
                int(other.get("events_recorded_by_then") or 0)),
        rows=rows[paged.offset : paged.offset + shown.PAGE_SIZE],
        paging=paged,
        only_differences=only_diff,
    )  # fmt: skip


async def youth_as_of(
    api: ServicesApi, user: Session, youth_id: uuid.UUID, at: datetime
) -> Timeline:
    """One youth's register content as it stood at `at` (the register logs the read)."""
    return timeline_shown(await _replay(api, user, at, youth_id), words())


@dataclass(frozen=True)
class AccessSearch:
    """The access log's search as typed (kept to show again) and as the register is asked."""

    youth: str = ""
    reader: str = ""
    since: str = ""
    until: str = ""

    def params(self) -> dict[str, Any]:
        """The register's query parameters, or `FormRefused` naming the fields that are wrong."""
        errors, params = {}, {}
        if self.youth.strip():
            youth_id = shown.youth_typed(self.youth)
            if youth_id is None:
                errors["atkomst-ungdom"] = (
                    "Ungdomens id ska vara ett pseudonymt id, till exempel "
                    "1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed."
                )
            else:
                params["youth_id"] = str(youth_id)
        reader = shown.reader_of(self.reader)
        if reader is not None and text_problem(reader) is not None:  # as the register's Text
            errors["atkomst-anvandare"] = "Användarnamnet får inte innehålla styrtecken."
        elif reader is not None:
            params["actor"] = reader[:200]
        bounds = {}
        for key, text, label, end in (("since", self.since, "Från", False),
                                      ("until", self.until, "Till och med", True)):  # fmt: skip
            if not text.strip():
                continue
            at = shown.period_bound(text, end=end)
            if at is None:
                errors[f"atkomst-{key}"] = (
                    f"{label} ska skrivas som år-månad-dag, med eller utan klockslag, "
                    "till exempel 2026-03-01 eller 2026-03-01 14:30."
                )
            else:
                bounds[key] = at
                params[key] = at.isoformat()
        if "since" in bounds and "until" in bounds and bounds["until"] < bounds["since"]:
            errors["atkomst-until"] = "Till och med får inte vara före Från."
        if errors:
            raise FormRefused(errors)
        return params


@dataclass(frozen=True)
class AccessPage:
    entries: list[shown.AccessShown]
    paging: shown.Paging


async def access_log(
    api: ServicesApi, user: Session, search: AccessSearch, page: int
) -> AccessPage:
    """One page of the access log, newest first, as the search narrows it."""
    params = search.params()
    asked = max(1, page)
    found: Mapping[str, Any] = await api.call(
        "register", "GET", "/v1/access-log", user.token, user.tenant,
        params={**params, "limit": shown.PAGE_SIZE, "offset": (asked - 1) * shown.PAGE_SIZE},
    )  # fmt: skip
    total = int(found.get("total") or 0)
    paged = shown.paging(total, asked)
    if paged.page != asked and total:  # past the end: the last page
        found = await api.call(
            "register", "GET", "/v1/access-log", user.token, user.tenant,
            params={**params, "limit": shown.PAGE_SIZE, "offset": paged.offset},
        )  # fmt: skip
    return AccessPage([shown.access_shown(e) for e in found.get("items") or []], paged)
