"""outreach's own figure in `GET /metrics` (besides the consumer's and the relay's, which
`shared.metrics` counts): the overdue first-contact clocks per municipality.

Refreshed by a loop beside the service every minute, not at scrape time: the figure is two
aggregate queries per municipality under row-level security (async), which the synchronous
exposition cannot wait for, and a loop costs the same however many Prometheus servers scrape. A
minute is fine for a figure that moves by working days; an alert on it waits longer than that.
Every replica counts the same figure: aggregate with `max by (kommun)`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import structlog
from prometheus_client import Gauge

from services.outreach.adapters.store import OutreachApplication
from services.outreach.commands.caseload import overdue_first_contacts
from shared.casework.commands import CaseClock, CaseRuntime

log = structlog.get_logger(__name__)

REFRESH_SECONDS = 60.0
FIRST_CONTACT_OVERDUE = Gauge(
    "kaa_first_contact_overdue",
    "Youths in scope whose first contact attempt is past the municipality's limit (working "
    "days from the clock's start), as the coordinator's caseload counts them.",
    ["kommun"],
)


def _started(runtime: CaseRuntime[OutreachApplication]) -> bool:
    try:
        runtime.pool  # noqa: B018  # raises until the service has started
    except RuntimeError:
        return False
    return True


def first_contact_figures(
    runtime: CaseRuntime[OutreachApplication],
    clock: CaseClock,
    tenants: Sequence[str],
    interval: float = REFRESH_SECONDS,
) -> Callable[[], Coroutine[Any, Any, None]]:
    """The loop refreshing the gauge. A failure (the database away) keeps the last figures and is
    said once, and once more when the figures are counted again; the loop never ends the
    service."""

    async def run() -> None:
        failing = False
        while True:
            if not _started(runtime):
                await asyncio.sleep(1.0)
                continue
            try:
                figures = {t: await overdue_first_contacts(runtime, clock, t) for t in tenants}
            except Exception as error:
                if not failing:
                    log.warning("first-contact figures not counted; the last ones are kept",
                                error=type(error).__name__)  # fmt: skip
                failing = True
            else:
                if failing:
                    log.info("first-contact figures counted again")
                failing = False
                for tenant, overdue in figures.items():
                    FIRST_CONTACT_OVERDUE.labels(tenant).set(overdue)
            await asyncio.sleep(interval)

    return run
