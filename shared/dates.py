"""Dates that mean what they say: the one rule for a date a user sends that cannot be true.

Every service checks the dates of what it is told with `problem` (or `check`): nothing is dated
before 1900; a fact about the activity responsibility's work (a contact attempt, an occupation, a
measure) is not dated before the law's start, 2015-01-01, nor before the youth was born; and what
has happened is not dated after today. The answer names the reason and never the value.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, AwareDatetime
from pydantic_core import PydanticCustomError

EARLIEST = date(1900, 1, 1)
# The activity responsibility (skollagen 29 kap. 9 §) in its present form.
LAW_START = date(2015, 1, 1)
STOCKHOLM = ZoneInfo("Europe/Stockholm")


class ImplausibleDate(ValueError):
    """A date that cannot be true for the field: the field and the reason (never the value)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def day_of(value: date | datetime, zone: ZoneInfo = STOCKHOLM) -> date:
    """The calendar day of a date or an instant in the municipality's zone. An instant too close
    to the ends of the calendar to convert keeps its own day (it is refused as too early anyway)."""
    if not isinstance(value, datetime):
        return value
    if value.tzinfo is None or value.year < EARLIEST.year or value.year > 9998:
        return value.date()
    return value.astimezone(zone).date()


def problem(
    value: date | datetime,
    *,
    today: date | None = None,
    born: date | None = None,
    since_law: bool = False,
) -> str | None:
    """Why `value` cannot be true, or None.

    `today`: it has happened, so it is not after today. `born`: it concerns the youth, so it is not
    before their birth. `since_law`: it is work under the activity responsibility, so not before
    2015-01-01."""
    day = day_of(value)
    if day < EARLIEST:
        return "is before 1900"
    if born is not None and day < born:
        return "is before the youth was born"
    if since_law and day < LAW_START:
        return "is before 2015-01-01, when the activity responsibility began"
    if today is not None and day > today:
        return "is in the future"
    return None


def check(
    field: str,
    value: date | datetime | None,
    *,
    today: date | None = None,
    born: date | None = None,
    since_law: bool = False,
) -> None:
    """Raise `ImplausibleDate` naming the field when `value` cannot be true (None passes)."""
    if value is None:
        return
    reason = problem(value, today=today, born=born, since_law=since_law)
    if reason is not None:
        raise ImplausibleDate(field, reason)


def _after_1900(value: date) -> date:
    reason = problem(value)
    if reason is not None:
        raise PydanticCustomError("implausible_date", reason)
    return value


def _instant_after_1900(value: datetime) -> datetime:
    reason = problem(value)
    if reason is not None:
        raise PydanticCustomError("implausible_date", reason)
    return value


Day = Annotated[date, AfterValidator(_after_1900)]
"""A date in a request: refused at the edge when it is before 1900."""

Instant = Annotated[AwareDatetime, AfterValidator(_instant_after_1900)]
"""An instant with its offset, in a request: refused at the edge when it is before 1900."""
