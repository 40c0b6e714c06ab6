"""OpenID Connect sign-in (authorization code flow with PKCE) against the municipality's identity
provider.

- Discovery (`<issuer>/.well-known/openid-configuration`, its `issuer` must be the configured one)
  gives the endpoints and the JWKS.
- The flow's secrets (state, nonce, the PKCE verifier) travel in a short-lived HttpOnly cookie
  bound to the browser, sealed (AES-256-GCM, a key derived from the deployment's token secret, so
  that every web process of the deployment opens it and nobody else reads or forges it); the
  callback takes it once.
- The ID token is verified: signature by the provider's JWKS, `iss`, `aud` = the client id (and
  `azp`, when present), `exp`, and the nonce. The access token is what the services get: it is
  verified here as the services verify it (`shared.auth.TokenVerifier`: JWKS, issuer, the
  services' audience, the claim mapping `KAA_TOKEN_CLAIMS`), so the web signs in exactly the user
  the services will see, with the roles and the municipality they will see.
- A sign-in that does not pass is `SignInRefused`: `kind` says which page the user sees, `reason`
  is for the log and never holds a value from the tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any, Literal
from urllib.parse import quote, urlencode

import httpx
import jwt
from fastapi import HTTPException

from services.web.adapters.config import WebConfig
from services.web.adapters.sealing import SealingKey
from shared.auth import ASYMMETRIC, TokenVerifier
from shared.token_claims import ClaimMap, known_roles

PENDING_SECONDS = 600
JWKS_REFRESH_SECONDS = 10.0
RefusalKind = Literal["flow", "provider", "no_role", "tenant"]


class SignInRefused(Exception):
    """The sign-in does not pass. `kind`: `flow` (state, cookie, code: start again), `provider`
    (the provider or its tokens), `no_role` (no kaa role in the claims), `tenant` (a municipality
    this deployment does not serve)."""

    def __init__(self, kind: RefusalKind, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass(frozen=True)
class Pending:
    """One sign-in under way, as its cookie carries it."""

    state: str
    nonce: str
    verifier: str
    redirect_uri: str
    created: float

    @staticmethod
    def new(redirect_uri: str) -> Pending:
        return Pending(secrets.token_urlsafe(32), secrets.token_urlsafe(32),
                       secrets.token_urlsafe(64), redirect_uri, time.time())  # fmt: skip

    @property
    def challenge(self) -> str:
        """The PKCE S256 code challenge of the verifier."""
        digest = hashlib.sha256(self.verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class SignedIn:
    subject: str
    tenant: str
    roles: list[str]
    access_token: str
    id_token: str


class Sealer:
    """Seals small JSON values for a cookie: unreadable and unforgeable without the key."""

    def __init__(self, secret: str, purpose: str) -> None:
        self._key = SealingKey(secret.encode(), f"kaa web {purpose}".encode())
        self._purpose = purpose.encode()

    def seal(self, value: dict[str, Any]) -> str:
        sealed = self._key.seal(json.dumps(value).encode(), self._purpose)
        return base64.urlsafe_b64encode(sealed).decode("ascii")

    def open(self, value: str | None) -> dict[str, Any] | None:
        if not value or len(value) > 4000:
            return None
        try:
            raw = base64.urlsafe_b64decode(value.encode("ascii"))
            opened = json.loads(self._key.open(raw, self._purpose))
        except Exception:  # tampered, truncated, another key: not ours
            return None
        return opened if isinstance(opened, dict) else None

    def seal_pending(self, pending: Pending) -> str:
        return self.seal(asdict(pending))

    def open_pending(self, value: str | None) -> Pending | None:
        opened = self.open(value)
        try:
            pending = Pending(**opened) if opened is not None else None
        except TypeError:
            return None
        if pending is None or not 0 <= time.time() - pending.created <= PENDING_SECONDS:
            return None
        return pending


class OidcClient:
    """The web application as the provider's client (see the module text)."""

    def __init__(
        self,
        config: WebConfig,
        *,
        tenants: list[str],
        audience: str,
        claim_map: ClaimMap,
        max_lifetime: float,
    ) -> None:
        if not (config.oidc_issuer and config.oidc_client_id and config.oidc_client_secret):
            raise ValueError("oidc: issuer, client id and client secret are all needed")
        self.issuer = config.oidc_issuer.rstrip("/")
        self.client_id = config.oidc_client_id
        self._secret = config.oidc_client_secret
        self.config = config
        self.tenants = frozenset(tenants)
        self._audience, self._claim_map, self._max_lifetime = audience, claim_map, max_lifetime
        self._http = httpx.AsyncClient(timeout=config.service_timeout_seconds)
        self._discovery: dict[str, Any] | None = None
        self._access: TokenVerifier | None = None
        self._keys: dict[str, Any] = {}
        self._keys_at = 0.0

    async def close(self) -> None:
        await self._http.aclose()

    async def discovery(self) -> dict[str, Any]:
        if self._discovery is None:
            document = await self._get_json(f"{self.issuer}/.well-known/openid-configuration")
            if str(document.get("issuer", "")).rstrip("/") != self.issuer:
                raise SignInRefused("provider", "discovery names another issuer")
            for needed in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(document.get(needed), str):
                    raise SignInRefused("provider", f"discovery has no {needed}")
            self._discovery = document
        return self._discovery

    async def authorization_url(self, pending: Pending) -> str:
        found = await self.discovery()
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": pending.redirect_uri,
            "scope": " ".join(dict.fromkeys(["openid", *self.config.oidc_scope.split()])),
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": pending.challenge,
            "code_challenge_method": "S256",
        }
        if self.config.oidc_resource:
            params["resource"] = self.config.oidc_resource
        endpoint = str(found["authorization_endpoint"])
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"

    async def finish(
        self, pending: Pending | None, code: str, state: str, iss: str | None = None
    ) -> SignedIn:
        """The callback: the state against the browser's pending sign-in, the code exchanged
        (with the PKCE verifier), both tokens verified, the user's roles and municipality."""
        if pending is None:
            raise SignInRefused("flow", "no sign-in under way in this browser (cookie missing)")
        if not state or not hmac.compare_digest(state.encode(), pending.state.encode()):
            raise SignInRefused("flow", "state does not match this browser's sign-in")
        if iss is not None and iss.rstrip("/") != self.issuer:  # RFC 9207: a mix-up
            raise SignInRefused("flow", "the answer names another issuer")
        if not code:
            raise SignInRefused("flow", "no authorization code")
        tokens = await self._exchange(code, pending)
        id_claims = await self.verify_id_token(tokens["id_token"], pending.nonce)
        access_claims, covered = await self._verify_access(tokens["access_token"])
        if access_claims.get("sub") != id_claims.get("sub"):
            raise SignInRefused("provider", "the access token names another subject")
        roles = known_roles(access_claims.get("roles"))
        if not roles:
            raise SignInRefused("no_role", "no kaa role among the user's claims")
        served = sorted(covered & self.tenants)
        if not served:
            raise SignInRefused("tenant", "the user's municipality is not served here")
        return SignedIn(str(access_claims["sub"]), served[0], roles,
                        tokens["access_token"], tokens["id_token"])  # fmt: skip

    async def verify_id_token(self, token: str, nonce: str) -> dict[str, Any]:
        """The ID token's claims once its signature, issuer, audience, expiry and nonce pass."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise SignInRefused("provider", "the ID token is not a JWT") from None
        algorithm = header.get("alg")
        if algorithm not in ASYMMETRIC:
            raise SignInRefused("provider", "the ID token's algorithm is not accepted")
        key = await self._key(str(header.get("kid") or ""))
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=[str(algorithm)], audience=self.client_id,
                issuer=(await self.discovery())["issuer"], leeway=30,
                options={"require": ["exp", "iat", "sub", "nonce"]},
            )  # fmt: skip
        except jwt.InvalidAudienceError:
            raise SignInRefused("provider", "the ID token is for another client") from None
        except jwt.PyJWTError as exc:
            raise SignInRefused(
                "provider", f"the ID token does not pass ({type(exc).__name__})"
            ) from None
        if "azp" in claims and claims["azp"] != self.client_id:
            raise SignInRefused("provider", "the ID token is for another client (azp)")
        if not hmac.compare_digest(str(claims["nonce"]).encode(), nonce.encode()):
            raise SignInRefused("flow", "the ID token's nonce is not this sign-in's")
        return claims

    async def end_session_url(self, id_token: str | None, after: str) -> str | None:
        """Where the browser ends its session at the provider (RP-initiated logout), if the
        provider advertises it."""
        try:
            endpoint = (await self.discovery()).get("end_session_endpoint")
        except SignInRefused:
            return None
        if not isinstance(endpoint, str):
            return None
        params = {"client_id": self.client_id, "post_logout_redirect_uri": after}
        if id_token:
            params["id_token_hint"] = id_token
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"

    async def _exchange(self, code: str, pending: Pending) -> dict[str, str]:
        found = await self.discovery()
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": pending.redirect_uri, "code_verifier": pending.verifier}  # fmt: skip
        if self.config.oidc_resource:
            form["resource"] = self.config.oidc_resource
        # RFC 6749 2.3.1: client id and secret form-encoded before Basic.
        auth = (quote(self.client_id, safe=""), quote(self._secret.get_secret_value(), safe=""))
        try:
            answer = await self._http.post(str(found["token_endpoint"]), data=form, auth=auth)
        except httpx.HTTPError as exc:
            raise SignInRefused(
                "provider", f"token endpoint not reached ({type(exc).__name__})"
            ) from None
        if answer.status_code != 200:
            raise SignInRefused(
                "flow", f"the token endpoint refused the code ({_error_of(answer)})"
            )
        try:
            body = answer.json()
        except ValueError:
            raise SignInRefused("provider", "the token endpoint's answer is not JSON") from None
        tokens = {k: body.get(k) for k in ("id_token", "access_token")}
        if not all(isinstance(v, str) and v for v in tokens.values()):
            raise SignInRefused("provider", "the token endpoint gave no ID token or access token")
        return {k: str(v) for k, v in tokens.items()}

    async def _verify_access(self, token: str) -> tuple[dict[str, Any], frozenset[str]]:
        if self._access is None:
            found = await self.discovery()
            self._access = TokenVerifier(
                None, jwks_url=str(found["jwks_uri"]), issuer=str(found["issuer"]),
                audience=self._audience, claim_map=self._claim_map,
                max_lifetime=self._max_lifetime,
            )  # fmt: skip
        try:
            return await self._access.verify(token)
        except HTTPException as exc:  # the services would refuse it so
            raise SignInRefused(
                "provider", f"the access token does not pass: {exc.detail}"
            ) from None

    async def _key(self, kid: str) -> Any:
        stale = time.monotonic() - self._keys_at > JWKS_REFRESH_SECONDS
        if kid not in self._keys and (not self._keys_at or stale):
            self._keys_at = time.monotonic()
            document = await self._get_json(str((await self.discovery())["jwks_uri"]))
            try:
                keys = jwt.PyJWKSet.from_dict(document)
            except jwt.PyJWTError:
                raise SignInRefused("provider", "the provider's JWKS cannot be read") from None
            self._keys.update({k.key_id: k.key for k in keys.keys if k.key_id})
        if kid not in self._keys:
            raise SignInRefused("provider", "the ID token is signed with a key the JWKS lacks")
        return self._keys[kid]

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            answer = await self._http.get(url)
            answer.raise_for_status()
            document = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SignInRefused(
                "provider", f"{url} cannot be read ({type(exc).__name__})"
            ) from None
        if not isinstance(document, dict):
            raise SignInRefused("provider", f"{url} is not a JSON object")
        return document


def _error_of(answer: httpx.Response) -> str:
    """The OAuth error code of a refusal (a word of the protocol's, never other text)."""
    try:
        code = answer.json().get("error")
    except (ValueError, AttributeError):
        code = None
    if isinstance(code, str) and code.replace("_", "").isalpha() and len(code) < 40:
        return f"{answer.status_code} {code}"
    return str(answer.status_code)
