"""Bearer tokens: who is calling, for which municipality, in which roles.

Two kinds of token are accepted:
- HS256, signed with the deployment's `KAA_TOKEN_SECRET` (development, tests, `kaa token`);
- RS256 or ES256 from the identity provider, verified with the public key its JWKS document
  (`KAA_JWKS_URL`) lists under the token's `kid`; keys are fetched when an unknown `kid` appears
  (at most every few seconds) and kept.
The algorithm decides the key and nothing else does: an HS256 token is never checked against a
public key, an unsigned token (`alg: none`) never passes. Audience, expiry and issuer are checked.
A token that passed is not checked again until it expires, for five minutes at most
(`shared.token_cache`).

Claims: `sub`, `roles` (list), and `tenant` (one kommunkod) or `tenants` (a consortium user's
several), optionally `grants` and `teams` (lists). With several tenants, the request names the municipality it
acts for in `X-Kaa-Tenant`; the provider's own claim names map onto these by `KAA_TOKEN_CLAIMS`
(`shared.token_claims`). Every HTTP command takes tenant and actor from here, never from the
body, so an event can never be written for another municipality than the caller's.

The claims are strings that reach kaa like any other (the actor is written into events and the
access log): a claim that is not text (`shared.contracts.text`), or not of its shape, refuses the
token with 401 naming the claim, never echoing it. `sub` is not empty; a token may not live longer
than the deployment's maximum (`KAA_TOKEN_MAX_LIFETIME`, 12 hours by default): `exp - iat`, or
`exp - now` for a token without `iat`.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeGuard

import httpx
import jwt
from fastapi import HTTPException, Request, status

from shared.contracts.text import text_problem
from shared.logs import bind_caller, route_of
from shared.token_cache import VerifiedTokens
from shared.token_claims import ClaimMap, is_kommunkod, subject_problem, teams_of

Role = Literal[
    "caseworker", "coordinator", "school-reporter", "inspector", "consortium-admin", "operator"
]
ROLES: tuple[Role, ...] = (
    "caseworker", "coordinator", "school-reporter", "inspector", "consortium-admin", "operator"
)  # fmt: skip
GRANTS = ("protected-identity",)
ISSUER = "kaa"
AUDIENCE = "kaa-api"
TENANT_HEADER = "X-Kaa-Tenant"
ASYMMETRIC = ("RS256", "ES256")
JWKS_REFRESH_SECONDS = 10.0
MAX_LIFETIME_SECONDS = 12 * 3600.0
MAX_CLAIM_ITEMS = 64


@dataclass(frozen=True)
class Principal:
    subject: str
    tenant: str
    roles: frozenset[str]
    tenants: frozenset[str] = field(default_factory=frozenset)
    # Explicit grants beyond the role, e.g. `protected-identity`: may see a youth under
    # skyddad folkbokföring / sekretessmarkering.
    grants: frozenset[str] = field(default_factory=frozenset)
    teams: frozenset[str] = field(default_factory=frozenset)  # team codes ("my team")

    @property
    def actor(self) -> str:
        return f"user:{self.subject}"


def issue_token(
    secret: str,
    *,
    subject: str,
    tenant: str | None = None,
    roles: list[str],
    tenants: list[str] | None = None,
    lifetime: timedelta = timedelta(hours=12),
    audience: str = AUDIENCE,
    grants: list[str] | None = None,
    teams: list[str] | None = None,
) -> str:
    """A development token (HS256, the local secret) for one municipality or several."""
    covered = [tenant] if tenant is not None else list(tenants or [])
    if not covered or not all(is_kommunkod(t) for t in covered):
        raise ValueError("tenant must be a 4-digit kommunkod")
    problem = subject_problem(subject)
    if problem is not None:
        raise ValueError(f"subject: {problem}")
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown role(s) {sorted(unknown)}; known: {', '.join(ROLES)}")
    unknown = set(grants or ()) - set(GRANTS)
    if unknown:
        raise ValueError(f"unknown grant(s) {sorted(unknown)}; known: {', '.join(GRANTS)}")
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": audience,
        "sub": subject,
        "roles": sorted(roles),
        "iat": now,
        "exp": now + lifetime,
    }
    if tenant is not None:
        claims["tenant"] = tenant
    else:
        claims["tenants"] = sorted(covered)
    if grants:
        claims["grants"] = sorted(grants)
    if teams:
        claims["teams"] = sorted(teams)
    return jwt.encode(claims, secret, algorithm="HS256")


class TokenVerifier:
    """Checks a bearer token's signature and claims (see the module text)."""

    def __init__(
        self,
        secret: str | None,
        *,
        jwks_url: str | None = None,
        issuer: str | None = None,
        audience: str = AUDIENCE,
        leeway: float = 30.0,
        max_lifetime: float = MAX_LIFETIME_SECONDS,
        claim_map: ClaimMap | None = None,
    ) -> None:
        self.secret = secret
        self.claim_map = claim_map or ClaimMap()  # the provider's claim names (KAA_TOKEN_CLAIMS)
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.max_lifetime = max_lifetime
        self._keys: dict[str, Any] = {}
        self._fetched_at = 0.0
        self._fetching = asyncio.Lock()
        self._verified = VerifiedTokens(leeway)

    async def verify(self, token: str) -> tuple[dict[str, Any], frozenset[str]]:
        """The token's claims and the municipalities it covers; 401 when it does not pass."""
        if (verified := self._verified.get(token)) is not None:
            return verified  # the same token verified before (`shared.token_cache`)
        verified = await self._verify(token)
        self._verified.put(token, verified)
        return verified

    async def _verify(self, token: str) -> tuple[dict[str, Any], frozenset[str]]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise _unauthorized(f"invalid token: {_jwt_problem(exc)}") from None
        algorithm, mapped = header.get("alg"), False
        if not isinstance(algorithm, str):
            raise _unauthorized("invalid token: header alg is not a string")
        if algorithm == "HS256" and self.secret:
            key: Any = self.secret
            issuer = ISSUER
        elif algorithm in ASYMMETRIC and self.jwks_url:
            key = await self._public_key(str(header.get("kid") or ""))
            issuer, mapped = self.issuer or ISSUER, not self.claim_map.is_identity
        else:
            named = repr(algorithm) if algorithm in KNOWN_ALGORITHMS else "of this token"
            raise _unauthorized(f"invalid token: algorithm {named} is not accepted here")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[str(algorithm)],
                audience=self.audience,
                issuer=issuer,
                leeway=self.leeway,
                options={"require": ["exp", "sub"] if mapped else ["exp", "sub", "roles"]},
            )
            claims = self.claim_map.apply(claims) if mapped else claims
        except jwt.ExpiredSignatureError:
            raise _unauthorized("token expired") from None
        except jwt.PyJWTError as exc:
            raise _unauthorized(f"invalid token: {_jwt_problem(exc)}") from None
        return claims, self.checked(claims)

    def checked(self, claims: dict[str, Any]) -> frozenset[str]:
        """The municipalities a signed token covers, once every claim kaa uses is text of its
        shape and the token's lifetime is within the maximum; 401 naming the claim otherwise."""
        problem = subject_problem(claims.get("sub"))
        if problem is not None:
            raise _unauthorized(f"invalid token: claim sub {problem}")
        _text_list(claims, "roles", required=True)
        _text_list(claims, "grants", required=False)
        _text_list(claims, "teams", required=False)
        tenants = _tenants_of(claims)
        expires, issued = claims.get("exp"), claims.get("iat")
        start = issued if _is_number(issued) else time.time()
        if _is_number(expires) and expires - start > self.max_lifetime:
            raise _unauthorized(
                "invalid token: claim exp: the token lives longer than this deployment allows "
                f"({self.max_lifetime / 3600:g} hours at most, KAA_TOKEN_MAX_LIFETIME)"
            )
        return tenants

    async def _public_key(self, kid: str) -> Any:
        if kid not in self._keys:
            async with self._fetching:  # an unknown kid: the provider may have rotated its keys
                stale = time.monotonic() - self._fetched_at > JWKS_REFRESH_SECONDS
                if kid not in self._keys and (not self._fetched_at or stale):
                    await self._fetch_keys()
        found = self._keys.get(kid)
        if found is None:
            raise _unauthorized(
                "invalid token: signed with a key the identity provider does not list"
            )
        return found

    async def _fetch_keys(self) -> None:
        assert self.jwks_url is not None
        self._fetched_at = time.monotonic()
        try:
            async with httpx.AsyncClient(timeout=5.0) as client:
                response = await client.get(self.jwks_url)
                response.raise_for_status()
                keys = jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                f"the identity provider's keys cannot be read now ({type(exc).__name__})",
            ) from None
        self._keys.update({k.key_id: k.key for k in keys.keys if k.key_id})


KNOWN_ALGORITHMS = frozenset(jwt.algorithms.get_default_algorithms()) | {"none"}


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text_list(claims: dict[str, Any], name: str, *, required: bool) -> None:
    value = claims.get(name)
    if value is None and not required:
        return
    if not isinstance(value, list) or len(value) > MAX_CLAIM_ITEMS:
        raise _unauthorized(
            f"invalid token: claim {name} is not a list (of at most {MAX_CLAIM_ITEMS} strings)"
        )
    for item in value:
        problem = (
            "is not a string"
            if not isinstance(item, str)
            else ("is empty" if not item else text_problem(item))
        )
        if problem is not None:
            raise _unauthorized(f"invalid token: an item of claim {name} {problem}")


def _tenants_of(claims: dict[str, Any]) -> frozenset[str]:
    single, several = claims.get("tenant"), claims.get("tenants")
    if single is None and several is None:
        raise _unauthorized("invalid token: no valid tenant (claim tenant or tenants)")
    if single is not None:
        if not is_kommunkod(single):
            raise _unauthorized("invalid token: claim tenant is not a 4-digit kommunkod")
        return frozenset([single])
    if (
        not isinstance(several, list)
        or not several
        or len(several) > MAX_CLAIM_ITEMS
        or not all(is_kommunkod(t) for t in several)
    ):
        raise _unauthorized("invalid token: claim tenants is not a list of 4-digit kommunkoder")
    return frozenset(several)


def verify_token(secret: str, token: str) -> Principal:
    """Synchronous check of a development (HS256) token for one municipality."""
    verifier = TokenVerifier(secret)
    claims, tenants = asyncio.run(verifier.verify(token))
    return Principal(
        claims["sub"], min(tenants), frozenset(claims["roles"]), tenants, _grants_of(claims)
    )


def _grants_of(claims: dict[str, Any]) -> frozenset[str]:
    """The grants of a token whose claims were checked."""
    return frozenset(claims.get("grants") or ())


def _jwt_problem(exc: jwt.PyJWTError) -> str:
    """What is wrong with a token, in words of our own: the library's messages may quote the
    token's bytes."""
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"claim {exc.claim} is missing"
    problems: list[tuple[type[jwt.PyJWTError], str]] = [
        (jwt.InvalidAudienceError, "claim aud does not name this deployment"),
        (jwt.InvalidIssuerError, "claim iss is not the identity provider"),
        (jwt.ImmatureSignatureError, "the token is not valid yet (nbf or iat)"),
        (jwt.InvalidIssuedAtError, "claim iat is not a time"),
        (jwt.exceptions.InvalidSubjectError, "claim sub is not a string"),
        (jwt.InvalidSignatureError, "the signature does not verify"),
        (jwt.DecodeError, "not a well-formed token"),
    ]
    for kind, problem in problems:
        if isinstance(exc, kind):
            return problem
    return "not a token this deployment accepts"


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=reason,
        headers={"WWW-Authenticate": "Bearer"},
    )


def principal_dependency(
    verifier: TokenVerifier | str, served_tenants: list[str]
) -> Callable[[Request], Awaitable[Principal]]:
    """FastAPI dependency that authenticates the bearer token of a request.

    Async (it does not block): FastAPI runs a plain function dependency in a worker thread,
    a hop per request that costs more than checking the token.
    """
    checker = TokenVerifier(verifier) if isinstance(verifier, str) else verifier
    served = frozenset(served_tenants)

    async def authenticate(request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized("missing bearer token")
        claims, tenants = await checker.verify(token.strip())
        chosen = request.headers.get(TENANT_HEADER)
        if chosen is None:
            if len(tenants) > 1:
                raise HTTPException(
                    status.HTTP_400_BAD_REQUEST,
                    f"{TENANT_HEADER}: the token covers several municipalities; "
                    "name the one this request acts for",
                )
            (chosen,) = tenants
        elif not is_kommunkod(chosen):
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST, f"{TENANT_HEADER}: not a 4-digit kommunkod"
            )
        elif chosen not in tenants:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"{TENANT_HEADER}: the token does not cover {chosen}"
            )
        if chosen not in served:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"tenant {chosen} is not served here")
        principal = Principal(
            subject=claims["sub"],
            tenant=chosen,
            roles=frozenset(claims["roles"]),
            tenants=tenants,
            grants=_grants_of(claims),
            teams=teams_of(claims),
        )
        # The request's log lines (and its `request` line) name the caller from here on.
        bind_caller(principal.tenant, principal.actor, route_of(request.scope))
        return principal

    return authenticate


def require_role(
    authenticate: Callable[[Request], Awaitable[Principal]], *roles: Role
) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that authenticates and checks the role in one: FastAPI solving a dependency
    of a dependency cost a fifth of a caseworker request's CPU in the framework (measured)."""

    async def check(request: Request) -> Principal:
        principal = await authenticate(request)
        if not principal.roles.intersection(roles):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"requires role {' or '.join(roles)}")
        return principal

    return check
