"""The release's cheaper decision path decides exactly as the path before it (issue 21).

The path before is kept here as the reference, verbatim: every municipality's facts built afresh
from the person's records (`youth_facts`), a residence found by sorting the residences, the rule
in force by sorting the rules, `status_since` deciding the day it is told again, the next change
found in the sorted change points. The new path shares one person's facts between municipalities
no school told anything, keeps them while their records stay the same, and skips the repeats.
Over many generated persons, fed and re-evaluated day after day (so episodes open, close and are
found late), the decisions, the steps and the next evaluation day are the same.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Collection, Iterator, Mapping
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.identify.domain import Person, scope, triggers
from services.identify.domain.episodes import (
    Enter,
    FactsOf,
    Leave,
    late_episodes,
    next_evaluation,
    scope_changes,
)
from services.identify.domain.records import EnrolmentRecord, Episode, youth_facts
from services.identify.domain.scope import (
    DEFAULT_POLICY,
    Decision,
    Residence,
    RuleVersion,
    TenantPolicy,
    YouthFacts,
    change_points,
    decide,
    school_background,
    status_since,
    twentieth_birthday,
)
from tests.unit.identify.test_fact_triggers import assert_same_events
from tests.unit.identify.test_identify_scope import NOON
from tests.unit.identify.test_scope_engine import days, facts_strategy, residences

KOMMUNER = ["0180", "1480", "0181"]
SERVED = {k: DEFAULT_POLICY for k in KOMMUNER}


# -- the path before, verbatim ---------------------------------------------------------------


def old_residence_on(self: YouthFacts, on: date) -> Residence | None:
    current = None
    for residence in sorted(self.residences, key=lambda r: r.since):
        if residence.since <= on:
            current = residence
    return current


def old_rule_in_force(on: date, rules: tuple[RuleVersion, ...] = scope.RULES) -> RuleVersion | None:
    current = None
    for rule in sorted(rules, key=lambda r: r.effective_from):
        if rule.effective_from <= on:
            current = rule
    return current


def old_status_since(
    facts: YouthFacts, tenant: str, on: date, policy: TenantPolicy = DEFAULT_POLICY
) -> date:
    current = decide(facts, tenant, on, policy).in_scope
    since = on
    for point in reversed([p for p in change_points(facts, policy) if p <= on]):
        if decide(facts, tenant, point - timedelta(days=1), policy).in_scope != current:
            return point
        since = point
    return since


def old_next_change(facts: YouthFacts, after: date, policy: TenantPolicy) -> date | None:
    return next((p for p in change_points(facts, policy) if p > after), None)


@contextlib.contextmanager
def the_path_before() -> Iterator[None]:
    """The engine as it was: residences and rules sorted on every call."""
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(YouthFacts, "residence_on", old_residence_on)
        patched.setattr(scope, "rule_in_force", old_rule_in_force)
        patched.setattr(
            scope, "status_since", lambda f, t, on, p, _=None: old_status_since(f, t, on, p)
        )
        yield


def old_scope_changes(
    facts_of: FactsOf,
    served: Mapping[str, TenantPolicy],
    on: date,
    open_tenants: Collection[str],
    recorded: Mapping[str, tuple[Episode, ...]],
    go_live: Mapping[str, date] | None = None,
) -> tuple[list[Decision], list[Enter | Leave]]:
    base = facts_of(None)
    if base is None:
        return [], []
    residence = base.residence_on(on)
    concerned = {t for t in served if (residence and residence.kommunkod == t) or t in open_tenants}
    if go_live:
        concerned |= {k for r in base.residences if (k := r.kommunkod) and k in go_live}
    decisions: list[Decision] = []
    steps: list[Enter | Leave] = []
    for tenant in sorted(concerned):
        policy = served[tenant]
        facts = facts_of(tenant)
        assert facts is not None
        started = (go_live or {}).get(tenant)
        if started is not None and started < on and tenant not in open_tenants:
            steps += late_episodes(facts, tenant, started, on, policy, recorded.get(tenant, ()))
        decision = decide(facts, tenant, on, policy)
        decisions.append(decision)
        is_open = tenant in open_tenants
        if decision.in_scope and not is_open:
            entered_on = old_status_since(facts, tenant, on, policy)
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
            left_on = old_status_since(facts, tenant, on, policy)
            reason = decision.leaving_reason or "registered_in_error"
            steps.append(Leave(tenant, left_on, reason, decision))
    return decisions, steps


def old_next_evaluation(facts_of: FactsOf, served: Mapping[str, TenantPolicy], after: date) -> Any:
    changes = [old_next_change(f, after, p) for t, p in served.items() if (f := facts_of(t))]
    return min((c for c in changes if c is not None), default=None)


def fresh_facts(person: Person) -> FactsOf:
    """The person's facts built afresh for every question, as before."""

    def facts_of(tenant: str | None) -> YouthFacts | None:
        if person.birth_date is None:
            return None
        return youth_facts(
            person.birth_date, person.registrations, person.enrolments, person.completions,
            person.registered_in_sweden_on, tenant,
        )  # fmt: skip

    return facts_of


# -- the same decisions ----------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.lists(residences, max_size=5).map(tuple), days)
def test_a_residence_is_the_one_sorting_found_ties_and_any_order_included(
    listed: tuple[Residence, ...], on: date
) -> None:
    facts = YouthFacts(date(2008, 1, 1), residences=listed)
    assert facts.residence_on(on) is old_residence_on(facts, on)


@settings(max_examples=300, deadline=None)
@given(
    facts_strategy,
    days,
    st.sets(st.sampled_from(KOMMUNER)),
    st.none() | st.dictionaries(st.sampled_from(KOMMUNER), days),
    st.randoms(use_true_random=False),
    st.sets(st.sampled_from(KOMMUNER), min_size=1),
)
def test_scope_changes_on_any_facts_are_the_ones_before(
    facts: YouthFacts,
    on: date,
    open_tenants: set[str],
    go_live: dict[str, date] | None,
    rng: Any,
    serving: set[str],
) -> None:
    facts = YouthFacts(  # residences in any order, as the engine allows
        facts.birth_date, tuple(rng.sample(facts.residences, len(facts.residences))),
        facts.enrolments, facts.completions, facts.registered_in_sweden_on,
    )  # fmt: skip
    # A consortium that serves some of the municipalities the person lived in or is known to.
    served = {k: DEFAULT_POLICY for k in sorted(serving)}
    if go_live is not None:
        go_live = {k: day for k, day in go_live.items() if k in served}
    recorded = {t: (Episode(on - timedelta(days=400)),) for t in open_tenants}
    new = scope_changes(lambda _: facts, served, on, open_tenants, recorded, go_live)
    later = next_evaluation(lambda _: facts, served, on)
    with the_path_before():
        old = old_scope_changes(lambda _: facts, served, on, open_tenants, recorded, go_live)
        assert later == old_next_evaluation(lambda _: facts, served, on)
    assert new == old
    for tenant in KOMMUNER:
        for current in (None, decide(facts, tenant, on).in_scope):
            assert status_since(facts, tenant, on, DEFAULT_POLICY, current) == old_status_since(
                facts, tenant, on
            )


moves = st.lists(st.tuples(st.sampled_from(KOMMUNER), st.integers(0, 7000)), min_size=1, max_size=3)
school = st.lists(
    st.tuples(
        st.sampled_from(["GY", "GR", "VUXGY"]),
        st.integers(5000, 7000),
        st.none() | st.integers(1, 1500),
    ),
    max_size=2,
)
told = st.lists(
    st.tuples(
        st.sampled_from(KOMMUNER), st.sampled_from(["started", "left"]), st.integers(5000, 7000)
    ),
    max_size=2,
)


@settings(max_examples=200, deadline=None)
@given(
    st.dates(date(2000, 1, 1), date(2012, 12, 31)), moves, school, told,
    st.none() | st.integers(5000, 7400), st.lists(st.integers(1, 900), min_size=1, max_size=4),
    st.booleans(),
)  # fmt: skip
def test_a_person_day_after_day_gets_the_same_steps_as_before(
    born: date,
    homes: list[tuple[str, int]],
    enrolled: list[tuple[str, int, int | None]],
    notices: list[tuple[str, str, int]],
    completed: int | None,
    gaps: list[int],
    with_go_live: bool,
) -> None:
    person = Person("key-equal")
    for n, (kommun, at) in enumerate(homes):
        person.record_population(
            kommunkod=kommun, birth_date=born, protected=False,
            change_type="baseline" if n == 0 else "moved_in",
            effective_date=born + timedelta(days=at), observed_at=NOON,
            registered_in_sweden_on=None, record_id=uuid.uuid4(), tenant=kommun,
            details_digest=f"{kommun}{at}", seal=lambda youth_id: f"sealed for {youth_id}",
        )  # fmt: skip
    listed = [
        EnrolmentRecord(kind, f"u{n}", start_date=born + timedelta(days=start),
                        end_date=None if length is None else born + timedelta(days=start + length))
        for n, (kind, start, length) in enumerate(enrolled)
    ]  # fmt: skip
    person.observe_enrolments(listed, NOON, born + timedelta(days=5000), born)
    on = born + timedelta(days=5400)
    go_live = {k: on for k in KOMMUNER} if with_go_live else None
    for n, gap in enumerate(gaps):  # facts arrive between the evaluations too
        if n == 1 and completed is not None:
            person.record_completion(
                "gymnasieexamen", born + timedelta(days=completed), born, uuid.uuid4()
            )
        for kommun, kind, at in notices[n : n + 1]:
            person.record_school_notification(
                notification_id=uuid.uuid4(), tenant=kommun, kind=kind,
                on=born + timedelta(days=at), school_type="GY", school_unit="u0",
                birth_date=born, reported_by="school",
            )  # fmt: skip
        args = (SERVED, on, set(person.open_episodes), person.episodes, go_live)
        new = scope_changes(person.facts, *args)
        later = person.next_evaluation(SERVED, on)
        with the_path_before():
            old = old_scope_changes(fresh_facts(person), *args)
            where = {r.kommunkod for r in person.registrations} | set(person.youth_ids)
            served_where = {
                t: p for t, p in SERVED.items() if t in where | set(person.open_episodes)
            }
            assert later == old_next_evaluation(fresh_facts(person), served_where, on)
        assert new == old
        person.reevaluate(SERVED, on, actor="test", correlation_id=uuid.uuid4(), go_live=go_live)
        on += timedelta(days=gap)


def entered_and_left(fast: bool) -> Person:
    """A youth in scope in 0180, then moved to 1480: the decisions through `trigger` or the
    library's decorator."""
    triggers.FAST = fast
    try:
        person, born = Person("key-left"), date(2006, 5, 1)
        for kommun, on, change in (("0180", date(2026, 1, 1), "baseline"),
                                   ("1480", date(2026, 2, 1), "moved_in")):  # fmt: skip
            person.record_population(
                kommunkod=kommun, birth_date=born, protected=False, change_type=change,
                effective_date=on, observed_at=NOON, registered_in_sweden_on=None,
                record_id=uuid.UUID(int=1), tenant=kommun, details_digest=kommun,
                seal=lambda _: "sealed", registered_in_municipality_on=None,
            )  # fmt: skip
            person.reevaluate(SERVED, on + timedelta(days=3), actor="t",
                              correlation_id=uuid.UUID(int=2))  # fmt: skip
        return person
    finally:
        triggers.FAST = True


def test_the_decisions_events_are_the_librarys() -> None:
    fast, library = entered_and_left(True), entered_and_left(False)
    names = [type(e).__name__ for e in fast.pending_events]
    assert names == [type(e).__name__ for e in library.pending_events]
    assert names.count("ScopeEntered") == 2
    assert names.count("ScopeLeft") == 1
    assert_same_events(fast.pending_events, library.pending_events)
    assert fast.version == library.version
    assert [e.left_on for e in fast.episodes["0180"]] == [date(2026, 2, 1)]
