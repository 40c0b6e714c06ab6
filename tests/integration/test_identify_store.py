"""The identify application on the real PostgreSQL: scope schedule, explanations, redelivery."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime
from typing import Any

from prometheus_client import REGISTRY

from services.identify.adapters.store import IdentifyStore
from services.identify.commands import IdentifyCommands
from services.identify.domain.scope import DEFAULT_POLICY
from shared.contracts.feeds import PopulationFeedMessage, PopulationRecord
from shared.eventstore import eventsourcing_env
from shared.pseudonym import person_id, person_key
from tests.conftest import RunningInfra

NUMBER = "201005011232"  # born 2010-05-01: compulsory school ends 2026-06-30
MASTER_KEY = "integration-test-master-key"
PSEUDONYM_KEY = "integration-test-key"


def application(infra: RunningInfra, schema: str) -> IdentifyCommands:
    return IdentifyCommands(
        IdentifyStore(eventsourcing_env(infra.database_url, schema), master_key=MASTER_KEY),
        pseudonym_key=PSEUDONYM_KEY,
        served={"0180": DEFAULT_POLICY},
    )


def baseline(number: str = NUMBER, effective: date = date(2026, 1, 1)) -> PopulationFeedMessage:
    born = date(int(number[:4]), int(number[4:6]), int(number[6:8]))
    return PopulationFeedMessage(
        record_id=uuid.uuid4(),
        tenant="0180",
        observed_at=datetime(2026, 1, 2, tzinfo=UTC),
        record=PopulationRecord(
            personnummer=number, given_name="A", family_name="B", kommunkod="0180",
            birth_date=born, change_type="baseline", effective_date=effective,
        ),
    )  # fmt: skip


def scope_events(app: IdentifyCommands) -> list[Any]:
    events = []
    for notification in app.store.recorder.select_notifications(start=1, limit=1000):
        event = app.store.mapper.to_domain_event(notification)
        if type(event).__name__ in ("ScopeEntered", "ScopeLeft"):
            events.append(event)
    return events


def test_time_alone_opens_and_closes_scope_once_even_across_restarts(
    infra: RunningInfra, db_schema: str
) -> None:
    app = application(infra, db_schema)
    app.take_in_feed_batch([baseline()], "feed", 0, 1, today=date(2026, 6, 20))
    assert scope_events(app) == []
    assert app.run_schedule(date(2026, 6, 30)) == 0
    assert app.run_schedule(date(2026, 7, 1)) == 1
    [entered] = scope_events(app)
    assert (type(entered).__name__, entered.entered_on) == ("ScopeEntered", date(2026, 7, 1))
    assert app.run_schedule(date(2026, 7, 1)) == 0, "evaluated once; next due at the 20th birthday"
    app.store.close()

    restarted = application(infra, db_schema)
    assert restarted.run_schedule(date(2027, 1, 1)) == 0
    assert restarted.run_schedule(date(2030, 5, 1)) == 1
    kinds = [(type(e).__name__, getattr(e, "reason", None)) for e in scope_events(restarted)]
    assert kinds == [("ScopeEntered", None), ("ScopeLeft", "turned_20")]
    assert restarted.run_schedule(date(2031, 1, 1)) == 0, "nothing left to schedule"
    restarted.store.close()


def test_a_late_schedule_run_dates_the_transition_when_it_happened(
    infra: RunningInfra, db_schema: str
) -> None:
    app = application(infra, db_schema)
    app.take_in_feed_batch([baseline()], "feed", 0, 1, today=date(2026, 6, 20))
    assert app.run_schedule(date(2026, 7, 10)) == 1  # the service was down for nine days
    [entered] = scope_events(app)
    assert entered.entered_on == date(2026, 7, 1)
    app.store.close()


def test_a_redelivered_batch_has_no_second_effect(infra: RunningInfra, db_schema: str) -> None:
    app = application(infra, db_schema)
    batch = [baseline()]
    app.take_in_feed_batch(batch, "feed", 0, 1, today=date(2026, 8, 1))
    app.take_in_feed_batch(batch, "feed", 0, 1, today=date(2026, 8, 1))
    assert len(scope_events(app)) == 1
    assert app.store.stored_positions("feed", [0]) == {0: 1}
    app.store.close()


def test_explain_names_the_rule_and_the_facts(infra: RunningInfra, db_schema: str) -> None:
    app = application(infra, db_schema)
    app.take_in_feed_batch([baseline()], "feed", 0, 1, today=date(2026, 8, 1))
    result = app.explain(NUMBER, "0180", date(2026, 8, 1))
    assert result.known
    assert result.decision is not None
    assert result.decision.in_scope
    assert result.decision.rule_version == "kaa-2018-07-01"
    assert result.decision.facts["compulsory_school_ends"] == "2026-06-30"
    assert result.youth_id is not None
    before = app.explain(NUMBER, "0180", date(2026, 6, 1))
    assert before.decision is not None
    assert before.decision.facts["compulsory_school"] == "not yet completed"
    assert not app.explain("200801011230", "0180", date(2026, 8, 1)).known
    app.store.close()


def test_explain_reads_a_held_person_between_two_writes(
    infra: RunningInfra, db_schema: str
) -> None:
    """A person this process holds is changed in place by the writer: `explain` reads a copy taken
    between two writes, never the object a write is changing."""
    app = application(infra, db_schema)
    app.take_in_feed_batch([baseline()], "feed", 0, 1, today=date(2026, 8, 1))
    held = person_id(person_key(NUMBER, PSEUDONYM_KEY))
    assert held in app.store._recent  # the batch's writer keeps it
    answers: list[bool] = []
    with app.store._write_lock:  # a write under way
        reader = threading.Thread(
            target=lambda: answers.append(app.explain(NUMBER, "0180", date(2026, 8, 1)).known)
        )
        reader.start()
        reader.join(0.3)
        assert reader.is_alive()  # waits for the write to end
        assert not answers
    reader.join(10)
    assert answers == [True]
    app.store.close()


def _loaded() -> dict[str, float]:
    return {
        how: REGISTRY.get_sample_value("kaa_aggregates_loaded_total", {"how": how}) or 0.0
        for how in ("held", "read", "new")
    }


def test_the_metrics_say_where_the_persons_a_batch_needed_came_from(
    infra: RunningInfra, db_schema: str
) -> None:
    """An operator sizing `KAA_AGGREGATE_CACHE_SIZE` sees how many persons were read from the
    store (not held in memory) beside those held and those new."""
    app = application(infra, db_schema)
    steps = []
    before = _loaded()
    for offset, forget in ((1, False), (2, False), (3, True)):
        if forget:
            app.store._recent.clear()  # as if pushed out by other persons
        app.take_in_feed_batch([baseline()], "feed", 0, offset, today=date(2026, 8, 1))
        after = _loaded()
        steps.append({how: after[how] - before[how] for how in after})
        before = after
    assert steps == [
        {"held": 0, "read": 0, "new": 1},  # the first record of the person
        {"held": 1, "read": 0, "new": 0},  # the same person again, held since
        {"held": 0, "read": 1, "new": 0},  # no longer held: read from the store
    ]
    assert REGISTRY.get_sample_value("kaa_aggregates_held") == 1
    app.store.close()
