"""Taking a case on the real PostgreSQL: a caseworker may take an unassigned case for themselves
(Min dag's "Ta ärendet"), nothing more; a coordinator assigns and reassigns."""

from __future__ import annotations

from datetime import date

import pytest

from services.outreach.commands import Assign
from services.outreach.commands.corrections import NotAllowedToAssign
from shared.casework.domain import CommandRefused
from tests.integration.outreach_support import TENANT, Outreach, outreach

__all__ = ["outreach"]  # the fixture
DAY = date(2026, 3, 2)


class Caller:
    """A caller with roles, as a token's principal is."""

    def __init__(self, subject: str, *roles: str) -> None:
        self.tenant, self.actor, self.roles = TENANT, f"user:{subject}", frozenset(roles)


ANNA = Caller("anna", "caseworker")
BERTIL = Caller("bertil", "caseworker")
CECILIA = Caller("cecilia", "coordinator")


async def test_a_caseworker_takes_an_unassigned_case_for_themselves_only(
    outreach: Outreach,
) -> None:
    youth = outreach.identify(identified_on=DAY)
    handlers = outreach.on(DAY)
    for refused_command in (
        Assign(youth, "caseworker", "user:bertil"),  # someone else
        Assign(youth, "team", "team-north"),  # a team
    ):
        with pytest.raises(NotAllowedToAssign) as refused:
            await handlers.assign(ANNA, refused_command)
        assert refused.value.field == "assignee"
        assert "coordinator" in refused.value.reason
    assert (await handlers.show_case(ANNA, youth)).case.assignee is None

    assert (await handlers.assign(ANNA, Assign(youth, "caseworker", "user:anna"))).recorded
    assert (await handlers.show_case(ANNA, youth)).case.assignee == "user:anna"
    again = await handlers.assign(ANNA, Assign(youth, "caseworker", "user:anna"))
    assert not again.recorded, "taking one's own case again records nothing"

    with pytest.raises(CommandRefused) as taken:
        await handlers.assign(BERTIL, Assign(youth, "caseworker", "user:bertil"))
    assert taken.value.conflict
    assert taken.value.field == "assignee"
    assert (await handlers.show_case(ANNA, youth)).case.assignee == "user:anna"

    assert (await handlers.assign(CECILIA, Assign(youth, "caseworker", "user:bertil"))).recorded
    assert (await handlers.show_case(ANNA, youth)).case.assignee == "user:bertil"


async def test_the_counts_of_my_cases_are_mine_only(outreach: Outreach) -> None:
    # Before: Min dag's "mine" view showed the whole municipality's counts above its own list.
    taken, other = outreach.identify(identified_on=DAY), outreach.identify(identified_on=DAY)
    handlers = outreach.on(DAY)
    await handlers.assign(ANNA, Assign(taken, "caseworker", "user:anna"))
    _, everyone = await handlers.worklist_counts(ANNA)
    _, annas = await handlers.worklist_counts(ANNA, mine=True)
    _, bertils = await handlers.worklist_counts(BERTIL, mine=True)
    assert everyone["first_contact"] == 2, other
    assert annas["first_contact"] == 1
    assert bertils["first_contact"] == 0
