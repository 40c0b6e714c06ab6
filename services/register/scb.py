"""The half-year report to SCB (DOMAIN.md section 6), built from the register.

Every youth in scope at any time during the half-year is reported with SCB's five blocks:
1 mandatory data (personnummer, registration date, occupation and latest school-related occupation
at registration), 2 contacts (date, occupation at contact), 3 measures started (date, type),
4 measures ended (date, occupation after), 5 responsibility ended (date, reason).

The file is a function of the register and the code list version only: the same register gives the
same bytes (no timestamp, a total order on every line). Codes come from the versioned
`scb-report` code list, never from enums here. Local logical checks run first; a report with errors
is refused unless forced. Every generated file is recorded as an `ScbExportGenerated` event in the
append-only export log (content hash, the event positions it was built from, who and when); a later
export for the period supersedes the earlier one, and a closed period whose file would now come out
differently is marked as needing resubmission.

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
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any, Literal

import asyncpg

from services.register import quality
from services.register.access import Database
from services.register.identity import identities
from services.register.quality import Period
from shared import access_log, personnummer
from shared.codelists import HERE
from shared.crypto import TenantKeys

CODE_LIST = "scb-report"
Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class ScbCodes:
    version: str
    valid_from: date
    file_format: str
    format_version: str
    maps: dict[str, dict[str, Any]]

    def code(self, kind: str, value: str | None) -> tuple[str | None, bool]:
        """The file's code for a register code, and whether it fell back (no entry)."""
        table = self.maps[kind]
        entry = table["codes"].get(value if value is not None else "none")
        if entry is not None:
            return str(entry[0]), False
        fallback = table["fallback"]
        return (str(fallback) if fallback is not None else None), True


@cache
def _code_versions() -> tuple[ScbCodes, ...]:
    data = json.loads((HERE / f"{CODE_LIST}.json").read_text(encoding="utf-8"))
    return tuple(
        sorted(
            (
                ScbCodes(
                    v["version"],
                    date.fromisoformat(v["valid_from"]),
                    v["file_format"],
                    v["format_version"],
                    v["maps"],
                )
                for v in data["versions"]
            ),
            key=lambda v: v.valid_from,
        )
    )


def scb_codes(on: date) -> ScbCodes:
    """The code list version in force at the start of a period."""
    in_force = [v for v in _code_versions() if v.valid_from <= on]
    if not in_force:
        raise ValueError(f"period: no {CODE_LIST} code list is in force on {on}")
    return in_force[-1]


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


@dataclass
class ScbReport:
    tenant: str
    period: Period
    codes: ScbCodes
    content: bytes
    youths: int
    records: dict[str, int]
    findings: list[Finding]
    event_range: dict[str, Any] = field(default_factory=dict)

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
            "file_format": f"{self.codes.file_format};{self.codes.format_version}",
            "youths": self.youths,
            "records": self.records,
            "content_sha256": self.content_hash,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "findings": [f.as_dict() for f in self.findings],
            "event_range": self.event_range,
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


_EPISODES = """
SELECT youth_id, scope_episode_id, entered_on, left_on, left_reason, school_background
FROM scope_episodes
WHERE tenant = $1 AND entered_on <= $3 AND (left_on IS NULL OR left_on >= $2)
ORDER BY youth_id, entered_on, scope_episode_id
"""
_CONTACT_DAYS = """
SELECT DISTINCT youth_id, day FROM (
    SELECT youth_id, (at AT TIME ZONE 'Europe/Stockholm')::date AS day
    FROM contact_log WHERE tenant = $1 AND kind = 'established' AND youth_id = ANY($2::uuid[])
    UNION ALL
    SELECT youth_id, (attempted_at AT TIME ZONE 'Europe/Stockholm')::date
    FROM contacts WHERE tenant = $1 AND outcome = 'reached' AND youth_id = ANY($2::uuid[])
) c
WHERE day BETWEEN $3 AND $4
"""
_OCCUPATIONS = """
SELECT youth_id, category, from_date, to_date, confirmed_on, event_id
FROM occupations WHERE tenant = $1 AND tense = 'current' AND youth_id = ANY($2::uuid[])
"""
_MEASURES = """
SELECT youth_id, measure_id, measure_type, started_on, ended_on, occupation_after
FROM measure_status
WHERE tenant = $1 AND youth_id = ANY($2::uuid[])
  AND (started_on BETWEEN $3 AND $4 OR ended_on BETWEEN $3 AND $4)
"""
_POSITIONS = (
    "SELECT topic, partition, next_offset FROM consumer_positions ORDER BY topic, partition"
)
_APPLIED = "SELECT count(*) AS n, max(recorded_at) AS last FROM applied_events WHERE tenant = $1"


def _occupation_on(rows: list[asyncpg.Record], day: date) -> str:
    valid = [
        r for r in rows if r["from_date"] <= day and (r["to_date"] is None or r["to_date"] >= day)
    ]
    if not valid:
        return "unknown"
    latest = max(valid, key=lambda r: (r["confirmed_on"], r["from_date"], str(r["event_id"])))
    return str(latest["category"])


async def build(
    pool: Database,
    keys: TenantKeys,
    tenant: str,
    period: Period,
    today: date,
    reader: access_log.Access | None = None,
) -> ScbReport:
    """The report of `tenant` for `period` from one consistent snapshot of the register; with
    `reader`, every youth whose identity was opened for it is in the access log."""
    codes = scb_codes(period.start)
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        episodes = await conn.fetch(_EPISODES, tenant, period.start, period.end)
        youth_ids = sorted({r["youth_id"] for r in episodes})
        contacts = await conn.fetch(_CONTACT_DAYS, tenant, youth_ids, period.start, period.end)
        occupations = await conn.fetch(_OCCUPATIONS, tenant, youth_ids)
        measures = await conn.fetch(_MEASURES, tenant, youth_ids, period.start, period.end)
        who = await identities(conn, keys, tenant, youth_ids)
        positions = await conn.fetch(_POSITIONS)
        applied = await conn.fetchrow(_APPLIED, tenant)
    assert applied is not None
    event_range = {
        "positions": {f"{r['topic']}/{r['partition']}": r["next_offset"] for r in positions},
        "tenant_events": applied["n"],
        "last_recorded_at": applied["last"].isoformat() if applied["last"] else None,
    }
    by_youth: dict[uuid.UUID, dict[str, list[asyncpg.Record]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for kind, fetched in (
        ("episodes", episodes),
        ("contacts", contacts),
        ("occupations", occupations),
        ("measures", measures),
    ):
        for row in fetched:
            by_youth[row["youth_id"]][kind].append(row)
    checks = _Checks(codes)
    if period.end >= today:
        checks.add("warning", "period", f"{period.name} has not ended; figures may change")
    records: list[tuple[str, int, date, str]] = []
    first_youth_of: dict[str, uuid.UUID] = {}
    for youth_id in youth_ids:
        identity = who[youth_id]
        number = identity.details.personnummer if identity.details else None
        if number is None:
            checks.add("error", "personnummer", _UNNAMED[identity.state], youth_id, 1)
            continue
        if not personnummer.is_valid(number):
            text = "is not a valid personnummer or samordningsnummer (check digit)"
            checks.add("error", "personnummer", text, youth_id, 1)
        if number in first_youth_of:
            text = f"the same person is reported twice (also as youth {first_youth_of[number]})"
            checks.add("error", "personnummer", text, youth_id, 1)
        first_youth_of.setdefault(number, youth_id)
        records.extend(
            (number, block, day, rest)
            for block, day, rest in _youth_records(by_youth[youth_id], youth_id, period, checks)
        )
    records.sort()
    header = f"#{codes.file_format};{codes.format_version};{tenant};{period.name};{codes.version}"
    lines = [header]
    lines.extend(
        f"{block};{number};{day.isoformat()};{rest}" for number, block, day, rest in records
    )
    counts = {str(b): sum(1 for r in records if r[1] == b) for b in range(1, 6)}
    findings = sorted(
        checks.findings, key=lambda f: (f.severity, str(f.youth_id or ""), f.block or 0, f.field)
    )
    content = ("\n".join(lines) + "\n").encode("utf-8")
    named = [y for y in youth_ids if who[y].state == "open"]
    if reader is not None:
        async with pool.acquire() as conn:
            await access_log.record(conn, reader, named)
    return ScbReport(
        tenant, period, codes, content, len(youth_ids), counts, findings, event_range,
        named,
    )  # fmt: skip


_UNNAMED = {
    "missing": "no population record has named this youth",
    "redacted": "the personal data was purged (retention); the youth cannot be named",
    "tampered": "the sealed personal data fails authentication; see the service log",
    "open": "not available",
}


class _Checks:
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
        code, fell_back = self.codes.code(kind, value)
        listed = f"{CODE_LIST} {self.codes.version}"
        if code is None:
            self.add("error", name, f"{value!r} has no code in {listed}", youth, block)
            return ""
        if fell_back and value is not None:
            text = f"{value!r} has no code of its own in {listed}; reported as {code}"
            self.add("warning", name, text, youth, block)
        return code


def _youth_records(
    rows: dict[str, list[asyncpg.Record]], youth_id: uuid.UUID, period: Period, checks: _Checks
) -> list[tuple[int, date, str]]:
    """Blocks 1–5 of one youth: (block, date, the fields after the date)."""
    held, episodes = rows["occupations"], rows["episodes"]
    first = episodes[0]
    registration = ";".join(
        (
            checks.code("occupation", _occupation_on(held, first["entered_on"]), youth_id, 1,
                        "occupation_at_registration"),
            checks.code("school_background", first["school_background"], youth_id, 1,
                        "school_background"),
        )
    )  # fmt: skip
    out: list[tuple[int, date, str]] = [(1, first["entered_on"], registration)]
    for contact in rows["contacts"]:
        day = contact["day"]
        if not any(
            e["entered_on"] <= day and (e["left_on"] is None or day <= e["left_on"])
            for e in episodes
        ):
            text = f"{day} is outside every scope episode of the youth"
            checks.add("error", "contact_date", text, youth_id, 2)
        occupation = _occupation_on(held, day)
        out.append((2, day, checks.code("occupation", occupation, youth_id, 2,
                                        "occupation_at_contact")))  # fmt: skip
    for measure in rows["measures"]:
        started, ended = measure["started_on"], measure["ended_on"]
        if started is not None and period.start <= started <= period.end:
            code = checks.code("measure_type", measure["measure_type"], youth_id, 3,
                               "measure_type")  # fmt: skip
            out.append((3, started, code))
        if ended is not None and period.start <= ended <= period.end:
            if started is None or ended < started:
                text = f"{ended} is before the measure started ({started})"
                checks.add("error", "measure_end_date", text, youth_id, 4)
            after = measure["occupation_after"] or "unknown"
            out.append((4, ended, checks.code("occupation", after, youth_id, 4,
                                              "occupation_after")))  # fmt: skip
    for episode in episodes:
        left = episode["left_on"]
        if left is None or not period.start <= left <= period.end:
            continue
        if episode["left_reason"] is None:
            text = f"responsibility ended on {left} without a reason"
            checks.add("error", "leaving_reason", text, youth_id, 5)
            continue
        reason = checks.code("leaving_reason", episode["left_reason"], youth_id, 5,
                             "leaving_reason")  # fmt: skip
        out.append((5, left, reason))
    return out


# -- the export log ---------------------------------------------------------------------------

EXPORT_LOG_DDL = """
SELECT pg_advisory_xact_lock(hashtext('kaa.ddl'));
CREATE SCHEMA IF NOT EXISTS register_exports;
CREATE TABLE IF NOT EXISTS register_exports.events (
    position bigserial PRIMARY KEY,
    event_id uuid NOT NULL UNIQUE,
    event_type text NOT NULL,
    tenant char(4) NOT NULL,
    period text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,
    payload jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS export_events_period ON register_exports.events (tenant, period);
CREATE OR REPLACE FUNCTION register_exports.append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the export log is append-only: % is not allowed', TG_OP;
END $$;
DROP TRIGGER IF EXISTS export_events_append_only ON register_exports.events;
CREATE TRIGGER export_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
    ON register_exports.events FOR EACH STATEMENT EXECUTE FUNCTION register_exports.append_only();
"""
# The register is rebuilt into other schemas; the export log is not a projection and stays.
_RECORD = """
INSERT INTO register_exports.events (event_id, event_type, tenant, period, actor, payload)
VALUES ($1, 'ScbExportGenerated', $2, $3, $4, $5::jsonb)
RETURNING position, recorded_at
"""
_PURGED_IN_PERIOD = """
SELECT count(DISTINCT y.youth_id) FROM youths y JOIN scope_episodes e
    ON e.tenant = y.tenant AND e.youth_id = y.youth_id
WHERE y.tenant = $1 AND y.purged_at IS NOT NULL
  AND e.entered_on <= $3 AND (e.left_on IS NULL OR e.left_on >= $2)
"""
_HISTORY = """
SELECT position, event_id, recorded_at, actor, payload FROM register_exports.events
WHERE tenant = $1 AND period = $2 AND event_type = 'ScbExportGenerated' ORDER BY position
"""


_EXPORTED_PERIODS = """
SELECT DISTINCT period FROM register_exports.events
WHERE tenant = $1 AND event_type = 'ScbExportGenerated' ORDER BY period
"""


async def resubmissions(
    pool: Database,
    keys: TenantKeys,
    tenant: str,
    today: date,
    reader: access_log.Access | None = None,
) -> list[dict[str, Any]]:
    """Every half-year a file was generated for, and whether it must be resubmitted: the register
    changed since in a way that changes the file, after the period closed (a correction, an
    episode found late with its real dates)."""
    async with pool.acquire() as conn:
        periods = [row["period"] for row in await conn.fetch(_EXPORTED_PERIODS, tenant)]
    out = []
    for name in periods:
        state = await history(pool, keys, tenant, quality.half_year(name), today, reader)
        out.append({
            "period": name, "files": len(state["exports"]),
            "needs_resubmission": state["needs_resubmission"],
            "register_changed_since_last_export": state.get("register_changed_since_last_export"),
            **({"resubmission_check": state["resubmission_check"]}
               if "resubmission_check" in state else {}),
        })  # fmt: skip
    return out


async def create_export_log(pool: Database) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(EXPORT_LOG_DDL)


async def record_export(
    pool: Database, report: ScbReport, actor: str, forced: bool
) -> dict[str, Any]:
    """Append `ScbExportGenerated` for a file handed out; it supersedes the period's earlier one."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('kaa.scb.' || $1 || '.' || $2))",
            report.tenant, report.period.name,
        )  # fmt: skip
        earlier = await conn.fetch(_HISTORY, report.tenant, report.period.name)
        event_id = uuid.uuid4()
        payload = {
            "export_id": str(event_id),
            "content_sha256": report.content_hash,
            "bytes": len(report.content),
            "youths": report.youths,
            "records": report.records,
            "code_list_version": report.codes.version,
            "file_format": f"{report.codes.file_format};{report.codes.format_version}",
            "event_range": report.event_range,
            "forced": forced,
            "errors": len(report.errors),
            "warnings": len(report.warnings),
            "supersedes": str(earlier[-1]["event_id"]) if earlier else None,
        }
        row = await conn.fetchrow(
            _RECORD, event_id, report.tenant, report.period.name, actor, json.dumps(payload)
        )
    assert row is not None
    return {**payload, "sequence": len(earlier) + 1, "recorded_at": row["recorded_at"],
            "actor": actor}  # fmt: skip


async def history(
    pool: Database,
    keys: TenantKeys,
    tenant: str,
    period: Period,
    today: date,
    reader: access_log.Access | None = None,
) -> dict[str, Any]:
    """Every file generated for the period, which one stands, and whether the register has changed
    since in a way that changes the file (after the period has closed: needs resubmission)."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(_HISTORY, tenant, period.name)
    exports: list[dict[str, Any]] = []
    for sequence, row in enumerate(rows, start=1):
        payload = json.loads(row["payload"])
        exports.append({
            **payload, "sequence": sequence, "recorded_at": row["recorded_at"],
            "actor": row["actor"], "superseded": sequence < len(rows),
        })  # fmt: skip
    state: dict[str, Any] = {"tenant": tenant, "period": period.name, "exports": exports}
    purged = await pool.fetchval(_PURGED_IN_PERIOD, tenant, period.start, period.end)
    if exports and purged:
        state["needs_resubmission"] = False
        state["resubmission_check"] = (
            f"not possible: the personal data of {purged} youths of the period has been purged "
            "(retention); the last file stands"
        )
    elif exports:
        current = await build(pool, keys, tenant, period, today, reader)
        latest = exports[-1]
        unchanged = current.content_hash == latest["content_sha256"]
        closed = period.end < today
        state["register_changed_since_last_export"] = not unchanged
        state["needs_resubmission"] = closed and not unchanged
        state["current_content_sha256"] = current.content_hash
    else:
        state["needs_resubmission"] = False
        state["not_yet_submitted"] = period.end < today
    return state
