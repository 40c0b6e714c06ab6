"""The OpenID Connect sign-in's parts that need no provider: the claim mapping the services and
the web share (`KAA_TOKEN_CLAIMS`), the sealed cookies of a sign-in under way, and the settings.
The whole flow against a real provider is `tests/e2e/test_web_oidc.py`."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from fastapi import Depends, FastAPI, HTTPException
from fastapi.testclient import TestClient
from pydantic import ValidationError

from services.web.adapters.config import WebConfig
from services.web.adapters.oidc import PENDING_SECONDS, Pending, Sealer
from shared.auth import Principal, TokenVerifier, principal_dependency
from shared.settings import ServiceSettings
from shared.token_claims import ClaimMap, known_roles
from tests.unit.test_tokens import ISSUER, SECRET, Keys, provider  # noqa: F401 (the JWKS server)

MAPPED = ClaimMap(roles="groups", tenant="kommunkod",
                  role_map={"KAA-Handlaggare": "caseworker", "KAA-Samordnare": "coordinator"})  # fmt: skip


def test_the_claim_map_takes_roles_and_kommunkod_from_the_providers_own_claims() -> None:
    raw = {"sub": "a", "groups": ["Alla", "KAA-Handlaggare"], "kommunkod": "0180",
           "roles": ["operator"], "tenant": "9999"}  # fmt: skip
    mapped = MAPPED.apply(raw)
    # The provider's own `roles`/`tenant` do not slip through beside the mapped ones.
    assert mapped["roles"] == ["caseworker"]
    assert mapped["tenant"] == "0180"
    assert MAPPED.apply({"sub": "a", "groups": "KAA-Samordnare", "kommunkod": ["0180", "0181"]})[
        "tenants"
    ] == ["0180", "0181"]
    assert MAPPED.apply({"sub": "a", "groups": ["Bibliotek"], "kommunkod": "0180"})["roles"] == []
    assert MAPPED.apply({"sub": "a", "kommunkod": "0180"})["roles"] == []
    identity = ClaimMap()
    assert identity.apply(raw) is raw
    assert known_roles(["caseworker", "Bibliotek", 7]) == ["caseworker"]
    assert known_roles("caseworker") == []


def test_the_claim_map_refuses_a_role_kaa_does_not_have_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as refused:
        ClaimMap(role_map={"Grupp": "superuser"})
    assert "role_map" in str(refused.value)
    assert "superuser" not in str(refused.value).split("input_value")[0]


def test_services_verify_the_providers_token_through_the_same_map(
    provider: tuple[Keys, str],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keys, url = provider
    monkeypatch.setenv("KAA_TOKEN_CLAIMS", MAPPED.model_dump_json())
    settings = ServiceSettings(kafka_bootstrap_servers="x:1", database_url="postgresql://x/y",
                               token_secret=SECRET, pseudonym_key="p", master_key="m",
                               jwks_url=url, token_issuer=ISSUER)  # fmt: skip
    assert settings.token_claims == MAPPED
    app = FastAPI()
    authenticate = principal_dependency(settings.token_verifier(), ["0180"])

    @app.get("/who")
    async def who(principal: Principal = Depends(authenticate)) -> dict[str, Any]:  # noqa: B008
        return {"tenant": principal.tenant, "roles": sorted(principal.roles)}

    now = datetime.now(UTC)
    claims = {"iss": ISSUER, "aud": "kaa-api", "sub": "anna", "groups": ["KAA-Handlaggare"],
              "kommunkod": "0180", "iat": now, "exp": now + timedelta(minutes=5)}  # fmt: skip
    token = jwt.encode(claims, keys.rsa, algorithm="RS256", headers={"kid": "rsa-1"})
    client = TestClient(app)
    answer = client.get("/who", headers={"Authorization": f"Bearer {token}"})
    assert answer.json() == {"tenant": "0180", "roles": ["caseworker"]}
    # Without the map the same token names no roles kaa knows: refused.
    unmapped = TokenVerifier(SECRET, jwks_url=url, issuer=ISSUER)
    with pytest.raises(HTTPException) as refused:
        asyncio.run(unmapped.verify(token))
    assert refused.value.status_code == 401
    assert "roles" in str(refused.value.detail)


def test_a_pending_sign_in_is_sealed_bound_to_its_key_and_short_lived() -> None:
    sealer = Sealer("deployment-secret", "oidc cookies")
    pending = Pending.new("https://kaa.example/logga-in/svar")
    cookie = sealer.seal_pending(pending)
    for secret in (pending.state, pending.nonce, pending.verifier):
        assert secret not in cookie
    assert sealer.open_pending(cookie) == pending
    assert Sealer("another-secret", "oidc cookies").open_pending(cookie) is None
    assert Sealer("deployment-secret", "other purpose").open_pending(cookie) is None
    flipped = cookie[:20] + ("A" if cookie[20] != "A" else "B") + cookie[21:]
    assert sealer.open_pending(flipped) is None
    assert sealer.open_pending("") is None
    assert sealer.open_pending("x" * 5000) is None
    old = Pending(pending.state, pending.nonce, pending.verifier, pending.redirect_uri,
                  pending.created - PENDING_SECONDS - 1)  # fmt: skip
    assert sealer.open_pending(sealer.seal_pending(old)) is None
    assert sealer.open_pending(sealer.seal({"state": "only"})) is None


def test_the_pkce_challenge_is_s256_of_the_verifier() -> None:
    pending = Pending.new("https://kaa.example/logga-in/svar")
    digest = hashlib.sha256(pending.verifier.encode()).digest()
    assert pending.challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert len(pending.verifier) >= 43
    assert Pending.new("x").state != pending.state


def test_oidc_settings_come_whole_and_the_secret_is_never_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert not WebConfig().oidc_configured
    monkeypatch.setenv("KAA_WEB_OIDC_ISSUER", "https://idp.example")
    with pytest.raises(ValidationError) as partial:
        WebConfig()
    assert "KAA_WEB_OIDC_CLIENT_SECRET" in str(partial.value)
    monkeypatch.setenv("KAA_WEB_OIDC_CLIENT_ID", "kaa-web")
    monkeypatch.setenv("KAA_WEB_OIDC_CLIENT_SECRET", "hemligt-hemligt")
    config = WebConfig()
    assert config.oidc_configured
    assert "hemligt" not in repr(config)
    assert "hemligt" not in json.dumps(config.model_dump(mode="json"))
