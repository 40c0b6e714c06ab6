"""A school's notification to a municipality (skollagen 15 kap. 15 §) as identify takes it in, and
the checks it passes before anything is read (`IdentifyCommands.school_notification_taken`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from shared import dates, personnummer


@dataclass(frozen=True)
class SchoolNotification:
    notification_id: uuid.UUID
    tenant: str
    personnummer: str
    kind: str
    on: date
    school_type: str
    school_unit: str
    reported_by: str
    reporting_organisation: str | None = None
    # The request's; its events carry it (`correlation_id`). None: the notification's id.
    correlation_id: uuid.UUID | None = None
    # The municipality the school says it notifies (the student's hemkommun), if it says; it must
    # be `tenant`, the one the notification is sent as.
    hemkommun: str | None = None


class NotTheNotifiedMunicipality(PermissionError):
    """A school notification names a hemkommun other than the municipality it is sent as."""

    field = "hemkommun"
    reason = "not the municipality the notification is sent as"


def check_school_notification(notification: SchoolNotification, today: date) -> None:
    """A notification is sent to the student's hemkommun, and its day can be true: it has
    happened, and not before the student was born or 1900 (`shared.dates`)."""
    if notification.hemkommun is not None and notification.hemkommun != notification.tenant:
        raise NotTheNotifiedMunicipality
    born = personnummer.birth_date(notification.personnummer)
    reason = dates.problem(notification.on, today=today, born=born)
    if reason is not None:
        raise dates.ImplausibleDate("on", reason)
