"""Min dag's choice of whose cases over a fake of the services: "Mina", "Mitt team" (only for a
user whose token names a team), "Ej tilldelade", "Hela kommunen"; the counts and the list are
asked for the same cases; nothing of the choice but its word in the address; a polite status
region for live updates."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.web.adapters.services_api import Refused
from services.web.commands import whose_of
from services.web.entrypoints.pages import pages
from tests.unit.web.site_support import page_client
from tests.unit.web.youth_support import YOUTH, FakeApi, user

COUNTS = "/v1/worklists"
LIST = "/v1/worklists/first_contact"
ITEM = {"youth_id": str(YOUTH), "reason": "in scope; no contact attempt yet",
        "since": "2026-02-27", "assignee": None, "clock": None}  # fmt: skip


def min_dag(api: FakeApi) -> TestClient:
    return page_client(api, pages, user())


def services(teams: list[str], total: int = 1) -> FakeApi:
    api = FakeApi()
    api.answers[("outreach", "GET", COUNTS)] = {
        "today": "2026-03-02", "teams": teams,
        "open": {"first_contact": total, "recontact": 0, "stale_occupation": 2,
                 "turning_20": 0, "follow_up": 0},
    }  # fmt: skip
    api.answers[("outreach", "GET", LIST)] = {"total": total, "items": [ITEM] * min(total, 1)}
    return api


def asked(api: FakeApi, path: str) -> list[dict[str, Any] | None]:
    return [params for _, method, p, params, _ in api.calls if p == path and method == "GET"]


@pytest.mark.parametrize(
    ("vems", "holder", "said"),
    [
        ("mine", {"mine": True}, "mina ärenden"),
        ("team", {"assigned": "my_teams"}, "mitt teams ärenden"),
        ("unassigned", {"assigned": "none"}, "ärenden som ingen har tagit"),
        ("all", {}, "hela kommunens ärenden"),
    ],
)
def test_the_counts_and_the_list_are_asked_for_the_same_cases(
    vems: str, holder: dict[str, Any], said: str
) -> None:
    api = services(["team-north"])
    page = min_dag(api).get("/min-dag", params={"lista": "first_contact", "vems": vems})
    assert page.status_code == 200, page.text
    assert asked(api, COUNTS) == [holder]
    assert asked(api, LIST) == [{"limit": 25, **holder}]
    assert f"Arbetslistor 2 mars 2026, {said}." in page.text
    assert re.search(rf'id="vems-{vems}" href="[^"]*" aria-current="page"', page.text)
    assert 'data-kaa-total="1"' in page.text
    assert 'id="min-dag-status" role="status" aria-live="polite"' in page.text


def test_my_team_is_offered_only_to_a_user_whose_token_names_a_team() -> None:
    without = min_dag(services([])).get("/min-dag").text
    assert 'id="vems-team"' not in without
    for choice in ("Mina", "Ej tilldelade", "Hela kommunen"):
        assert f">{choice}</a>" in without
    assert ">Mitt team</a>" in min_dag(services(["team-north"])).get("/min-dag").text
    assert ">Mina team</a>" in min_dag(services(["a", "b"])).get("/min-dag").text


class NoTeam(FakeApi):
    """Outreach as it answers a user whose token names no team."""

    async def call(self, service: str, method: str, path: str, token: str, tenant: str, *,
                   params: dict[str, Any] | None = None, body: dict[str, Any] | None = None,
                   ) -> Any:  # fmt: skip
        answer = await super().call(service, method, path, token, tenant, params=params)
        if (params or {}).get("assigned") == "my_teams":
            raise Refused(422, "invalid request", [
                {"field": "assigned", "problem": "the caller's token names no team"}])  # fmt: skip
        return answer


def test_my_team_for_a_user_without_a_team_shows_their_own_cases() -> None:
    api = NoTeam()
    api.answers = services([]).answers
    page = min_dag(api).get("/min-dag", params={"vems": "team"})
    assert page.status_code == 200
    assert "Arbetslistor 2 mars 2026, mina ärenden." in page.text
    assert asked(api, LIST)[-1] == {"limit": 25, "mine": True}


def test_an_unknown_choice_in_the_address_is_the_users_own_cases() -> None:
    assert [whose_of(v) for v in ("team", "unassigned", "all", "mine", "x", "")] == [
        "team", "unassigned", "all", "mine", "mine", "mine",
    ]  # fmt: skip


def test_every_link_of_the_list_has_an_id_so_a_live_update_keeps_the_focus() -> None:
    page = min_dag(services(["team-north"])).get("/min-dag").text
    listed = page.split('id="min-dag-lista"', 1)[1]
    links = re.findall(r"<a [^>]*>", listed)
    assert links
    assert all(' id="' in link for link in links), [a for a in links if ' id="' not in a]
