"""The coordinator's caseload use cases: every holder's open cases (with the first contacts past
the municipality's limit and the stale occupations among them), one holder's open cases, and the
municipality's overdue first contacts (`GET /metrics`, the same figure)."""

from __future__ import annotations

from datetime import date

from services.outreach.adapters.caseload import HeldCase, Holding, caseload, held_cases
from services.outreach.adapters.store import OutreachApplication
from shared.casework.commands import Caller, CaseClock, CaseRuntime, rules_of


async def caseload_of(
    runtime: CaseRuntime[OutreachApplication], clock: CaseClock, caller: Caller
) -> tuple[date, dict[str, int], list[Holding]]:
    """Today, the rules the figures are reckoned with, and each holder's caseload."""
    rules = await rules_of(runtime.application, caller.tenant)
    today = clock.today()
    holders = await caseload(runtime.scoped(caller.tenant), runtime.schema, caller.tenant,
                             today, rules)  # fmt: skip
    return today, rules, holders


async def cases_held(
    runtime: CaseRuntime[OutreachApplication],
    caller: Caller,
    assignee: str | None,
    limit: int,
    offset: int,
) -> tuple[int, list[HeldCase]]:
    """One holder's open cases (`assignee` None: the unassigned), one page, and their number."""
    return await held_cases(runtime.scoped(caller.tenant), runtime.schema, caller.tenant,
                            assignee=assignee, limit=limit, offset=offset)  # fmt: skip


async def overdue_first_contacts(
    runtime: CaseRuntime[OutreachApplication], clock: CaseClock, tenant: str
) -> int:
    """Youths in scope in the municipality whose first contact attempt is past its limit: the
    caseload's figure (the coordinator's overview) summed over the holders, one definition."""
    rules = await rules_of(runtime.application, tenant)
    holders = await caseload(runtime.scoped(tenant), runtime.schema, tenant, clock.today(), rules)
    return sum(h.first_contact_overdue for h in holders)
