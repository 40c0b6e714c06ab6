"""Whose cases a worklist holds, on the real PostgreSQL: the unassigned ones (`assigned=none`),
those of the caller's teams (`assigned=my_teams`, the teams their token names), the caller's own
(`assigned=me`, as `mine`); the counts are the lists' totals; contradicting filters are refused
naming `assigned`."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from services.outreach.commands import Assign, Assigned, WorklistQuery
from shared.auth import Principal
from shared.casework.domain import CommandRefused
from tests.integration.outreach_support import ANNA, TENANT, Outreach, outreach

__all__ = ["outreach"]  # the fixture
DAY = date(2026, 3, 2)
COORDINATOR = Principal("coord", TENANT, frozenset({"coordinator"}))
NORTH = frozenset({"team-north"})


async def five_cases(outreach: Outreach) -> dict[str, uuid.UUID]:
    """Five youths waiting for a first contact: Anna's, Bo's, team north's, team south's and one
    nobody holds yet."""
    youths = {who: outreach.identify(identified_on=DAY) for who in
              ("anna", "bo", "north", "south", "nobody")}  # fmt: skip
    handlers = outreach.on(DAY)
    for who, kind, assignee in (
        ("anna", "caseworker", "user:anna"),
        ("bo", "caseworker", "user:bo"),
        ("north", "team", "team-north"),
        ("south", "team", "team-south"),
    ):
        await handlers.assign(COORDINATOR, Assign(youths[who], kind, assignee))
    return dict(youths)


async def holders(
    outreach: Outreach, assigned: Assigned, teams: frozenset[str] = frozenset()
) -> tuple[int, int, set[uuid.UUID]]:
    """The count, the list's total and the youths listed for one holder."""
    handlers = outreach.on(DAY)
    _, counted = await handlers.worklist_counts(ANNA, assigned=assigned, teams=teams)
    query = WorklistQuery("first_contact", assigned=assigned, teams=teams)
    total, items = await handlers.worklist(ANNA, query)
    return counted["first_contact"], total, {item.youth_id for item in items}


async def test_the_unassigned_list_holds_only_the_cases_nobody_holds(outreach: Outreach) -> None:
    youths = await five_cases(outreach)
    assert await holders(outreach, "none") == (1, 1, {youths["nobody"]})
    listed = (await outreach.on(DAY).worklist(ANNA, WorklistQuery("first_contact")))[1]
    assert len(listed) == 5  # the whole municipality's list is unchanged


async def test_my_teams_list_holds_the_cases_assigned_to_the_callers_teams(
    outreach: Outreach,
) -> None:
    youths = await five_cases(outreach)
    assert await holders(outreach, "my_teams", NORTH) == (1, 1, {youths["north"]})
    both = frozenset({"team-north", "team-south"})
    assert await holders(outreach, "my_teams", both) == (
        2,
        2,
        {youths["north"], youths["south"]},
    )
    # A team whose code is a caseworker's subject is no way into that caseworker's cases.
    assert await holders(outreach, "my_teams", frozenset({"user:anna", "anna"})) == (0, 0, set())


async def test_assigned_me_is_the_callers_own_cases_as_mine(outreach: Outreach) -> None:
    youths = await five_cases(outreach)
    assert await holders(outreach, "me") == (1, 1, {youths["anna"]})


async def test_a_taken_case_leaves_the_unassigned_list(outreach: Outreach) -> None:
    youths = await five_cases(outreach)
    await outreach.on(DAY).assign(ANNA, Assign(youths["nobody"], "caseworker", "user:anna"))
    _, items = await outreach.on(DAY).worklist(
        ANNA, WorklistQuery("first_contact", assigned="none")
    )
    assert items == []


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        (WorklistQuery("first_contact", assignee="team-north", assigned="none"), "not both"),
        (WorklistQuery("first_contact", mine=True, assigned="none"), "contradicts mine"),
        (WorklistQuery("first_contact", mine=True, assigned="my_teams", teams=NORTH), "mine"),
        (WorklistQuery("first_contact", assigned="my_teams"), "no team"),
    ],
)
async def test_contradicting_holders_are_refused_naming_assigned(
    outreach: Outreach, query: WorklistQuery, problem: str
) -> None:
    with pytest.raises(CommandRefused) as refused:
        await outreach.on(DAY).worklist(ANNA, query)
    assert refused.value.field == "assigned"
    assert problem in refused.value.reason
    assert not refused.value.conflict  # 422, not 409
    counts_query = {"mine": query.mine, "assigned": query.assigned, "teams": query.teams}
    if query.assignee is None:  # the counts take no assignee
        with pytest.raises(CommandRefused):
            await outreach.on(DAY).worklist_counts(ANNA, **counts_query)  # type: ignore[arg-type]
