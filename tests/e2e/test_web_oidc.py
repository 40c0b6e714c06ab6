"""The web application's production sign-in against a real OpenID Connect provider.

The provider is `oidc-provider` (Node, `tests/support/oidc/`) started here on a free port: real
HTTP, discovery, JWKS, PKCE, its login and consent pages, ID tokens and RS256 JWT access tokens
for the resource `urn:kaa:api` (audience `kaa-api`). Its users carry the provider's own claim
names (`groups` with group names of its own, `kommunkod`), mapped by `KAA_TOKEN_CLAIMS`, read alike by the services and the
web. A deployment of the four services verifies the access tokens by the provider's JWKS, and a
web process in front of it signs in with the provider (the development sign-in off). The browser
is httpx, following the redirects by hand so that a test can tamper with or replay a step.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import json
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlparse

import httpx
import pytest
from pydantic import SecretStr

from kaa.deployment import free_port
from services.web.adapters.config import WebConfig
from services.web.adapters.oidc import OidcClient, SignInRefused
from shared.token_claims import ClaimMap
from tests.conftest import RunningInfra
from tests.e2e.conftest import running

SUPPORT = Path(__file__).resolve().parents[1] / "support" / "oidc"
SECRET = secrets.token_urlsafe(32)
OTHER_SECRET = secrets.token_urlsafe(32)
CLAIMS = {"roles": "groups", "tenant": "kommunkod",
          "role_map": {"KAA-Handlaggare": "caseworker", "KAA-Samordnare": "coordinator"}}  # fmt: skip
USERS = {
    "anna.andersson": {"groups": ["Alla-anstallda", "KAA-Handlaggare"], "kommunkod": "0180"},
    "bertil.bibliotek": {"groups": ["Alla-anstallda", "Bibliotek"], "kommunkod": "0180"},
    "cecilia.annanstad": {"groups": ["KAA-Handlaggare"], "kommunkod": "1480"},
}


@dataclass
class Provider:
    issuer: str
    process: subprocess.Popen[str]


@dataclass
class Site:
    provider: Provider
    web: str

    @property
    def callback(self) -> str:
        return f"{self.web}/logga-in/svar"


def installed() -> None:
    """The provider's packages, installed from the committed lock file when missing."""
    if (SUPPORT / "node_modules" / "oidc-provider").is_dir():
        return
    npm = shutil.which("npm")
    assert npm is not None, "npm (Node.js 20 or later) is needed for the OpenID Connect tests"
    subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
                   cwd=SUPPORT, check=True, capture_output=True, timeout=300)  # fmt: skip


def start_provider(web_port: int) -> Provider:
    installed()
    port = free_port()
    web = f"http://127.0.0.1:{web_port}"
    clients = [
        {"client_id": "kaa-web", "client_secret": SECRET,
         "redirect_uris": [f"{web}/logga-in/svar"],
         "post_logout_redirect_uris": [f"{web}/utloggad"]},
        {"client_id": "annan-tjanst", "client_secret": OTHER_SECRET,
         "redirect_uris": ["http://127.0.0.1:9/svar"]},
    ]  # fmt: skip
    env = {**os.environ, "OIDC_PORT": str(port), "OIDC_CLIENTS": json.dumps(clients),
           "OIDC_USERS": json.dumps(USERS)}  # fmt: skip
    node = shutil.which("node")
    assert node is not None, "node (Node.js 20 or later) is needed for the OpenID Connect tests"
    process = subprocess.Popen([node, "provider.mjs"], cwd=SUPPORT, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("ready "):
            return Provider(line.split()[1], process)
    raise AssertionError(f"the OpenID Connect provider did not start (exit {process.wait()})")


@pytest.fixture(scope="module")
def site(infra: RunningInfra) -> Iterator[Site]:
    web_port = free_port()
    provider = start_provider(web_port)
    try:
        with pytest.MonkeyPatch.context() as patch:  # the services trust the provider's keys
            patch.setenv("KAA_JWKS_URL", f"{provider.issuer}/jwks")
            patch.setenv("KAA_TOKEN_ISSUER", provider.issuer)
            patch.setenv("KAA_TOKEN_CLAIMS", json.dumps(CLAIMS))
            with running(infra) as made:
                assert made.platform is not None
                made.platform.env = {
                    **made.platform.env, "KAA_WEB_COOKIE_SECURE": "0",
                    "KAA_WEB_OIDC_ISSUER": provider.issuer, "KAA_WEB_OIDC_CLIENT_ID": "kaa-web",
                    "KAA_WEB_OIDC_CLIENT_SECRET": SECRET, "KAA_WEB_OIDC_RESOURCE": "urn:kaa:api",
                    "KAA_WEB_OIDC_SCOPE": "openid kaa",
                }  # fmt: skip
                web = made.platform.start_web(web_port, dev_signin=False)
                yield Site(provider, web.url)
    finally:
        provider.process.terminate()
        provider.process.wait(timeout=10)


def through_provider(client: httpx.Client, url: str, user: str, stop_at: str) -> str:
    """Follow the redirects from `url`, signing `user` in and consenting on the provider's pages,
    until the browser is sent to an address starting with `stop_at`; that address."""
    for _ in range(20):
        if url.startswith(stop_at):
            return url
        answer = client.get(url)
        while answer.status_code == 200:  # the provider's login, then consent page
            page = answer.text
            action = re.search(r'<form[^>]*action="([^"]+)"', page)
            prompt = re.search(r'name="prompt" value="([a-z]+)"', page)
            assert action is not None, page
            assert prompt is not None, page
            data = {"prompt": prompt.group(1), "login": user, "password": "valfritt"}
            answer = client.post(urljoin(url, html.unescape(action.group(1))), data=data)
        assert answer.status_code in (302, 303), answer.text
        url = urljoin(url, answer.headers["location"])
    raise AssertionError("too many redirects")


def to_callback(client: httpx.Client, site: Site, user: str) -> str:
    started = client.get(f"{site.web}/logga-in")
    assert started.status_code == 303, started.text
    assert started.headers["location"].startswith(f"{site.provider.issuer}/auth?")
    query = parse_qs(urlparse(started.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"]
    return through_provider(client, started.headers["location"], user, site.callback)


def with_query(url: str, **changes: str) -> str:
    parts = urlparse(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return parts._replace(query=urlencode(query)).geturl()


def browser() -> httpx.Client:
    return httpx.Client(timeout=30.0)


def test_a_caseworker_signs_in_with_the_provider_reaches_min_dag_and_signs_out(site: Site) -> None:
    with browser() as client:
        signed = client.get(to_callback(client, site, "anna.andersson"))
        assert signed.status_code == 303, signed.text
        assert signed.headers["location"] == "/min-dag"
        cookies = signed.headers.get_list("set-cookie")
        assert any(c.startswith("kaa-session=") and "HttpOnly" in c for c in cookies)
        assert any(c.startswith('kaa-oidc-pending=""') for c in cookies)  # taken once
        # Min dag reads the worklists from outreach with the provider's access token: the
        # service verified it by the provider's JWKS and mapped its groups and kommunkod.
        day = client.get(f"{site.web}/min-dag")
        assert day.status_code == 200, day.text
        assert "Min dag" in day.text
        assert "anna.andersson" in day.text
        assert "kommun 0180" in day.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', day.text)
        assert csrf is not None
        out = client.post(f"{site.web}/logga-ut", data={"csrf": csrf.group(1)})
        assert out.status_code == 200, out.text
        assert "Du är utloggad från kaa" in out.text
        link = re.search(r'id="logga-ut-idp" href="([^"]+)"', out.text)
        assert link is not None
        end = html.unescape(link.group(1))
        query = parse_qs(urlparse(end).query)
        assert end.startswith(f"{site.provider.issuer}/session/end?")
        assert query["post_logout_redirect_uri"] == [f"{site.web}/utloggad"]
        assert query["id_token_hint"][0].count(".") == 2
        assert client.get(end).status_code == 200  # the provider asks to confirm its sign-out
        assert client.get(f"{site.web}/min-dag").status_code == 303  # the session is over


def test_a_tampered_state_is_refused(site: Site) -> None:
    with browser() as client:
        callback = to_callback(client, site, "anna.andersson")
        forged = "forged-" + secrets.token_urlsafe(8)
        refused = client.get(with_query(callback, state=forged))
        assert refused.status_code == 400, refused.text
        assert "Inloggningen kunde inte slutföras" in refused.text
        assert forged not in refused.text
        assert not any(c.startswith("kaa-session=") for c in refused.headers.get_list("set-cookie"))
        # The sign-in under way was taken: the genuine answer cannot be used after it either.
        assert client.get(callback).status_code == 400
        assert client.get(f"{site.web}/min-dag").status_code == 303


def test_a_replayed_authorization_code_is_refused_by_the_provider(site: Site) -> None:
    with browser() as client:
        callback = to_callback(client, site, "anna.andersson")
        pending = client.cookies.get("kaa-oidc-pending")
        assert pending
        assert client.get(callback).status_code == 303
    with browser() as replay:  # an attacker holding the code and the browser's pending cookie
        replay.cookies.set("kaa-oidc-pending", pending, domain="127.0.0.1", path="/logga-in")
        refused = replay.get(callback)
        assert refused.status_code == 400, refused.text
        assert "Inloggningen kunde inte slutföras" in refused.text
        assert not any(c.startswith("kaa-session=") for c in refused.headers.get_list("set-cookie"))


def test_a_user_without_a_mapped_role_is_refused_in_swedish(site: Site) -> None:
    with browser() as client:
        refused = client.get(to_callback(client, site, "bertil.bibliotek"))
        assert refused.status_code == 403, refused.text
        assert "Du har ingen behörighet i kaa" in refused.text
        assert "Be den som administrerar behörigheter i din kommun" in refused.text
        for value in ("Bibliotek", "Alla-anstallda", "bertil", "0180"):
            assert value not in refused.text
        assert not any(c.startswith("kaa-session=") for c in refused.headers.get_list("set-cookie"))
        assert client.get(f"{site.web}/min-dag").status_code == 303


def test_a_user_of_a_municipality_not_served_is_refused(site: Site) -> None:
    with browser() as client:
        refused = client.get(to_callback(client, site, "cecilia.annanstad"))
        assert refused.status_code == 403, refused.text
        assert "Din kommun använder inte den här installationen av kaa" in refused.text
        assert "1480" not in refused.text


def other_clients_id_token(site: Site, nonce: str) -> str:
    """A real ID token the provider issued to another client (`annan-tjanst`)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    redirect = "http://127.0.0.1:9/svar"
    params = {"response_type": "code", "client_id": "annan-tjanst", "redirect_uri": redirect,
              "scope": "openid", "state": "s", "nonce": nonce, "code_challenge_method": "S256",
              "code_challenge": challenge.rstrip(b"=").decode()}  # fmt: skip
    with browser() as client:
        start = f"{site.provider.issuer}/auth?{urlencode(params)}"
        answer = through_provider(client, start, "anna.andersson", redirect)
        code = parse_qs(urlparse(answer).query)["code"][0]
        tokens = client.post(f"{site.provider.issuer}/token", auth=("annan-tjanst", OTHER_SECRET),
                             data={"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": redirect, "code_verifier": verifier})  # fmt: skip
        assert tokens.status_code == 200, tokens.text
        return str(tokens.json()["id_token"])


def client_as(site: Site, client_id: str, secret: str) -> OidcClient:
    config = WebConfig(oidc_issuer=site.provider.issuer, oidc_client_id=client_id,
                       oidc_client_secret=SecretStr(secret))  # fmt: skip
    return OidcClient(config, tenants=["0180"], audience="kaa-api", claim_map=ClaimMap(**CLAIMS),
                      max_lifetime=12 * 3600)  # fmt: skip


def test_an_id_token_for_another_client_is_refused(site: Site) -> None:
    nonce = secrets.token_urlsafe(16)
    token = other_clients_id_token(site, nonce)

    async def verify(client: OidcClient) -> dict[str, object]:
        try:
            return await client.verify_id_token(token, nonce)
        finally:
            await client.close()

    # The token is genuine: its own client accepts it (signature, issuer, expiry, nonce) ...
    assert asyncio.run(verify(client_as(site, "annan-tjanst", OTHER_SECRET)))["sub"] == (
        "anna.andersson"
    )
    # ... and kaa's web application, whose client id is not its audience, refuses it.
    with pytest.raises(SignInRefused) as refused:
        asyncio.run(verify(client_as(site, "kaa-web", SECRET)))
    assert refused.value.kind == "provider"
    assert "another client" in refused.value.reason
