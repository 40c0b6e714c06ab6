"""Who a youth is (for contacting them: opened from the sealed details, every read in the access
log), and who has looked (inspectors)."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel

from services.register.commands.identity import (
    IdentityRefused,
    NoSuchYouth,
    ProtectedIdentity,
    TamperedIdentity,
    read_identity,
)
from services.register.entrypoints.http.params import Instant, Offset, refused, scoped
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


REFUSAL_STATUS: dict[type[IdentityRefused], int] = {
    NoSuchYouth: status.HTTP_404_NOT_FOUND,
    TamperedIdentity: status.HTTP_409_CONFLICT,
    ProtectedIdentity: status.HTTP_403_FORBIDDEN,
}


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
        try:
            found = await read_identity(scoped(request, caller), keys, caller, youth_id, purpose)
        except IdentityRefused as refusal:
            raise HTTPException(REFUSAL_STATUS[type(refusal)], str(refusal)) from None
        return IdentityView(**asdict(found))

    @router.get("/access-log")
    async def read_access_log(
        request: Request,
        caller: Inspector,
        youth_id: Annotated[uuid.UUID | None, Query()] = None,
        since: Annotated[Instant | None, Query(description="From this instant on.")] = None,
        until: Annotated[Instant | None, Query(description="Before this instant.")] = None,
        actor: Annotated[
            str | None,
            Query(
                min_length=1,
                max_length=200,
                pattern=r"^[^\x00-\x1f\x7f]+$",
                description="Only this reader's entries "
                "(the actor as the log holds it, e.g. user:anna.andersson).",
            ),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """Who read which youth's data, when and why (inspectors of the municipality), newest
        first: one page, and how many entries match in all (of one reader, `actor`, if given)."""
        if since is not None and until is not None and until < since:
            raise refused("until", "is before since")
        async with scoped(request, caller).acquire() as conn:
            total, items = await access_log.entries(
                conn, caller.tenant, youth_id, since, until, limit, offset, actor=actor
            )
        return {
            "tenant": caller.tenant,
            "total": total,
            "limit": limit,
            "offset": offset,
            "items": items,
        }

    return router
