"""Corrections, withdrawals and episodes registered in error in the register, on the database (no
Kafka, no processes): today's register holds the corrected truth, `entry_corrections` who did what
and why, the audit replay the register as it stood, and a register projected afresh the same.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.register.adapters import archive, readmodel
from services.register.adapters.archive import drop_schema, project_archive
from services.register.commands import replay as replay_module
from services.register.commands.rebuild import verify
from services.register.commands.replay import replay
from shared.contracts.events import (
    AnyEvent,
    CaseAssigned,
    ContactAttempted,
    ContactDetailsRecorded,
    Correction,
    MeasureAccepted,
    MeasureEnded,
    MeasureOffered,
    MeasuresEntryWithdrawn,
    MeasureStarted,
    OccupationRecorded,
    OutreachEntryWithdrawn,
    YouthIdentified,
    YouthLeftScope,
)
from shared.contracts.topics import IDENTIFY_EVENTS, MEASURES_EVENTS, OUTREACH_EVENTS
from tests.conftest import RunningInfra
from tests.integration.test_register_projection import Partition

TENANT = "0180"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Youth:
    """One youth's events, each recorded a minute after the one before."""

    def __init__(self) -> None:
        self.id, self.minute = uuid.uuid4(), 0

    def envelope(self, actor: str = "user:anna") -> dict[str, Any]:
        self.minute += 1
        when = START + timedelta(minutes=self.minute)
        return {"event_id": uuid.uuid4(), "tenant": TENANT, "youth_id": self.id,
                "occurred_at": when, "recorded_at": when, "actor": actor,
                "correlation_id": uuid.uuid4()}  # fmt: skip

    def identified(self, episode: uuid.UUID, entered: date = date(2026, 1, 5)) -> YouthIdentified:
        return YouthIdentified(
            **self.envelope("system:identify"), scope_episode_id=episode, entered_on=entered,
            scope_ends_on=date(2028, 1, 1), rule_version="kaa-2018-07-01", facts={"age": "17"},
        )  # fmt: skip

    def left(self, episode: uuid.UUID, reason: str = "registered_in_error") -> YouthLeftScope:
        return YouthLeftScope(**self.envelope("user:coordinator"), scope_episode_id=episode,
                              left_on=date(2026, 3, 1), reason=reason,
                              rule_version="kaa-2018-07-01")  # fmt: skip

    def attempt(self, attempt: uuid.UUID, day: int, corrects: AnyEvent | None = None,
                outcome: str = "reached") -> ContactAttempted:  # fmt: skip
        return ContactAttempted(
            **self.envelope(), contact_attempt_id=attempt, channel="phone", outcome=outcome,
            attempted_at=datetime(2026, 2, day, 10, tzinfo=UTC), **fixing(corrects, "wrong_date"),
        )  # fmt: skip

    def occupation(self, occupation: uuid.UUID, category: str,
                   corrects: AnyEvent | None = None) -> OccupationRecorded:  # fmt: skip
        return OccupationRecorded(
            **self.envelope(), occupation_id=occupation, category=category,
            code_list_version="2026-1", tense="current", from_date=date(2026, 2, 1),
            confirmed_on=date(2026, 2, 20), **fixing(corrects, "wrong_value"),
        )  # fmt: skip

    def withdrawn(self, event: AnyEvent, reason: str = "did_not_happen") -> AnyEvent:
        kind = MeasuresEntryWithdrawn if event.topic == MEASURES_EVENTS else OutreachEntryWithdrawn
        return kind(**self.envelope("user:bertil"), withdraws=event.event_id,
                    withdrawn_event_type=event.event_type,
                    correction=Correction(reason=reason))  # fmt: skip


def fixing(corrects: AnyEvent | None, reason: str) -> dict[str, Any]:
    if corrects is None:
        return {}
    return {"corrects": corrects.event_id, "correction": Correction(reason=reason)}


async def rows(register: asyncpg.Pool, statement: str, *args: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in await register.fetch(statement, *args)]


async def identified_youth(register: asyncpg.Pool) -> tuple[Youth, uuid.UUID]:
    youth, episode = Youth(), uuid.uuid4()
    await Partition(register, IDENTIFY_EVENTS).apply([youth.identified(episode)])
    return youth, episode


async def test_a_corrected_attempt_replaces_the_old_and_a_correction_of_it_too(
    register: asyncpg.Pool,
) -> None:
    youth, _ = await identified_youth(register)
    outreach, attempt = Partition(register, OUTREACH_EVENTS), uuid.uuid4()
    wrong = youth.attempt(attempt, 3)
    await outreach.apply([wrong, youth.attempt(uuid.uuid4(), 4, outcome="not_reached")])
    fixed = youth.attempt(attempt, 13, corrects=wrong)
    await outreach.apply([fixed])
    again = youth.attempt(attempt, 14, corrects=fixed)  # a correction of the correction
    await outreach.apply([again])
    held = await rows(register, "SELECT event_id, attempted_at FROM contacts"
                      " WHERE contact_attempt_id = $1", attempt)  # fmt: skip
    assert held == [{"event_id": again.event_id, "attempted_at": again.attempted_at}]
    assert len(await rows(register, "SELECT * FROM contacts WHERE youth_id = $1", youth.id)) == 2
    kept = await rows(register, "SELECT event_id, kind, target_event_id, reason, actor"
                      " FROM entry_corrections ORDER BY recorded_at")  # fmt: skip
    assert kept == [
        {"event_id": fixed.event_id, "kind": "corrected", "target_event_id": wrong.event_id,
         "reason": "wrong_date", "actor": "user:anna"},
        {"event_id": again.event_id, "kind": "corrected", "target_event_id": fixed.event_id,
         "reason": "wrong_date", "actor": "user:anna"},
    ]  # fmt: skip


async def test_a_withdrawn_attempt_and_occupation_vanish_with_their_corrections(
    register: asyncpg.Pool,
) -> None:
    youth, _ = await identified_youth(register)
    outreach = Partition(register, OUTREACH_EVENTS)
    attempt = youth.attempt(uuid.uuid4(), 3)
    work = youth.occupation(uuid.uuid4(), "work")
    studies = youth.occupation(work.occupation_id, "studies", corrects=work)
    # Recorded, corrected and withdrawn in one batch: the withdrawal applies after the rest.
    await outreach.apply([attempt, work, studies, youth.withdrawn(attempt)])
    assert await rows(register, "SELECT * FROM contacts WHERE youth_id = $1", youth.id) == []
    held = await rows(register, "SELECT event_id, category FROM occupations")
    assert held == [{"event_id": studies.event_id, "category": "studies"}]
    withdrawal = youth.withdrawn(work)  # names the first recording: its correction goes too
    await outreach.apply([withdrawal, youth.occupation(uuid.uuid4(), "internship")])
    assert [r["category"] for r in await rows(register, "SELECT * FROM occupations")] == [
        "internship"
    ]
    shown = await readmodel.youth_timeline(register, TENANT, youth.id)
    assert shown is not None
    assert [(c["kind"], c["target_event_id"], c["reason"]) for c in shown["corrections"]] == [
        ("corrected", work.event_id, "wrong_value"),
        ("withdrawn", attempt.event_id, "did_not_happen"),
        ("withdrawn", work.event_id, "did_not_happen"),
    ]


def measure_events(youth: Youth, measure: uuid.UUID) -> list[AnyEvent]:
    return [
        MeasureOffered(**youth.envelope(), measure_id=measure, measure_type="internship",
                       offered_on=date(2026, 3, 3)),
        MeasureAccepted(**youth.envelope(), measure_id=measure, accepted_on=date(2026, 3, 4)),
        MeasureStarted(**youth.envelope(), measure_id=measure, started_on=date(2026, 3, 9)),
        MeasureEnded(**youth.envelope(), measure_id=measure, ended_on=date(2026, 5, 29),
                     end_reason="moved", occupation_after="work"),
    ]  # fmt: skip


async def test_a_corrected_measure_step_keeps_its_place_and_a_withdrawn_one_sets_no_state(
    register: asyncpg.Pool,
) -> None:
    youth, _ = await identified_youth(register)
    measures, measure = Partition(register, MEASURES_EVENTS), uuid.uuid4()
    offer, accepted, started, ended = measure_events(youth, measure)
    await measures.apply([offer, accepted, started, ended])
    fixed = MeasureStarted(**youth.envelope(), measure_id=measure, started_on=date(2026, 3, 16),
                           **fixing(started, "wrong_date"))  # fmt: skip
    await measures.apply([fixed])
    status = "SELECT state, started_on, ended_on, end_reason FROM measure_status"
    assert await rows(register, status) == [
        {"state": "ended", "started_on": date(2026, 3, 16), "ended_on": date(2026, 5, 29),
         "end_reason": "moved"}
    ], "the correction of the start does not make the measure started again"  # fmt: skip
    await measures.apply([youth.withdrawn(ended)])
    assert await rows(register, status) == [
        {"state": "started", "started_on": date(2026, 3, 16), "ended_on": None,
         "end_reason": None}
    ]  # fmt: skip
    steps = await rows(register, "SELECT step, state FROM measure_steps ORDER BY step")
    assert steps == [{"step": 1, "state": "offered"}, {"step": 2, "state": "accepted"},
                     {"step": 3, "state": "started"}]  # fmt: skip
    await measures.apply([youth.withdrawn(fixed), youth.withdrawn(accepted)])
    assert await rows(register, "SELECT state, offers FROM measure_status") == [
        {"state": "offered", "offers": 1}
    ]


async def test_a_corrected_or_withdrawn_assignment_and_contact_details(
    register: asyncpg.Pool,
) -> None:
    youth, _ = await identified_youth(register)
    outreach = Partition(register, OUTREACH_EVENTS)

    def assigned(who: str, corrects: AnyEvent | None = None) -> CaseAssigned:
        return CaseAssigned(**youth.envelope(), assignee_kind="caseworker", assignee=who,
                            **fixing(corrects, "wrong_value"))  # fmt: skip

    def details(sealed: str, corrects: AnyEvent | None = None) -> ContactDetailsRecorded:
        return ContactDetailsRecorded(**youth.envelope(), contact_details=sealed,
                                      **fixing(corrects, "wrong_value"))  # fmt: skip

    first, second, old, new = (
        assigned("user:anna"),
        assigned("user:bertil"),
        details("a"),
        details("b"),
    )
    await outreach.apply([first, second, old, new])
    # The earlier one corrected: the later one still stands.
    await outreach.apply([assigned("user:cecilia", corrects=first), details("a2", corrects=old)])
    assignee = "SELECT assignee FROM assignments"
    sealed = "SELECT contact_details FROM contact_details"
    assert await rows(register, assignee) == [{"assignee": "user:bertil"}]
    assert await rows(register, sealed) == [{"contact_details": "b"}]
    await outreach.apply([youth.withdrawn(second), youth.withdrawn(new)])
    assert await rows(register, assignee) == [{"assignee": "user:cecilia"}]
    assert await rows(register, sealed) == [{"contact_details": "a2"}]
    await outreach.apply([youth.withdrawn(first), youth.withdrawn(old)])
    assert await rows(register, assignee) == []
    assert await rows(register, sealed) == []


async def test_an_episode_registered_in_error_leaves_todays_register(
    register: asyncpg.Pool,
) -> None:
    wrong, episode = await identified_youth(register)
    await Partition(register, OUTREACH_EVENTS).apply([wrong.attempt(uuid.uuid4(), 3)])
    twice, first = await identified_youth(register)  # a real episode, then one in error
    identify, second = Partition(register, IDENTIFY_EVENTS), uuid.uuid4()
    await identify.apply([twice.left(first, "moved_out"),
                          twice.identified(second, date(2026, 2, 10))])  # fmt: skip
    await identify.apply([wrong.left(episode), twice.left(second)])
    total, listed = await readmodel.list_youths(register, TENANT, None, 50, 0)
    assert (total, [(y["youth_id"], y["scope_episode_id"], y["left_reason"]) for y in listed]) == (
        1, [(twice.id, first, "moved_out")]
    ), "the youth's row shows their latest episode not registered in error"  # fmt: skip
    assert await readmodel.every_youth(register, TENANT) == listed  # the replay's list
    summary = await readmodel.summary(register, TENANT)
    assert (summary["known"], summary["scope_episodes"], summary["contacted"]) == (1, 1, 0)
    shown = await readmodel.youth_timeline(register, TENANT, wrong.id)
    assert shown is not None
    assert shown["registered_in_error"] is True
    [marked] = shown["scope_episodes"]
    assert (marked["registered_in_error"], marked["in_error_actor"]) == (True, "user:coordinator")
    in_error = await readmodel.registered_in_error(register, TENANT)
    assert {e["scope_episode_id"] for e in in_error} == {episode, second}


async def test_the_replay_before_a_correction_shows_what_was_recorded_then(
    infra: RunningInfra, register: asyncpg.Pool, db_schema: str
) -> None:
    youth, episode = await identified_youth(register)
    outreach, attempt = Partition(register, OUTREACH_EVENTS), uuid.uuid4()
    wrong = youth.attempt(attempt, 3)
    await outreach.apply([wrong])
    fixed = youth.attempt(attempt, 13, corrects=wrong)
    await outreach.apply([fixed])
    await Partition(register, IDENTIFY_EVENTS).apply([youth.left(episode)])
    now = datetime.now(UTC)

    async def as_of(instant: datetime) -> dict[str, Any]:
        return await replay(infra.database_url, TENANT, instant, now, youth.id,
                            archive_schema=db_schema)  # fmt: skip

    before = (await as_of(fixed.recorded_at - timedelta(seconds=1)))["youth"]
    assert [c["attempted_at"] for c in before["contacts"]] == [wrong.attempted_at]
    assert before["corrections"] == []
    assert before["registered_in_error"] is False
    after = (await as_of(fixed.recorded_at))["youth"]
    assert [c["attempted_at"] for c in after["contacts"]] == [fixed.attempted_at]
    [why] = after["corrections"]
    assert (why["actor"], why["recorded_at"], why["reason"], why["target_event_id"]) == (
        "user:anna", fixed.recorded_at, "wrong_date", wrong.event_id)  # fmt: skip
    assert after["registered_in_error"] is False
    now_ = await replay(infra.database_url, TENANT, now, now, archive_schema=db_schema)
    assert now_["youths"] == []
    assert [e["in_error_actor"] for e in now_["registered_in_error"]] == ["user:coordinator"]
    assert [c["kind"] for c in now_["corrections"]] == ["corrected"]
    assert (await as_of(now))["youth"]["registered_in_error"] is True


async def test_a_register_projected_afresh_equals_the_live_one_after_corrections(
    infra: RunningInfra, register: asyncpg.Pool, db_schema: str
) -> None:
    youth, episode = await identified_youth(register)
    outreach, measures = Partition(register, OUTREACH_EVENTS), Partition(register, MEASURES_EVENTS)
    attempt, occupation = youth.attempt(uuid.uuid4(), 3), youth.occupation(uuid.uuid4(), "work")
    measure = uuid.uuid4()
    offer, accepted, started, ended = measure_events(youth, measure)
    fixed = youth.attempt(attempt.contact_attempt_id, 5, corrects=attempt)
    noted: list[AnyEvent] = [attempt, occupation, fixed, youth.withdrawn(occupation),
                             youth.attempt(uuid.uuid4(), 6)]  # fmt: skip
    for event in noted:  # one by one in the live register
        await outreach.apply([event])
    for step in (offer, accepted, started, ended):
        await measures.apply([step])
    late = MeasureStarted(**youth.envelope(), measure_id=measure,
                          started_on=date(2026, 3, 11), **fixing(started, "wrong_date"))  # fmt: skip
    for step in (late, youth.withdrawn(ended)):
        await measures.apply([step])
    await Partition(register, IDENTIFY_EVENTS).apply([youth.left(episode)])
    other = f"{db_schema}_afresh"  # the archive in big batches, in the order it was applied
    try:
        await project_archive(infra.database_url, TENANT, datetime.now(UTC), other,
                              archive_schema=db_schema)  # fmt: skip
        assert await verify(infra.database_url, db_schema, other) == {}
    finally:
        await drop_schema(infra.database_url, other)


async def test_a_whole_register_replay_is_made_once_for_the_same_events_and_now_is_the_live_one(
    infra: RunningInfra, register: asyncpg.Pool, db_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    youth, _ = await identified_youth(register)
    outreach = Partition(register, OUTREACH_EVENTS)
    first = youth.attempt(uuid.uuid4(), 3)
    await outreach.apply([first, youth.attempt(uuid.uuid4(), 4)])
    projected: list[datetime] = []
    real, whole = replay_module._project, replay_module._project_whole

    async def counted(*args: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        projected.append(args[2])
        return await whole(*args)

    monkeypatch.setattr(replay_module, "_project_whole", counted)
    now = datetime.now(UTC)

    async def as_of(instant: datetime) -> dict[str, Any]:
        return await replay(infra.database_url, TENANT, instant, now, archive_schema=db_schema)

    live = await as_of(now)
    assert projected == [], "nothing recorded since: the live register is the register now"
    fresh = await real(infra.database_url, TENANT, now, now, None, None, db_schema)
    assert {k: v for k, v in live.items() if k != "as_of"} == {
        k: v for k, v in fresh.items() if k != "as_of"
    }, "and it is what a replay projects"
    between = first.recorded_at + timedelta(seconds=1)
    then = await as_of(between)
    again = await as_of(between + timedelta(seconds=1))
    assert projected == [between], "the same archived events: the replay already made"
    assert (again["as_of"], again["youths"]) == (between + timedelta(seconds=1), then["youths"])
    assert then["events_recorded_by_then"] == live["events_recorded_by_then"] - 1


async def test_a_correction_archived_while_the_live_register_is_read_is_in_the_replay(
    infra: RunningInfra, register: asyncpg.Pool, db_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    youth, _ = await identified_youth(register)
    outreach, attempt = Partition(register, OUTREACH_EVENTS), uuid.uuid4()
    wrong = youth.attempt(attempt, 3)
    await outreach.apply([wrong])
    read_live = replay_module._replayed

    async def corrected_meanwhile(*args: Any) -> dict[str, Any]:
        answer = await read_live(*args)
        await outreach.apply([youth.attempt(attempt, 13, corrects=wrong)])
        return answer

    monkeypatch.setattr(replay_module, "_replayed", corrected_meanwhile)
    now = datetime.now(UTC)
    answered = await replay(infra.database_url, TENANT, now, now, archive_schema=db_schema)
    fresh = await replay_module._project(infra.database_url, TENANT, now, now, None, None,
                                         db_schema)  # fmt: skip
    assert answered["events_recorded_by_then"] == 3, "what the archive held once read again"
    assert {k: v for k, v in answered.items() if k != "as_of"} == {
        k: v for k, v in fresh.items() if k != "as_of"
    }, "the correction is in the answer, and the attempt it corrects counted once"


async def test_an_event_archived_after_the_replay_counted_the_archive_is_in_no_part_of_it(
    infra: RunningInfra, register: asyncpg.Pool, db_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    youth, _ = await identified_youth(register)
    outreach = Partition(register, OUTREACH_EVENTS)
    first = youth.attempt(uuid.uuid4(), 3)
    await outreach.apply([first, youth.attempt(uuid.uuid4(), 4)])  # the second: after the instant
    between = first.recorded_at + timedelta(seconds=30)
    now = datetime.now(UTC)
    before = await replay_module._project(infra.database_url, TENANT, between, now, None, None,
                                          db_schema)  # fmt: skip
    counted = archive.state_on
    late = Youth()  # recorded early (its clock starts again), archived after the count
    identified, attempted = late.identified(uuid.uuid4()), late.attempt(uuid.uuid4(), 2)
    assert attempted.recorded_at < between, "recorded before the instant asked"

    async def archived_late(*args: Any) -> dict[str, Any]:
        state = await counted(*args)
        await Partition(register, IDENTIFY_EVENTS).apply([identified])
        await outreach.apply([attempted])
        return state

    monkeypatch.setattr(replay_module, "state_on", archived_late)
    answered = await replay(infra.database_url, TENANT, between, now, archive_schema=db_schema)
    assert {k: v for k, v in answered.items() if k != "as_of"} == {
        k: v for k, v in before.items() if k != "as_of"
    }, "the replay is of the events the archive held when it was counted"
