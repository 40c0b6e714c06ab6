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
        ("wrong audience", "claim aud does not name this deployment"),
        ("wrong issuer", "claim iss is not the identity provider"),
        ("signed by another key", "the signature does not verify"),
        ("unknown key id", "does not list"),
        ("unsigned", "'none' is not accepted"),
        ("hs256 made of the public key", "the signature does not verify"),
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


# -- the claims are strings that reach kaa -----------------------------------------------------

SECRET_VALUE = "geheim-value"  # part of every bad claim below: the answer must never echo it


def dev_claims(**overrides: Any) -> dict[str, Any]:
    """Claims of a development (HS256) token; `None` removes a claim."""
    made = claims(iss="kaa") | overrides
    return {k: v for k, v in made.items() if v is not None}


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"sub": f"{SECRET_VALUE}\x00"}, "claim sub "),
        ({"sub": f"{SECRET_VALUE}\x1b[2J"}, "claim sub "),
        ({"sub": f"{SECRET_VALUE}\n"}, "claim sub "),
        ({"sub": f"{SECRET_VALUE}\ud800"}, "claim sub "),
        ({"sub": ""}, "claim sub "),
        ({"sub": "   "}, "claim sub "),
        ({"sub": 1234}, "claim sub is not a string"),  # the library's own check
        ({"sub": "a" * 116}, "claim sub "),  # user:<sub> must fit the events' Actor
        ({"sub": "åsa.berg"}, "claim sub is not an identifier kaa can record"),
        ({"sub": "anna+kaa@kommun.se"}, "claim sub is not an identifier kaa can record"),
        ({"sub": "Anna Andersson"}, "claim sub is not an identifier kaa can record"),
        ({"tenant": f"01\x0080{SECRET_VALUE}"}, "claim tenant "),
        ({"tenant": 180}, "claim tenant "),
        ({"tenant": ["0180"]}, "claim tenant "),
        ({"tenant": "\u0661\u0664\u0668\u0660"}, "claim tenant "),  # digits, but not 0-9
        ({"tenant": None, "tenants": "0180"}, "claim tenants "),
        ({"tenant": None, "tenants": ["0180", None]}, "claim tenants "),
        ({"tenant": None, "tenants": ["0180", f"\x00{SECRET_VALUE}"]}, "claim tenants "),
        ({"tenant": None, "tenants": []}, "claim tenants "),
        ({"roles": "caseworker"}, "claim roles "),
        ({"roles": [f"case\x00worker{SECRET_VALUE}"]}, "claim roles "),
        ({"roles": [1]}, "claim roles "),
        ({"roles": [{"name": "caseworker"}]}, "claim roles "),
        ({"roles": ["caseworker"] * 100}, "claim roles "),
        ({"grants": "protected-identity"}, "claim grants "),
        ({"grants": [f"protected\x00identity{SECRET_VALUE}"]}, "claim grants "),
        ({"grants": [None]}, "claim grants "),
    ],
)
def test_a_claim_that_is_not_text_of_its_shape_refuses_the_token_naming_it(
    provider: tuple[Keys, str], overrides: dict[str, Any], named: str
) -> None:
    """A NUL in `sub` was a 500 (PostgreSQL refuses the actor in the access log); every claim
    kaa reads is checked as text of its shape, for development and identity-provider tokens."""
    keys, url = provider
    client = app_for(TokenVerifier(SECRET, jwks_url=url, issuer=ISSUER))
    for token in (
        jwt.encode(dev_claims(**overrides), SECRET, algorithm="HS256"),
        jwt.encode(claims(**overrides), keys.rsa, algorithm="RS256", headers={"kid": "rsa-1"}),
    ):
        status, body = call(client, token)
        assert status == 401, body
        assert named in body["detail"]
        assert SECRET_VALUE not in body["detail"]
        assert "\x00" not in body["detail"]


def test_the_subject_and_grants_of_a_good_token_arrive_unchanged() -> None:
    client = app_for(TokenVerifier(SECRET))
    token = jwt.encode(
        dev_claims(sub="anna.andersson@kommun.se", grants=["protected-identity"]),
        SECRET,
        algorithm="HS256",
    )
    assert call(client, token) == (
        200,
        {"tenant": "0180", "roles": ["caseworker"], "actor": "user:anna.andersson@kommun.se"},
    )


@pytest.mark.parametrize(
    ("lifetime", "with_iat", "accepted"),
    [
        (timedelta(hours=12), True, True),
        (timedelta(hours=12, seconds=1), True, False),
        (timedelta(days=365), True, False),
        (timedelta(hours=11), False, True),
        (timedelta(hours=13), False, False),
    ],
)
def test_a_token_living_longer_than_the_maximum_is_refused(
    lifetime: timedelta, with_iat: bool, accepted: bool
) -> None:
    client = app_for(TokenVerifier(SECRET))
    now = datetime.now(UTC)
    token = jwt.encode(
        dev_claims(iat=now if with_iat else None, exp=now + lifetime), SECRET, algorithm="HS256"
    )
    status, body = call(client, token)
    if accepted:
        assert status == 200, body
    else:
        assert status == 401
        assert "claim exp" in body["detail"]
        assert "KAA_TOKEN_MAX_LIFETIME" in body["detail"]


def test_the_maximum_lifetime_is_the_deployments_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.settings import ServiceSettings

    for name, value in {
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
        "DATABASE_URL": "postgresql://nobody:nothing@127.0.0.1:9/none",
        "KAA_TOKEN_SECRET": SECRET,
        "KAA_PSEUDONYM_KEY": "pseudonym-key-0123456789",
        "KAA_MASTER_KEY": "master-key-0123456789abcdef",
        "KAA_TOKEN_MAX_LIFETIME": "3600",
    }.items():
        monkeypatch.setenv(name, value)
    verifier = ServiceSettings().token_verifier()
    assert verifier.max_lifetime == 3600
    client = app_for(verifier)
    two_hours = issue_token(SECRET, subject="x", tenant="0180", roles=["caseworker"],
                            lifetime=timedelta(hours=2))  # fmt: skip
    status, body = call(client, two_hours)
    assert status == 401
    assert "1 hours at most" in body["detail"]
    monkeypatch.delenv("KAA_TOKEN_MAX_LIFETIME")
    assert ServiceSettings().token_verifier().max_lifetime == 12 * 3600


def test_a_tenant_header_that_is_not_a_kommunkod_is_refused_without_echo() -> None:
    client = app_for(TokenVerifier(SECRET))
    both = issue_token(SECRET, subject="x", tenants=["0180", "0181"], roles=["caseworker"])
    status, body = call(client, both, **{TENANT_HEADER: f"{SECRET_VALUE}"})
    assert status == 400
    assert TENANT_HEADER in body["detail"]
    assert SECRET_VALUE not in body["detail"]


def test_an_unknown_algorithm_is_not_echoed() -> None:
    client = app_for(TokenVerifier(SECRET))
    token = _signed({"alg": f"X{SECRET_VALUE}", "typ": "JWT"}, dev_claims(), b"k")
    status, body = call(client, token)
    assert status == 401
    assert SECRET_VALUE not in body["detail"]


def test_development_tokens_are_issued_only_with_a_real_subject_and_known_grants() -> None:
    for subject in ("", " ", "dev\x00", "a" * 256):
        with pytest.raises(ValueError, match="subject"):
            issue_token(SECRET, subject=subject, tenant="0180", roles=["caseworker"])
    with pytest.raises(ValueError, match="unknown grant"):
        issue_token(SECRET, subject="x", tenant="0180", roles=["caseworker"], grants=["all"])
    with pytest.raises(ValueError, match="4-digit"):
        issue_token(SECRET, subject="x", tenants=["0180", "18"], roles=["caseworker"])


# -- kaa token -------------------------------------------------------------------------------------


@pytest.fixture
def kaa_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Any:
    """`kaa token …` in a KAA_HOME of its own: (exit code, output, the claims of the token)."""
    from typer.testing import CliRunner

    from kaa.cli import app

    for name in ("KAA_TOKEN_SECRET", "KAA_TOKEN_MAX_LIFETIME", "KAA_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KAA_HOME", str(tmp_path))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody:nothing@127.0.0.1:9/none")

    def run(*args: str) -> tuple[int, str, dict[str, Any] | None]:
        done = CliRunner().invoke(app, ["token", *args])
        if done.exit_code != 0:
            return done.exit_code, done.output, None
        secrets = dict(
            line.split("=", 1) for line in (tmp_path / "secrets.env").read_text().split()
        )
        token = done.stdout.strip()
        decoded = jwt.decode(
            token, secrets["KAA_TOKEN_SECRET"], algorithms=["HS256"], audience="kaa-api"
        )
        client = app_for(TokenVerifier(secrets["KAA_TOKEN_SECRET"]))
        status, body = call(
            client, token, **({TENANT_HEADER: "0181"} if "--tenants" in args else {})
        )
        assert status == 200, body
        return 0, done.output, decoded

    return run


def test_kaa_token_mints_a_chosen_subject_grants_and_a_consortium_token(kaa_token: Any) -> None:
    """Every development token was `user:dev` with one tenant and no grant."""
    code, _, claims = kaa_token("--tenant", "0180", "--role", "inspector",
                                "--sub", "anna.andersson", "--grant", "protected-identity")  # fmt: skip
    assert code == 0
    assert claims is not None
    assert (claims["sub"], claims["tenant"], claims["roles"], claims["grants"]) == (
        "anna.andersson", "0180", ["inspector"], ["protected-identity"]
    )  # fmt: skip
    code, _, claims = kaa_token("--tenants", "0180,0181", "--role", "caseworker",
                                "--role", "coordinator", "--subject", "sam")  # fmt: skip
    assert code == 0
    assert claims is not None
    assert (claims["sub"], claims["tenants"], claims["roles"]) == (
        "sam", ["0180", "0181"], ["caseworker", "coordinator"]
    )  # fmt: skip
    assert "tenant" not in claims
    assert "grants" not in claims
    code, _, claims = kaa_token("--tenant", "0180", "--role", "caseworker")
    assert claims is not None
    assert claims["sub"] == "dev"
    assert claims["exp"] - claims["iat"] == 12 * 3600


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--role", "caseworker"], "--tenant"),
        (["--tenant", "0180", "--tenants", "0180,0181", "--role", "caseworker"], "--tenants"),
        (["--tenant", "0180", "--role", "caseworker", "--grant", "everything"], "unknown grant"),
        (["--tenant", "0180", "--role", "caseworker", "--sub", ""], "subject"),
        (["--tenants", "0180,18", "--role", "caseworker"], "4-digit"),
        (["--tenant", "0180", "--role", "caseworker", "--hours", "13"], "12 hours at most"),
    ],
)
def test_kaa_token_refuses_what_services_would_refuse(
    kaa_token: Any, args: list[str], says: str
) -> None:
    code, output, _ = kaa_token(*args)
    assert code == 2
    assert says in output


def base64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize("alg", [["HS256"], {"name": "HS256"}, 256, None])
def test_a_header_alg_that_is_not_a_string_is_401_not_500(alg: object) -> None:
    """`alg: ["HS256"]` was a TypeError (unhashable list) and a 500 for anyone, unauthenticated."""
    client = app_for(TokenVerifier(SECRET))
    header = base64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = base64url(json.dumps(dev_claims(), default=lambda d: int(d.timestamp())).encode())
    status, answer = call(client, f"{header}.{body}.c2lnbmF0dXJl")
    assert status == 401, answer
    assert "alg" in str(answer)


def test_every_accepted_subject_can_be_recorded_as_an_actor() -> None:
    """What the token check lets through, the events' contract accepts as `user:<sub>`."""
    from pydantic import TypeAdapter

    from shared.contracts.envelope import Actor
    from shared.token_claims import subject_problem

    actor = TypeAdapter(Actor)
    for subject in ("anna.andersson", "a" * 115, "0f3c-42@idp.kommun.se", "x:y_z"):
        assert subject_problem(subject) is None
        actor.validate_python(f"user:{subject}")
