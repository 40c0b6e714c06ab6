"""An audit replay the database restarted under is answered 503 with Retry-After, not 422 (the
inspector asked nothing wrong) and not 500: asked again, it answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.register.commands.replay import ReplayInterrupted
from services.register.entrypoints.http.operations import audit_routes
from shared.auth import Principal
from shared.crypto import TenantKeys


async def inspector() -> Principal:
    return Principal(subject="inga", tenant="0180", roles=frozenset({"inspector"}))


async def interrupted(tenant: str, as_of: datetime, youth_id: uuid.UUID | None) -> dict[str, Any]:
    raise ReplayInterrupted("register: the database restarted during the replay")


def test_a_replay_the_database_restarted_under_is_answered_503_to_be_asked_again() -> None:
    app = FastAPI()
    app.include_router(audit_routes(inspector, interrupted, TenantKeys("audit-interrupted-key")))
    with TestClient(app) as client:
        answer = client.get("/v1/audit/register", params={"as_of": "2026-03-01T10:00:00Z"})
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"
    assert "restarted during the replay" in answer.json()["detail"]
