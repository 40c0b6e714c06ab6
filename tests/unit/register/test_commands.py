"""The register's use cases' own rules, without a database: why a parked event is given up, the
instant an audit replay is asked for, and which youths a replay's answer shows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.register.commands.parked import discard_reason
from services.register.commands.replay import check_instant, shown_in

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


def test_a_reason_to_give_up_is_kept_trimmed() -> None:
    assert discard_reason("  the contract changed; no fix will take it ") == (
        "the contract changed; no fix will take it"
    )
    assert discard_reason("x" * 300) == "x" * 300


@pytest.mark.parametrize(
    ("why", "problem"),
    [("", "is empty"), ("   ", "is empty"), ("x" * 301, "is longer than 300 characters")],
)
def test_a_reason_to_give_up_is_refused_naming_the_field(why: str, problem: str) -> None:
    with pytest.raises(ValueError, match=rf"^why: {problem}$"):
        discard_reason(why)


def test_a_reason_with_a_control_character_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValueError, match=r"^why: ") as refused:
        discard_reason("secret\x00value")
    assert "secret" not in str(refused.value)


def test_a_replay_instant_needs_its_offset_and_may_not_be_ahead_of_now() -> None:
    check_instant(NOW, NOW)
    check_instant(NOW.astimezone(timezone(timedelta(hours=2))), NOW)
    with pytest.raises(ValueError, match=r"^as_of: give the instant with its UTC offset"):
        check_instant(NOW.replace(tzinfo=None), NOW)
    with pytest.raises(ValueError, match=r"^as_of: is in the future"):
        check_instant(NOW + timedelta(seconds=1), NOW)


def test_a_replay_shows_every_youth_it_lists_or_the_one_asked_for_if_found() -> None:
    first, second = uuid.UUID(int=1), uuid.UUID(int=2)
    whole = {"youths": [{"youth_id": first}, {"youth_id": second}]}
    assert shown_in(whole, None) == [first, second]
    assert shown_in({"youth": {"youth_id": first}}, first) == [first]
    assert shown_in({"youth": None}, first) == []
