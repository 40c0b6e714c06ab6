"""Worklists: which youths need what from a caseworker today, why, and since when.

Each list is a rule over the case summaries (and the follow-ups the measures service scheduled),
with the tenant's own time rules. An open item belongs to a youth in scope; when a youth leaves
scope the items they had are closed with the leaving reason (`state=closed` shows those of the
last 90 days). Clocks count Swedish working days (`shared.workdays`).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import asyncpg

from services.outreach.domain.clock import contact_clock
from shared.isolation import TenantScoped

ListName = Literal["first_contact", "recontact", "stale_occupation", "turning_20", "follow_up"]
LIST_NAMES: tuple[ListName, ...] = (
    "first_contact",
    "recontact",
    "stale_occupation",
    "turning_20",
    "follow_up",
)
CLOSED_WINDOW_DAYS = 90
NOT_REACHED_SQL = "('not_reached', 'declined_contact', 'wrong_contact_details')"


class _Counts:
    """A list's total, kept for COUNT_SECONDS: a caseworker paging through a list of thousands
    does not need it recounted for every page (a page itself is always read fresh)."""

    def __init__(self) -> None:
        self._known: dict[tuple[Any, ...], tuple[float, int]] = {}

    def get(self, key: tuple[Any, ...]) -> int | None:
        known = self._known.get(key)
        if known is None or time.monotonic() - known[0] >= COUNT_SECONDS:
            return None
        return known[1]

    def put(self, key: tuple[Any, ...], total: int) -> None:
        if len(self._known) > 10_000:
            self._known.clear()
        self._known[key] = (time.monotonic(), total)


COUNT_SECONDS = 1.0
_counted = _Counts()


# Not frozen: each field of a frozen dataclass is set through object.__setattr__, ~1 µs an item
# more, 50 µs a worklist page (measured).
@dataclass(slots=True)
class Item:
    youth_id: uuid.UUID
    worklist: ListName
    reason: str
    since: date
    assignee: str | None
    clock: dict[str, Any] | None = None
    entered_on: date | None = None  # the scope episode's legal entry date
    follow_up_id: uuid.UUID | None = None
    closed_on: date | None = None
    closed_reason: str | None = None
    # Why, as data: `code` (new_in_scope, school_reported, not_reached, occupation_unknown,
    # occupation_stale, turning_20, follow_up) and the facts it names, for a client's own words.
    why: dict[str, Any] | None = None


# Each list: the condition on a case as of day $2 (open: today; closed: the day the youth left),
# the day the youth has been on the list since, and the order (a column the list's partial index
# holds, so a page is an index scan, not a sort). $3 is the list's rule (days).
_CONDITIONS: dict[str, tuple[str, str, str]] = {
    "first_contact": (
        "c.clock_from IS NOT NULL AND c.first_attempt_on IS NULL",
        "c.clock_from",
        "c.clock_from",
    ),
    "recontact": (
        f"c.last_attempt_outcome IN {NOT_REACHED_SQL}"
        " AND (c.last_contact_on IS NULL OR c.last_contact_on < c.last_attempt_on)"
        " AND c.last_attempt_on <= {day} - $3::int",
        "c.last_attempt_on + $3::int",
        "c.last_attempt_on",
    ),
    # Never recorded first (unknown from the start), then the longest unconfirmed.
    "stale_occupation": (
        "(c.occupation_confirmed_on IS NULL OR c.occupation_confirmed_on <= {day} - $3::int)",
        "COALESCE(c.occupation_confirmed_on + $3::int, c.entered_on)",
        "c.occupation_confirmed_on NULLS FIRST, c.entered_on",
    ),
    "turning_20": (
        "c.scope_ends_on <= {day} + $3::int",
        "c.scope_ends_on - $3::int",
        "c.scope_ends_on",
    ),
}
_RULE_OF = {
    "first_contact": "first_contact_working_days",
    "recontact": "recontact_days",
    "stale_occupation": "occupation_currency_days",
    "turning_20": "turning_20_notice_days",
}


async def worklist(
    pool: asyncpg.Pool | TenantScoped,
    schema: str,
    tenant: str,
    name: ListName,
    today: date,
    rules: dict[str, int],
    *,
    assignee: str | None = None,
    closed: bool = False,
    limit: int = 50,
    offset: int = 0,
    teams: frozenset[str] | None = None,
    unassigned: bool = False,
) -> tuple[int, list[Item]]:
    """One page of a worklist (oldest first) and how many items it has in all: every case, or
    only those assigned to `assignee` (a caseworker 'user:<sub>' or a team code), to any of
    `teams` (assigned as a team), or to nobody (`unassigned`). The list's partial index serves
    each: the holder is a filter on its scan."""
    rule = rules.get(_RULE_OF.get(name, ""), 0)
    day = "c.left_on" if closed else "$2::date"
    scope = (
        "NOT c.in_scope AND c.left_on IS NOT NULL AND c.left_on >= $2::date - $4::int"
        if closed
        else "c.in_scope"
    )
    params: list[Any] = [tenant, today, rule, CLOSED_WINDOW_DAYS]
    who = ""
    if unassigned:
        who = " AND c.assignee IS NULL"
    elif teams is not None:
        params.append(tuple(sorted(teams)))
        who = f" AND c.assignee_kind = 'team' AND c.assignee = ANY(${len(params)}::text[])"
    elif assignee is not None:
        params.append(assignee)
        who = f" AND c.assignee = ${len(params)}"
    table = f'"{schema}".cases'
    if name == "follow_up":
        done = (
            "(f.completed_on IS NULL OR f.completed_on > c.left_on)"
            if closed
            else ("f.completed_on IS NULL")
        )
        source = f'{table} c JOIN "{schema}".follow_ups f ON f.youth_id = c.youth_id'
        where = f"c.tenant = $1 AND {scope} AND {done} AND f.due_on <= {day}{who}"
        since = order = "f.due_on"
        extra = ", f.follow_up_id, f.subject"
    else:
        condition, since, order = _CONDITIONS[name]
        source = f"{table} c"
        where = f"c.tenant = $1 AND {scope} AND {condition.format(day=day)}{who}"
        extra = ", NULL::uuid AS follow_up_id, NULL::text AS subject"
    # $2-$4 are referenced by some conditions only; keep their types known for the others.
    where += " AND $2::date IS NOT NULL AND $3::int IS NOT NULL AND $4::int IS NOT NULL"
    # The statement is assembled from this module's constants and the service's own schema
    # name; every value from a request is a parameter.
    count_sql = f"SELECT count(*) FROM {source} WHERE {where}"  # noqa: S608
    page_sql = (
        f"SELECT c.*, {since} AS since{extra} FROM {source} WHERE {where}"  # noqa: S608
        f" ORDER BY {order}, c.youth_id LIMIT ${len(params) + 1} OFFSET ${len(params) + 2}"
    )
    async with pool.acquire() as conn:
        key = (schema, count_sql, *params)
        total = _counted.get(key)
        if total is None:
            total = await conn.fetchval(count_sql, *params)
            _counted.put(key, total)
        rows = await conn.fetch(page_sql, *params, limit, offset) if limit and total else []
    return total, [_item(name, row, today, rules, closed) for row in rows]


def _item(name: ListName, row: Any, today: date, rules: dict[str, int], closed: bool) -> Item:
    since: date = row["since"]
    as_of: date = row["left_on"] if closed else today
    clock = None
    if name == "first_contact":
        school = row["clock_trigger"] == "school_notification"
        reason = (
            "a school reported the youth; no contact attempt since"
            if school
            else "in scope; no contact attempt yet"
        )
        why: dict[str, Any] = {"code": "school_reported" if school else "new_in_scope"}
        clock = contact_clock(clock_of(row), as_of, rules["first_contact_working_days"])
    elif name == "recontact":
        reason = f"last attempt {row['last_attempt_on']} ended {row['last_attempt_outcome']}"
        why = {"code": "not_reached", "last_attempt_on": row["last_attempt_on"],
               "outcome": row["last_attempt_outcome"]}  # fmt: skip
    elif name == "stale_occupation":
        confirmed = row["occupation_confirmed_on"]
        reason = (
            "occupation never recorded: unknown"
            if confirmed is None
            else f"occupation last confirmed {confirmed}: now unknown"
        )
        why = {"code": "occupation_unknown" if confirmed is None else "occupation_stale",
               "confirmed_on": confirmed}  # fmt: skip
    elif name == "turning_20":
        reason = f"turns 20 on {row['scope_ends_on']}; scope ends then"
        why = {"code": "turning_20", "scope_ends_on": row["scope_ends_on"]}
    else:
        reason = f"follow-up due ({row['subject']})"
        why = {"code": "follow_up", "subject": row["subject"]}
    return Item(
        youth_id=row["youth_id"],
        worklist=name,
        reason=reason,
        why=why,
        since=since,
        assignee=row["assignee"],
        clock=clock,
        entered_on=row["entered_on"],
        follow_up_id=row["follow_up_id"],
        closed_on=row["left_on"] if closed else None,
        closed_reason=row["left_reason"] if closed else None,
    )


def clock_of(row: Any) -> dict[str, Any]:
    """The contact clock as a case's summary row holds it (`domain.contact_clock` reads it)."""
    return {
        "from": row["clock_from"],
        "trigger": row["clock_trigger"],
        "event_on": row["clock_event_on"],
        "first_attempt_on": row["first_attempt_on"],
        "first_contact_on": row["first_contact_on"],
    }


async def counts(
    pool: asyncpg.Pool | TenantScoped,
    schema: str,
    tenant: str,
    today: date,
    rules: dict[str, int],
    assignee: str | None = None,
    *,
    teams: frozenset[str] | None = None,
    unassigned: bool = False,
) -> dict[str, int]:
    """Each list's open items today (only those of the holder given, as `worklist` reads it)."""
    whose: dict[str, Any] = {"assignee": assignee, "teams": teams, "unassigned": unassigned}
    return {
        name: (await worklist(pool, schema, tenant, name, today, rules, limit=0, **whose))[0]
        for name in LIST_NAMES
    }
