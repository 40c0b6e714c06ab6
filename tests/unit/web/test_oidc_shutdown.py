"""The identity provider's client is closed when the web application shuts down: the flow closes
the client it made (its connections), and the composition root's teardown closes the flow."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from services.web import bootstrap
from services.web.adapters.config import WebConfig
from services.web.adapters.live import LiveSubscriber
from services.web.adapters.sessions import SessionStore
from services.web.entrypoints.common import Web
from services.web.entrypoints.signin import OidcFlow
from shared.settings import ServiceSettings

OIDC = {"oidc_issuer": "https://idp.example", "oidc_client_id": "kaa-web",
        "oidc_client_secret": SecretStr("hemligt-hemligt")}  # fmt: skip


def settings() -> ServiceSettings:
    return ServiceSettings(kafka_bootstrap_servers="127.0.0.1:9", database_url="postgresql://x/y",
                           token_secret="unit-test-secret-of-sufficient-length",
                           pseudonym_key="p", master_key="m", tenants=["0180"])  # fmt: skip


def test_the_flow_closes_the_client_it_made_and_is_closed_without_one() -> None:
    config = WebConfig(**OIDC)  # type: ignore[arg-type]
    web = Web(config=config, api=None, store=None, token_secret="s", tenants=["0180"],  # type: ignore[arg-type]
              fixed_today=None, max_token_seconds=3600)  # fmt: skip
    flow = OidcFlow(web, settings())
    asyncio.run(flow.close())  # never made: nothing to close
    client = flow.client
    asyncio.run(flow.close())
    assert client._http.is_closed


class FakeStore:
    async def sweep(self) -> int:
        return 0

    async def close(self) -> None:
        return None


def test_the_web_applications_teardown_closes_the_providers_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    closed: list[OidcFlow] = []

    async def close(flow: OidcFlow) -> None:
        closed.append(flow)

    async def nothing(*args: Any, **kwargs: Any) -> None:
        return None

    async def store(*args: Any, **kwargs: Any) -> FakeStore:
        return FakeStore()

    monkeypatch.setattr("shared.runtime.ensure_topics", nothing)
    monkeypatch.setattr("shared.runtime.require_master_key", nothing)  # no database here
    monkeypatch.setattr(SessionStore, "open", store)
    monkeypatch.setattr(LiveSubscriber, "run", nothing)
    monkeypatch.setattr(OidcFlow, "close", close)
    app = bootstrap.create_app(settings(), WebConfig(**OIDC))  # type: ignore[arg-type]
    with TestClient(app):
        assert not closed
    assert len(closed) == 1
