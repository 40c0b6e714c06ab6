"""Issue 13 sections 4, 5 and 6 at the edge of identify and outreach: implausible dates, offsets
and assignees are refused with 422 naming the field, before a handler touches anything.

The services' apps are built in-process without their lifespan (no Kafka, no PostgreSQL): a
request that passes validation reaches a handler without its database, so "passed" means any
answer but 401/403/422. What a passed request then records is proven end to end
(tests/e2e/test_casework.py, tests/e2e/test_identify.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.outreach.entrypoints.http import AssignmentRequest
from shared import dates
from shared.auth import issue_token
from tests.unit.apps import SECRET, service_clients

YOUTH = "7b0d4c7e-7a57-4c65-9d0e-4f1b0c3a2e11"


@pytest.fixture(scope="module")
def clients() -> Iterator[dict[str, TestClient]]:
    with service_clients(
        today="2026-03-02", services=("identify", "outreach", "measures")
    ) as built:
        yield built


def bearer(*roles: str) -> dict[str, str]:
    token = issue_token(SECRET, subject="anna.andersson", tenant="0180", roles=list(roles))
    return {"Authorization": f"Bearer {token}"}


def refused_field(response: Any) -> str:
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    field: str = error["field"]
    return field


@pytest.mark.parametrize(
    ("on", "reason"),
    [
        ("2026-03-03", "is in the future"),
        ("1899-12-31", "is before 1900"),
        ("2008-01-01", "is before the youth was born"),  # born 2008-01-02
    ],
)
def test_a_school_notification_dated_where_it_cannot_be_is_refused(
    clients: dict[str, TestClient], on: str, reason: str
) -> None:
    body = {"personnummer": "200801021239", "kind": "left", "on": on, "school_type": "GY",
            "school_unit": "unit-1"}  # fmt: skip
    answer = clients["identify"].post(
        "/v1/school-notifications", headers=bearer("school-reporter"), json=body
    )
    assert refused_field(answer) == "body.on"
    assert answer.json()["errors"][0]["problem"].endswith(reason)
    assert on not in answer.text


def test_a_school_notification_of_today_passes(clients: dict[str, TestClient]) -> None:
    body = {"personnummer": "200801021239", "kind": "left", "on": "2026-03-02",
            "school_type": "GY", "school_unit": "unit-1"}  # fmt: skip
    answer = clients["identify"].post(
        "/v1/school-notifications", headers=bearer("school-reporter"), json=body
    )
    assert answer.status_code not in (401, 403, 422)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("contact-attempts", {"channel": "phone", "outcome": "reached",
                              "attempted_at": "1899-12-31T10:00:00+01:00"}, "attempted_at"),
        ("contact-attempts", {"channel": "phone", "outcome": "reached",
                              "attempted_at": "0001-01-01T00:00:00+14:00"}, "attempted_at"),
        ("contact-attempts", {"channel": "phone", "outcome": "reached",
                              "attempted_at": "2014-12-31T10:00:00+01:00"}, "attempted_at"),
        ("contact-attempts", {"channel": "phone", "outcome": "reached",
                              "attempted_at": "9999-12-31T23:59:59-14:00"}, "attempted_at"),
        ("contacts", {"channel": "phone", "at": "2014-06-01T10:00:00+02:00"}, "at"),
        ("information", {"channel": "letter", "at": "1066-10-14T10:00:00+00:00"}, "at"),
        ("occupations", {"category": "work", "tense": "current", "from_date": "1899-01-01"},
         "from_date"),
        ("occupations", {"category": "work", "tense": "current", "from_date": "2026-01-01",
                         "confirmed_on": "2014-12-31"}, "confirmed_on"),
    ],
)  # fmt: skip
def test_outreach_refuses_a_date_that_cannot_be_true_naming_the_field(
    clients: dict[str, TestClient], path: str, body: dict[str, Any], field: str
) -> None:
    answer = clients["outreach"].post(
        f"/v1/youths/{YOUTH}/{path}", headers=bearer("caseworker"), json=body
    )
    assert refused_field(answer).split(".")[-1] == field


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("measure-offers", {"measure_type": "internship", "offered_on": "2014-12-31"},
         "offered_on"),
        ("measure-offers", {"measure_type": "internship", "offered_on": "2026-03-01",
                            "can_start_on": "1899-01-01"}, "can_start_on"),
        ("objections", {"on": "2014-06-30"}, "on"),
    ],
)  # fmt: skip
def test_measures_refuse_a_date_that_cannot_be_true_with_the_same_rule(
    clients: dict[str, TestClient], path: str, body: dict[str, Any], field: str
) -> None:
    answer = clients["measures"].post(
        f"/v1/youths/{YOUTH}/{path}", headers=bearer("caseworker"), json=body
    )
    assert refused_field(answer) == field


def test_a_plan_dated_before_the_law_is_refused_naming_the_effort(
    clients: dict[str, TestClient],
) -> None:
    plan = {"goal": "Studier", "efforts": [
        {"description": "SYV", "responsible": "municipality", "start_date": "2026-03-02"},
        {"description": "Praktik", "responsible": "youth", "end_date": "2012-01-01"},
    ]}  # fmt: skip
    answer = clients["measures"].put(
        f"/v1/youths/{YOUTH}/plan", headers=bearer("caseworker"), json=plan
    )
    assert refused_field(answer) == "efforts[1].end_date"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"offset": "99999999999999999999"}, "query.offset"),
        ({"offset": "1000001"}, "query.offset"),
        ({"offset": "-1"}, "query.offset"),
        ({"limit": "100000"}, "query.limit"),
        ({"assignee": "user:anna\x00"}, "query.assignee"),
        ({"assignee": ""}, "query.assignee"),
    ],
)
def test_a_worklist_parameter_out_of_bounds_is_refused_naming_it(
    clients: dict[str, TestClient], params: dict[str, str], field: str
) -> None:
    answer = clients["outreach"].get(
        "/v1/worklists/first_contact", headers=bearer("caseworker"), params=params
    )
    assert refused_field(answer) == field
    assert "99999999999999999999" not in answer.text


@pytest.mark.parametrize(
    ("kind", "given", "recorded"),
    [
        ("caseworker", "anna.andersson", "user:anna.andersson"),
        ("caseworker", "user:anna.andersson", "user:anna.andersson"),
        ("team", "team-north", "team-north"),
    ],
)
def test_an_assignee_has_one_form(kind: str, given: str, recorded: str) -> None:
    """Issue 13 section 6: a caseworker is their token's actor, so `mine=true` finds the case."""
    assert AssignmentRequest.model_validate(
        {"assignee_kind": kind, "assignee": given}
    ).assignee == (recorded)


@pytest.mark.parametrize(
    ("kind", "given"),
    [("caseworker", "user:"), ("caseworker", "user:user:anna"), ("team", "user:anna"),
     ("team", "anna@example.se")],
)  # fmt: skip
def test_an_assignee_in_another_form_is_refused_naming_the_field(
    clients: dict[str, TestClient], kind: str, given: str
) -> None:
    answer = clients["outreach"].put(
        f"/v1/youths/{YOUTH}/assignment",
        headers=bearer("coordinator"),
        json={"assignee_kind": kind, "assignee": given},
    )
    assert refused_field(answer) == "body.assignee"


def test_the_date_rule_handles_the_ends_of_the_calendar() -> None:
    assert dates.problem(date(1, 1, 1)) == "is before 1900"
    assert dates.problem(datetime.fromisoformat("0001-01-01T00:00:00+14:00")) == "is before 1900"
    late = datetime.fromisoformat("9999-12-31T23:59:59-14:00")
    assert dates.problem(late, today=date(2026, 3, 2)) == "is in the future"
    assert dates.problem(date(2015, 1, 1), since_law=True, born=date(2008, 1, 1)) is None
