"""The local logical checks of an SCB report and one youth's records (blocks 1-5).

SCB runs logical cross-field checks at upload (DOMAIN.md section 6); kaa runs its own first, so a
file with errors is refused before it is handed out. A finding names the youth id (pseudonymous),
the block and the field, never a personnummer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from services.register.domain.period import Period
from services.register.domain.scb.codes import CODE_LIST, ScbCodes
from services.register.domain.scb.rows import IdentityState, Occupation, YouthRows

Severity = Literal["error", "warning"]
Record = tuple[int, date, str]  # (block, date, the fields after the date)


@dataclass(frozen=True)
class Finding:
    severity: Severity
    field: str
    problem: str
    youth_id: uuid.UUID | None = None
    block: int | None = None

    def line(self) -> str:
        where = f"youth {self.youth_id}" if self.youth_id else "report"
        block = f" block {self.block}" if self.block else ""
        return f"{self.severity:<7} {where}{block}: {self.field}: {self.problem}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "youth_id": str(self.youth_id) if self.youth_id else None,
            "block": self.block,
            "field": self.field,
            "problem": self.problem,
        }


UNNAMED: dict[IdentityState, str] = {
    "missing": "no population record has named this youth",
    "redacted": "the personal data was purged (retention); the youth cannot be named",
    "tampered": "the sealed personal data fails authentication; see the service log",
    "open": "not available",
}


class Checks:
    """The findings of the local logical checks, and coding through the code list."""

    def __init__(self, codes: ScbCodes) -> None:
        self.codes = codes
        self.findings: list[Finding] = []

    def add(
        self,
        severity: Severity,
        name: str,
        text: str,
        youth: uuid.UUID | None = None,
        block: int | None = None,
    ) -> None:
        self.findings.append(Finding(severity, name, text, youth, block))

    def code(self, kind: str, value: str | None, youth: uuid.UUID, block: int, name: str) -> str:
        """The file's code for `value`: an error when it has none, a warning when it fell back."""
        code, fell_back = self.codes.code(kind, value)
        listed = f"{CODE_LIST} {self.codes.version}"
        if code is None:
            self.add("error", name, f"{value!r} has no code in {listed}", youth, block)
            return ""
        if fell_back and value is not None:
            text = f"{value!r} has no code of its own in {listed}; reported as {code}"
            self.add("warning", name, text, youth, block)
        return code


def occupation_on(occupations: tuple[Occupation, ...] | list[Occupation], day: date) -> str:
    """The occupation on `day`: of those whose dates cover it, the latest confirmed (then the
    latest begun, then the last event id); `unknown` when none covers it."""
    valid = [
        o for o in occupations if o.from_date <= day and (o.to_date is None or o.to_date >= day)
    ]
    if not valid:
        return "unknown"
    latest = max(valid, key=lambda o: (o.confirmed_on, o.from_date, str(o.event_id)))
    return latest.category


def youth_records(rows: YouthRows, period: Period, checks: Checks) -> list[Record]:
    """Blocks 1-5 of one youth, checked: (block, date, the fields after the date)."""
    youth = rows.youth_id
    held, episodes = rows.occupations, rows.episodes
    first = episodes[0]
    registration = ";".join(
        (
            checks.code("occupation", occupation_on(held, first.entered_on), youth, 1,
                        "occupation_at_registration"),
            checks.code("school_background", first.school_background, youth, 1,
                        "school_background"),
        )
    )  # fmt: skip
    out: list[Record] = [(1, first.entered_on, registration)]
    for contact in rows.contacts:
        day = contact.day
        if not any(
            e.entered_on <= day and (e.left_on is None or day <= e.left_on) for e in episodes
        ):
            text = f"{day} is outside every scope episode of the youth"
            checks.add("error", "contact_date", text, youth, 2)
        out.append((2, day, checks.code("occupation", occupation_on(held, day), youth, 2,
                                        "occupation_at_contact")))  # fmt: skip
    for measure in rows.measures:
        started, ended = measure.started_on, measure.ended_on
        if started is not None and period.start <= started <= period.end:
            out.append((3, started, checks.code("measure_type", measure.measure_type, youth, 3,
                                                "measure_type")))  # fmt: skip
        if ended is not None and period.start <= ended <= period.end:
            if started is None or ended < started:
                text = f"{ended} is before the measure started ({started})"
                checks.add("error", "measure_end_date", text, youth, 4)
            after = measure.occupation_after or "unknown"
            out.append((4, ended, checks.code("occupation", after, youth, 4,
                                              "occupation_after")))  # fmt: skip
    for episode in episodes:
        left = episode.left_on
        if left is None or not period.start <= left <= period.end:
            continue
        if episode.left_reason is None:
            text = f"responsibility ended on {left} without a reason"
            checks.add("error", "leaving_reason", text, youth, 5)
            continue
        reason = checks.code("leaving_reason", episode.left_reason, youth, 5,
                             "leaving_reason")  # fmt: skip
        out.append((5, left, reason))
    return out
