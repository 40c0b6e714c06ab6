"""outreach's overdue first contacts per municipality in `GET /metrics`, on the real PostgreSQL: the
figure the coordinator's caseload shows, counted by the loop beside the service."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

from prometheus_client import REGISTRY

from services.outreach.commands import AttemptContact
from services.outreach.commands.caseload import caseload_of
from services.outreach.entrypoints.metrics import FIRST_CONTACT_OVERDUE, first_contact_figures
from shared.auth import Principal
from shared.casework.commands import CaseClock
from tests.integration.outreach_support import ANNA, TENANT, Outreach, outreach

__all__ = ["outreach"]  # the fixture
DAY = date(2026, 3, 2)  # identified; the first contact is due by 16 March (10 working days)
LATER = date(2026, 3, 12)  # identified; due by 26 March
ON = date(2026, 3, 17)
COORDINATOR = Principal("coord", TENANT, frozenset({"coordinator"}))


def overdue() -> float | None:
    return REGISTRY.get_sample_value("kaa_first_contact_overdue", {"kommun": TENANT})


async def test_the_gauge_is_the_caseloads_overdue_first_contacts(outreach: Outreach) -> None:
    waiting = [outreach.identify(identified_on=DAY) for _ in range(3)]
    outreach.identify(identified_on=LATER)  # within the limit on ON
    contacted = outreach.identify(identified_on=DAY)
    attempt = AttemptContact(contacted, "sms", "reached", datetime(2026, 3, 3, 10, tzinfo=UTC))
    await outreach.on(date(2026, 3, 3)).attempt_contact(ANNA, attempt)
    left = outreach.identify(identified_on=DAY)
    outreach.leave(left, date(2026, 3, 5))  # out of scope: no clock

    clock = CaseClock(ON)
    _, _, holders = await caseload_of(outreach.runtime, clock, COORDINATOR)
    shown = sum(h.first_contact_overdue for h in holders)
    assert shown == len(waiting) == 3

    FIRST_CONTACT_OVERDUE.labels(TENANT).set(-1)  # not counted yet
    task = asyncio.create_task(
        first_contact_figures(outreach.runtime, clock, [TENANT], interval=0.05)()
    )
    try:
        for _ in range(200):
            if overdue() == shown:
                break
            await asyncio.sleep(0.05)
        assert overdue() == shown

        # A first contact with one of them: the next count has one fewer.
        await outreach.on(ON).attempt_contact(
            ANNA,
            AttemptContact(
                waiting[0], "phone", "not_reached", datetime(2026, 3, 17, 9, tzinfo=UTC)
            ),
        )
        for _ in range(200):
            if overdue() == shown - 1:
                break
            await asyncio.sleep(0.05)
        assert overdue() == shown - 1
        assert not task.done(), "the loop goes on"
    finally:
        task.cancel()


async def test_the_figures_wait_for_the_service_and_outlive_a_failure(outreach: Outreach) -> None:
    outreach.identify(identified_on=DAY)
    clock = CaseClock(ON)
    FIRST_CONTACT_OVERDUE.labels(TENANT).set(7)
    pool = outreach.runtime.pool
    await pool.close()  # the database away: the last figure is kept, the loop goes on
    task = asyncio.create_task(first_contact_figures(outreach.runtime, clock, [TENANT], 0.05)())
    try:
        await asyncio.sleep(0.3)
        assert not task.done()
        assert overdue() == 7
    finally:
        task.cancel()
