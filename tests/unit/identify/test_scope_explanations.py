"""What a scope decision tells an inspector (`kaa scope explain`, the scope events): the rule version
and every fact it used, in full."""

from __future__ import annotations

from datetime import date

import pytest

from services.identify.domain.scope import (
    Completion,
    Decision,
    Enrolment,
    Residence,
    RuleVersion,
    TenantPolicy,
    YouthFacts,
    decide,
)

BORN = date(1997, 5, 1)
RESIDENT = YouthFacts(birth_date=BORN, residences=(Residence(BORN, "0180"),))


def test_before_2015_no_rule_is_in_force() -> None:
    assert decide(RESIDENT, "0180", date(2014, 12, 31)) == Decision(
        False,
        None,
        "none",
        {
            "tenant": "0180",
            "on": "2014-12-31",
            "rule": "no activity responsibility before 2015-01-01",
        },
    )


def test_without_a_population_record_residence_is_unknown() -> None:
    facts = YouthFacts(birth_date=date(2008, 5, 1))
    assert decide(facts, "0180", date(2025, 2, 1)) == Decision(
        False,
        None,
        "kaa-2018-07-01",
        {"tenant": "0180", "on": "2025-02-01", "folkbokford": "unknown"},
    )


def test_a_decision_uses_the_rule_versions_it_is_given() -> None:
    earlier = (RuleVersion("kaa-test-2010", date(2010, 1, 1), True, True),)
    decision = decide(RESIDENT, "0180", date(2014, 12, 31), rules=earlier)
    assert (decision.in_scope, decision.rule_version) == (True, "kaa-test-2010")
    assert decide(RESIDENT, "0180", date(2009, 12, 31), rules=earlier).rule_version == "none"


B = date(2008, 5, 1)  # compulsory school ends 2024-06-30 (tenant default)
HERE = (Residence(B, "0180"),)
BASE = {"tenant": "0180", "folkbokford_in_tenant": "yes"}


def facts(
    *,
    residences: tuple[Residence, ...] = HERE,
    enrolments: tuple[Enrolment, ...] = (),
    completions: tuple[Completion, ...] = (),
    arrived: date | None = None,
    born: date = B,
) -> YouthFacts:
    return YouthFacts(born, residences, enrolments, completions, arrived)


GY_NOW = Enrolment("GY", education_code="NA")
IM_NOW = Enrolment("GY", education_code="IMSPR")
EXAM = Completion("gymnasieexamen", date(2026, 6, 10))
CASES: list[tuple[str, YouthFacts, date, bool, str | None, dict[str, str]]] = [
    ("deceased", facts(residences=(*HERE, Residence(date(2025, 1, 1), "0180", "deceased"))),
     date(2025, 2, 1), False, "deceased", {"tenant": "0180", "status": "deceased"}),
    ("emigrated", facts(residences=(*HERE, Residence(date(2025, 1, 1), None, "emigrated"))),
     date(2025, 2, 1), False, "emigrated", {"tenant": "0180", "status": "emigrated"}),
    ("moved out", facts(residences=(*HERE, Residence(date(2025, 1, 1), "1480"))),
     date(2025, 2, 1), False, "moved_out", {"tenant": "0180", "folkbokford_in_tenant": "no"}),
    ("turned 20", facts(), date(2028, 5, 1), False, "turned_20", BASE | {"age": "20"}),
    ("compulsory school not yet over", facts(), date(2024, 6, 30), False, None,
     BASE | {"age": "16", "compulsory_school_ends": "2024-06-30",
             "compulsory_school": "not yet completed"}),
    ("still in two compulsory schools", facts(enrolments=(Enrolment("SP"), Enrolment("GR"))),
     date(2024, 9, 1), False, None,
     BASE | {"age": "16", "compulsory_school_ends": "2024-06-30",
             "compulsory_school": "still enrolled in GR,SP"}),
    ("in scope", facts(), date(2024, 7, 1), True, None,
     BASE | {"age": "16", "compulsory_school_ends": "2024-06-30", "enrolled_in": "none"}),
    ("arrived the day compulsory school ended", facts(arrived=date(2024, 6, 30)),
     date(2024, 7, 1), True, None,
     BASE | {"age": "16", "compulsory_school_ends": "2024-06-30", "enrolled_in": "none"}),
    ("arrived after it, 2017", facts(born=date(1999, 5, 1), arrived=date(2016, 9, 1)),
     date(2017, 1, 1), False, None,
     BASE | {"age": "17", "arrived_past_compulsory_school_age": "yes",
             "compulsory_school": "not completed in Sweden"}),
    ("arrived after it, 2025", facts(arrived=date(2024, 7, 1)), date(2025, 1, 1), True, None,
     BASE | {"age": "16", "arrived_past_compulsory_school_age": "yes", "enrolled_in": "none"}),
    ("examen and equivalent on the day", facts(completions=(EXAM, Completion("equivalent", date(2026, 6, 1)))),
     date(2026, 6, 10), False, "completed",
     BASE | {"age": "18", "compulsory_school_ends": "2024-06-30",
             "completed": "equivalent,gymnasieexamen"}),
    ("studiebevis on the day", facts(completions=(Completion("studiebevis", date(2026, 6, 10)),)),
     date(2026, 6, 10), True, None,
     BASE | {"age": "18", "compulsory_school_ends": "2024-06-30",
             "studiebevis": "yes (does not end scope)", "enrolled_in": "none"}),
    ("studiebevis later", facts(completions=(Completion("studiebevis", date(2026, 6, 11)),)),
     date(2026, 6, 10), True, None,
     BASE | {"age": "18", "compulsory_school_ends": "2024-06-30", "enrolled_in": "none"}),
    ("gymnasieskola", facts(enrolments=(GY_NOW,)), date(2025, 9, 1), False, "enrolled",
     BASE | {"age": "17", "compulsory_school_ends": "2024-06-30", "enrolled_in": "GY"}),
    ("introduktionsprogram", facts(enrolments=(IM_NOW,)), date(2025, 9, 1), False, "enrolled",
     BASE | {"age": "17", "compulsory_school_ends": "2024-06-30",
             "enrolled_in": "GY (introduktionsprogram)"}),
    ("komvux", facts(enrolments=(Enrolment("VUXGY"),)), date(2025, 9, 1), True, None,
     BASE | {"age": "17", "compulsory_school_ends": "2024-06-30",
             "studies": "VUXGY (in scope by tenant policy)", "enrolled_in": "none"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "youth", "on", "in_scope", "reason", "used"), CASES, ids=[c[0] for c in CASES]
)
def test_every_fact_a_decision_used(
    name: str, youth: YouthFacts, on: date, in_scope: bool, reason: str | None, used: dict[str, str]
) -> None:
    rule = "kaa-2015-01-01" if on < date(2018, 7, 1) else "kaa-2018-07-01"
    expected = Decision(in_scope, reason, rule, used | {"on": on.isoformat()})  # type: ignore[arg-type]
    assert decide(youth, "0180", on) == expected


def test_komvux_counts_as_enrolment_by_tenant_policy() -> None:
    policy = TenantPolicy(adult_education_keeps_in_scope=False)
    decision = decide(facts(enrolments=(Enrolment("VUXGY"),)), "0180", date(2025, 9, 1), policy)
    assert decision.facts["enrolled_in"] == "VUXGY (equivalent by tenant policy)"


def test_an_enrolment_that_keeps_scope_does_not_hide_one_that_ends_it() -> None:
    im_2017 = facts(born=date(2000, 5, 1), enrolments=(IM_NOW, GY_NOW))
    assert decide(im_2017, "0180", date(2017, 9, 1)).leaving_reason == "enrolled"
    komvux_then_gy = facts(enrolments=(Enrolment("VUXGY"), GY_NOW))
    assert decide(komvux_then_gy, "0180", date(2025, 9, 1)).leaving_reason == "enrolled"
