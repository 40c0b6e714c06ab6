"""The register's event handlers as a registry: which handler writes each kind of event, and the
order a batch is applied in (no database: a connection that records what it is asked to run).

The register trusts the order of one youth's events and applies what arrives: a measure's steps are
folded onto its status in the order they came and kept in that order (`steps.py`), and a step is
not refused for the state its measure is in (the measures domain decides which steps may be taken:
tests/unit/measures, the lifecycle table).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from typing import Any

from services.register.adapters.projection import corrections as fix
from services.register.adapters.projection import statements as sql
from services.register.adapters.projection import steps
from services.register.adapters.projection.handlers import HANDLERS, apply_events, measure_step
from shared.contracts.events import (
    ALL_EVENTS,
    AbsenceReported,
    AnyEvent,
    ContactAttempted,
    Correction,
    FollowUpCancelled,
    FollowUpCompleted,
    FollowUpScheduled,
    MeasureAccepted,
    MeasureDeclined,
    MeasureEnded,
    MeasureOffered,
    MeasureStarted,
    OutreachEntryWithdrawn,
    SchoolNotificationReceived,
    YouthIdentified,
    YouthLeftScope,
)

YOUTH, MEASURE = uuid.UUID(int=1), uuid.UUID(int=2)
NOT_REGISTER_CONTENT = {SchoolNotificationReceived, AbsenceReported, FollowUpScheduled,
                        FollowUpCompleted, FollowUpCancelled}  # fmt: skip


class RecordingConnection:
    """Records each statement (or COPY) in the order it is run; every scope episode exists."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, Any]] = []

    async def execute(self, statement: str, *args: Any) -> str:
        self.ran.append((statement, args))
        return "OK"

    async def executemany(self, statement: str, rows: list[tuple[Any, ...]]) -> None:
        self.ran.append((statement, rows))

    async def fetch(self, statement: str, *args: Any) -> list[dict[str, Any]]:
        self.ran.append((statement, args))
        if statement in (steps._STATUS, steps._LAST_STEP):
            return []  # a fresh register: no measure yet
        return [{"scope_episode_id": episode} for episode in args[2]] if args else []

    async def copy_records_to_table(self, table: str, **kwargs: Any) -> None:
        self.ran.append((f"COPY {table}", kwargs["records"]))

    def statements(self) -> list[str]:
        return [statement for statement, _ in self.ran]

    def rows(self, statement: str) -> list[tuple[Any, ...]]:
        """The rows a statement taking one array per column was run with."""
        return [row for ran, columns in self.ran if ran == statement
                for row in zip(*columns, strict=True)]  # fmt: skip

    def measure_steps(self) -> list[tuple[Any, ...]]:
        """The steps kept, in their order: (event id, tenant, youth, measure, step, type, state,
        date, end reason, occupation after)."""
        return self.rows(steps._STEPS_KEPT)


def envelope(minute: int = 0) -> dict[str, Any]:
    when = datetime(2026, 3, 2, 9, minute, tzinfo=UTC)
    return {"event_id": uuid.uuid4(), "tenant": "0180", "youth_id": YOUTH, "occurred_at": when,
            "recorded_at": when, "actor": "user:anna", "correlation_id": uuid.uuid4()}  # fmt: skip


def offered(on: date, measure: uuid.UUID = MEASURE) -> MeasureOffered:
    return MeasureOffered(**envelope(), measure_id=measure, measure_type="internship",
                          offered_on=on)  # fmt: skip


def identified(episode: uuid.UUID) -> YouthIdentified:
    return YouthIdentified(
        **envelope(), scope_episode_id=episode, entered_on=date(2026, 1, 5),
        scope_ends_on=date(2028, 1, 1), rule_version="kaa-2018-07-01", facts={"age": "17"},
    )  # fmt: skip


def left(episode: uuid.UUID) -> YouthLeftScope:
    return YouthLeftScope(**envelope(), scope_episode_id=episode, left_on=date(2026, 3, 1),
                          reason="moved_out", rule_version="kaa-2018-07-01")  # fmt: skip


def run(events: list[AnyEvent]) -> RecordingConnection:
    conn = RecordingConnection()
    asyncio.run(apply_events(conn, events))  # type: ignore[arg-type]
    return conn


def test_every_event_is_register_content_with_a_handler_or_named_as_not() -> None:
    assert {kind for kind in ALL_EVENTS if kind not in HANDLERS} == NOT_REGISTER_CONTENT
    assert not NOT_REGISTER_CONTENT & set(HANDLERS)


def test_a_measures_steps_apply_one_by_one_in_the_order_they_came() -> None:
    events: list[AnyEvent] = [
        offered(date(2026, 3, 3)),
        MeasureDeclined(**envelope(1), measure_id=MEASURE, declined_on=date(2026, 3, 5)),
        offered(date(2026, 4, 4)),
        MeasureAccepted(**envelope(2), measure_id=MEASURE, accepted_on=date(2026, 4, 6)),
        MeasureStarted(**envelope(3), measure_id=MEASURE, started_on=date(2026, 4, 13)),
        MeasureEnded(**envelope(4), measure_id=MEASURE, ended_on=date(2026, 6, 12),
                     end_reason="started_work", occupation_after="work"),
    ]  # fmt: skip
    conn = run(events)
    assert [row[6] for row in conn.measure_steps()] == [
        "offered", "declined", "offered", "accepted", "started", "ended",
    ]  # fmt: skip
    assert [row[4] for row in conn.measure_steps()] == [1, 2, 3, 4, 5, 6]
    [status] = conn.rows(steps._STATUS_WRITTEN)  # the measure as the last step left it
    assert dict(zip(steps.COLUMNS[4:], status[4:], strict=True)) == {
        "state": "ended", "offers": 2, "offered_on": date(2026, 4, 4),
        "accepted_on": date(2026, 4, 6), "declined_on": date(2026, 3, 5),
        "started_on": date(2026, 4, 13), "ended_on": date(2026, 6, 12),
        "end_reason": "started_work", "occupation_after": "work",
    }  # fmt: skip
    [(_, offers)] = [(s, rows) for s, rows in conn.ran if s == "COPY measures"]
    assert [row[5] for row in offers] == [date(2026, 3, 3), date(2026, 4, 4)]


def test_a_step_of_a_measure_with_no_row_is_kept_dead_with_what_its_dead_event_needs() -> None:
    """Started without an offer the register saw: kept dead, not a step (the same on the database:
    tests/integration/test_register_projection.py)."""
    started = MeasureStarted(**envelope(), measure_id=MEASURE, started_on=date(2026, 4, 13))
    conn = run([started])
    assert conn.measure_steps() == []
    assert measure_step(started)[8:] == (started.event_id, "MeasureStarted", started.recorded_at)
    assert conn.rows(sql.DEAD) == [(started.event_id, "0180", YOUTH, "MeasureStarted",
                                    sql.NO_SUCH_MEASURE, started.recorded_at)]  # fmt: skip
    assert steps._STATUS_WRITTEN not in conn.statements()


def test_each_step_sets_its_state_and_its_own_date_only() -> None:
    on = date(2026, 4, 6)
    offer = offered(on)
    assert measure_step(offer)[3:8] == ("internship", "offered", on, None, None)
    accepted = MeasureAccepted(**envelope(), measure_id=MEASURE, accepted_on=on)
    assert measure_step(accepted)[3:8] == (None, "accepted", on, None, None)
    declined = MeasureDeclined(**envelope(), measure_id=MEASURE, declined_on=on)
    assert measure_step(declined)[3:8] == (None, "declined", on, None, None)
    started = MeasureStarted(**envelope(), measure_id=MEASURE, started_on=on)
    assert measure_step(started)[3:8] == (None, "started", on, None, None)
    ended = MeasureEnded(**envelope(), measure_id=MEASURE, ended_on=on, end_reason="moved",
                         occupation_after="work")  # fmt: skip
    assert measure_step(ended)[3:8] == (None, "ended", on, "moved", "work")


def test_every_start_of_a_batch_goes_before_any_end_and_casework_after() -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    conn = run([offered(date(2026, 3, 3)), left(first), identified(second), identified(first)])
    order = conn.statements()
    entered = order.index(sql.IDENTIFIED_EPISODE)
    assert entered < order.index(sql.LEFT_EPISODE) < order.index("COPY measures")
    [(_, episodes)] = [(s, a) for s, a in conn.ran if s == sql.IDENTIFIED_EPISODE]
    assert episodes[2] == [second, first], "the identifications in their order"


def test_what_is_not_register_content_writes_nothing() -> None:
    notice = SchoolNotificationReceived(
        **envelope(), notification_id=uuid.uuid4(), kind="left", on=date(2026, 3, 1),
        school_type="gy", school_unit="12345678",
    )  # fmt: skip
    assert run([notice]).ran == []


class NothingWithdrawn(RecordingConnection):
    """The withdrawals find no step, assignment or contact details to take away."""

    async def fetch(self, statement: str, *args: Any) -> list[dict[str, Any]]:
        self.ran.append((statement, args))
        return []

    async def fetchval(self, statement: str, *args: Any) -> int:
        """The entries named are held (one each)."""
        self.ran.append((statement, args))
        return 1


def test_a_withdrawal_applies_after_the_rest_of_its_batch_and_a_correction_with_its_kind() -> None:
    """Whatever the batch's order, a withdrawal finds the entry it names (recorded in the same
    batch) in place; a correction deletes the row it names after its kind's rows were added."""
    attempt = ContactAttempted(**envelope(), contact_attempt_id=uuid.uuid4(), channel="phone",
                               outcome="reached", attempted_at=datetime(2026, 3, 2, tzinfo=UTC))  # fmt: skip
    earlier = OutreachEntryWithdrawn(**envelope(), withdraws=uuid.uuid4(),
                                     withdrawn_event_type="ContactAttempted",
                                     correction=Correction(reason="did_not_happen"))  # fmt: skip
    fixed = attempt.model_copy(update={"event_id": uuid.uuid4(), "corrects": attempt.event_id,
                                       "correction": Correction(reason="wrong_date")})  # fmt: skip
    conn = NothingWithdrawn()
    asyncio.run(apply_events(conn, [earlier, attempt, fixed]))  # type: ignore[arg-type]
    order = conn.statements()
    assert order.index("COPY contacts") < order.index(fix.corrected_row("contacts"))
    assert order.index(fix.corrected_row("contacts")) < order.index(fix.ENTRY_HELD)
    assert order.index(fix.ENTRY_HELD) < order.index(fix.WITHDRAWN_FACTS[0])
    assert order.index(fix.WITHDRAWN_FACTS[0]) > order.index("COPY contacts")
