"""The scope engine against the law: a table of scenarios, then its properties.

Each row: who the youth is, the day asked about, and what skollagen 29 kap. 9 § (with the rule in
force that day) says. Tenant 0180 unless the row says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.identify.domain.scope import (
    DEFAULT_POLICY,
    Completion,
    Enrolment,
    Residence,
    TenantPolicy,
    YouthFacts,
    decide,
    next_change,
    status_since,
    twentieth_birthday,
)
from shared.contracts.feeds import CompletionKind

NO_ADULT_EDUCATION = TenantPolicy(adult_education_keeps_in_scope=False)
EARLY_SUMMER = TenantPolicy(compulsory_school_ends_day=15)


def youth(
    born: date,
    *,
    residences: tuple[Residence, ...] | None = None,
    enrolments: tuple[Enrolment, ...] = (),
    completions: tuple[Completion, ...] = (),
    arrived: date | None = None,
) -> YouthFacts:
    return YouthFacts(
        birth_date=born,
        residences=residences if residences is not None else (Residence(arrived or born, "0180"),),
        enrolments=enrolments,
        completions=completions,
        registered_in_sweden_on=arrived,
    )


def gy(code: str = "NA", **kw: object) -> Enrolment:
    return Enrolment("GY", education_code=code, **kw)  # type: ignore[arg-type]


def done(kind: CompletionKind, on: date) -> tuple[Completion, ...]:
    return (Completion(kind, on),)


@dataclass(frozen=True)
class Scenario:
    name: str
    facts: YouthFacts
    on: date
    in_scope: bool
    reason: str | None
    rule: str = "kaa-2018-07-01"
    policy: TenantPolicy = DEFAULT_POLICY
    tenant: str = "0180"


B = date(2008, 5, 1)
MOVED_OUT = (Residence(B, "0180"), Residence(date(2026, 3, 15), "1480"))
MOVED_IN = (Residence(B, "1480"), Residence(date(2025, 10, 1), "0180"))
IM = gy("IMYRK")
LATE = date(1999, 5, 1)

SCENARIOS = [
    # Compulsory school ends 30 June of the year the youth turns 16 (tenant default).
    Scenario("last day of compulsory school", youth(B), date(2024, 6, 30), False, None),
    Scenario("first day after compulsory school", youth(B), date(2024, 7, 1), True, None),
    Scenario(
        "born in December, in scope at 15", youth(date(2008, 12, 31)), date(2024, 7, 1), True, None
    ),
    Scenario(
        "born 1 January, a year later", youth(date(2009, 1, 1)), date(2024, 7, 1), False, None
    ),
    Scenario(
        "tenant ends compulsory school 15 June",
        youth(B),
        date(2024, 6, 20),
        True,
        None,
        policy=EARLY_SUMMER,
    ),
    Scenario(
        "still in grundskola at 16",
        youth(B, enrolments=(Enrolment("GR"),)),
        date(2024, 8, 15),
        False,
        None,
    ),
    Scenario(
        "still in anpassad grundskola at 17",
        youth(B, enrolments=(Enrolment("GRS"),)),
        date(2025, 9, 1),
        False,
        None,
    ),
    # The 20th birthday ends scope.
    Scenario("day before 20th birthday", youth(date(2006, 3, 1)), date(2026, 2, 28), True, None),
    Scenario("20th birthday", youth(date(2006, 3, 1)), date(2026, 3, 1), False, "turned_20"),
    Scenario("after 20th birthday", youth(date(2006, 3, 1)), date(2026, 6, 1), False, "turned_20"),
    Scenario("leap-day child, day before", youth(date(2004, 2, 29)), date(2024, 2, 28), True, None),
    Scenario(
        "leap-day child turns 20 on 29 Feb",
        youth(date(2004, 2, 29)),
        date(2024, 2, 29),
        False,
        "turned_20",
    ),
    # Introduktionsprogram: in scope before 2018-07-01, not after.
    Scenario(
        "IM student in 2017",
        youth(date(2000, 5, 1), enrolments=(IM,)),
        date(2017, 9, 1),
        True,
        None,
        rule="kaa-2015-01-01",
    ),
    Scenario(
        "IM student on 2018-06-30",
        youth(date(2000, 5, 1), enrolments=(IM,)),
        date(2018, 6, 30),
        True,
        None,
        rule="kaa-2015-01-01",
    ),
    Scenario(
        "IM student on 2018-07-01",
        youth(date(2000, 5, 1), enrolments=(IM,)),
        date(2018, 7, 1),
        False,
        "enrolled",
    ),
    Scenario(
        "språkintroduktion in 2019",
        youth(date(2002, 5, 1), enrolments=(gy("imspr"),)),
        date(2019, 9, 1),
        False,
        "enrolled",
    ),
    Scenario(
        "national programme in 2017",
        youth(date(2000, 5, 1), enrolments=(gy(),)),
        date(2017, 9, 1),
        False,
        "enrolled",
        rule="kaa-2015-01-01",
    ),
    # Gymnasieskola and anpassad gymnasieskola.
    Scenario(
        "GY national programme", youth(B, enrolments=(gy(),)), date(2025, 9, 1), False, "enrolled"
    ),
    Scenario("GYS", youth(B, enrolments=(Enrolment("GYS"),)), date(2025, 9, 1), False, "enrolled"),
    Scenario(
        "cancelled GY enrolment",
        youth(B, enrolments=(gy(cancelled=True),)),
        date(2025, 9, 1),
        True,
        None,
    ),
    Scenario(
        "GY ended (dropout)",
        youth(B, enrolments=(gy(start_date=date(2024, 8, 20), end_date=date(2025, 12, 31)),)),
        date(2026, 1, 1),
        True,
        None,
    ),
    Scenario(
        "GY on its last day",
        youth(B, enrolments=(gy(start_date=date(2024, 8, 20), end_date=date(2025, 12, 31)),)),
        date(2025, 12, 31),
        False,
        "enrolled",
    ),
    Scenario(
        "GY that starts later",
        youth(B, enrolments=(gy(start_date=date(2025, 8, 20)),)),
        date(2025, 3, 1),
        True,
        None,
    ),
    Scenario(
        "undated GY before it was observed",
        youth(B, enrolments=(gy(observed_on=date(2025, 9, 1)),)),
        date(2025, 3, 1),
        True,
        None,
    ),
    Scenario(
        "undated GY once observed",
        youth(B, enrolments=(gy(observed_on=date(2025, 9, 1)),)),
        date(2025, 9, 1),
        False,
        "enrolled",
    ),
    # Completion: examen, bevis and equivalent end scope; a studiebevis does not.
    Scenario(
        "gymnasieexamen",
        youth(date(2006, 8, 1), completions=done("gymnasieexamen", date(2025, 6, 10))),
        date(2025, 6, 11),
        False,
        "completed",
    ),
    Scenario(
        "gymnasieexamen dated later",
        youth(date(2006, 8, 1), completions=done("gymnasieexamen", date(2025, 6, 10))),
        date(2025, 6, 9),
        True,
        None,
    ),
    Scenario(
        "studiebevis",
        youth(date(2006, 8, 1), completions=done("studiebevis", date(2025, 6, 10))),
        date(2025, 6, 11),
        True,
        None,
    ),
    Scenario(
        "bevis from anpassad gymnasieskola",
        youth(date(2006, 8, 1), completions=done("gys_bevis", date(2025, 6, 10))),
        date(2025, 7, 1),
        False,
        "completed",
    ),
    Scenario(
        "equivalent completion (IB)",
        youth(date(2006, 8, 1), completions=done("equivalent", date(2025, 6, 10))),
        date(2025, 7, 1),
        False,
        "completed",
    ),
    Scenario(
        "20th birthday outranks completion",
        youth(date(2005, 8, 1), completions=done("gymnasieexamen", date(2024, 6, 10))),
        date(2025, 8, 1),
        False,
        "turned_20",
    ),
    # Komvux and folkhögskola without a degree: tenant policy, default in scope.
    Scenario(
        "komvux, default policy",
        youth(B, enrolments=(Enrolment("VUXGY"),)),
        date(2025, 9, 1),
        True,
        None,
    ),
    Scenario(
        "komvux, policy says equivalent",
        youth(B, enrolments=(Enrolment("VUXGY"),)),
        date(2025, 9, 1),
        False,
        "enrolled",
        policy=NO_ADULT_EDUCATION,
    ),
    Scenario(
        "folkhögskola, default policy",
        youth(B, enrolments=(Enrolment("FHS"),)),
        date(2025, 9, 1),
        True,
        None,
    ),
    Scenario(
        "folkhögskola, policy says equivalent",
        youth(B, enrolments=(Enrolment("FHS"),)),
        date(2025, 9, 1),
        False,
        "enrolled",
        policy=NO_ADULT_EDUCATION,
    ),
    # Folkbokförd in Sweden past compulsory-school age: in scope from 2018-07-01 only.
    Scenario(
        "arrived at 17 in 2016, asked 2017",
        youth(LATE, arrived=date(2016, 9, 1)),
        date(2017, 1, 1),
        False,
        None,
        rule="kaa-2015-01-01",
    ),
    Scenario(
        "arrived at 17 in 2016, asked 2018-07-01",
        youth(LATE, arrived=date(2016, 9, 1)),
        date(2018, 7, 1),
        True,
        None,
    ),
    Scenario(
        "arrived at 17 in 2019",
        youth(date(2002, 5, 1), arrived=date(2019, 9, 1)),
        date(2019, 10, 1),
        True,
        None,
    ),
    Scenario(
        "arrived at 14, normal rules",
        youth(date(2005, 5, 1), arrived=date(2019, 9, 1)),
        date(2021, 7, 1),
        True,
        None,
    ),
    Scenario(
        "arrived at 14, still compulsory age",
        youth(date(2005, 5, 1), arrived=date(2019, 9, 1)),
        date(2021, 6, 1),
        False,
        None,
    ),
    # Folkbokföring: moves, emigration, death.
    Scenario(
        "day before moving out (mid half-year)",
        youth(B, residences=MOVED_OUT),
        date(2026, 3, 14),
        True,
        None,
    ),
    Scenario(
        "moved out mid half-year",
        youth(B, residences=MOVED_OUT),
        date(2026, 3, 15),
        False,
        "moved_out",
    ),
    Scenario(
        "the new municipality from the move",
        youth(B, residences=MOVED_OUT),
        date(2026, 3, 15),
        True,
        None,
        tenant="1480",
    ),
    Scenario("moved in", youth(B, residences=MOVED_IN), date(2025, 10, 1), True, None),
    Scenario(
        "before moving in", youth(B, residences=MOVED_IN), date(2025, 9, 30), False, "moved_out"
    ),
    Scenario(
        "emigrated",
        youth(B, residences=(Residence(B, "0180"), Residence(date(2025, 1, 1), None, "emigrated"))),
        date(2025, 2, 1),
        False,
        "emigrated",
    ),
    Scenario(
        "deceased",
        youth(
            B, residences=(Residence(B, "0180"), Residence(date(2025, 1, 1), "0180", "deceased"))
        ),
        date(2025, 2, 1),
        False,
        "deceased",
    ),
    Scenario("no population record", youth(B, residences=()), date(2025, 2, 1), False, None),
    # Before the activity responsibility existed.
    Scenario("2014", youth(date(1997, 5, 1)), date(2014, 12, 31), False, None, rule="none"),
    Scenario(
        "2015-01-01", youth(date(1997, 5, 1)), date(2015, 1, 1), True, None, rule="kaa-2015-01-01"
    ),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scope_scenario(scenario: Scenario) -> None:
    decision = decide(scenario.facts, scenario.tenant, scenario.on, scenario.policy)
    assert (decision.in_scope, decision.leaving_reason) == (scenario.in_scope, scenario.reason)
    assert decision.rule_version == scenario.rule
    assert decision.facts["tenant"] == scenario.tenant
    assert decision.facts["on"] == scenario.on.isoformat()


def test_there_are_at_least_forty_scenarios() -> None:
    assert len(SCENARIOS) >= 40


def test_decisions_explain_themselves() -> None:
    decision = decide(youth(date(2000, 5, 1), enrolments=(IM,)), "0180", date(2017, 9, 1))
    assert decision.facts["introduction_programme"] == "yes (in scope before 2018-07-01)"
    decision = decide(
        youth(date(2006, 8, 1), completions=done("studiebevis", date(2025, 6, 10))),
        "0180",
        date(2025, 7, 1),
    )
    assert decision.facts["studiebevis"] == "yes (does not end scope)"


def test_twentieth_birthday_of_a_leap_day_child_in_a_common_year() -> None:
    assert twentieth_birthday(date(2080, 2, 29)) == date(2100, 2, 28)  # 2100 is not a leap year


def test_time_alone_changes_scope_on_known_dates() -> None:
    facts = youth(B)
    assert next_change(facts, date(2024, 1, 1)) == date(2024, 7, 1)
    assert next_change(facts, date(2024, 7, 1)) == date(2028, 5, 1)
    assert next_change(facts, date(2028, 5, 1)) is None


def test_a_late_transition_is_dated_when_it_happened() -> None:
    assert status_since(youth(B), "0180", date(2025, 1, 10)) == date(2024, 7, 1)
    assert status_since(youth(B, residences=MOVED_OUT), "0180", date(2026, 4, 2)) == date(
        2026, 3, 15
    )
    assert status_since(youth(date(2006, 3, 1)), "0180", date(2026, 5, 5)) == date(2026, 3, 1)


days = st.dates(min_value=date(2014, 6, 1), max_value=date(2030, 12, 31))
enrolments = st.builds(
    Enrolment,
    school_type=st.sampled_from(["GY", "GYS", "GR", "VUXGY", "FHS", "SFI"]),
    cancelled=st.booleans(),
    start_date=st.none() | days,
    end_date=st.none() | days,
    observed_on=st.none() | days,
    education_code=st.sampled_from([None, "NA", "IMYRK", "IMSPR"]),
)
residences = st.builds(
    Residence,
    since=days,
    kommunkod=st.sampled_from(["0180", "1480", None]),
    status=st.sampled_from(["resident", "resident", "emigrated", "deceased"]),
)
completions = st.builds(
    Completion,
    kind=st.sampled_from(["gymnasieexamen", "gys_bevis", "equivalent", "studiebevis"]),
    completed_on=days,
)
facts_strategy = st.builds(
    YouthFacts,
    birth_date=st.dates(min_value=date(1994, 1, 1), max_value=date(2014, 12, 31)),
    residences=st.lists(residences, max_size=3, unique_by=lambda r: r.since).map(tuple),
    enrolments=st.lists(enrolments, max_size=4).map(tuple),
    completions=st.lists(completions, max_size=2).map(tuple),
    registered_in_sweden_on=st.none() | days,
)


@given(facts_strategy, days, st.randoms(use_true_random=False))
def test_a_decision_is_a_pure_function_of_the_facts_not_of_their_order(
    facts: YouthFacts, on: date, rng: object
) -> None:
    first = decide(facts, "0180", on)
    shuffled = YouthFacts(
        birth_date=facts.birth_date,
        residences=tuple(rng.sample(facts.residences, len(facts.residences))),  # type: ignore[attr-defined]
        enrolments=tuple(rng.sample(facts.enrolments, len(facts.enrolments))),  # type: ignore[attr-defined]
        completions=tuple(rng.sample(facts.completions, len(facts.completions))),  # type: ignore[attr-defined]
        registered_in_sweden_on=facts.registered_in_sweden_on,
    )
    assert decide(shuffled, "0180", on) == first
    assert decide(facts, "0180", on) == first


@given(facts_strategy, days)
def test_scope_only_changes_on_change_points(facts: YouthFacts, on: date) -> None:
    upcoming = next_change(facts, on)
    if upcoming is not None and upcoming - on > timedelta(days=1):
        day_before = upcoming - timedelta(days=1)
        assert decide(facts, "0180", day_before).in_scope == decide(facts, "0180", on).in_scope
