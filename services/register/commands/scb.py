"""The SCB half-year report's use cases: build it, record a file handed out, a period's history,
and which half-years must be resubmitted. The HTTP routes and the `kaa register scb` commands call
these; the report itself is a pure function of the register's rows (`domain/scb`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.register.adapters import export_log, scb_queries
from services.register.adapters.access import Database
from services.register.adapters.scb_codes import scb_codes
from services.register.domain.period import Period, half_year
from services.register.domain.scb import ScbReport, build_report
from shared import access_log
from shared.crypto import TenantKeys


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
    rows = await scb_queries.fetch_rows(pool, keys, tenant, period)
    report = build_report(tenant, period, today, codes, rows)
    if reader is not None:
        await scb_queries.record_reading(pool, reader, report.named)
    return report


class ExportRefused(Exception):
    """The local checks found errors and the export was not forced: `report` says which."""

    def __init__(self, report: ScbReport) -> None:
        super().__init__(f"report: has {len(report.errors)} errors")
        self.report = report


def check_export(report: ScbReport, force: bool) -> None:
    """A report is exported when the local checks find no errors, or when forced (warnings never
    stop it); `ExportRefused` otherwise."""
    if report.errors and not force:
        raise ExportRefused(report)


async def export(
    pool: Database,
    keys: TenantKeys,
    tenant: str,
    period: Period,
    today: date,
    reader: access_log.Access,
    force: bool,
) -> tuple[ScbReport, dict[str, Any]]:
    """Build the period's file and record it as handed out by `reader.actor` (`ScbExportGenerated`,
    superseding the period's earlier one): the report and the recorded entry; `ExportRefused`
    (nothing recorded) when it has errors and is not forced."""
    report = await build(pool, keys, tenant, period, today, reader)
    check_export(report, force)
    return report, await record_export(pool, report, reader.actor, force)


async def record_export(
    pool: Database, report: ScbReport, actor: str, forced: bool
) -> dict[str, Any]:
    """Record the file handed out (`ScbExportGenerated`); it supersedes the period's earlier one."""
    entry = await export_log.append(pool, report, actor, forced)
    return entry.view()


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
    entries = await export_log.entries(pool, tenant, period.name)
    exports = [entry.view(superseded=entry.sequence < len(entries)) for entry in entries]
    state: dict[str, Any] = {"tenant": tenant, "period": period.name, "exports": exports}
    purged = await scb_queries.purged_in_period(pool, tenant, period)
    if entries and purged:
        state["needs_resubmission"] = False
        state["resubmission_check"] = (
            f"not possible: the personal data of {purged} youths of the period has been purged "
            "(retention); the last file stands"
        )
    elif entries:
        current = await build(pool, keys, tenant, period, today, reader)
        unchanged = current.content_hash == entries[-1].event.content_sha256
        closed = period.end < today
        state["register_changed_since_last_export"] = not unchanged
        state["needs_resubmission"] = closed and not unchanged
        state["current_content_sha256"] = current.content_hash
    else:
        state["needs_resubmission"] = False
        state["not_yet_submitted"] = period.end < today
    return state


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
    out = []
    for name in await export_log.exported_periods(pool, tenant):
        state = await history(pool, keys, tenant, half_year(name), today, reader)
        out.append({
            "period": name, "files": len(state["exports"]),
            "needs_resubmission": state["needs_resubmission"],
            "register_changed_since_last_export": state.get("register_changed_since_last_export"),
            **({"resubmission_check": state["resubmission_check"]}
               if "resubmission_check" in state else {}),
        })  # fmt: skip
    return out
