"""The connect service's HTTP: the organisers' callbacks, and the operator's view.

`POST /v1/ss12000/callbacks/{token}` is where an organiser's subscription posts when persons
changed. SS 12000 gives a subscription no signature, so the callback is verified the way the
subscription allows: its address holds a random token made for that one subscription (only its
hash is kept); any other address is 404. Its body is never acted on: a callback only makes the
connector fetch what changed from the organiser itself, so a forged body can do no more than
cause a fetch. `GET /v1/connectors` (role operator) shows per organiser the last complete sync,
the lag, the subscription and the errors; never personal data.
"""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, HTTPException, Request, status

from services.connect.adapters.state import ConnectState, Status
from shared.auth import Principal

log = structlog.get_logger(__name__)
CALLBACK_ADDRESS = r"^[A-Za-z0-9_-]{20,100}$"


@dataclass
class ConnectRuntime:
    """What the routes use once the service has started (a callback is answered 200, as
    openapi.yml's subscription callback declares)."""

    state: ConnectState | None = None
    wake: Callable[[str, str], Awaitable[None]] | None = None  # the loop of (tenant, organiser)
    configured: set[tuple[str, str]] = field(default_factory=set)
    deliveries: Callable[[], list[dict[str, Any]]] | None = None


def status_view(s: Status, now: datetime) -> dict[str, Any]:
    """One organiser's status for the operator."""
    lag = (now - s.last_complete_sync).total_seconds() if s.last_complete_sync else None
    state = "failing" if s.errors_in_a_row else "syncing" if s.syncing_since else "ok"
    if s.last_complete_sync is None and not s.errors_in_a_row:
        state = "first sync"
    return {
        "tenant": s.tenant, "organiser": s.organiser, "name": s.name, "source": s.source,
        "state": state,
        "last_complete_sync": s.last_complete_sync, "lag_seconds": lag,
        "last_sync": {"persons": s.last_sync_persons, "seconds": s.last_sync_seconds},
        "syncing": None if s.syncing_since is None else {
            "since": s.syncing_since, "pages": s.pages_read, "persons": s.persons_read,
        },
        "subscription": None if s.subscription_id is None else {
            "expires": s.subscription_expires, "renewed_at": s.subscription_renewed_at,
            "last_callback_at": s.last_callback_at, "callbacks": s.callbacks,
        },
        "subscription_error": s.subscription_error,
        "error": None if not s.errors_in_a_row else {
            "message": s.last_error, "at": s.last_error_at, "in_a_row": s.errors_in_a_row,
            "next_attempt_at": s.next_attempt_at,
        },
    }  # fmt: skip


def routes(runtime: ConnectRuntime, operator: Callable[..., Awaitable[Principal]]) -> APIRouter:
    router = APIRouter()

    @router.post("/v1/ss12000/callbacks/{token}")
    async def callback(token: str, request: Request) -> dict[str, str]:
        """An organiser's subscription says persons changed: fetch them from the organiser."""
        found = None
        if re.fullmatch(CALLBACK_ADDRESS, token) and runtime.state is not None:
            found = await runtime.state.by_callback(token)
        if found is None or runtime.wake is None or found not in runtime.configured:
            log.warning("ss12000: callback refused: no subscription has this address")
            raise HTTPException(status.HTTP_404_NOT_FOUND, "token: no subscription has it")
        await runtime.wake(*found)
        log.info("ss12000: callback", tenant=found[0], organiser=found[1])
        return {"status": "accepted: what changed is fetched from the organiser"}

    @router.get("/v1/connectors")
    async def connectors(principal: Annotated[Principal, Depends(operator)]) -> dict[str, Any]:
        """Per organiser of the caller's municipalities: sync, lag, subscription, errors."""
        if runtime.state is None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "connect: starting")
        tenants = sorted(principal.tenants or {principal.tenant})
        now = datetime.now(UTC)
        rows = await runtime.state.all(tenants, runtime.configured)
        deliveries = runtime.deliveries() if runtime.deliveries else []
        return {"organisers": [status_view(s, now) for s in rows], "deliveries": deliveries}

    return router
