"""The half-year report to SCB (DOMAIN.md section 6): a pure function from the register's rows.

Every youth in scope at any time during the half-year is reported with SCB's five blocks:
1 mandatory data (personnummer, registration date, occupation and latest school-related occupation
at registration), 2 contacts (date, occupation at contact), 3 measures started (date, type),
4 measures ended (date, occupation after), 5 responsibility ended (date, reason).

The file is a function of the rows and the code list version only: the same register gives the
same bytes (no timestamp, a total order on every line). Codes come from the versioned
`scb-report` code list, never from enums here. Local logical checks run first; a report with errors
is refused unless forced.

Layout (kaa's own until SCB's specification is adopted as a new code-list version), UTF-8, one
record per line, fields separated by `;`:

    #KAA-SCB;<format version>;<kommunkod>;<period>;<code list version>
    1;<personnummer>;<registration date>;<occupation code>;<school background code>
    2;<personnummer>;<contact date>;<occupation code at contact>
    3;<personnummer>;<start date>;<measure type code>
    4;<personnummer>;<end date>;<occupation code after>
    5;<personnummer>;<end date>;<leaving reason code>
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.register.domain.period import Period
from services.register.domain.scb.checks import UNNAMED, Checks, Finding, youth_records
from services.register.domain.scb.codes import ScbCodes
from services.register.domain.scb.rows import EventRange, ScbRows, by_youth
from shared import personnummer

BLOCKS = range(1, 6)


@dataclass(frozen=True)
class ScbReport:
    tenant: str
    period: Period
    codes: ScbCodes
    content: bytes
    youths: int
    records: dict[str, int]
    findings: list[Finding]
    event_range: EventRange = field(default_factory=EventRange)
    named: list[uuid.UUID] = field(default_factory=list)  # youths whose identity was opened

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def summary(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "period": self.period.name,
            "code_list_version": self.codes.version,
            "file_format": self.codes.header,
            "youths": self.youths,
            "records": self.records,
            "content_sha256": self.content_hash,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "findings": [f.as_dict() for f in self.findings],
            "event_range": self.event_range.as_dict(),
        }

    def text(self) -> str:
        """The validation report a coordinator reads."""
        head = [
            f"SCB report {self.tenant} {self.period.name} "
            f"({self.period.start} – {self.period.end}), code list {self.codes.version}",
            f"  youths: {self.youths}; records per block: "
            + ", ".join(f"{b}: {n}" for b, n in sorted(self.records.items())),
            f"  errors: {len(self.errors)}; warnings: {len(self.warnings)}",
        ]
        return "\n".join([*head, *(f"  {f.line()}" for f in self.findings)]) + "\n"


def build_report(
    tenant: str, period: Period, today: date, codes: ScbCodes, rows: ScbRows
) -> ScbReport:
    """The report of `tenant` for `period`, coded in `codes`, from the register's rows."""
    checks = Checks(codes)
    if period.end >= today:
        checks.add("warning", "period", f"{period.name} has not ended; figures may change")
    youths = by_youth(rows)
    records: list[tuple[str, int, date, str]] = []
    first_youth_of: dict[str, uuid.UUID] = {}
    for held in youths:
        youth_id = held.youth_id
        name = rows.names.get(youth_id)
        number = name.personnummer if name is not None else None
        if number is None:
            unnamed = UNNAMED[name.state if name is not None else "missing"]
            checks.add("error", "personnummer", unnamed, youth_id, 1)
            continue
        if not personnummer.is_valid(number):
            text = "is not a valid personnummer or samordningsnummer (check digit)"
            checks.add("error", "personnummer", text, youth_id, 1)
        if number in first_youth_of:
            text = f"the same person is reported twice (also as youth {first_youth_of[number]})"
            checks.add("error", "personnummer", text, youth_id, 1)
        first_youth_of.setdefault(number, youth_id)
        records.extend(
            (number, block, day, rest) for block, day, rest in youth_records(held, period, checks)
        )
    records.sort()
    header = f"#{codes.header};{tenant};{period.name};{codes.version}"
    lines = [header]
    lines.extend(
        f"{block};{number};{day.isoformat()};{rest}" for number, block, day, rest in records
    )
    findings = sorted(
        checks.findings, key=lambda f: (f.severity, str(f.youth_id or ""), f.block or 0, f.field)
    )
    return ScbReport(
        tenant=tenant,
        period=period,
        codes=codes,
        content=("\n".join(lines) + "\n").encode("utf-8"),
        youths=len(youths),
        records={str(b): sum(1 for r in records if r[1] == b) for b in BLOCKS},
        findings=findings,
        event_range=rows.event_range,
        named=[y.youth_id for y in youths if _is_open(rows, y.youth_id)],
    )


def _is_open(rows: ScbRows, youth_id: uuid.UUID) -> bool:
    name = rows.names.get(youth_id)
    return name is not None and name.state == "open"
