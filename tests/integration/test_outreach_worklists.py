"""The worklist rules on the real PostgreSQL (`services/outreach/adapters/worklists.py`): which youth
is on which list on which day, why, and since when; closed items, the caller's own cases, paging.

Totals are kept for a second (a caseworker paging through a long list), so each test asks for a
total once per day and list, and reads the items after a change."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.outreach.adapters.worklists import Item, ListName
from services.outreach.commands import (
    Assign,
    AttemptContact,
    EstablishContact,
    RecordOccupation,
    WorklistQuery,
)
from shared.auth import Principal
from shared.casework.commands import Actor, configure_rules
from tests.integration.outreach_support import ANNA, TENANT, Outreach, outreach

__all__ = ["outreach"]  # the fixture
DAY = date(2026, 3, 2)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, tzinfo=UTC)


async def listed(
    outreach: Outreach,
    name: ListName,
    day: date,
    caller: Actor = ANNA,
    *,
    assignee: str | None = None,
    mine: bool = False,
    closed: bool = False,
) -> list[Item]:
    """The items of a list on `day` as `caller` sees them."""
    query = WorklistQuery(name, assignee=assignee, mine=mine, closed=closed)
    _, items = await outreach.on(day).worklist(caller, query)
    return items


async def test_an_identified_youth_waits_for_a_first_contact_since_the_identification(
    outreach: Outreach,
) -> None:
    youth = outreach.identify(entered_on=date(2026, 1, 15), identified_on=DAY)
    [item] = await listed(outreach, "first_contact", date(2026, 3, 9))
    assert (item.youth_id, item.since, item.entered_on) == (youth, DAY, date(2026, 1, 15))
    assert item.reason == "in scope; no contact attempt yet"
    assert item.clock is not None
    assert (item.clock["working_days_waiting"], item.clock["due_on"]) == (5, date(2026, 3, 16))
    await outreach.on(DAY).attempt_contact(ANNA, AttemptContact(youth, "sms", "reached", at(DAY)))
    assert await listed(outreach, "first_contact", date(2026, 3, 10)) == []


async def test_a_schools_report_after_a_contact_puts_the_youth_back_on_the_first_list(
    outreach: Outreach,
) -> None:
    youth = outreach.identify(identified_on=DAY)
    await outreach.on(DAY).attempt_contact(ANNA, AttemptContact(youth, "sms", "reached", at(DAY)))
    outreach.report(youth, "left", date(2026, 4, 1), received_on=date(2026, 4, 3))
    [item] = await listed(outreach, "first_contact", date(2026, 4, 6))
    assert (item.since, item.reason) == (
        date(2026, 4, 3), "a school reported the youth; no contact attempt since",
    )  # fmt: skip
    assert item.clock is not None
    assert (item.clock["trigger"], item.clock["event_on"]) == (
        "school_notification", date(2026, 4, 1),
    )  # fmt: skip


async def test_an_unreached_youth_is_due_a_recontact_after_the_municipalitys_days(
    outreach: Outreach,
) -> None:
    youth = outreach.identify()
    attempt = AttemptContact(youth, "phone", "not_reached", at(DAY))
    await outreach.on(DAY).attempt_contact(ANNA, attempt)
    assert await listed(outreach, "recontact", date(2026, 4, 30)) == []  # 59 days
    [item] = await listed(outreach, "recontact", date(2026, 5, 1))
    assert (item.since, item.reason) == (
        date(2026, 5, 1),
        "last attempt 2026-03-02 ended not_reached",
    )
    await configure_rules(outreach.application, TENANT, {"recontact_days": 7}, "user:coord")
    [sooner] = await listed(outreach, "recontact", date(2026, 3, 9))
    assert sooner.since == date(2026, 3, 9)


async def test_a_contact_after_the_unreached_attempt_takes_the_youth_off_the_recontact_list(
    outreach: Outreach,
) -> None:
    youth = outreach.identify()
    handlers = outreach.on(date(2026, 3, 3))
    await handlers.attempt_contact(ANNA, AttemptContact(youth, "sms", "declined_contact", at(DAY)))
    await handlers.establish_contact(ANNA, EstablishContact(youth, at(date(2026, 3, 3)), "phone"))
    assert await listed(outreach, "recontact", date(2026, 6, 1)) == []


async def test_an_occupation_is_unknown_until_recorded_and_again_once_unconfirmed(
    outreach: Outreach,
) -> None:
    youth = outreach.identify(entered_on=date(2026, 1, 15))
    [never] = await listed(outreach, "stale_occupation", DAY)
    assert (never.since, never.reason) == (date(2026, 1, 15), "occupation never recorded: unknown")
    occupation = RecordOccupation(youth, "work", "current", date(2026, 1, 1))
    await outreach.on(DAY).record_occupation(ANNA, occupation)
    assert await listed(outreach, "stale_occupation", date(2026, 5, 30)) == []  # 89 days
    [stale] = await listed(outreach, "stale_occupation", date(2026, 5, 31))
    assert (stale.since, stale.reason) == (
        date(2026, 5, 31), "occupation last confirmed 2026-03-02: now unknown",
    )  # fmt: skip


async def test_a_youth_turning_20_is_listed_the_notice_days_before(outreach: Outreach) -> None:
    outreach.identify(scope_ends_on=date(2026, 6, 1))
    assert await listed(outreach, "turning_20", date(2026, 4, 1)) == []
    [item] = await listed(outreach, "turning_20", date(2026, 4, 2))
    assert (item.since, item.reason) == (
        date(2026, 4, 2),
        "turns 20 on 2026-06-01; scope ends then",
    )


async def test_a_follow_up_is_listed_from_its_day_until_completed(outreach: Outreach) -> None:
    youth = outreach.identify()
    follow_up = outreach.follow_up(youth, date(2026, 3, 10))
    assert await listed(outreach, "follow_up", date(2026, 3, 9)) == []
    [item] = await listed(outreach, "follow_up", date(2026, 3, 10))
    assert (item.follow_up_id, item.reason) == (follow_up, "follow-up due (plan_follow_up)")
    outreach.complete(youth, follow_up, date(2026, 3, 11))
    assert await listed(outreach, "follow_up", date(2026, 3, 12)) == []


async def test_leaving_scope_closes_the_open_items_with_the_reason_for_90_days(
    outreach: Outreach,
) -> None:
    youth = outreach.identify(identified_on=DAY)
    outreach.leave(youth, date(2026, 3, 20))
    assert await listed(outreach, "first_contact", date(2026, 3, 25)) == []
    [closed] = await listed(outreach, "first_contact", date(2026, 3, 25), closed=True)
    assert (closed.youth_id, closed.closed_on, closed.closed_reason) == (
        youth, date(2026, 3, 20), "moved_out",
    )  # fmt: skip
    assert closed.clock is not None
    assert closed.clock["working_days_waiting"] == 14  # as of the day the youth left
    assert len(await listed(outreach, "first_contact", date(2026, 6, 18), closed=True)) == 1
    assert await listed(outreach, "first_contact", date(2026, 6, 19), closed=True) == []


async def test_the_callers_own_list_holds_the_cases_assigned_to_them(outreach: Outreach) -> None:
    mine, theirs = outreach.identify(), outreach.identify()
    coordinator = Principal("coord", TENANT, frozenset({"coordinator"}))  # who may assign
    await outreach.on(DAY).assign(coordinator, Assign(mine, "caseworker", "user:anna"))
    await outreach.on(DAY).assign(coordinator, Assign(theirs, "team", "team-north"))
    [item] = await listed(outreach, "first_contact", DAY, mine=True)
    assert (item.youth_id, item.assignee) == (mine, "user:anna")
    [team] = await listed(outreach, "first_contact", DAY, assignee="team-north")
    assert team.youth_id == theirs
    assert await listed(outreach, "first_contact", DAY, Actor(TENANT, "user:bo"), mine=True) == []


async def test_a_list_pages_oldest_first_within_the_callers_municipality(
    outreach: Outreach,
) -> None:
    days = [date(2026, 2, 27), date(2026, 2, 25), date(2026, 2, 26)]
    youths = [outreach.identify(identified_on=day) for day in days]
    outreach.identify(identified_on=date(2026, 2, 20), tenant="0181")
    today, counts = await outreach.on(DAY).worklist_counts(ANNA)
    assert (today, counts["first_contact"], counts["turning_20"]) == (DAY, 3, 0)
    handlers = outreach.on(DAY)
    total, first = await handlers.worklist(ANNA, WorklistQuery("first_contact", limit=2))
    _, rest = await handlers.worklist(ANNA, WorklistQuery("first_contact", limit=2, offset=2))
    assert total == 3
    assert [i.youth_id for i in first + rest] == [youths[1], youths[2], youths[0]]
