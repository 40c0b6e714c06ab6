"""The web application's answers that are not pages: each is a page in Swedish, never a traceback
or JSON (a browser shows what it gets)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.web.adapters.services_api import Refused, Unavailable
from services.web.entrypoints.errors import error_pages


def app() -> FastAPI:
    made = FastAPI()
    for exception, handler in error_pages().items():
        made.add_exception_handler(exception, handler)

    @made.get("/fel")
    async def fault() -> None:
        raise RuntimeError("a fault holding what the user typed: 199001011234")

    @made.get("/nekad")
    async def refused() -> None:
        raise Refused(403, "requires role caseworker")

    @made.get("/borta")
    async def gone() -> None:
        raise Unavailable("register")

    @made.get("/ungdomar/{youth_id}")
    async def youth(youth_id: int) -> None:
        return None

    return made


def test_each_failure_is_a_swedish_page() -> None:
    client = TestClient(app(), raise_server_exceptions=False)
    cases = {
        "/fel": (500, "Något gick fel"),
        "/nekad": (403, "Du har inte behörighet"),
        "/borta": (503, "Tjänsten svarar inte just nu"),
        "/ungdomar/inte-ett-id": (404, "Sidan finns inte"),
        "/finns-inte": (404, "Sidan finns inte"),
    }
    for path, (code, heading) in cases.items():
        answer = client.get(path)
        assert answer.status_code == code, path
        assert answer.headers["content-type"].startswith("text/html"), path
        assert heading in answer.text, path
        assert "199001011234" not in answer.text
        assert "Traceback" not in answer.text


def test_a_service_saying_401_ends_the_session_and_asks_to_sign_in_again() -> None:
    # An identity provider's token expired before the session: before, every page said "refused"
    # until the caseworker signed out by hand.
    from services.web.adapters.config import WebConfig
    from services.web.adapters.services_api import ServicesApi
    from services.web.entrypoints.common import Web

    ended: list[str] = []

    class Store:
        async def end(self, session_id: str) -> None:
            ended.append(session_id)

    web = Web(config=WebConfig(cookie_secure=False), api=ServicesApi.__new__(ServicesApi),
              store=Store(), token_secret="s", tenants=["0180"])  # type: ignore[arg-type]  # fmt: skip
    made = FastAPI()
    for exception, handler in error_pages(web).items():
        made.add_exception_handler(exception, handler)

    @made.get("/min-dag")
    async def page() -> None:
        raise Refused(401, "token expired")

    client = TestClient(made, follow_redirects=False)
    answer = client.get("/min-dag", cookies={web.cookie: "the-session"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/logga-in"
    assert ended == ["the-session"]
    assert 'kaa-session=""' in answer.headers["set-cookie"]
