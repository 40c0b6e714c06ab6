"""The development sign-in's token and the forms' default day follow the deployment's settings."""

from __future__ import annotations

from datetime import date
from typing import Any

import jwt
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.web.adapters.config import WebConfig
from services.web.adapters.services_api import ServicesApi
from services.web.commands.contacts import now_typed
from services.web.commands.plan import today
from services.web.entrypoints.common import Web
from services.web.entrypoints.security import SIGNIN_CSRF_COOKIE
from services.web.entrypoints.signin import signin_routes


class Store:
    def __init__(self) -> None:
        self.tokens: list[str] = []

    async def start(self, subject: str, tenant: str, roles: list[str], token: str) -> str:
        self.tokens.append(token)
        return "session-id"


def test_a_dev_token_lives_no_longer_than_the_services_accept() -> None:
    # Before: a 24-hour session got a 24-hour token, which services capped at 12 hours refuse.
    store = Store()
    config = WebConfig(dev_signin=True, cookie_secure=False, session_absolute_hours=24)
    web = Web(config=config, api=ServicesApi.__new__(ServicesApi), store=store,  # type: ignore[arg-type]
              token_secret="s" * 32, tenants=["0180"], max_token_seconds=3600.0)  # fmt: skip
    app = FastAPI()
    app.include_router(signin_routes(web))
    client = TestClient(app, follow_redirects=False)
    client.cookies.set(SIGNIN_CSRF_COOKIE, "token-1")
    form: dict[str, Any] = {"tenant": "0180", "role": "caseworker", "subject": "anna",
                            "csrf": "token-1"}  # fmt: skip
    assert client.post("/logga-in", data=form).status_code == 303
    [token] = store.tokens
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] <= 3600


def test_the_forms_default_day_is_the_deployments_fixed_day() -> None:
    assert now_typed(date(2026, 3, 2)).startswith("2026-03-02 ")
    assert today(date(2026, 3, 2)) == date(2026, 3, 2)


def test_a_dev_sign_in_may_name_a_team_and_a_bad_team_code_is_said_in_swedish() -> None:
    store = Store()
    web = Web(config=WebConfig(dev_signin=True, cookie_secure=False),
              api=ServicesApi.__new__(ServicesApi), store=store,  # type: ignore[arg-type]
              token_secret="s" * 32, tenants=["0180"])  # fmt: skip
    app = FastAPI()
    app.include_router(signin_routes(web))
    client = TestClient(app, follow_redirects=False)
    client.cookies.set(SIGNIN_CSRF_COOKIE, "token-1")
    form = {"tenant": "0180", "role": "caseworker", "subject": "anna", "csrf": "token-1"}
    refused = client.post("/logga-in", data={**form, "team": "team norr!"})
    assert refused.status_code == 422
    assert "Ange teamets kod" in refused.text
    assert "team norr!" not in refused.text.replace('value="team norr!"', "")
    fresh = refused.cookies[SIGNIN_CSRF_COOKIE]  # the refused form came with a new form token
    again = client.post("/logga-in", data={**form, "csrf": fresh, "team": "team-norr"})
    assert again.status_code == 303
    [token] = store.tokens
    assert jwt.decode(token, options={"verify_signature": False})["teams"] == ["team-norr"]
