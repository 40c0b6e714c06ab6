"""Bearer tokens: who is calling, for which municipality, in which roles.

Two kinds of token are accepted:
- HS256, signed with the deployment's `KAA_TOKEN_SECRET` (development, tests, `kaa token`);
- RS256 or ES256 from the identity provider, verified with the public key its JWKS document
  (`KAA_JWKS_URL`) lists under the token's `kid`; keys are fetched when an unknown `kid` appears
  (at most every few seconds) and kept.
The algorithm decides the key and nothing else does: an HS256 token is never checked against a
public key, an unsigned token (`alg: none`) never passes. Audience, expiry and issuer are checked.

Claims: `sub`, `roles` (list), and `tenant` (one kommunkod) or `tenants` (a consortium user's
several). With several, the request names the municipality it acts for in `X-Kaa-Tenant`. Every
HTTP command takes tenant and actor from here, never from the body, so an event can never be
written for another municipality than the caller's.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import httpx
import jwt
from fastapi import Depends, HTTPException, Request, status

Role = Literal[
    "caseworker", "coordinator", "school-reporter", "inspector", "consortium-admin", "operator"
]
ROLES: tuple[Role, ...] = (
    "caseworker", "coordinator", "school-reporter", "inspector", "consortium-admin", "operator"
)  # fmt: skip
ISSUER = "kaa"
AUDIENCE = "kaa-api"
TENANT_HEADER = "X-Kaa-Tenant"
ASYMMETRIC = ("RS256", "ES256")
JWKS_REFRESH_SECONDS = 10.0


@dataclass(frozen=True)
class Principal:
    subject: str
    tenant: str
    roles: frozenset[str]
    tenants: frozenset[str] = field(default_factory=frozenset)
    # Explicit grants beyond the role, e.g. `protected-identity`: may see a youth under
    # skyddad folkbokföring / sekretessmarkering.
    grants: frozenset[str] = field(default_factory=frozenset)

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
) -> str:
    """A development token (HS256, the local secret) for one municipality or several."""
    covered = [tenant] if tenant is not None else list(tenants or [])
    if not covered or not all(len(t) == 4 and t.isdigit() for t in covered):
        raise ValueError("tenant must be a 4-digit kommunkod")
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown role(s) {sorted(unknown)}; known: {', '.join(ROLES)}")
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
    ) -> None:
        self.secret = secret
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self._keys: dict[str, Any] = {}
        self._fetched_at = 0.0
        self._fetching = asyncio.Lock()

    async def verify(self, token: str) -> tuple[dict[str, Any], frozenset[str]]:
        """The token's claims and the municipalities it covers; 401 when it does not pass."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise _unauthorized(f"invalid token: {exc}") from None
        algorithm = header.get("alg")
        if algorithm == "HS256" and self.secret:
            key: Any = self.secret
            issuer = ISSUER
        elif algorithm in ASYMMETRIC and self.jwks_url:
            key = await self._public_key(str(header.get("kid") or ""))
            issuer = self.issuer or ISSUER
        else:
            raise _unauthorized(f"invalid token: algorithm {algorithm!r} is not accepted here")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[str(algorithm)],
                audience=self.audience,
                issuer=issuer,
                leeway=self.leeway,
                options={"require": ["exp", "sub", "roles"]},
            )
        except jwt.ExpiredSignatureError:
            raise _unauthorized("token expired") from None
        except jwt.PyJWTError as exc:
            raise _unauthorized(f"invalid token: {exc}") from None
        return claims, _tenants_of(claims)

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


def _tenants_of(claims: dict[str, Any]) -> frozenset[str]:
    single, several = claims.get("tenant"), claims.get("tenants")
    covered = [single] if single is not None else several
    if (
        not isinstance(covered, list)
        or not covered
        or not all(isinstance(t, str) and len(t) == 4 and t.isdigit() for t in covered)
    ):
        raise _unauthorized("token has no valid tenant")
    if not isinstance(claims.get("roles"), list):
        raise _unauthorized("token has no roles")
    return frozenset(covered)


def _grants_of(claims: dict[str, Any]) -> frozenset[str]:
    grants = claims.get("grants")
    return frozenset(map(str, grants)) if isinstance(grants, list) else frozenset()


def verify_token(secret: str, token: str) -> Principal:
    """Synchronous check of a development (HS256) token for one municipality."""
    verifier = TokenVerifier(secret)
    claims, tenants = asyncio.run(verifier.verify(token))
    return Principal(
        str(claims["sub"]), min(tenants), frozenset(map(str, claims["roles"])), tenants
    )


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
        elif chosen not in tenants:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"{TENANT_HEADER}: the token does not cover {chosen}"
            )
        if chosen not in served:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"tenant {chosen} is not served here")
        return Principal(
            subject=str(claims["sub"]),
            tenant=chosen,
            roles=frozenset(map(str, claims["roles"])),
            tenants=tenants,
            grants=_grants_of(claims),
        )

    return authenticate


def require_role(
    authenticate: Callable[[Request], Awaitable[Principal]], *roles: Role
) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if not principal.roles.intersection(roles):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"requires role {' or '.join(roles)}")
        return principal

    return check
