"""What inspectors and operators read: the register as it stood at an instant (audit replay) and
the events the register could not apply (dead events: ids, types and reasons only)."""

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status

from services.register.adapters import readmodel as queries
from services.register.commands.replay import ReplayInterrupted, shown_in, youth_read
from services.register.entrypoints.http.params import Instant, logged, scoped
from shared import access_log
from shared.auth import Principal
from shared.crypto import TenantKeys

Replayer = Callable[[str, datetime, uuid.UUID | None], Awaitable[dict[str, Any]]]
"""The audit replay of a municipality (or one youth) as of an instant (`commands.replay`)."""


def audit_routes(
    inspector: Callable[..., Awaitable[Principal]], replayer: Replayer, keys: TenantKeys
) -> APIRouter:
    """The audit replay (inspectors). `keys` open the caseworkers' words in a youth's timeline."""
    router = APIRouter(prefix="/v1")
    Inspector = Annotated[Principal, Depends(inspector)]

    async def replayed(as_of: datetime, tenant: str, youth_id: uuid.UUID | None) -> dict[str, Any]:
        try:
            return await replayer(tenant, as_of, youth_id)
        except ValueError as exc:  # the replay's messages name the field, never the value
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
        except ReplayInterrupted as exc:  # the database restarted: asked again, it answers
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), headers={"Retry-After": "5"}
            ) from None

    AsOf = Annotated[
        Instant,
        Query(
            description="An instant with its UTC offset: 2026-06-30T21:59:59Z, or "
            "2026-06-30T23:59:59%2B02:00 (an unencoded + is read as one)."
        ),
    ]

    @router.get("/audit/register")
    async def audit_register(request: Request, caller: Inspector, as_of: AsOf) -> dict[str, Any]:
        """The register exactly as it stood at `as_of` (inspectors; only events recorded by then;
        the live register is not touched). Every youth it shows is in the access log."""
        replay = await replayed(as_of, caller.tenant, None)
        shown = shown_in(replay, None)
        await logged(request, caller, shown, "audit-replay", f"whole register as of {as_of}")
        return replay

    @router.get("/audit/youths/{youth_id}")
    async def audit_youth(
        youth_id: uuid.UUID,
        request: Request,
        caller: Inspector,
        as_of: AsOf,
    ) -> dict[str, Any]:
        """One youth's register content as it stood at `as_of`: scope episodes with their rule
        versions, contacts, occupations, plan revisions and measures, with who recorded them."""
        replay = await replayed(as_of, caller.tenant, youth_id)
        if replay["youth"] is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, "youth_id: no such youth in your municipality then"
            )
        reading = access_log.Access(
            caller.tenant, caller.actor, "audit-replay", f"register as of {as_of}", "register"
        )
        return await youth_read(scoped(request, caller), keys, reading, youth_id, replay)

    return router


def operations_routes(operations: Callable[..., Awaitable[Principal]]) -> APIRouter:
    """The events the register could not apply (every role of the municipality, and operators)."""
    router = APIRouter(prefix="/v1")
    Operations = Annotated[Principal, Depends(operations)]

    @router.get("/dead-events")
    async def dead_events(request: Request, caller: Operations) -> dict[str, Any]:
        """Events the register could not apply, and why; the projection went on without them."""
        return {
            "tenant": caller.tenant,
            "items": await queries.dead_events(scoped(request, caller), caller.tenant),
        }

    return router
