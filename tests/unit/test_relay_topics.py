"""The outbox relay says so when it skips a published class's events filed under an old topic."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from eventsourcing.utils import get_topic, register_topic
from structlog.testing import capture_logs

from services.outreach.domain import OutreachCase
from shared.messaging.relay import OutboxRelay

ATTEMPTED: type[Any] = OutreachCase.ContactAttempted  # type: ignore[attr-defined]
OPENED: type[Any] = OutreachCase.ScopeOpened  # type: ignore[attr-defined]


def relay(*published: type[Any]) -> Any:
    return SimpleNamespace(relayed={get_topic(cls) for cls in published}, skipped_topics=set())


def test_a_published_class_under_an_old_topic_is_an_error_logged_once() -> None:
    attempted = ATTEMPTED
    register_topic("services.outreach.old:OutreachCase.ContactAttempted", attempted)
    fake = relay(attempted)
    with capture_logs() as logs:
        OutboxRelay.check_skipped(fake, "services.outreach.old:OutreachCase.ContactAttempted")
        OutboxRelay.check_skipped(fake, "services.outreach.old:OutreachCase.ContactAttempted")
    assert [entry["log_level"] for entry in logs] == ["error"]
    assert logs[0]["topic"] == get_topic(attempted)


def test_a_class_the_relay_does_not_publish_is_skipped_quietly() -> None:
    fake = relay(ATTEMPTED)
    with capture_logs() as logs:
        OutboxRelay.check_skipped(fake, get_topic(OPENED))
        OutboxRelay.check_skipped(fake, "no.such.module:Nothing")
    assert logs == []
