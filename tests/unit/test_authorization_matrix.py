"""The authorization matrix: every endpoint of every service × every role (issue 7).

The services' apps are built in-process without their lifespan (no Kafka, no PostgreSQL): the
token and role checks run before a handler touches anything, so a role that may not call an
endpoint gets 403, and one that may gets past the checks (whatever the handler then answers
without its database). The table below is the policy; the test fails when an endpoint exists that
the table does not list, so a new endpoint cannot ship without a decision on who may call it.
Another municipality's youth (404, not 403) is proven end to end against the running services.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared.auth import ROLES, TENANT_HEADER, issue_token
from tests.unit.apps import SECRET, service_clients
from tests.unit.service_matrix import EXTRA

CASEWORK = {"caseworker", "coordinator"}
CONFIGURATION = {"coordinator", "consortium-admin"}
READERS = {"caseworker", "coordinator", "inspector"}

MATRIX: dict[tuple[str, str, str], set[str]] = {
    ("identify", "POST", "/v1/school-notifications"): {"school-reporter"},
    (
        "identify",
        "POST",
        "/v1/youths/{youth_id}/scope-episodes/{scope_episode_id}/registered-in-error",
    ): {"coordinator"},
    ("outreach", "POST", "/v1/youths/{youth_id}/contact-attempts"): CASEWORK,
    ("outreach", "POST", "/v1/youths/{youth_id}/contacts"): CASEWORK,
    ("outreach", "POST", "/v1/youths/{youth_id}/information"): CASEWORK,
    ("outreach", "POST", "/v1/youths/{youth_id}/occupations"): CASEWORK,
    ("outreach", "PUT", "/v1/youths/{youth_id}/contact-details"): CASEWORK,
    ("outreach", "PUT", "/v1/youths/{youth_id}/assignment"): CASEWORK,
    ("outreach", "GET", "/v1/youths/{youth_id}/case"): CASEWORK,
    ("outreach", "POST", "/v1/youths/{youth_id}/corrections"): CASEWORK,
    ("outreach", "POST", "/v1/youths/{youth_id}/withdrawals"): CASEWORK,
    ("outreach", "GET", "/v1/worklists"): CASEWORK,
    ("outreach", "GET", "/v1/worklists/{name}"): CASEWORK,
    ("outreach", "GET", "/v1/tenant-rules"): CASEWORK | CONFIGURATION,
    ("outreach", "PUT", "/v1/tenant-rules"): CONFIGURATION,
    ("outreach", "GET", "/v1/letter-templates/{name}"): CASEWORK,
    ("outreach", "PUT", "/v1/letter-templates/{name}"): {"coordinator"},
    ("outreach", "POST", "/v1/youths/{youth_id}/letters"): CASEWORK,
    ("outreach", "POST", "/v1/letter-batches"): CASEWORK,
    ("outreach", "GET", "/v1/letter-batches/{batch_id}"): CASEWORK,
    ("outreach", "GET", "/v1/letter-batches/{batch_id}/pdf"): CASEWORK,
    ("outreach", "POST", "/v1/letter-batches/{batch_id}/sent"): CASEWORK,
    ("outreach", "POST", "/v1/letter-batches/{batch_id}/email"): CASEWORK,
    ("measures", "POST", "/v1/youths/{youth_id}/measure-offers"): CASEWORK,
    ("measures", "POST", "/v1/youths/{youth_id}/measures/{measure_id}/acceptance"): CASEWORK,
    ("measures", "POST", "/v1/youths/{youth_id}/measures/{measure_id}/decline"): CASEWORK,
    ("measures", "POST", "/v1/youths/{youth_id}/measures/{measure_id}/start"): CASEWORK,
    ("measures", "POST", "/v1/youths/{youth_id}/measures/{measure_id}/end"): CASEWORK,
    ("measures", "GET", "/v1/youths/{youth_id}/measures"): CASEWORK,
    ("measures", "PUT", "/v1/youths/{youth_id}/plan"): CASEWORK,
    ("measures", "GET", "/v1/youths/{youth_id}/plan"): CASEWORK,
    ("measures", "GET", "/v1/youths/{youth_id}/plan/revisions"): CASEWORK,
    ("measures", "POST", "/v1/youths/{youth_id}/follow-ups/{follow_up_id}/completion"): CASEWORK,
    ("measures", "POST", "/v1/youths/{youth_id}/objections"): CASEWORK,
    ("measures", "POST", "/v1/youths/{youth_id}/measures/{measure_id}/corrections"): CASEWORK,
    ("measures", "POST", "/v1/youths/{youth_id}/measures/{measure_id}/withdrawals"): CASEWORK,
    ("measures", "POST", "/v1/youths/{youth_id}/plan/corrections"): CASEWORK,
    ("measures", "POST", "/v1/youths/{youth_id}/plan/withdrawals"): CASEWORK,
    ("measures", "POST", "/v1/youths/{youth_id}/follow-ups/{follow_up_id}/corrections"): CASEWORK,
    ("measures", "POST", "/v1/youths/{youth_id}/follow-ups/{follow_up_id}/withdrawals"): CASEWORK,
    ("measures", "POST", "/v1/youths/{youth_id}/objections/corrections"): CASEWORK,
    ("measures", "POST", "/v1/youths/{youth_id}/objections/withdrawals"): CASEWORK,
    ("measures", "GET", "/v1/catalogue"): CASEWORK | CONFIGURATION,
    ("measures", "PUT", "/v1/catalogue/{code}"): CONFIGURATION,
    ("measures", "DELETE", "/v1/catalogue/{code}"): CONFIGURATION,
    ("measures", "GET", "/v1/tenant-rules"): CASEWORK | CONFIGURATION,
    ("measures", "PUT", "/v1/tenant-rules"): CONFIGURATION,
    ("register", "GET", "/v1/audit/register"): {"inspector"},
    ("register", "GET", "/v1/audit/youths/{youth_id}"): {"inspector"},
    ("register", "GET", "/v1/youths"): READERS,
    ("register", "GET", "/v1/youths/{youth_id}"): READERS,
    ("register", "GET", "/v1/quality"): READERS,
    ("register", "GET", "/v1/dead-events"): READERS | {"operator"},
    ("register", "GET", "/v1/summary"): READERS,
    ("register", "GET", "/v1/youths/{youth_id}/identity"): CASEWORK,
    ("register", "POST", "/v1/identities/batch"): CASEWORK,
    ("register", "POST", "/v1/youths/lookup"): CASEWORK,
    ("register", "GET", "/v1/youths/{youth_id}/extract"): {"coordinator"},
    ("register", "GET", "/v1/access-log"): {"inspector"},
    ("register", "GET", "/v1/scb/report"): {"coordinator"},
    ("register", "POST", "/v1/scb/exports"): {"coordinator"},
    ("register", "GET", "/v1/scb/exports"): {"coordinator"},
    ("connect", "GET", "/v1/connectors"): {"operator"},
}
MATRIX.update(EXTRA)  # the endpoints added for the web application's parts
# Called by the organisers' systems, which hold no kaa token: the address's random token is the
# credential (services/connect/entrypoints/http.py), an unknown one is 404.
PUBLIC = {("connect", "POST", "/v1/ss12000/callbacks/{token}")}
SERVICES = ("identify", "outreach", "measures", "register", "connect")
PATH_VALUES = {
    "youth_id": str(uuid.uuid4()),
    "measure_id": str(uuid.uuid4()),
    "follow_up_id": str(uuid.uuid4()),
    "scope_episode_id": str(uuid.uuid4()),
    "batch_id": str(uuid.uuid4()),
    "name": "first_contact",
    "code": "own_mentoring",
    "token": "A" * 43,
}


@pytest.fixture(scope="module")
def clients() -> Iterator[dict[str, TestClient]]:
    with service_clients(tenants="0180,0181", services=SERVICES) as built:
        yield built


def endpoints(clients: dict[str, TestClient]) -> set[tuple[str, str, str]]:
    found: set[tuple[str, str, str]] = set()
    for service, client in clients.items():
        for path, operations in client.app.openapi()["paths"].items():  # type: ignore[attr-defined]
            found.update((service, method.upper(), path) for method in operations)
    return found


def call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> Any:
    url = path.format(**PATH_VALUES)
    body: dict[str, Any] | None = {} if method in ("POST", "PUT") else None
    return client.request(method, url, headers=headers, json=body)


def bearer(*roles: str, tenant: str = "0180", **extra: Any) -> dict[str, str]:
    token = issue_token(SECRET, subject="matrix", tenant=tenant, roles=list(roles), **extra)
    return {"Authorization": f"Bearer {token}"}


def test_the_matrix_lists_every_endpoint(clients: dict[str, TestClient]) -> None:
    assert endpoints(clients) == set(MATRIX) | PUBLIC, "decide who may call a new endpoint here"


def test_a_callback_to_an_address_no_subscription_has_is_refused(
    clients: dict[str, TestClient],
) -> None:
    for token in ("A" * 43, "x", "../../v1/connectors"):
        answer = clients["connect"].post(f"/v1/ss12000/callbacks/{token}", json={})
        assert answer.status_code == 404, token


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_its_endpoints(clients: dict[str, TestClient], role: str) -> None:
    wrong = []
    for (service, method, path), allowed in MATRIX.items():
        status = call(clients[service], method, path, bearer(role)).status_code
        passed = status not in (401, 403)
        if passed != (role in allowed):
            wrong.append(f"{service} {method} {path}: {status}")
    assert not wrong, f"{role}: " + "; ".join(wrong)


def test_no_endpoint_answers_without_a_valid_token_or_for_an_unserved_municipality(
    clients: dict[str, TestClient],
) -> None:
    everyone = bearer(*ROLES, tenant="0380")
    expired = {
        "Authorization": "Bearer "
        + issue_token(SECRET, subject="x", tenant="0180", roles=list(ROLES),
                      lifetime=timedelta(minutes=-5))
    }  # fmt: skip
    consortium = {
        "Authorization": "Bearer "
        + issue_token(SECRET, subject="x", tenants=["0180", "0181"], roles=list(ROLES))
    }
    for service, method, path in MATRIX:
        client = clients[service]
        assert call(client, method, path, {}).status_code == 401, (service, method, path)
        assert call(client, method, path, expired).status_code == 401, (service, method, path)
        assert call(client, method, path, everyone).status_code == 403, (service, method, path)
        assert call(client, method, path, consortium).status_code == 400, (service, method, path)
        chosen = {**consortium, TENANT_HEADER: "0181"}
        assert call(client, method, path, chosen).status_code not in (400, 401, 403)


def notification_body(**extra: Any) -> dict[str, Any]:
    return {"personnummer": "200801011230", "kind": "left", "on": "2026-03-02",
            "school_type": "GY", "school_unit": "unit-1", **extra}  # fmt: skip


@pytest.mark.parametrize(("tenant", "other"), [("0180", "0181"), ("0181", "0180")])
def test_a_school_reporter_notifies_only_the_municipality_its_token_acts_for(
    clients: dict[str, TestClient], tenant: str, other: str
) -> None:
    """Issue 13 section 3, both directions: naming another municipality as hemkommun is refused
    before anything is recorded (without `hemkommun` the notification counts for the token's own
    municipality only: tests/unit/identify/test_identify_scope.py and tests/e2e/test_identify.py)."""
    identify = clients["identify"]
    reporter = bearer("school-reporter", tenant=tenant)
    refused = identify.post(
        "/v1/school-notifications", headers=reporter, json=notification_body(hemkommun=other)
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["detail"].startswith("hemkommun: ")
    [error] = refused.json()["errors"]  # the same errors list as every other refusal
    assert error["field"] == "hemkommun"
    assert other not in refused.text, "the submitted value is not echoed"
    for own in ({}, {"hemkommun": tenant}):
        passed = identify.post(
            "/v1/school-notifications", headers=reporter, json=notification_body(**own)
        )
        assert passed.status_code not in (401, 403, 422), passed.text
    # A token covering both notifies the one the request acts for, and only that one.
    both = {
        "Authorization": "Bearer "
        + issue_token(SECRET, subject="school", tenants=[tenant, other], roles=["school-reporter"]),
        TENANT_HEADER: tenant,
    }
    assert (
        identify.post(
            "/v1/school-notifications", headers=both, json=notification_body(hemkommun=other)
        ).status_code
        == 403
    )
    assert identify.post(
        "/v1/school-notifications", headers=both, json=notification_body(hemkommun=tenant)
    ).status_code not in (401, 403, 422)
