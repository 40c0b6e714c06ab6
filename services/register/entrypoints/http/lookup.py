"""Find a youth by personnummer (`POST /v1/youths/lookup`): the number in the body, never in a
URL; the youth id back, the look-up in the access log with its purpose (`commands/lookup.py`)."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field

from services.register.commands.lookup import LookupPurpose, LookupRefused, find_youth
from services.register.entrypoints.http.params import refused, scoped
from shared.auth import Principal
from shared.contracts.text import Text


class LookupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    personnummer: Text = Field(
        min_length=1, max_length=20, description="12 digits YYYYMMDDNNNC (or with a hyphen)."
    )
    purpose: LookupPurpose = Field(description="Why the youth is looked up (the access log's).")


class LookupFound(BaseModel):
    youth_id: uuid.UUID


def lookup_routes(caseworker: Callable[..., Awaitable[Principal]], pseudonym_key: str) -> APIRouter:
    router = APIRouter(prefix="/v1")
    Caseworker = Annotated[Principal, Depends(caseworker)]

    @router.post("/youths/lookup", response_model=LookupFound)
    async def lookup(body: LookupRequest, request: Request, caller: Caseworker) -> LookupFound:
        """The youth the personnummer names in the caller's municipality (caseworkers,
        coordinators); 404 when the municipality holds no such youth. Logged with the purpose."""
        try:
            found = await find_youth(
                scoped(request, caller), caller, body.personnummer, body.purpose, pseudonym_key
            )
        except LookupRefused as refusal:
            raise refused(refusal.field, refusal.reason) from None
        if found is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, "personnummer: no such youth in your municipality"
            )
        return LookupFound(youth_id=found)

    return router
