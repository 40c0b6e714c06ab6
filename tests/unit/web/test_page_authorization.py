"""The authorization of every web page × every role, like the services' matrix
(`tests/unit/test_authorization_matrix.py`).

The pages are the web application's own routes (its OpenAPI paths, as `create_app` builds them):
the table below decides for each who may use it, and the test fails when a page exists that the
table does not list, so a new page cannot ship without a decision. The services are a fake that
refuses exactly as they do: a role their matrix does not allow for an endpoint gets 403 (and the
test fails when a page calls an endpoint the matrix does not know). A page a role may not use is
the forbidden page (403, in Swedish) and nothing is recorded; one it may use answers it; without
a session every page but the sign-in's sends the browser to sign in; a form posted without its
form token is refused (403) before any service is called.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.web.adapters.config import WebConfig
from services.web.adapters.live import LiveHub
from services.web.adapters.services_api import Refused, ServicesApi
from services.web.adapters.sessions import Session
from services.web.bootstrap import create_app, routers
from services.web.commands.youth import occupations
from services.web.entrypoints.common import SIGNIN, Web
from services.web.entrypoints.errors import error_pages
from shared.auth import ROLES
from shared.settings import ServiceSettings
from tests.unit.test_authorization_matrix import MATRIX
from tests.unit.web import page_matrix
from tests.unit.web.youth_support import CASE, NAMES, TIMELINE, YOUTH

CASEWORK = frozenset({"caseworker", "coordinator"})
SIGNED_IN = frozenset(ROLES)  # any signed-in user, whatever the role
PUBLIC = None  # no session needed at all

# Who may use each page. Casework pages show or record a youth's case: the services allow their
# data to caseworkers and coordinators only; so is the live stream of their worklists (pseudonymous
# ids of the user's own municipality). Sign-out and the blank search form are for anyone signed in.
PAGES: dict[tuple[str, str], frozenset[str] | None] = {
    ("GET", "/logga-in"): PUBLIC,
    ("POST", "/logga-in"): PUBLIC,
    ("GET", "/"): PUBLIC,  # only a redirect to /min-dag
    ("POST", "/logga-ut"): SIGNED_IN,
    ("GET", "/live"): CASEWORK,
    ("GET", "/min-dag"): CASEWORK,
    ("GET", "/min-dag/lista"): CASEWORK,
    ("POST", "/ungdomar/{youth_id}/ta-arende"): CASEWORK,
    ("GET", "/ungdomar/{youth_id}"): CASEWORK,
    ("POST", "/ungdomar/{youth_id}/identitet"): CASEWORK,
    ("POST", "/ungdomar/{youth_id}/kontaktuppgifter"): CASEWORK,
    ("POST", "/ungdomar/{youth_id}/tilldelning"): CASEWORK,
    ("GET", "/ungdomar/{youth_id}/kontakter"): CASEWORK,
    ("POST", "/ungdomar/{youth_id}/kontakter/{form}"): CASEWORK,
    ("GET", "/sok"): SIGNED_IN,  # a blank form; the register refuses its search to other roles
    ("POST", "/sok"): CASEWORK,
    ("GET", "/ungdomar/{youth_id}/plan"): CASEWORK,
    ("POST", "/ungdomar/{youth_id}/plan"): CASEWORK,
    ("GET", "/ungdomar/{youth_id}/plan/utskrift"): CASEWORK,
    ("GET", "/ungdomar/{youth_id}/insatser"): CASEWORK,
    ("POST", "/ungdomar/{youth_id}/insatser/erbjud"): CASEWORK,
    ("POST", "/ungdomar/{youth_id}/insatser/invandning"): CASEWORK,
    ("POST", "/ungdomar/{youth_id}/insatser/{measure_id}"): CASEWORK,
}
PAGES.update(page_matrix.PAGES)  # the coordinator's, inspector's, school's, operator's pages
MEASURE = uuid.UUID("0c6a3f64-2b1e-4d35-9b0e-3f1c2d4e5a6b")
AT = "2026-03-02 09:00"
# A form each page accepts as far as the services (so that what decides is the services' answer).
FORMS: dict[str, list[dict[str, str]]] = {
    "/ungdomar/{youth_id}/ta-arende": [{}],
    "/ungdomar/{youth_id}/identitet": [{"purpose": "casework"}],
    "/ungdomar/{youth_id}/kontaktuppgifter": [{"email": "ung@example.org"}],
    "/ungdomar/{youth_id}/tilldelning": [{"assignee_kind": "team", "assignee": "teamet"}],
    "/ungdomar/{youth_id}/kontakter/{form}": [
        {"_form": "forsok", "channel": "phone", "outcome": "reached", "attempted_at": AT},
        {"_form": "kontakt", "channel": "phone", "at": AT},
        {"_form": "information", "channel": "phone", "at": AT},
        {
            "_form": "sysselsattning",
            "category": next(iter(occupations())),
            "tense": "current",
            "from_date": "2026-03-02",
        },
    ],
    "/sok": [{"personnummer": "20080302-2383", "purpose": "casework"}],
    "/ungdomar/{youth_id}/plan": [{"valid_from": "2026-03-02", "goal": "Komvux"}],
    "/ungdomar/{youth_id}/insatser/erbjud": [
        {"measure_type": "internship", "offered_on": "2026-03-02"}
    ],
    "/ungdomar/{youth_id}/insatser/invandning": [{"on": "2026-03-02"}],
    "/ungdomar/{youth_id}/insatser/{measure_id}": [{"steg": "tacka-ja", "on": "2026-03-02"}],
}
ANSWERS: dict[tuple[str, str, str], Any] = {
    ("outreach", "GET", "/v1/worklists"): {"today": "2026-03-02", "open": {}},
    ("outreach", "GET", "/v1/worklists/{name}"): {"items": [], "total": 0},
    ("outreach", "GET", "/v1/youths/{youth_id}/case"): CASE,
    ("register", "GET", "/v1/youths/{youth_id}"): TIMELINE,
    ("register", "POST", "/v1/identities/batch"): NAMES,
    ("register", "POST", "/v1/youths/lookup"): {"youth_id": str(YOUTH)},
    ("register", "GET", "/v1/youths/{youth_id}/identity"): {
        "state": "open",
        "personnummer": "200803022383",
        "given_name": "Vera",
        "family_name": "Ek",
        "address": None,
        "protected": False,
    },
    ("measures", "GET", "/v1/youths/{youth_id}/measures"): {"measures": []},
    ("measures", "GET", "/v1/catalogue"): {"entries": [{"code": "internship", "name": "Praktik"}]},
    ("measures", "GET", "/v1/youths/{youth_id}/plan"): {"as_of": "2026-03-02", "plan": None},
    ("measures", "GET", "/v1/youths/{youth_id}/plan/revisions"): {"revisions": []},
}
FORMS.update(page_matrix.FORMS)
ANSWERS.update(page_matrix.ANSWERS)
READS = {("register", "POST", "/v1/identities/batch"), ("register", "POST", "/v1/youths/lookup")}


def template_of(service: str, method: str, path: str) -> tuple[str, str, str]:
    """The services' endpoint (as their matrix names it) that a call goes to."""
    for known in MATRIX:
        pattern = re.sub(r"\{[a-z_]+\}", "[^/]+", known[2])
        if known[:2] == (service, method) and re.fullmatch(pattern, path):
            return known
    raise AssertionError(f"the web calls {method} {service} {path}, which the matrix lacks")


class Services:
    """The four services' APIs as they answer a token whose roles are `token`'s: 403 for a role
    their matrix does not allow, else a plausible answer."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.answered: list[tuple[str, str, str]] = []

    async def call(
        self, service: str, method: str, path: str, token: str, tenant: str, *,
        params: dict[str, Any] | None = None, body: dict[str, Any] | None = None,
    ) -> Any:  # fmt: skip
        endpoint = template_of(service, method, path.split("?")[0])
        self.calls.append(endpoint)
        if not set(token.split(",")) & MATRIX[endpoint]:
            raise Refused(403, f"requires role {' or '.join(sorted(MATRIX[endpoint]))}")
        self.answered.append(endpoint)
        return ANSWERS.get(endpoint, {})

    def recorded(self) -> list[tuple[str, str, str]]:
        """The calls the services carried out that record something (not reads)."""
        return [call for call in self.answered if call[1] != "GET" and call not in READS]


class Sessions:
    """The session store: a cookie per role, each session's token naming its roles."""

    def __init__(self) -> None:
        now = datetime.now(UTC)
        self.by_cookie = {f"cookie-{role}": Session(f"user-{role}", "0180", (role,), role,
                                                    f"csrf-{role}", now, now)
                          for role in ROLES}  # fmt: skip

    async def get(self, cookie: str, touch: bool = True) -> Session | None:
        return self.by_cookie.get(cookie)

    async def end(self, cookie: str) -> None:
        return None


@pytest.fixture(scope="module")
def settings() -> Iterator[ServiceSettings]:
    patch = pytest.MonkeyPatch()
    for name, value in {
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
        "DATABASE_URL": "postgresql://nobody:nothing@127.0.0.1:9/none",
        "KAA_TOKEN_SECRET": "unit-test-secret-of-sufficient-length",
        "KAA_PSEUDONYM_KEY": "unit-pseudonym-key-0123456789",
        "KAA_MASTER_KEY": "unit-master-key-0123456789abcdef",
        "KAA_TENANTS": "0180",
    }.items():
        patch.setenv(name, value)
    try:
        yield ServiceSettings()
    finally:
        patch.undo()


def routes(app: FastAPI) -> set[tuple[str, str]]:
    paths: dict[str, dict[str, Any]] = app.openapi()["paths"]
    return {(method.upper(), path) for path, ops in paths.items() for method in ops}


def site() -> tuple[TestClient, Web, Services]:
    """The web's routers on a `Web` whose services and sessions are the fakes above."""
    config = WebConfig(dev_signin=True, cookie_secure=False)
    web = Web(config=config, api=ServicesApi.__new__(ServicesApi), store=None,
              token_secret="unit-test-secret-of-sufficient-length", tenants=["0180"])  # fmt: skip
    services = Services()
    web.api = services  # type: ignore[assignment]
    web.store = Sessions()  # type: ignore[assignment]
    app = FastAPI()
    for exception, handler in error_pages().items():
        app.add_exception_handler(exception, handler)
    for router in routers(web, LiveHub(), None):
        app.include_router(router)
    return TestClient(app, raise_server_exceptions=False, follow_redirects=False), web, services


def requests(method: str, path: str) -> list[tuple[str, dict[str, str]]]:
    """The addresses (and forms) a page is asked at."""
    url = path.replace("{youth_id}", str(YOUTH)).replace("{measure_id}", str(MEASURE))
    if method == "GET":
        return [(url, {})]
    made = []
    for form in FORMS.get(path, [{}]):
        fields = dict(form)
        made.append((url.replace("{form}", fields.pop("_form", "")), fields))
    return made


def test_every_page_of_the_web_application_has_a_decision(settings: ServiceSettings) -> None:
    built = routes(create_app(settings, WebConfig(dev_signin=True)))
    assert built == set(PAGES), (
        f"pages without a decision: {sorted(built - set(PAGES))}; "
        f"decisions without a page: {sorted(set(PAGES) - built)}"
    )
    client, _, _ = site()
    assert routes(client.app) == built  # type: ignore[arg-type]
    assert set(FORMS) == {path for method, path in PAGES if method == "POST"} - {
        SIGNIN, "/logga-ut"
    }  # fmt: skip


DECIDED = sorted(key for key, allowed in PAGES.items() if allowed and key != ("GET", "/live"))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path"), DECIDED)
def test_a_page_answers_the_roles_it_is_for_and_forbids_the_others(
    method: str, path: str, role: str
) -> None:
    allowed = PAGES[(method, path)]
    assert allowed is not None
    client, web, services = site()
    client.cookies.set(web.cookie, f"cookie-{role}")
    for url, form in requests(method, path):
        if method == "GET":
            answer = client.get(url)
        else:
            answer = client.post(url, data={"csrf": f"csrf-{role}", **form})
        if role in allowed:
            assert answer.status_code in (200, 303), (url, answer.status_code, answer.text[:300])
            if path != "/logga-ut":
                assert answer.headers.get("location") != SIGNIN, url
        else:
            assert answer.status_code == 403, (url, role, answer.status_code)
            assert "Du har inte behörighet" in answer.text, url
            assert services.recorded() == [], f"{url}: recorded for {role}"
    if allowed is CASEWORK:  # the services decide: the page must ask them
        assert services.calls, f"{method} {path} asked no service: nothing decides for it"


@pytest.mark.parametrize(("method", "path"), sorted(k for k, v in PAGES.items() if v))
def test_without_a_session_a_page_sends_the_browser_to_sign_in(method: str, path: str) -> None:
    client, _, services = site()
    for url, form in requests(method, path):
        answer = client.request(method, url, data=form or None)
        if path == "/live":  # an event stream: the browser's reconnection is told 401
            assert answer.status_code == 401
            continue
        assert answer.status_code == 303, (url, answer.status_code)
        assert answer.headers["location"] == SIGNIN
    assert services.calls == []


@pytest.mark.parametrize(
    "path", sorted(path for method, path in PAGES if method == "POST" and path != SIGNIN)
)
def test_a_form_posted_without_its_token_is_refused_before_any_service_is_called(
    path: str,
) -> None:
    client, web, services = site()
    client.cookies.set(web.cookie, "cookie-caseworker")
    for url, form in requests("POST", path):
        for token in ({}, {"csrf": "csrf-coordinator"}):  # none, or another session's
            answer = client.post(url, data={**form, **token})
            assert answer.status_code == 403, (url, answer.status_code)
    assert services.recorded() == []


def test_the_development_sign_in_refuses_a_post_without_its_form_token() -> None:
    client, _, _ = site()
    answer = client.post(SIGNIN, data={"tenant": "0180", "role": "caseworker", "subject": "x"})
    assert answer.status_code == 403
    assert "kaa-session" not in answer.headers.get("set-cookie", "")


def test_the_sign_in_page_and_the_root_need_no_session() -> None:
    client, _, _ = site()
    assert client.get(SIGNIN).status_code == 200
    root = client.get("/")
    assert root.status_code == 303
    assert root.headers["location"] == "/min-dag"


@pytest.mark.parametrize("role", sorted(set(ROLES) - CASEWORK))
def test_the_live_stream_is_for_the_worklists_users_only(role: str) -> None:
    client, web, _ = site()
    client.cookies.set(web.cookie, f"cookie-{role}")
    answer = client.get("/live")
    assert answer.status_code == 403
