"""The youth case outreach and measures both keep (`shared.casework.domain`): scope episodes as
identify reports them, redelivered or not, and the checks every command passes first."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from eventsourcing.domain import event
from eventsourcing.utils import resolve_topic

from shared.casework.domain import (
    CaseNotFound,
    CommandRefused,
    NotInScope,
    ScopedYouthCase,
    TenantRules,
    rules_id,
)
from shared.dates import ImplausibleDate
from tests.unit.casework.events import TENANT, YOUTH, identified, left_scope


class Case(ScopedYouthCase):
    """The smallest case a service could keep."""

    @event("Opened")
    def __init__(self, youth_id: uuid.UUID, tenant: str) -> None:
        self._start_case(tenant)


def case_in_scope() -> Case:
    case = Case(youth_id=YOUTH, tenant=TENANT)
    case.on_identify_event(identified(date(2026, 3, 2), identified_on=date(2026, 3, 4)))
    return case


def recorded(case: Case) -> list[str]:
    return [type(e).__name__ for e in case.pending_events]


def test_an_identified_youth_is_in_scope_from_the_entry_known_since_the_identification() -> None:
    case = case_in_scope()
    assert case.in_scope
    assert (case.entered_on, case.identified_on, case.scope_ends_on) == (
        date(2026, 3, 2), date(2026, 3, 4), date(2027, 5, 1),
    )  # fmt: skip
    assert recorded(case) == ["Opened", "ScopeOpened"]


def test_leaving_scope_closes_the_episode_with_its_reason() -> None:
    case = case_in_scope()
    case.on_identify_event(left_scope(uuid.UUID(case.open_episode), date(2026, 8, 20)))
    assert not case.in_scope
    assert (case.left_on, case.left_reason) == (date(2026, 8, 20), "enrolled")


def test_a_redelivered_event_changes_nothing_and_a_closed_episode_stays_closed() -> None:
    case = Case(youth_id=YOUTH, tenant=TENANT)
    opened = identified()
    case.on_identify_event(opened)
    case.on_identify_event(opened)
    closed = left_scope(opened.scope_episode_id, date(2026, 8, 20))
    case.on_identify_event(closed)
    case.on_identify_event(closed)
    case.on_identify_event(opened)  # the opening, redelivered after the closing
    assert not case.in_scope
    assert recorded(case) == ["Opened", "ScopeOpened", "ScopeClosed"]


def test_a_new_episode_opens_again_after_one_closed() -> None:
    case = case_in_scope()
    case.on_identify_event(left_scope(uuid.UUID(case.open_episode), date(2026, 8, 20)))
    case.on_identify_event(identified(date(2026, 10, 1)))
    assert case.in_scope
    assert (case.entered_on, case.left_on, case.left_reason) == (date(2026, 10, 1), None, None)


def test_the_closing_of_another_episode_leaves_the_open_one_open() -> None:
    case = case_in_scope()
    case.on_identify_event(left_scope(uuid.uuid4(), date(2026, 8, 20)))
    assert case.in_scope
    assert case.left_on is None


def test_another_municipalitys_caller_finds_no_case_and_a_closed_one_takes_no_command() -> None:
    case = case_in_scope()
    case.check_tenant(TENANT)
    case.check_in_scope()
    with pytest.raises(CaseNotFound):
        case.check_tenant("0181")
    case.on_identify_event(left_scope(uuid.UUID(case.open_episode), date(2026, 8, 20)))
    with pytest.raises(NotInScope):
        case.check_in_scope()


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (date(2007, 4, 30), "is before the youth was born"),  # 20 on 2027-05-01 at the latest
        (date(2014, 12, 31), "is before 2015-01-01, when the activity responsibility began"),
        (date(2026, 3, 3), "is in the future"),
    ],
)
def test_a_date_about_the_youth_that_cannot_be_true_is_refused(day: date, reason: str) -> None:
    case = case_in_scope()
    with pytest.raises(ImplausibleDate) as refused:
        case.check_date("on", day, today=date(2026, 3, 2))
    assert (refused.value.field, refused.value.reason) == ("on", reason)
    case.check_date("on", date(2026, 3, 2), today=date(2026, 3, 2))


def test_a_refusal_names_the_field_and_the_reason_and_may_be_a_conflict() -> None:
    refused = CommandRefused("measure_id", "is declined", conflict=True)
    assert (str(refused), refused.field, refused.reason, refused.conflict) == (
        "measure_id: is declined", "measure_id", "is declined", True,
    )  # fmt: skip
    assert not CommandRefused("category", "unknown").conflict


def test_a_municipalitys_rules_are_one_aggregate_whose_changes_add_up() -> None:
    rules = TenantRules(TENANT, {"recontact_days": 30}, "user:anna")
    rules.reconfigure({"turning_20_notice_days": 45}, "user:anna")
    assert rules.id == rules_id(TENANT) != rules_id("0181")
    assert rules.rules == {"recontact_days": 30, "turning_20_notice_days": 45}


def test_rules_recorded_before_the_casework_package_still_read() -> None:
    """Stored events name their class by topic; the rules were recorded under `shared.cases`."""
    rules = TenantRules(TENANT, {"recontact_days": 30}, "user:anna")
    rules.reconfigure({"recontact_days": 40}, "user:anna")
    configured, reconfigured = (type(e) for e in rules.pending_events)
    assert resolve_topic("shared.cases:TenantRules.Configured") is configured
    assert resolve_topic("shared.cases:TenantRules.Reconfigured") is reconfigured
