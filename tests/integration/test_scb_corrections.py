"""A correction, a withdrawal or an episode registered in error inside a closed half-year changes
its SCB file: `kaa scb status` (`scb.resubmissions`) says resubmit; the report and the quality
figures are built from the corrected truth (the golden half-year, `tests/golden/README.md`)."""

from __future__ import annotations

from datetime import date

import asyncpg

from services.register.commands import scb
from services.register.commands.quality import quality
from services.register.domain.period import half_year
from shared.contracts.events import (
    AnyEvent,
    ContactAttempted,
    Correction,
    MeasureStarted,
    OccupationRecorded,
    OutreachEntryWithdrawn,
    YouthIdentified,
)
from tests.integration.scb_support import TENANT, HalfYear, at, golden_half_year
from tests.integration.test_scb_build import own_database  # noqa: F401  (the fixture)

H1 = half_year("2026H1")
CLOSED = date(2026, 7, 15)
RESUBMIT = [{"period": "2026H1", "files": 1, "needs_resubmission": True,
             "register_changed_since_last_export": True}]  # fmt: skip
STANDS = [{"period": "2026H1", "files": 1, "needs_resubmission": False,
           "register_changed_since_last_export": False}]  # fmt: skip


async def exported(pool: asyncpg.Pool) -> tuple[HalfYear, list[AnyEvent]]:
    """The golden half-year applied and its file handed out; its events as recorded."""
    script = HalfYear()
    golden_half_year(script)
    events = list(script.events)
    await script.apply(pool)
    report = await scb.build(pool, script.keys, TENANT, H1, CLOSED)
    await scb.record_export(pool, report, "user:coordinator1", False)
    assert await scb.resubmissions(pool, script.keys, TENANT, CLOSED) == STANDS
    return script, events


def why(reason: str) -> Correction:
    return Correction(reason=reason)


async def test_a_corrected_attempt_in_a_closed_half_year_needs_resubmission(
    own_database: asyncpg.Pool,  # noqa: F811
) -> None:
    script, events = await exported(own_database)
    [reached] = [e for e in events if isinstance(e, ContactAttempted) and e.outcome == "reached"]
    script.events.append(
        ContactAttempted(
            **script.envelope(reached.youth_id, at("2026-07-10"), "user:caseworker2"),
            contact_attempt_id=reached.contact_attempt_id, channel="phone",
            outcome="not_reached", attempted_at=reached.attempted_at,
            corrects=reached.event_id, correction=why("wrong_value"),
        )
    )  # fmt: skip
    await script.apply(own_database)
    assert await scb.resubmissions(own_database, script.keys, TENANT, CLOSED) == RESUBMIT
    rows = await own_database.fetch("SELECT outcome FROM contacts WHERE youth_id = $1",
                                    reached.youth_id)  # fmt: skip
    assert [r["outcome"] for r in rows] == ["not_reached"]


async def test_a_withdrawn_occupation_and_a_corrected_start_need_resubmission(
    own_database: asyncpg.Pool,  # noqa: F811
) -> None:
    script, events = await exported(own_database)
    [work] = [e for e in events if isinstance(e, OccupationRecorded)]
    [started, *_] = [e for e in events if isinstance(e, MeasureStarted)]
    script.events += [
        OutreachEntryWithdrawn(
            **script.envelope(work.youth_id, at("2026-07-10"), "user:caseworker2"),
            withdraws=work.event_id, withdrawn_event_type=work.event_type,
            correction=why("recorded_twice"),
        ),
        MeasureStarted(
            **script.envelope(started.youth_id, at("2026-07-10"), "user:caseworker2"),
            measure_id=started.measure_id, started_on=date(2026, 3, 9),
            corrects=started.event_id, correction=why("wrong_date"),
        ),
    ]  # fmt: skip
    await script.apply(own_database)
    assert await scb.resubmissions(own_database, script.keys, TENANT, CLOSED) == RESUBMIT
    report = await scb.build(own_database, script.keys, TENANT, H1, CLOSED)
    assert b"3;200803142389;2026-03-09;02\n" in report.content, "A's measure, started later"
    assert b"3;200803142389;2026-03-02" not in report.content


async def test_an_episode_registered_in_error_leaves_the_report_and_the_figures(
    own_database: asyncpg.Pool,  # noqa: F811
) -> None:
    script, events = await exported(own_database)
    before = await quality(own_database, TENANT, H1, date(2026, 6, 30))
    first = next(e for e in events if isinstance(e, YouthIdentified))  # A: in scope, named
    script.left(first.youth_id, first.scope_episode_id, "2026-07-10", "registered_in_error")
    await script.apply(own_database)
    assert await scb.resubmissions(own_database, script.keys, TENANT, CLOSED) == RESUBMIT
    report = await scb.build(own_database, script.keys, TENANT, H1, CLOSED)
    assert report.youths == 2, "A's only episode was registered in error"
    assert b"200803142389" not in report.content
    after = await quality(own_database, TENANT, H1, date(2026, 6, 30))
    assert after != before
