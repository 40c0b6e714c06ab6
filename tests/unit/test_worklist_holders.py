"""Whose cases a worklist holds, at the door: the caller's teams come from their token (an optional
`teams` claim, mapped by `KAA_TOKEN_CLAIMS` like the roles), and outreach's `assigned` parameter
is refused naming it when it contradicts `mine` or `assignee`, or asks for teams the token does not
name (before any database is read)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from shared.auth import Principal, issue_token, principal_dependency
from shared.token_claims import ClaimMap, teams_of
from tests.unit.apps import SECRET, bearer, service_clients


@pytest.fixture(scope="module")
def outreach() -> Iterator[TestClient]:
    with service_clients(today="2026-03-02", services=("outreach",)) as built:
        yield built["outreach"]


def teams_seen(token: str) -> tuple[int, object]:
    """What a service's principal holds as the caller's teams for this token."""
    app = FastAPI()
    authenticate = principal_dependency(SECRET, ["0180"])

    @app.get("/teams")
    async def teams(request: Request) -> list[str]:
        caller: Principal = await authenticate(request)
        return sorted(caller.teams)

    answer = TestClient(app).get("/teams", headers={"Authorization": f"Bearer {token}"})
    return answer.status_code, answer.json()


def test_the_callers_teams_come_from_the_tokens_teams_claim() -> None:
    token = issue_token(SECRET, subject="anna", tenant="0180", roles=["caseworker"],
                        teams=["team-north", "team.south"])  # fmt: skip
    assert teams_seen(token) == (200, ["team-north", "team.south"])
    plain = issue_token(SECRET, subject="anna", tenant="0180", roles=["caseworker"])
    assert teams_seen(plain) == (200, [])


def test_a_teams_claim_that_is_not_a_list_of_text_refuses_the_token_naming_it() -> None:
    import time

    import jwt

    now = int(time.time())
    claims = {"iss": "kaa", "aud": "kaa-api", "sub": "anna", "tenant": "0180",
              "roles": ["caseworker"], "exp": now + 600, "iat": now, "teams": "north"}  # fmt: skip
    status, body = teams_seen(jwt.encode(claims, SECRET, algorithm="HS256"))
    assert status == 401
    assert "claim teams" in str(body)
    assert "north" not in str(body)


def test_a_providers_team_claim_maps_to_kaas_teams_and_only_team_codes_count() -> None:
    mapping = ClaimMap(roles="groups", teams="kaa_team")
    mapped = mapping.apply({"groups": ["caseworker"], "kaa_team": "team-north", "teams": ["x"]})
    assert mapped["teams"] == ["team-north"]
    assert teams_of(mapped) == {"team-north"}
    assert not ClaimMap(teams="kaa_team").is_identity
    odd = {"teams": ["CN=Team North,OU=Kommun", "user:anna", "", "team-north", 7]}
    assert teams_of(odd) == {"team-north"}  # never a caseworker's assignee


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"assigned": "none", "assignee": "team-north"}, "not both"),
        ({"assigned": "none", "mine": "true"}, "contradicts mine"),
        ({"assigned": "my_teams", "mine": "true"}, "contradicts mine"),
        ({"assigned": "my_teams"}, "no team"),
    ],
)
def test_contradicting_holders_are_refused_naming_assigned(
    outreach: TestClient, params: dict[str, str], problem: str
) -> None:
    answer = outreach.get("/v1/worklists/first_contact", headers=bearer("caseworker"),
                          params=params)  # fmt: skip
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert error["field"] == "assigned"
    assert problem in error["problem"]
    assert "team-north" not in answer.text
    if "assignee" not in params:
        counts = outreach.get("/v1/worklists", headers=bearer("caseworker"), params=params)
        assert counts.status_code == 422, counts.text
        assert counts.json()["errors"][0]["field"] == "assigned"


def test_an_unknown_holder_is_refused_naming_the_parameter(outreach: TestClient) -> None:
    answer = outreach.get("/v1/worklists", headers=bearer("caseworker"),
                          params={"assigned": "someone"})  # fmt: skip
    assert answer.status_code == 422
    assert "assigned" in answer.text


def test_the_route_asks_for_the_teams_the_callers_token_names(
    outreach: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.outreach.commands import OutreachHandlers, WorklistQuery

    asked: list[WorklistQuery] = []

    async def worklist(
        self: object, caller: object, query: WorklistQuery
    ) -> tuple[int, list[object]]:
        asked.append(query)
        return 0, []

    monkeypatch.setattr(OutreachHandlers, "worklist", worklist)
    answer = outreach.get("/v1/worklists/recontact", params={"assigned": "my_teams"},
                          headers=bearer("caseworker", teams=["team-north"]))  # fmt: skip
    assert answer.status_code == 200, answer.text
    [query] = asked
    assert (query.name, query.assigned, query.teams) == (
        "recontact",
        "my_teams",
        frozenset({"team-north"}),
    )
