"""Names on a list (`POST /v1/identities/batch`): one page of youths' names and ages for a
worklist or a register list, every youth shown in the access log (`commands/names.py`)."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from services.register.commands.names import (
    PAGE_SIZE,
    PURPOSES,
    NamesRefused,
    NameState,
    checked_batch,
    read_names,
)
from services.register.entrypoints.http.params import refused, scoped
from shared.auth import Principal
from shared.contracts.text import Text
from shared.crypto import TenantKeys


def _youth_id(value: Any) -> Any:
    """A UUID, refused without repeating the value (pydantic's own message quotes a character)."""
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise PydanticCustomError("uuid", "is not a UUID")


YouthId = Annotated[uuid.UUID, BeforeValidator(_youth_id)]


class NamesRequest(BaseModel):
    youth_ids: list[YouthId] = Field(
        description=f"The youths of one page (1 to {PAGE_SIZE}; more is refused, not cut)."
    )
    purpose: Text = Field(
        max_length=40,
        description="Why the names are read (the access log's purpose): " + ", ".join(PURPOSES),
        json_schema_extra={"enum": list(PURPOSES)},
    )


class NameView(BaseModel):
    youth_id: uuid.UUID
    state: NameState
    given_name: str | None = None
    family_name: str | None = None
    age: int | None = None
    protected: bool = False


class NamesView(BaseModel):
    items: list[NameView]
    not_found: list[uuid.UUID]


def names_routes(
    caseworker: Callable[..., Awaitable[Principal]],
    today: Callable[[], date],
    keys: TenantKeys,
) -> APIRouter:
    """Names and ages of a page of youths (caseworkers and coordinators, as the identity read)."""
    router = APIRouter(prefix="/v1")
    Caseworker = Annotated[Principal, Depends(caseworker)]

    @router.post("/identities/batch", response_model=NamesView)
    async def names(body: NamesRequest, request: Request, caller: Caseworker) -> NamesView:
        """Name and age (whole years today) of each youth of one page, in the order asked; a
        protected identity's name only with the `protected-identity` grant, a purged youth as
        purged; ids the municipality does not hold under `not_found`. Never a personnummer or an
        address. Each youth shown writes one access log entry with the purpose."""
        try:
            checked_batch(body.youth_ids, body.purpose)  # refused before the database is asked
            found = await read_names(
                scoped(request, caller), keys, caller, body.youth_ids, body.purpose, today()
            )
        except NamesRefused as refusal:
            raise refused(refusal.field, refusal.reason) from None
        return NamesView(
            items=[NameView(**asdict(item)) for item in found.items], not_found=found.not_found
        )

    return router
