"""Bearer tokens: who is calling, for which municipality, in which roles.

A token is a JWT signed with HS256 and the deployment's `KAA_TOKEN_SECRET`; production would put an
identity provider's RS256 tokens here. Every HTTP command takes tenant and actor from the token, never
from the request body, so an event can never be written for another tenant than the caller's.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import jwt
from fastapi import Depends, HTTPException, Request, status

Role = Literal["caseworker", "coordinator", "school-reporter", "inspector", "operator"]
ROLES: tuple[Role, ...] = ("caseworker", "coordinator", "school-reporter", "inspector", "operator")
ISSUER = "kaa"
AUDIENCE = "kaa-api"


@dataclass(frozen=True)
class Principal:
    subject: str
    tenant: str
    roles: frozenset[str]

    @property
    def actor(self) -> str:
        return f"user:{self.subject}"


def issue_token(
    secret: str,
    *,
    subject: str,
    tenant: str,
    roles: list[str],
    lifetime: timedelta = timedelta(hours=12),
) -> str:
    if not (len(tenant) == 4 and tenant.isdigit()):
        raise ValueError("tenant must be a 4-digit kommunkod")
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown role(s) {sorted(unknown)}; known: {', '.join(ROLES)}")
    now = datetime.now(UTC)
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject,
        "tenant": tenant,
        "roles": sorted(roles),
        "iat": now,
        "exp": now + lifetime,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_token(secret: str, token: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "sub", "tenant", "roles"]},
        )
    except jwt.ExpiredSignatureError:
        raise _unauthorized("token expired") from None
    except jwt.PyJWTError as exc:
        raise _unauthorized(f"invalid token: {exc}") from None
    tenant = claims.get("tenant")
    roles = claims.get("roles")
    if not isinstance(tenant, str) or not (len(tenant) == 4 and tenant.isdigit()):
        raise _unauthorized("token has no valid tenant")
    if not isinstance(roles, list):
        raise _unauthorized("token has no roles")
    return Principal(subject=str(claims["sub"]), tenant=tenant, roles=frozenset(map(str, roles)))


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=reason,
        headers={"WWW-Authenticate": "Bearer"},
    )


def principal_dependency(
    secret: str, served_tenants: list[str]
) -> Callable[[Request], Awaitable[Principal]]:
    """FastAPI dependency that authenticates the bearer token of a request.

    Async (it does not block): FastAPI runs a plain function dependency in a worker thread,
    a hop per request that costs more than checking the token.
    """

    async def authenticate(request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized("missing bearer token")
        principal = verify_token(secret, token.strip())
        if principal.tenant not in served_tenants:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"tenant {principal.tenant} is not served here"
            )
        return principal

    return authenticate


def require_role(
    authenticate: Callable[[Request], Awaitable[Principal]], *roles: Role
) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if not principal.roles.intersection(roles):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"requires role {' or '.join(roles)}")
        return principal

    return check
