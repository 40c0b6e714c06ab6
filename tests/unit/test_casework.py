"""The caseworker aggregates' rules: contact clock, occupations, assignment, measures, plan."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.measures.domain import MeasuresCase
from services.outreach.adapters.store import case_row
from services.outreach.domain import OutreachCase
from services.register.quality import half_year
from shared.casework.adapters.group_commit import Command, CommandQueue
from shared.casework.domain import CommandRefused
from shared.codelists import code_list, free_text_warnings, sensitive_categories
from shared.contracts.events import SchoolNotificationReceived, YouthIdentified, YouthLeftScope
from shared.crypto import YouthSealer, new_data_key
from shared.dates import ImplausibleDate
from shared.free_text import opener, plan_revision_shown

ACTOR = "user:anna"
YOUTH = uuid.uuid4()
DATA_KEY = new_data_key()
SEALER = YouthSealer(DATA_KEY, "0180", YOUTH)


def envelope(**fields: Any) -> dict[str, Any]:
    now = datetime(2026, 3, 2, 8, tzinfo=UTC)
    return {
        "event_id": uuid.uuid4(), "tenant": "0180", "youth_id": YOUTH, "occurred_at": now,
        "recorded_at": now, "actor": "system:identify", "correlation_id": uuid.uuid4(), **fields,
    }  # fmt: skip


def identified(
    entered_on: date = date(2026, 3, 2), identified_on: date | None = None
) -> YouthIdentified:
    return YouthIdentified(
        **envelope(), scope_episode_id=uuid.uuid4(), entered_on=entered_on,
        scope_ends_on=date(2027, 5, 1), rule_version="kaa-2018-07-01", facts={},
        identified_on=identified_on,
    )  # fmt: skip


def notification(
    kind: str, on: date, received_on: date | None = None
) -> SchoolNotificationReceived:
    return SchoolNotificationReceived(
        **envelope(), notification_id=uuid.uuid4(), kind=kind, on=on, school_type="GY",
        school_unit="unit-1", received_on=received_on,
    )  # fmt: skip


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, tzinfo=UTC)


def outreach_case() -> OutreachCase:
    case = OutreachCase(youth_id=YOUTH, tenant="0180")
    case.on_identify_event(identified())
    return case


def test_the_contact_clock_starts_at_scope_entry_and_stops_at_the_first_attempt() -> None:
    case = outreach_case()
    assert case.clock == {"from": date(2026, 3, 2), "trigger": "scope_entry",
                          "event_on": date(2026, 3, 2), "first_attempt_on": None,
                          "first_contact_on": None}  # fmt: skip
    case.attempt_contact(uuid.uuid4(), "phone", "not_reached", at(date(2026, 3, 4)), ACTOR, YOUTH)
    case.attempt_contact(uuid.uuid4(), "sms", "reached", at(date(2026, 3, 6)), ACTOR, YOUTH)
    assert case.clock is not None
    assert case.clock["first_attempt_on"] == date(2026, 3, 4)
    assert case.clock["first_contact_on"] == date(2026, 3, 6)
    assert case.last_attempt_outcome == "reached"


def test_a_school_notification_restarts_a_stopped_clock_but_not_a_running_one() -> None:
    case = outreach_case()
    case.on_identify_event(notification("absence", date(2026, 3, 3)))
    assert case.clock is not None
    assert case.clock["from"] == date(2026, 3, 2)  # still running: the earlier start counts
    case.attempt_contact(uuid.uuid4(), "phone", "reached", at(date(2026, 3, 4)), ACTOR, YOUTH)
    repeated = notification("left", date(2026, 4, 1))
    case.on_identify_event(repeated)
    case.on_identify_event(repeated)  # redelivered: noted once
    assert case.clock == {"from": date(2026, 4, 1), "trigger": "school_notification",
                          "event_on": date(2026, 4, 1), "first_attempt_on": None,
                          "first_contact_on": None}  # fmt: skip
    assert len(case.notification_ids) == 2  # the absence and the leaver


def test_the_clock_starts_when_the_municipality_could_know_and_the_entry_keeps_its_date() -> None:
    """Issue 13 section 4(b): a youth found in a first population extract entered scope long ago
    (the legal date stays), but the clock of the municipality's response starts the day identify
    recorded it, so the youth is not overdue the moment the municipality learns of them."""
    case = OutreachCase(youth_id=YOUTH, tenant="0180")
    case.on_identify_event(identified(date(2026, 2, 22), identified_on=date(2026, 11, 30)))
    assert case.entered_on == date(2026, 2, 22)
    assert case.identified_on == date(2026, 11, 30)
    assert case.clock is not None
    assert (case.clock["from"], case.clock["event_on"]) == (date(2026, 11, 30), date(2026, 2, 22))
    # An attempt the caseworker had made before the youth was identified still answers it.
    case.attempt_contact(uuid.uuid4(), "phone", "reached", at(date(2026, 11, 2)), ACTOR, YOUTH)
    assert case.clock["first_attempt_on"] == date(2026, 11, 2)


def test_a_school_notification_clock_starts_when_it_was_received() -> None:
    case = outreach_case()
    case.attempt_contact(uuid.uuid4(), "phone", "reached", at(date(2026, 3, 4)), ACTOR, YOUTH)
    case.on_identify_event(notification("left", date(2026, 4, 1), received_on=date(2026, 4, 20)))
    assert case.clock is not None
    assert (case.clock["from"], case.clock["event_on"]) == (date(2026, 4, 20), date(2026, 4, 1))
    assert case_row(case)[-1] == date(2026, 4, 1)  # the worklists show the event's day too


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (date(1899, 12, 31), "is before 1900"),
        (date(2014, 12, 31), "is before 2015-01-01, when the activity responsibility began"),
        (date(2007, 4, 30), "is before the youth was born"),  # scope ends 2027-05-01: born 2007
    ],
)
def test_a_contact_or_occupation_dated_before_it_can_have_happened_is_refused(
    day: date, reason: str
) -> None:
    case = outreach_case()
    with pytest.raises(ImplausibleDate) as refused:
        case.attempt_contact(uuid.uuid4(), "phone", "reached", at(day), ACTOR, YOUTH)
    assert (refused.value.field, refused.value.reason) == ("attempted_at", reason)
    with pytest.raises(ImplausibleDate) as refused:
        case.establish_contact(at(day), "phone", ACTOR, YOUTH)
    assert refused.value.field == "at"
    with pytest.raises(ImplausibleDate) as refused:
        case.record_occupation(
            occupation_id=uuid.uuid4(), category="work", tense="current", from_date=day,
            to_date=None, confirmed_on=date(2026, 3, 2), actor=ACTOR, correlation_id=YOUTH,
        )  # fmt: skip
    assert (refused.value.field, refused.value.reason) == ("from_date", reason)
    assert case.pending_events[-1].__class__.__name__ == "ScopeOpened", "nothing recorded"


def test_a_repeated_contact_attempt_is_recorded_once() -> None:
    case = outreach_case()
    attempt = uuid.uuid4()
    assert case.attempt_contact(
        attempt, "letter", "not_reached", at(date(2026, 3, 3)), ACTOR, YOUTH
    )
    assert not case.attempt_contact(
        attempt, "letter", "not_reached", at(date(2026, 3, 3)), ACTOR, YOUTH
    )
    assert len(case.contact_attempt_ids) == 1


def test_a_client_id_taken_by_different_content_is_a_conflict() -> None:
    case = outreach_case()
    attempt = uuid.uuid4()
    assert case.attempt_contact(
        attempt, "letter", "not_reached", at(date(2026, 3, 3)), ACTOR, YOUTH
    )
    with pytest.raises(CommandRefused) as refused:
        case.attempt_contact(attempt, "phone", "reached", at(date(2026, 3, 3)), ACTOR, YOUTH)
    assert (refused.value.field, refused.value.conflict) == ("contact_attempt_id", True)
    occupation = uuid.uuid4()
    record: dict[str, Any] = {
        "occupation_id": occupation, "category": "work", "tense": "current",
        "from_date": date(2026, 1, 1), "to_date": None, "confirmed_on": date(2026, 3, 2),
        "actor": ACTOR, "correlation_id": YOUTH,
    }  # fmt: skip
    assert case.record_occupation(**record)
    assert not case.record_occupation(**record)
    with pytest.raises(CommandRefused) as refused:
        case.record_occupation(**{**record, "category": "internship"})
    assert (refused.value.field, refused.value.conflict) == ("occupation_id", True)
    # confirmed_on left to its default (today) is not content: the retry the next day is the same.
    next_day = {**record, "confirmed_on": date(2026, 3, 3), "confirmed_on_given": False}
    assert not case.record_occupation(**next_day)
    with pytest.raises(CommandRefused):
        case.record_occupation(**{**next_day, "confirmed_on_given": True})


@pytest.mark.parametrize(("method", "field"), [("establish_contact", "contact_id"),
                                                ("inform", "information_id")])  # fmt: skip
def test_a_retried_contact_or_information_with_its_client_id_records_once(
    method: str, field: str
) -> None:
    case = outreach_case()
    client_id = uuid.uuid4()
    record = getattr(case, method)
    assert record(at(date(2026, 3, 3)), "phone", ACTOR, YOUTH, client_id)
    assert not record(at(date(2026, 3, 3)), "phone", ACTOR, YOUTH, client_id)
    with pytest.raises(CommandRefused) as refused:
        record(at(date(2026, 3, 3)), "letter", ACTOR, YOUTH, client_id)
    assert (refused.value.field, refused.value.conflict) == (field, True)
    assert record(at(date(2026, 3, 3)), "phone", ACTOR, YOUTH), "without an id: a new fact"
    kind = "ContactEstablished" if method == "establish_contact" else "YouthInformed"
    assert [type(e).__name__ for e in case.pending_events].count(kind) == 2


@pytest.mark.parametrize(
    ("category", "tense", "from_date", "to_date", "field"),
    [
        ("astronaut", "current", date(2026, 1, 1), None, "category"),
        ("work", "current", date(2026, 3, 1), date(2026, 2, 1), "to_date"),
        ("work", "previous", date(2025, 1, 1), None, "to_date"),
        ("work", "current", date(2026, 4, 1), None, "from_date"),
        ("studies_komvux", "planned", date(2026, 3, 1), None, "from_date"),
    ],
)
def test_an_occupation_that_does_not_add_up_is_refused_naming_the_field(
    category: str, tense: str, from_date: date, to_date: date | None, field: str
) -> None:
    case = outreach_case()
    with pytest.raises(CommandRefused) as refused:
        case.record_occupation(
            occupation_id=uuid.uuid4(), category=category, tense=tense, from_date=from_date,
            to_date=to_date, confirmed_on=date(2026, 3, 2), actor=ACTOR, correlation_id=YOUTH,
        )  # fmt: skip
    assert refused.value.field == field
    assert all(type(e).__name__ != "OccupationRecorded" for e in case.pending_events)


def test_the_current_occupation_is_the_latest_confirmed() -> None:
    case = outreach_case()
    for category, confirmed in (("work", date(2026, 1, 10)), ("internship", date(2026, 2, 10))):
        case.record_occupation(
            occupation_id=uuid.uuid4(), category=category, tense="current",
            from_date=date(2026, 1, 1), to_date=None, confirmed_on=confirmed, actor=ACTOR,
            correlation_id=YOUTH,
        )  # fmt: skip
    current = case.current_occupation()
    assert current is not None
    assert current["category"] == "internship"
    assert current["code_list_version"] == code_list("occupation").version


def test_assignment_and_reassignment() -> None:
    case = outreach_case()
    assert case.assign("team", "team-north", ACTOR, YOUTH)
    assert not case.assign("team", "team-north", ACTOR, YOUTH)
    assert case.assign("caseworker", "user:anna", ACTOR, YOUTH)
    assert (case.assignee_kind, case.assignee) == ("caseworker", "user:anna")


def test_leaving_scope_closes_the_episode_with_its_reason() -> None:
    case = outreach_case()
    case.on_identify_event(
        YouthLeftScope(
            **envelope(),
            scope_episode_id=uuid.UUID(case.open_episode or ""),
            left_on=date(2026, 8, 20),
            reason="enrolled",
            rule_version="kaa-2018-07-01",
        )
    )
    assert not case.in_scope
    assert (case.left_on, case.left_reason) == (date(2026, 8, 20), "enrolled")


def measures_case() -> MeasuresCase:
    case = MeasuresCase(youth_id=YOUTH, tenant="0180")
    case.on_identify_event(identified())
    return case


def test_a_measure_offered_declined_reoffered_started_and_ended() -> None:
    case = measures_case()
    measure = uuid.uuid4()
    case.offer_measure(measure, "internship", date(2026, 3, 3), None, ACTOR, YOUTH)
    case.decline(measure, date(2026, 3, 5), 30, ACTOR, YOUTH)
    [reminder] = case.follow_ups.values()
    assert (reminder["subject"], reminder["due_on"]) == ("measure_reoffer", date(2026, 4, 4))
    assert case.offer_measure(measure, "internship", date(2026, 4, 4), None, ACTOR, YOUTH)
    assert reminder["completed_on"] == date(2026, 4, 4)  # the re-offer did what was due
    case.accept(measure, date(2026, 4, 6), ACTOR, YOUTH)
    case.start(measure, date(2026, 4, 13), ACTOR, YOUTH)
    case.end(measure, date(2026, 6, 12), "started_work", "work", ACTOR, YOUTH)
    assert case.measures[str(measure)]["state"] == "ended"
    assert case.measures[str(measure)]["offers"] == 2


def test_transitions_that_are_not_allowed_are_refused_as_conflicts() -> None:
    case = measures_case()
    measure = uuid.uuid4()
    case.offer_measure(measure, "internship", date(2026, 3, 3), None, ACTOR, YOUTH)
    case.decline(measure, date(2026, 3, 5), 30, ACTOR, YOUTH)
    with pytest.raises(CommandRefused) as refused:
        case.start(measure, date(2026, 3, 6), ACTOR, YOUTH)  # start a declined measure
    assert refused.value.conflict
    assert refused.value.field == "measure_id"
    with pytest.raises(CommandRefused) as unknown:
        case.accept(uuid.uuid4(), date(2026, 3, 6), ACTOR, YOUTH)
    assert unknown.value.field == "measure_id"


def test_a_measure_ending_before_it_started_is_refused() -> None:
    case = measures_case()
    measure = uuid.uuid4()
    case.offer_measure(measure, "internship", date(2026, 3, 3), None, ACTOR, YOUTH)
    case.accept(measure, date(2026, 3, 4), ACTOR, YOUTH)
    case.start(measure, date(2026, 3, 10), ACTOR, YOUTH)
    with pytest.raises(CommandRefused) as refused:
        case.end(measure, date(2026, 3, 9), "completed", None, ACTOR, YOUTH)
    assert refused.value.field == "ended_on"
    assert not refused.value.conflict
    with pytest.raises(CommandRefused) as bad_code:
        case.end(measure, date(2026, 3, 20), "bored", None, ACTOR, YOUTH)
    assert bad_code.value.field == "end_reason"


def test_every_plan_revision_is_kept_and_the_plan_of_any_day_can_be_shown() -> None:
    case = measures_case()
    effort = {"effort_id": str(uuid.uuid4()), "description": "SYV-samtal", "responsible":
              "municipality", "other_actor": None, "start_date": date(2026, 3, 10),
              "end_date": None, "end_reason": None}  # fmt: skip
    first = case.revise_plan(
        valid_from=date(2026, 3, 5), goal="Börja på komvux", mapping={"goals": ["komvux"]},
        efforts=[effort], follow_up_on=date(2026, 4, 5), evaluation_on=None, actor=ACTOR,
        correlation_id=YOUTH, sealer=SEALER,
    )  # fmt: skip
    second = case.revise_plan(
        valid_from=date(2026, 4, 5), goal="Praktik först", mapping={"goals": ["praktik"]},
        efforts=[{**effort, "end_date": date(2026, 4, 1), "end_reason": "klart"}],
        follow_up_on=date(2026, 5, 5), evaluation_on=date(2026, 6, 1), actor=ACTOR,
        correlation_id=YOUTH, sealer=SEALER,
    )  # fmt: skip
    assert (first, second) == (1, 2)
    assert case.plan_on(date(2026, 3, 4)) is None
    in_force = case.plan_on(date(2026, 3, 20))
    assert in_force is not None
    shown = plan_revision_shown(in_force, opener(DATA_KEY, "0180", YOUTH))
    assert (shown["goal"], shown["text"]) == ("Börja på komvux", "open")
    assert case.plan_on(date(2026, 4, 5))["revision"] == 2  # type: ignore[index]
    subjects = sorted((f["subject"], f["due_on"]) for f in case.follow_ups.values())
    assert subjects == [("plan_evaluation", date(2026, 6, 1)), ("plan_follow_up", date(2026, 5, 5))]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"start_date": date(2026, 4, 1), "end_date": date(2026, 3, 1)}, "efforts[0].end_date"),
        ({"end_reason": "klart"}, "efforts[0].end_date"),
        ({"responsible": "other_actor"}, "efforts[0].other_actor"),
    ],
)
def test_a_plan_effort_that_does_not_add_up_is_refused(change: dict[str, Any], field: str) -> None:
    case = measures_case()
    effort = {
        "effort_id": str(uuid.uuid4()),
        "description": "x",
        "responsible": "youth",
        "other_actor": None,
        "start_date": None,
        "end_date": None,
        "end_reason": None,
    }
    with pytest.raises(CommandRefused) as refused:
        case.revise_plan(
            valid_from=date(2026, 3, 5), goal="g", mapping={}, efforts=[{**effort, **change}],
            follow_up_on=None, evaluation_on=None, actor=ACTOR, correlation_id=YOUTH,
            sealer=SEALER,
        )  # fmt: skip
    assert refused.value.field == field
    assert case.plan_revisions == []


def test_free_text_that_looks_sensitive_gets_a_warning_naming_field_and_category() -> None:
    assert sensitive_categories("Har en ADHD-diagnos och går på BUP") == ["health"]
    assert sensitive_categories("Vill jobba med bilar") == []
    warnings = free_text_warnings({"goal": "Vill börja plugga", "note": "Troende muslim"})
    assert warnings == [
        "note: may contain sensitive personal data (religion); documentation under the activity "
        "responsibility must not hold it"
    ]
    assert "muslim" not in warnings[0].lower()  # the warning never repeats the text


def test_code_lists_are_versioned_data() -> None:
    occupations = code_list("occupation", on=date(2026, 3, 2))
    assert "work" in occupations.codes
    with pytest.raises(ValueError, match="no version"):
        code_list("occupation", version="1999-1")
    assert "astronaut" not in occupations.codes
    assert occupations.version == code_list("occupation", version="2026-1").version


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [
        ("2026H1", date(2026, 1, 1), date(2026, 6, 30)),
        ("2025H2", date(2025, 7, 1), date(2025, 12, 31)),
    ],
)
def test_a_half_year_names_its_days(name: str, start: date, end: date) -> None:
    period = half_year(name)
    assert (period.start, period.end) == (start, end)


@pytest.mark.parametrize("name", ["2026H3", "26H1", "2026-1", "2026h1", "1999H1", ""])
def test_an_unknown_period_is_refused_naming_the_field(name: str) -> None:
    with pytest.raises(ValueError, match=r"^period: "):
        half_year(name)


def test_the_command_writer_answers_every_caller_even_when_a_batch_fails() -> None:
    calls: list[int] = []

    def run(batch: list[Command]) -> None:
        calls.append(len(batch))
        if len(calls) == 1:
            raise OSError("database went away")
        for command in batch:
            command.future.set_result(True)

    commands = CommandQueue(run)
    failed = commands.submit(YOUTH, "0180", lambda case: True)
    with pytest.raises(OSError, match="database went away"):
        failed.result(timeout=5)
    assert commands.submit(YOUTH, "0180", lambda case: True).result(timeout=5) is True
    commands.stop()


def test_commands_waiting_when_the_service_stops_are_still_answered() -> None:
    release = threading.Event()

    def run(batch: list[Command]) -> None:
        release.wait(5)
        for command in batch:
            command.future.set_result(True)

    commands = CommandQueue(run)
    first = commands.submit(YOUTH, "0180", lambda case: True)
    time.sleep(0.05)  # the writer is busy with the first
    waiting = commands.submit(YOUTH, "0180", lambda case: True)
    stopper = threading.Thread(target=commands.stop)
    stopper.start()
    release.set()
    stopper.join(10)
    assert first.result(timeout=5) is True
    assert waiting.result(timeout=5) is True  # written before the writer stopped
