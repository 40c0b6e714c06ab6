"""Who a youth is (for contacting them: opened from the sealed details, every read in the access
log), and who has looked (inspectors)."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel

from services.register.adapters.identity import identities
from services.register.entrypoints.http.params import Instant, Offset, logged, refused, scoped
from shared import access_log
from shared.auth import Principal
from shared.crypto import TenantKeys


class Address(BaseModel):
    street: str | None
    postal_code: str | None
    city: str | None


class IdentityView(BaseModel):
    youth_id: uuid.UUID
    state: str
    personnummer: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    address: Address | None = None
    email: str | None = None
    phone: str | None = None
    protected: bool = False


PROTECTED_GRANT = "protected-identity"


def identity_routes(
    caseworker: Callable[..., Awaitable[Principal]],
    inspector: Callable[..., Awaitable[Principal]],
    keys: TenantKeys,
) -> APIRouter:
    """Who a youth is (for contacting them), and who has looked."""
    router = APIRouter(prefix="/v1")
    Caseworker = Annotated[Principal, Depends(caseworker)]
    Inspector = Annotated[Principal, Depends(inspector)]

    @router.get("/youths/{youth_id}/identity", response_model=IdentityView)
    async def identity(
        youth_id: uuid.UUID,
        request: Request,
        caller: Caseworker,
        purpose: Annotated[
            Literal["casework", "identity"], Query(description="Why the identity is read.")
        ] = "casework",
    ) -> IdentityView:
        """Name, personnummer and address of a youth (opened from the sealed details; every
        read is in the access log). Under skyddad folkbokföring the address is never returned,
        and the record only to a caller with the `protected-identity` grant."""
        database = scoped(request, caller)
        async with database.acquire() as conn:
            found = (await identities(conn, keys, caller.tenant, [youth_id]))[youth_id]
            known = await conn.fetchval(
                "SELECT 1 FROM youths WHERE tenant = $1 AND youth_id = $2", caller.tenant, youth_id
            )
        if not known:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, "youth_id: no such youth in your municipality"
            )
        if found.state == "tampered":
            await logged(request, caller, [youth_id], purpose, "identity refused: tampered")
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                "personal_details: the sealed details fail authentication (tampered or not this "
                "youth's); refused, and the incident is logged",
            )
        details = found.details
        if details is not None and details.protected and PROTECTED_GRANT not in caller.grants:
            await logged(request, caller, [youth_id], purpose, "identity refused: protected")
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"youth_id: a protected identity; reading it requires the {PROTECTED_GRANT} grant",
            )
        await logged(request, caller, [youth_id], purpose, f"identity ({found.state})")
        contact = found.contact
        reach = {"email": contact.email, "phone": contact.phone} if contact else {}
        if details is None:
            return IdentityView(youth_id=youth_id, state=found.state, **reach)
        return IdentityView(
            youth_id=youth_id,
            state=found.state,
            personnummer=details.personnummer,
            given_name=details.given_name,
            family_name=details.family_name,
            address=None
            if details.protected
            else Address(street=details.street, postal_code=details.postal_code, city=details.city),
            protected=details.protected,
            **reach,
        )

    @router.get("/access-log")
    async def read_access_log(
        request: Request,
        caller: Inspector,
        youth_id: Annotated[uuid.UUID | None, Query()] = None,
        since: Annotated[Instant | None, Query(description="From this instant on.")] = None,
        until: Annotated[Instant | None, Query(description="Before this instant.")] = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """Who read which youth's data, when and why (inspectors of the municipality), newest
        first: one page, and how many entries match in all."""
        if since is not None and until is not None and until < since:
            raise refused("until", "is before since")
        async with scoped(request, caller).acquire() as conn:
            total, items = await access_log.entries(
                conn, caller.tenant, youth_id, since, until, limit, offset
            )
        return {
            "tenant": caller.tenant,
            "total": total,
            "limit": limit,
            "offset": offset,
            "items": items,
        }

    return router
