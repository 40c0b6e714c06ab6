"""The SS 12000 connector's pure rules: which persons are passed on, the records made of them, the
backoff, and how a failure is worded for the operator."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from services.connect.domain.organisers import (
    BACKOFF_CAP,
    PersonRef,
    deleted_person,
    feed_line,
    person_ref,
    problem_text,
    retry_delay,
    to_publish,
    wanted,
)
from shared.contracts.feeds import Ss12000FeedMessage


def item(pid: str, *types: str, unit: str = "u1") -> dict[str, object]:
    enrolments = [{"enroledAt": {"id": unit}, "schoolType": t} for t in types]
    return {"id": pid, "civicNo": {"value": "200805012382"}, "enrolments": enrolments}


def test_a_person_is_passed_on_when_enrolled_as_the_municipality_reads_or_known_before() -> None:
    items = [item("gy", "GY"), item("gr", "GR"), item("known", "GR"), item("none"), 42, {"id": 1}]
    chosen, refs, skipped = to_publish(items, {"known"}, {"GY", "GYS"}, ())
    assert chosen == [items[0], items[2], 42, {"id": 1}], "bad items go on: identify says why"
    assert [r.person_id for r in refs] == ["gy", "known"]
    assert skipped == 2
    assert wanted(item("x", "GR"), (), ()), "no filters: any enrolment"
    assert not wanted(item("x"), (), ()), "no enrolment: nothing for the municipality"
    assert not wanted(item("x", "GY", unit="other"), (), ("u1",))
    assert person_ref({"id": "p", "civicNo": {"value": 7}}) is None


def test_the_record_is_the_person_as_given_in_the_feeds_envelope() -> None:
    at = datetime(2026, 12, 1, 8, tzinfo=UTC)
    line = feed_line(item("p", "GY"), tenant="0180", source="ss12000.city", observed_at=at,
                     live=True)  # fmt: skip
    message = Ss12000FeedMessage.model_validate_json(line)
    assert (message.source, message.live, message.observed_at) == ("ss12000.city", True, at)
    assert orjson.loads(line)["person"] == item("p", "GY")
    gone = Ss12000FeedMessage.model_validate(
        {**orjson.loads(line), "person": deleted_person(PersonRef("p", "200805012382"))}
    )
    assert gone.person.enrolments == []


def test_the_backoff_doubles_with_jitter_up_to_a_cap_and_honours_retry_after() -> None:
    assert retry_delay(1, rand=lambda: 0.0) == 0.5
    assert retry_delay(1, rand=lambda: 1.0) == 1.0
    assert retry_delay(4, rand=lambda: 1.0) == 8.0
    assert retry_delay(40, rand=lambda: 1.0) == BACKOFF_CAP
    assert retry_delay(1, retry_after=30, rand=lambda: 0.5) == 30
    delays = {retry_delay(5, rand=iter([r]).__next__) for r in (0.1, 0.5, 0.9)}
    assert len(delays) == 3, "jittered"


def test_each_failure_names_the_organiser_and_what_to_check() -> None:
    said = problem_text("Friskolan AB", 401, "", "KAA_SECRET_FRISKOLAN")
    assert said.startswith("Friskolan AB: the organiser refused kaa's credentials (HTTP 401)")
    assert "KAA_SECRET_FRISKOLAN" in said
    assert "granted" in problem_text("F", 403, "", "V")
    assert "HTTP 503" in problem_text("F", 503, "", "V")
    assert problem_text("F", None, "cannot be reached (ConnectError)", "V") == (
        "F: cannot be reached (ConnectError)"
    )
