"""When a person's scope episodes open and close: the scope engine's decisions turned into steps.

Pure: given the facts per municipality, the episodes recorded and the day, `scope_changes` says
which episodes to open and close and in what order; the `Person` aggregate records them. An episode
is dated when the change happened (`status_since`), not when it was noticed; with a go-live day
per municipality, an episode that began and ended since then and that no recorded episode covers
(facts that arrived late) is recorded with its real dates, entered and left at once.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date

from services.identify.domain.records import Episode
from services.identify.domain.scope import (
    Decision,
    TenantPolicy,
    YouthFacts,
    closed_periods,
    decide,
    next_change,
    school_background,
    status_since,
    twentieth_birthday,
)
from shared.contracts.events import LeavingReason


@dataclass(frozen=True)
class Enter:
    """Open an episode in `tenant` from `entered_on`, on `decision` (its rule and facts)."""

    tenant: str
    entered_on: date
    scope_ends_on: date
    decision: Decision
    school_background: str | None


@dataclass(frozen=True)
class Leave:
    """Close the open episode in `tenant` on `left_on`, for `reason`, on `decision`."""

    tenant: str
    left_on: date
    reason: LeavingReason
    decision: Decision


FactsOf = Callable[[str | None], YouthFacts | None]


def scope_changes(
    facts_of: FactsOf,
    served: Mapping[str, TenantPolicy],
    on: date,
    open_tenants: Collection[str],
    recorded: Mapping[str, tuple[Episode, ...]],
    go_live: Mapping[str, date] | None = None,
) -> tuple[list[Decision], list[Enter | Leave]]:
    """The decision on `on` in every served municipality it concerns (where the person lives
    then, where an episode is open, and with `go_live` every one they lived in since), and the
    steps that bring the episodes in line with them, in order. `facts_of(tenant)` gives the facts
    for a municipality (None: the feeds' alone)."""
    base = facts_of(None)
    if base is None:
        return [], []
    residence = base.residence_on(on)
    # From the person's side (a residence, their open episodes), not a walk over every served
    # municipality: a consortium of the whole country serves 290.
    concerned = {t for t in open_tenants if t in served}
    lives_in = residence.kommunkod if residence else None
    if lives_in is not None and lives_in in served:
        concerned.add(lives_in)
    if go_live:  # a municipality the youth lived in since its go-live may have a history
        concerned |= {k for r in base.residences if (k := r.kommunkod) and k in go_live}
    decisions: list[Decision] = []
    steps: list[Enter | Leave] = []
    for tenant in sorted(concerned):
        policy = served[tenant]
        facts = facts_of(tenant)
        assert facts is not None
        started = (go_live or {}).get(tenant)
        if started is not None and started < on and tenant not in open_tenants:
            # The open episode is decided below; a gap inside it is not a new one.
            steps += late_episodes(facts, tenant, started, on, policy, recorded.get(tenant, ()))
        decision = decide(facts, tenant, on, policy)
        decisions.append(decision)
        is_open = tenant in open_tenants
        if decision.in_scope and not is_open:
            entered_on = status_since(facts, tenant, on, policy, True)
            steps.append(
                Enter(
                    tenant,
                    entered_on,
                    twentieth_birthday(facts.birth_date),
                    decision,
                    school_background(facts, entered_on),
                )
            )
        elif not decision.in_scope and is_open:
            left_on = status_since(facts, tenant, on, policy, False)
            reason = decision.leaving_reason or "registered_in_error"
            steps.append(Leave(tenant, left_on, reason, decision))
    return decisions, steps


def late_episodes(
    facts: YouthFacts,
    tenant: str,
    go_live: date,
    on: date,
    policy: TenantPolicy,
    recorded: tuple[Episode, ...],
) -> list[Enter | Leave]:
    """The periods in scope that ended after `go_live` and by `on` which no recorded episode
    overlaps: each entered and left at once, with its real dates."""
    spans = [(e.entered_on, e.left_on or date.max) for e in recorded]
    steps: list[Enter | Leave] = []
    for entered_on, left_on, reason in closed_periods(facts, tenant, go_live, on, policy):
        if left_on <= go_live or any(
            entered_on < until and start < left_on for start, until in spans
        ):
            continue
        entered = decide(facts, tenant, entered_on, policy)
        ends = twentieth_birthday(facts.birth_date)
        steps.append(Enter(tenant, entered_on, ends, entered, school_background(facts, entered_on)))
        steps.append(Leave(tenant, left_on, reason, decide(facts, tenant, left_on, policy)))
    return steps


def next_evaluation(
    facts_of: FactsOf, served: Mapping[str, TenantPolicy], after: date
) -> date | None:
    """When time alone may change the person's scope in any served municipality."""
    dates = []
    for tenant, policy in served.items():
        facts = facts_of(tenant)
        change = next_change(facts, after, policy) if facts is not None else None
        if change is not None:
            dates.append(change)
    return min(dates, default=None)
