"""The contact clock as a caseworker sees it: working days since the municipality could know of
the youth, against its own limit, in colour *and* words (colour alone is not enough, WCAG 1.4.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from services.web.domain.swedish import working_days

Level = Literal["ok", "soon", "late", "done"]
SOON_WITHIN = 2  # working days left at which the clock turns amber


@dataclass(frozen=True)
class ClockShown:
    level: Level
    text: str


def shown(clock: dict[str, Any] | None) -> ClockShown | None:
    """The outreach service's `contact_clock` (its `limit_working_days`, `working_days_waiting`
    or `working_days_to_first_attempt`, `within_limit`) as a level and a Swedish sentence."""
    if not clock:
        return None
    limit = int(clock["limit_working_days"])
    taken = clock.get("working_days_to_first_attempt")
    if taken is not None:
        within = "inom" if clock.get("within_limit") else "över"
        return ClockShown("done", f"Första kontaktförsök efter {working_days(int(taken))} "
                                  f"({within} gränsen {limit})")  # fmt: skip
    waiting = int(clock.get("working_days_waiting") or 0)
    left = limit - waiting
    if left < 0:
        return ClockShown("late", f"{working_days(waiting)} av {limit}: "
                                  f"{working_days(-left)} över gränsen")  # fmt: skip
    level: Level = "soon" if left <= SOON_WITHIN else "ok"
    return ClockShown(level, f"{working_days(waiting)} av {limit}: {working_days(left)} kvar")
