"""The append-only log of SCB files handed out (`register_exports.events`).

Every generated file is recorded as an `ScbExportGenerated` event: its content hash, the event
positions it was built from, who and when; a later export for the period supersedes the earlier one.
The register is rebuilt into other schemas; the export log is not a projection and stays.

The payload is a typed contract, validated when written and when read. Rows written before the
contract carried `schema_version` (version 1 is the same fields) read as version 1: no migration.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from services.register.adapters.access import Database
from services.register.domain.scb.report import ScbReport
from shared.contracts.text import StoredText
from shared.contracts.validation import describe

EVENT_TYPE = "ScbExportGenerated"

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
_APPEND = """
INSERT INTO register_exports.events (event_id, event_type, tenant, period, actor, payload)
VALUES ($1, 'ScbExportGenerated', $2, $3, $4, $5::jsonb)
RETURNING position, recorded_at
"""
_HISTORY = """
SELECT position, event_id, recorded_at, actor, payload FROM register_exports.events
WHERE tenant = $1 AND period = $2 AND event_type = 'ScbExportGenerated' ORDER BY position
"""
_EXPORTED_PERIODS = """
SELECT DISTINCT period FROM register_exports.events
WHERE tenant = $1 AND event_type = 'ScbExportGenerated' ORDER BY period
"""
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('kaa.scb.' || $1 || '.' || $2))"

Count = Annotated[int, Field(ge=0)]


class ExportLogError(ValueError):
    """A stored entry that breaks the contract (names the position and the field, no value)."""


class ExportedRange(BaseModel):
    """The events the file was built from (`EventRange` of the report)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    positions: dict[StoredText, Count] = Field(description="topic/partition: next offset")
    tenant_events: Count
    last_recorded_at: StoredText | None = Field(description="ISO 8601; None with no events")


class ScbExportGenerated(BaseModel):
    """An SCB file was handed out (version 1)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    export_id: uuid.UUID = Field(description="The event's id; a later export supersedes it.")
    content_sha256: Annotated[StoredText, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    bytes: Count
    youths: Count
    records: dict[Literal["1", "2", "3", "4", "5"], Count] = Field(description="per block")
    code_list_version: StoredText
    file_format: StoredText
    event_range: ExportedRange
    forced: bool = Field(description="Exported although the local checks found errors.")
    errors: Count
    warnings: Count
    supersedes: uuid.UUID | None = Field(description="The period's previous export, if any.")


@dataclass(frozen=True)
class ExportEntry:
    """One export of a period as the log holds it: the event and where it stands."""

    event: ScbExportGenerated
    sequence: int  # 1 for the period's first file
    recorded_at: datetime
    actor: str

    def view(self, superseded: bool | None = None) -> dict[str, Any]:
        """The entry as the API and the CLI show it."""
        shown = {
            **self.event.model_dump(mode="json"),
            "sequence": self.sequence,
            "recorded_at": self.recorded_at,
            "actor": self.actor,
        }
        return shown if superseded is None else {**shown, "superseded": superseded}


async def create_export_log(pool: Database) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(EXPORT_LOG_DDL)


async def append(pool: Database, report: ScbReport, actor: str, forced: bool) -> ExportEntry:
    """Append `ScbExportGenerated` for a file handed out; it supersedes the period's earlier one."""
    tenant, period = report.tenant, report.period.name
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(_LOCK, tenant, period)
        earlier = await conn.fetch(_HISTORY, tenant, period)
        event_id = uuid.uuid4()
        event = ScbExportGenerated(
            export_id=event_id,
            content_sha256=report.content_hash,
            bytes=len(report.content),
            youths=report.youths,
            records=report.records,  # validated: blocks 1-5
            code_list_version=report.codes.version,
            file_format=report.codes.header,
            event_range=ExportedRange.model_validate(report.event_range.as_dict()),
            forced=forced,
            errors=len(report.errors),
            warnings=len(report.warnings),
            supersedes=earlier[-1]["event_id"] if earlier else None,
        )
        row = await conn.fetchrow(_APPEND, event_id, tenant, period, actor, event.model_dump_json())
    assert row is not None
    return ExportEntry(event, len(earlier) + 1, row["recorded_at"], actor)


async def entries(pool: Database, tenant: str, period: str) -> list[ExportEntry]:
    """Every export of the period, oldest first, each validated against the contract."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(_HISTORY, tenant, period)
    return [
        ExportEntry(read(row["position"], row["payload"]), sequence, row["recorded_at"],
                    row["actor"])
        for sequence, row in enumerate(rows, start=1)
    ]  # fmt: skip


def read(position: int, payload: str) -> ScbExportGenerated:
    """The stored payload as the contract's event, or an error naming the entry and the field."""
    try:
        return ScbExportGenerated.model_validate_json(payload)
    except ValidationError as error:
        raise ExportLogError(
            f"register_exports.events position {position}: {describe(error)}"
        ) from None


async def exported_periods(pool: Database, tenant: str) -> list[str]:
    """Every half-year of the municipality with at least one export, in order."""
    async with pool.acquire() as conn:
        return [row["period"] for row in await conn.fetch(_EXPORTED_PERIODS, tenant)]
