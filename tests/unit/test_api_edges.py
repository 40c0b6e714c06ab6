"""Answers at the HTTP edge (issue 13, sections 5 and 6), in-process without Kafka or PostgreSQL:
the register's bounded parameters answer 422 naming the parameter (never the value), and every
service documents itself without a CDN, with the bearer scheme and the real error body."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from shared.auth import ROLES, issue_token
from tests.unit.apps import SECRET, service_clients

SERVICES = ("identify", "outreach", "measures", "register")


@pytest.fixture(scope="module")
def clients() -> Iterator[dict[str, TestClient]]:
    with service_clients() as built:
        yield built


def bearer(*roles: str) -> dict[str, str]:
    token = issue_token(SECRET, subject="edge", tenant="0180", roles=list(roles))
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("path", "field", "value"),
    [
        ("/v1/youths?offset=9223372036854775808", "query.offset", "9223372036854775808"),
        ("/v1/youths?offset=-1", "query.offset", "-1"),
        ("/v1/access-log?offset=99999999999999999999", "query.offset", "99999999999999999999"),
        ("/v1/access-log?until=9999-12-31T23:59:59-14:00", "query.until", "9999-12-31"),
        ("/v1/access-log?since=0001-01-01T00:00:00%2B14:00", "query.since", "0001-01-01"),
        ("/v1/access-log?since=2026-03-01T00:00:00", "query.since", "2026-03-01"),
        ("/v1/audit/register?as_of=0001-01-01T00:00:00%2B14:00", "query.as_of", "0001-01-01"),
        ("/v1/audit/youths/7c2d5a52-6a55-4b9e-9d43-1b1f5b7a0e11?as_of=9999-12-31T23:59:59-14:00",
         "query.as_of", "9999-12-31"),
        ("/v1/audit/register?as_of=2026-03-01T10:00:00", "query.as_of", "2026-03-01"),
        ("/v1/quality?period=1'%20OR%20'1'='1", "query.period", "OR"),
        ("/v1/quality?period=2026H3", "query.period", "2026H3"),
        ("/v1/scb/report?period=%00%00%00%00%00%00", "query.period", "\x00"),
        ("/v1/youths?assignee=anna%00", "query.assignee", "anna"),
    ],
)  # fmt: skip
def test_register_parameters_are_refused_naming_the_parameter_never_the_value(
    clients: dict[str, TestClient], path: str, field: str, value: str
) -> None:
    response = clients["register"].get(path, headers=bearer("inspector", "coordinator"))
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert value not in response.text


@pytest.mark.parametrize(
    "path",
    ["/v1/quality?period=1999H1", "/v1/quality?period=2999H2", "/v1/scb/report?period=2101H1"],
)
def test_a_period_outside_the_register_is_named_without_its_value(
    clients: dict[str, TestClient], path: str
) -> None:
    response = clients["register"].get(path, headers=bearer("coordinator"))
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith("period: ")
    assert not re.search(r"1999|2999|2101", detail)


def test_an_instant_with_its_plus_unencoded_is_read_as_the_plus(
    clients: dict[str, TestClient],
) -> None:
    """`as_of=…+02:00` typed into a URL arrives as a space: accepted (it reaches the replay,
    which here has no database: anything but a 422 about as_of)."""
    headers = bearer("inspector")
    written = clients["register"].get(
        "/v1/audit/register?as_of=2026-03-01T10:00:00+02:00", headers=headers
    )
    assert written.status_code != 422, written.text
    hint = clients["register"].get("/v1/audit/register?as_of=2026-03-01T10:00", headers=headers)
    assert hint.status_code == 422
    assert "%2B" in hint.json()["errors"][0]["problem"]


@pytest.mark.parametrize("service", SERVICES)
def test_docs_load_nothing_from_outside(clients: dict[str, TestClient], service: str) -> None:
    client = clients[service]
    page = client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", page.text)
    assert sources, "the page loads its script and style"
    assert all(s.startswith("/") for s in sources), sources
    assert "cdn" not in page.text.lower()
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200, source
        assert len(asset.content) > 100
    assert client.get("/redoc").status_code == 404, "no CDN-loading redoc page"


@pytest.mark.parametrize("service", SERVICES)
def test_openapi_declares_the_bearer_scheme_and_the_error_answers(
    clients: dict[str, TestClient], service: str
) -> None:
    document = clients[service].get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"] == "bearer"
    error = document["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"detail", "errors"}
    assert set(document["components"]["schemas"]["FieldProblem"]["properties"]) == {
        "field",
        "problem",
    }
    operations = [
        operation
        for methods in document["paths"].values()
        for method, operation in methods.items()
        if method in ("get", "put", "post", "delete")
    ]
    assert operations
    for operation in operations:
        assert operation["security"] == [{"bearer": []}]
        for code in ("401", "403", "404", "409", "413", "422"):
            content = operation["responses"][code]["content"]["application/json"]
            assert content["schema"] == {"$ref": "#/components/schemas/Error"}


def test_the_declared_error_body_is_the_one_sent(clients: dict[str, TestClient]) -> None:
    response = clients["measures"].post(
        "/v1/youths/7c2d5a52-6a55-4b9e-9d43-1b1f5b7a0e11/objections",
        json={"on": "not a day"},
        headers=bearer(*ROLES),
    )
    assert response.status_code == 422
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert body["errors"] == [{"field": "body.on", "problem": body["errors"][0]["problem"]}]
