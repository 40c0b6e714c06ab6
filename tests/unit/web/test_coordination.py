"""The coordinator's pages over a fake of the services: the team overview (caseload per holder,
the lists, names as Min dag shows them), assigning many youths at once (each through outreach's
assignment, what was refused named on the page, nothing personal in an address), the rules form
(only what changed is sent, each to its service; bounds said in Swedish) and the catalogue."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from services.web.adapters.services_api import Refused
from services.web.adapters.sessions import Session
from services.web.domain import coordination
from services.web.entrypoints.coordinator_pages import coordinator_routes
from tests.unit.web.page_matrix.coordinator import ANSWERS, RULES
from tests.unit.web.site_support import page_client
from tests.unit.web.youth_support import CSRF, YOUTH, FakeApi, user

OTHER = uuid.UUID("0d6f1c2a-3b4e-4f5a-8b9c-1d2e3f4a5b6c")
SECRET = "secret"


def site(api: FakeApi, session: Session | None = None) -> TestClient:
    return page_client(api, coordinator_routes, session or user("coordinator"), secret=SECRET)


def services() -> FakeApi:
    api = FakeApi()
    for (service, method, path), answer in ANSWERS.items():
        api.answers[(service, method, path)] = answer
    return api


def test_the_overview_shows_the_caseload_per_holder_and_the_unassigned_by_name() -> None:
    api = services()
    page = site(api).get("/samordning")
    assert page.status_code == 200
    text = page.text
    assert "Team teamet" in text
    assert "Ärenden per handläggare och team" in text
    assert "Alva Olsson, 17 år" in text  # the name as Min dag shows it
    assert f'href="/ungdomar/{YOUTH}"' in text
    assert "Ej tilldelade ungdomar (1)" in text
    key = coordination.holder_key(SECRET, "team", "teamet")
    assert f"vem={key}" in text
    assert "teamet" not in key
    # the names were read for casework (in the register's access log)
    assert any(c[2] == "/v1/identities/batch" and c[4]["purpose"] == "casework"
               for c in api.calls if c[4])  # fmt: skip


def test_a_holders_cases_are_asked_for_by_the_holder_the_key_names() -> None:
    api = services()
    key = coordination.holder_key(SECRET, "team", "teamet")
    page = site(api).get(f"/samordning?visa=ansvarig&vem={key}")
    assert "Ärenden hos Team teamet" in page.text
    asked = [c[3] for c in api.calls if c[2] == "/v1/caseload/cases"]
    assert asked == [{"limit": 50, "assignee": "teamet"}]


def test_first_contacts_past_the_limit_only_are_listed() -> None:
    api = services()
    late = {"limit_working_days": 10, "working_days_waiting": 14, "within_limit": False}
    early = {"limit_working_days": 10, "working_days_waiting": 3, "within_limit": True}
    api.answers[("outreach", "GET", "/v1/worklists/first_contact")] = {"total": 2, "items": [
        {"youth_id": str(YOUTH), "since": "2026-02-01", "assignee": None, "clock": late,
         "why": {"code": "new_in_scope"}},
        {"youth_id": str(OTHER), "since": "2026-02-25", "assignee": None, "clock": early,
         "why": {"code": "new_in_scope"}},
    ]}  # fmt: skip
    page = site(api).get("/samordning?visa=forsta-kontakt")
    assert str(YOUTH) in page.text
    assert str(OTHER) not in page.text
    assert "4 arbetsdagar över gränsen" in page.text


def test_many_youths_are_assigned_at_once_and_the_answer_holds_no_name() -> None:
    api = services()
    form = {"csrf": CSRF, "ungdom": [str(YOUTH), str(OTHER), str(YOUTH)],
            "assignee_kind": "caseworker", "assignee": "anna", "visa": "ej-tilldelade"}  # fmt: skip
    answer = site(api).post("/samordning/tilldela", data=form)
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert "tilldelade=2" in location
    assert "anna" not in location
    assert api.posted(f"/v1/youths/{YOUTH}/assignment") == [
        {"assignee_kind": "caseworker", "assignee": "anna"}
    ]
    assert len(api.posted(f"/v1/youths/{OTHER}/assignment")) == 1


def test_a_refused_youth_is_named_on_the_page_and_the_others_are_assigned() -> None:
    api = services()
    api.answers[("outreach", "PUT", f"/v1/youths/{YOUTH}/assignment")] = Refused(409, "no")
    form = {"csrf": CSRF, "ungdom": [str(YOUTH), str(OTHER)], "assignee_kind": "team",
            "assignee": "norr"}  # fmt: skip
    page = site(api).post("/samordning/tilldela", data=form)
    assert page.status_code == 200
    assert "1 av 2 ungdomar tilldelades Team norr" in page.text
    assert "Alva Olsson, 17 år</a>: är inte i aktivitetsansvaret nu" in page.text


def test_assigning_without_a_youth_or_an_assignee_says_so_by_the_fields() -> None:
    api = services()
    page = site(api).post("/samordning/tilldela", data={"csrf": CSRF, "assignee_kind": "team"})
    assert page.status_code == 422
    assert 'href="#tilldela-ungdomar"' in page.text
    assert 'href="#tilldela-assignee"' in page.text
    assert not [c for c in api.calls if c[1] == "PUT"]


def test_a_caseworker_gets_the_forbidden_page_and_no_service_is_asked() -> None:
    api = services()
    for path in ("/samordning", "/samordning/regler"):
        page = site(api, user("caseworker")).get(path)
        assert page.status_code == 403
        assert "Du har inte behörighet" in page.text
    assert api.calls == []


def test_the_rules_page_explains_each_rule_and_shows_the_history() -> None:
    page = site(services()).get("/samordning/regler")
    assert page.status_code == 200
    for text in coordination.RULES.values():
        assert text.label in page.text
    assert "Gräns för första kontaktförsök: 10 arbetsdagar → 7 arbetsdagar" in page.text
    assert "sara" in page.text
    assert "Lades till: Egen praktik (kod egen_praktik)" in page.text


def test_only_the_rules_changed_are_sent_each_to_its_service() -> None:
    api = services()
    form: dict[str, Any] = {"csrf": CSRF, **{k: str(v) for k, v in RULES.items()}}
    form |= {"recontact_days": "45", "reoffer_after_days": " 20 "}
    answer = site(api).post("/samordning/regler", data=form)
    assert answer.status_code == 303
    puts = [(c[0], c[4]) for c in api.calls if c[1] == "PUT"]
    assert puts == [("outreach", {"rules": {"recontact_days": 45}}),
                    ("measures", {"rules": {"reoffer_after_days": 20}})]  # fmt: skip


def test_a_rule_out_of_bounds_is_said_in_swedish_next_to_its_field() -> None:
    api = services()
    api.answers[("outreach", "PUT", "/v1/tenant-rules")] = Refused(
        422, "invalid", [{"field": "recontact_days", "problem": "must be between 1 and 365"}]
    )
    form = {"csrf": CSRF, **{k: str(v) for k, v in RULES.items()}, "recontact_days": "900"}
    page = site(api).post("/samordning/regler", data=form)
    assert page.status_code == 422
    assert "måste vara mellan 1 och 365" in page.text
    assert 'value="900"' in page.text
    bad = site(api).post("/samordning/regler", data={**form, "recontact_days": "tio"})
    assert "måste vara ett helt antal dagar" in bad.text


def test_an_own_measure_is_added_and_a_bad_code_is_refused_here() -> None:
    api = services()
    form = {"csrf": CSRF, "code": "egen_praktik", "name": "Egen praktik", "shared": "ja"}
    assert site(api).post("/samordning/insatser", data=form).status_code == 303
    assert api.posted("/v1/catalogue/egen_praktik") == [
        {"name": "Egen praktik", "description": None, "provider": None, "shared": True}
    ]
    bad = site(api).post("/samordning/insatser", data={**form, "code": "Egen praktik"})
    assert bad.status_code == 422
    assert "små bokstäver" in bad.text


def test_an_own_measure_is_shown_for_editing_and_removed_from_its_catalogue() -> None:
    api = services()
    own = {"code": "egen_praktik", "name": "Egen praktik", "description": "Fyra veckor",
           "provider": "Kommunen", "source": "consortium"}  # fmt: skip
    api.answers[("measures", "GET", "/v1/catalogue")] = {"entries": [own]}
    page = site(api).get("/samordning/regler?andra=egen_praktik")
    assert "Ändra Egen praktik" in page.text
    assert 'value="egen_praktik"' in page.text
    assert 'id="insats-shared" name="shared" type="checkbox" value="ja" checked' in page.text
    form = {"csrf": CSRF, "code": "egen_praktik", "shared": "ja"}
    assert site(api).post("/samordning/insatser/ta-bort", data=form).status_code == 303
    removed = [c[3] for c in api.calls if c[1] == "DELETE"]
    assert removed == [{"shared": "true"}]
    api.answers[("measures", "DELETE", "/v1/catalogue/egen_praktik")] = Refused(422, "no")
    again = site(api).post("/samordning/insatser/ta-bort", data=form)
    assert again.status_code == 422
    assert "Insatsen kunde inte tas bort" in again.text
