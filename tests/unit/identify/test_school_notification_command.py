"""The school-notification command's own rules, without HTTP or a store: a notification is sent
to the student's hemkommun, and its day can be true. The routes only map these refusals to
answers (403, 422); the HTTP API refuses before the service's store has started."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date

import pytest

from services.identify.commands.notifications import (
    NotTheNotifiedMunicipality,
    SchoolNotification,
    check_school_notification,
)
from services.identify.entrypoints.http import IdentifyRuntime
from shared.dates import ImplausibleDate

TODAY = date(2026, 3, 2)
NOTIFICATION = SchoolNotification(
    notification_id=uuid.uuid4(), tenant="0180", personnummer="200801021239", kind="left",
    on=TODAY, school_type="GY", school_unit="unit-1", reported_by="user:rektor",
)  # fmt: skip


def test_a_notification_of_today_to_its_own_municipality_passes() -> None:
    check_school_notification(NOTIFICATION, TODAY)
    check_school_notification(replace(NOTIFICATION, hemkommun="0180"), TODAY)


def test_a_notification_naming_another_hemkommun_is_refused_naming_the_field() -> None:
    with pytest.raises(NotTheNotifiedMunicipality) as refused:
        check_school_notification(replace(NOTIFICATION, hemkommun="1480"), TODAY)
    assert refused.value.field == "hemkommun"
    assert "1480" not in str(refused.value)


@pytest.mark.parametrize(
    ("on", "reason"),
    [
        (date(2026, 3, 3), "is in the future"),
        (date(1899, 12, 31), "is before 1900"),
        (date(2008, 1, 1), "is before the youth was born"),  # born 2008-01-02
    ],
)
def test_a_day_that_cannot_be_true_is_refused_naming_on(on: date, reason: str) -> None:
    with pytest.raises(ImplausibleDate) as refused:
        check_school_notification(replace(NOTIFICATION, on=on), TODAY)
    assert (refused.value.field, refused.value.reason) == ("on", reason)


def test_the_http_api_refuses_before_the_store_has_started_and_runs_nothing_unstarted() -> None:
    runtime = IdentifyRuntime()
    with pytest.raises(NotTheNotifiedMunicipality):
        runtime.take_in_school_notification(replace(NOTIFICATION, hemkommun="1480"), TODAY)
    with pytest.raises(RuntimeError, match="the service has not started"):
        runtime.take_in_school_notification(NOTIFICATION, TODAY)
