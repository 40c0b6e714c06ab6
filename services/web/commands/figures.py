"""The coordinator's figures: what the SCB, data-quality and export pages ask of the services, with
the signed-in coordinator's own token (the register's access log names them).

- The SCB half-year: the check report (`GET /v1/scb/report`), the file (`POST /v1/scb/exports`),
  and the period's files (`GET /v1/scb/exports`).
- Data quality: one `GET /v1/quality` per half-year shown and the municipality's first-contact
  limit (outreach `GET /v1/tenant-rules`), all at once.
- Exports: a whole worklist (`GET /v1/worklists/{name}`, page by page) or a filtered register list
  (`GET /v1/youths`), names only when asked for (the register's identities batch, a page of 100 at
  a time, each youth in its access log).
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.web.adapters.services_api import Refused, ServicesApi
from services.web.adapters.sessions import Session
from services.web.commands import names_of
from services.web.domain import charts as drawn
from services.web.domain import exports
from services.web.domain.scb import Half

QUALITY_HALVES = 4  # the half-years the quality page draws
DEFAULT_LIMIT = 10  # outreach's default first-contact limit (working days), if its rules are silent
WORKLIST_PAGE = 500  # outreach's largest page
REGISTER_PAGE = 1000  # the register's largest page
NAMES_PAGE = 100  # the register's identities batch
MOST_ROWS = 20_000  # no export is longer (a municipality's whole register fits many times)


async def scb_report(api: ServicesApi, user: Session, half: Half) -> dict[str, Any]:
    """The check report of the file as it would be made now (the register records nothing but
    the reading in its access log)."""
    report: dict[str, Any] = await api.call("register", "GET", "/v1/scb/report", user.token,
                                            user.tenant, params={"period": half.name})  # fmt: skip
    return report


async def scb_history(api: ServicesApi, user: Session, half: Half) -> dict[str, Any]:
    """Every file made for the half-year, which stands, and whether it must be resubmitted."""
    state: dict[str, Any] = await api.call("register", "GET", "/v1/scb/exports", user.token,
                                           user.tenant, params={"period": half.name})  # fmt: skip
    return state


@dataclass(frozen=True)
class ScbFile:
    content: bytes
    sha256: str
    name: str


class ExportRefused(Exception):
    """The register refused the file (its checks found errors): `report` is its check report."""

    def __init__(self, report: dict[str, Any]) -> None:
        super().__init__(f"refused with {report.get('errors')} errors")
        self.report = report


async def scb_export(api: ServicesApi, user: Session, half: Half, force: bool) -> ScbFile:
    """The half-year's file, made and recorded by the register (it supersedes the period's earlier
    file); `ExportRefused` with the check report when its checks find errors and it is not forced."""
    params: dict[str, Any] = {"period": half.name, **({"force": "true"} if force else {})}
    try:
        made = await api.call("register", "POST", "/v1/scb/exports", user.token, user.tenant,
                              params=params)  # fmt: skip
    except Refused as refused:
        if refused.status != 422:
            raise
        raise ExportRefused(await scb_report(api, user, half)) from None
    content = made if isinstance(made, bytes) else str(made or "").encode()
    return ScbFile(content, hashlib.sha256(content).hexdigest(),
                   f"kaa-scb-{user.tenant}-{half.name}.txt")  # fmt: skip


@dataclass(frozen=True)
class Quality:
    """The data-quality figures of each half-year shown (oldest first) and the municipality's
    first-contact limit."""

    halves: list[tuple[Half, dict[str, Any]]]
    limit: int

    def charts(self) -> list[tuple[drawn.Chart, list[tuple[str, str]]]]:
        """Each figure over the half-years: its chart and its table's rows (half-year, value)."""
        labels = [h.short for h, _ in self.halves]
        made = []
        for key, title, as_percent, unit in QUALITY_FIGURES:
            values = [None if f.get(key) is None else float(f[key]) for _, f in self.halves]
            chart = drawn.bars(f"diagram-{key.replace('_', '-')}", title, labels, values,
                                as_percent=as_percent, unit=unit)  # fmt: skip
            shown = [drawn.percent(v) if as_percent else drawn.number(v) for v in values]
            made.append(
                (chart, [(h.label, s) for (h, _), s in zip(self.halves, shown, strict=True)])
            )
        return made

    def waits(self, half: Half) -> tuple[drawn.Chart, list[drawn.Column]]:
        """The distribution of working days to a first contact attempt in `half`, against the
        limit: its chart and its columns (the table)."""
        found = dict(self.halves).get(half, {})
        waits = [(int(w["working_days"]), int(w["episodes"]))
                 for w in found.get("first_attempt_waits") or []]  # fmt: skip
        title = f"Arbetsdagar till första kontaktförsöket, {half.label.lower()}"
        return drawn.waits_chart("diagram-fordelning", title, waits, self.limit), (
            drawn.wait_columns(waits, self.limit)
        )

    def sheet(self) -> exports.Sheet:
        return exports.quality_sheet([(h.label, f) for h, f in self.halves])


QUALITY_FIGURES: tuple[tuple[str, str, bool, str], ...] = (
    ("youths_in_scope", "Ungdomar i aktivitetsansvaret", False, "ungdomar"),
    ("known_occupation_share", "Andel med känd sysselsättning", True, ""),
    ("contacted_share", "Andel som fått ett kontaktförsök", True, ""),
    ("measure_share", "Andel som erbjudits en insats", True, ""),
    ("median_working_days_to_first_attempt",
     "Median, arbetsdagar till första kontaktförsöket", False, "arbetsdagar"),
)  # fmt: skip


async def quality(api: ServicesApi, user: Session, halves: list[Half]) -> Quality:
    """The figures of every half-year and the limit, asked at once: one call per half-year and one
    for the rules, in parallel (the page costs `len(halves) + 1` service calls)."""
    asked = [api.call("register", "GET", "/v1/quality", user.token, user.tenant,
                      params={"period": h.name}) for h in halves]  # fmt: skip
    rules, *found = await asyncio.gather(
        api.call("outreach", "GET", "/v1/tenant-rules", user.token, user.tenant), *asked
    )
    limit = (rules or {}).get("rules", {}).get("first_contact_working_days", DEFAULT_LIMIT)
    return Quality(list(zip(halves, found, strict=True)), int(limit))


async def _names(api: ServicesApi, user: Session, ids: list[str], purpose: str) -> dict[str, str]:
    """The names of `ids`, a batch of a hundred at a time (each youth in the access log)."""
    named: dict[str, str] = {}
    for start in range(0, len(ids), NAMES_PAGE):
        batch = [uuid.UUID(i) for i in ids[start : start + NAMES_PAGE]]
        found = await names_of(api, user, batch, purpose)
        named.update({str(k): v.text for k, v in found.items()})
    return named


async def worklist_sheet(
    api: ServicesApi, user: Session, name: str, heading: str, with_names: bool
) -> exports.Sheet:
    """The whole of one open worklist of the municipality, oldest first."""
    items: list[dict[str, Any]] = []
    while len(items) < MOST_ROWS:
        page = await api.call("outreach", "GET", f"/v1/worklists/{name}", user.token, user.tenant,
                              params={"limit": WORKLIST_PAGE, "offset": len(items)})  # fmt: skip
        items += page.get("items", [])
        if not page.get("items") or len(items) >= int(page.get("total", 0)):
            break
    ids = [str(i["youth_id"]) for i in items]
    names = await _names(api, user, ids, "casework") if with_names else None
    return exports.worklist_sheet(heading, items, names)


REGISTER_FILTERS = ("status", "occupation", "contacted")


async def register_sheet(
    api: ServicesApi, user: Session, filters: dict[str, str], with_names: bool
) -> exports.Sheet:
    """The register's youths as filtered (status, occupation known or not, contacted or not)."""
    params: dict[str, Any] = {k: v for k, v in filters.items() if k in REGISTER_FILTERS and v}
    items: list[dict[str, Any]] = []
    while len(items) < MOST_ROWS:
        page = await api.call("register", "GET", "/v1/youths", user.token, user.tenant,
                              params={**params, "limit": REGISTER_PAGE, "offset": len(items)})  # fmt: skip
        items += page.get("items", [])
        if not page.get("items") or len(items) >= int(page.get("total", 0)):
            break
    ids = [str(i["youth_id"]) for i in items]
    names = await _names(api, user, ids, "register") if with_names else None
    return exports.register_sheet(items, names)


def today_of(fixed: date | None) -> date:
    return fixed or date.today()
