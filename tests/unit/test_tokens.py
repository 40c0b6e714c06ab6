"""Bearer tokens from an identity provider (RS256, ES256 via its JWKS) and the development HS256.

The JWKS document is served by a real local HTTP server, as an identity provider would serve it.
Each attack the issue names is a case: expired, unsigned, wrongly signed, wrong audience, a token
signed with an HS256 secret made of a public key, an unknown key id, a tenant the token does not
cover.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from shared.auth import (
    TENANT_HEADER,
    Principal,
    TokenVerifier,
    issue_token,
    principal_dependency,
)

ISSUER = "https://idp.example.test/realms/kommun"
SECRET = "development-secret-of-sufficient-length"


class Keys:
    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.intruder = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.requests = 0

    def jwks(self) -> dict[str, Any]:
        rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.rsa.public_key()))
        ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.ec.public_key()))
        return {"keys": [{**rsa_jwk, "kid": "rsa-1", "alg": "RS256", "use": "sig"},
                         {**ec_jwk, "kid": "ec-1", "alg": "ES256", "use": "sig"}]}  # fmt: skip


@pytest.fixture(scope="module")
def provider() -> Iterator[tuple[Keys, str]]:
    keys = Keys()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            keys.requests += 1
            body = json.dumps(keys.jwks()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield keys, f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    finally:
        server.shutdown()


def claims(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"iss": ISSUER, "aud": "kaa-api", "sub": "anna@kommun.se", "tenant": "0180",
            "roles": ["caseworker"], "iat": now, "exp": now + timedelta(minutes=5)} | overrides  # fmt: skip


def app_for(verifier: TokenVerifier) -> TestClient:
    app = FastAPI()
    authenticate = principal_dependency(verifier, ["0180", "0181"])

    @app.get("/who")
    async def who(principal: Principal = Depends(authenticate)) -> dict[str, Any]:  # noqa: B008
        return {"tenant": principal.tenant, "roles": sorted(principal.roles),
                "actor": principal.actor}  # fmt: skip

    return TestClient(app)


def call(client: TestClient, token: str, **headers: str) -> tuple[int, Any]:
    response = client.get("/who", headers={"Authorization": f"Bearer {token}", **headers})
    return response.status_code, response.json()


def test_identity_provider_tokens_rs256_and_es256_pass(provider: tuple[Keys, str]) -> None:
    keys, url = provider
    client = app_for(TokenVerifier(SECRET, jwks_url=url, issuer=ISSUER))
    rs = jwt.encode(claims(), keys.rsa, algorithm="RS256", headers={"kid": "rsa-1"})
    es = jwt.encode(
        claims(roles=["inspector"]), keys.ec, algorithm="ES256", headers={"kid": "ec-1"}
    )
    assert call(client, rs) == (200, {"tenant": "0180", "roles": ["caseworker"],
                                      "actor": "user:anna@kommun.se"})  # fmt: skip
    assert call(client, es)[1]["roles"] == ["inspector"]
    assert keys.requests == 1, "the key set is fetched once and kept"
    dev = issue_token(SECRET, subject="dev", tenant="0181", roles=["coordinator"])
    assert call(client, dev)[1]["tenant"] == "0181", "development tokens keep working"


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("expired", "expired"),
        ("wrong audience", "Audience"),
        ("wrong issuer", "issuer"),
        ("signed by another key", "Signature verification failed"),
        ("unknown key id", "does not list"),
        ("unsigned", "'none' is not accepted"),
        ("hs256 made of the public key", "Signature verification failed"),
        ("no tenant", "no valid tenant"),
        ("garbage", "invalid token"),
    ],
)
def test_bad_tokens_are_refused_with_401(
    provider: tuple[Keys, str], case: str, reason: str
) -> None:
    keys, url = provider
    client = app_for(TokenVerifier(SECRET, jwks_url=url, issuer=ISSUER))
    rsa_kid = {"kid": "rsa-1"}
    public_pem = keys.rsa.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    makers: dict[str, Any] = {
        "expired": lambda: jwt.encode(
            claims(exp=datetime.now(UTC) - timedelta(minutes=5)), keys.rsa, "RS256", rsa_kid
        ),
        "wrong audience": lambda: jwt.encode(claims(aud="other-api"), keys.rsa, "RS256", rsa_kid),
        "wrong issuer": lambda: jwt.encode(
            claims(iss="https://evil.test"), keys.rsa, "RS256", rsa_kid
        ),
        "signed by another key": lambda: jwt.encode(claims(), keys.intruder, "RS256", rsa_kid),
        "unknown key id": lambda: jwt.encode(claims(), keys.intruder, "RS256", {"kid": "rsa-9"}),
        "unsigned": lambda: _signed({"alg": "none", "typ": "JWT"}, claims(), None),
        # The classic confusion: HS256 with the provider's public key as the shared secret.
        "hs256 made of the public key": lambda: _signed(
            {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, claims(), public_pem
        ),
        "no tenant": lambda: jwt.encode(
            {k: v for k, v in claims().items() if k != "tenant"}, keys.rsa, "RS256", rsa_kid
        ),
        "garbage": lambda: "not.a.token",
    }
    token = makers[case]()
    status, body = call(client, token)
    assert status == 401, body
    assert reason in body["detail"]


def test_a_consortium_token_names_the_municipality_it_acts_for(provider: tuple[Keys, str]) -> None:
    keys, url = provider
    client = app_for(TokenVerifier(SECRET, jwks_url=url, issuer=ISSUER))
    both = jwt.encode({k: v for k, v in claims(tenants=["0180", "0181"]).items() if k != "tenant"},
                      keys.rsa, "RS256", {"kid": "rsa-1"})  # fmt: skip
    status, body = call(client, both)
    assert status == 400
    assert TENANT_HEADER in body["detail"]
    assert call(client, both, **{TENANT_HEADER: "0181"})[1]["tenant"] == "0181"
    status, body = call(client, both, **{TENANT_HEADER: "0182"})
    assert status == 403
    assert "does not cover 0182" in body["detail"]
    other = issue_token(SECRET, subject="x", tenant="0380", roles=["caseworker"])
    status, body = call(client, other)
    assert status == 403
    assert "not served here" in body["detail"]


def test_without_a_jwks_url_only_development_tokens_pass(provider: tuple[Keys, str]) -> None:
    keys, _ = provider
    client = app_for(TokenVerifier(SECRET))
    rs = jwt.encode(claims(), keys.rsa, algorithm="RS256", headers={"kid": "rsa-1"})
    status, body = call(client, rs)
    assert status == 401
    assert "'RS256' is not accepted" in body["detail"]


def _signed(header: dict[str, Any], body: dict[str, Any], hmac_key: bytes | None) -> str:
    """A token made by hand (the library rightly refuses to make these two)."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    payload = json.dumps(body, default=lambda d: int(d.timestamp())).encode()
    signing_input = f"{part(json.dumps(header).encode())}.{part(payload)}"
    if hmac_key is None:
        return signing_input + "."
    signature = hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{part(signature)}"
