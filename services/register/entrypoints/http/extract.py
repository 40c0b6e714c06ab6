"""The youth's own extract (GDPR art. 15), for a coordinator of the youth's municipality: as JSON
for machines or as a PDF in Swedish for the youth. Producing it is in the access log."""

import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status

from services.register.commands.extract import (
    NoSuchYouth,
    ProtectedIdentity,
    as_pdf,
    produce_extract,
)
from services.register.commands.identity import PROTECTED_GRANT
from services.register.domain.retention import retention_days
from services.register.entrypoints.http.params import scoped
from shared import access_log
from shared.auth import Principal
from shared.crypto import TenantKeys


def extract_routes(
    coordinator: Callable[..., Awaitable[Principal]],
    keys: TenantKeys,
    retention: Mapping[str, int],
) -> APIRouter:
    """`GET /v1/youths/{youth_id}/extract`; `retention` is the municipalities' retention periods
    in days (the settings'), whose rule the extract states."""
    router = APIRouter(prefix="/v1")
    Coordinator = Annotated[Principal, Depends(coordinator)]

    @router.get("/youths/{youth_id}/extract", response_model=None)
    async def extract(
        youth_id: uuid.UUID,
        request: Request,
        caller: Coordinator,
        format: Annotated[
            Literal["json", "pdf"], Query(description="json for machines, pdf for the youth")
        ] = "json",
        purpose: Annotated[
            Literal["extract"], Query(description="Why: the youth asked for their extract.")
        ] = "extract",
    ) -> dict[str, Any] | Response:
        """Everything the municipality holds about the youth (GDPR art. 15): identity (never a
        protected identity's address), scope episodes, contacts, occupations, plans, measures,
        corrections, who read their data, and the retention rule. A purged youth: the skeleton
        that remains, stated as such. Needs the `protected-identity` grant for a protected
        identity, like every read of that record."""
        reader = access_log.Access(caller.tenant, caller.actor, purpose, "extract", "register")
        try:
            found = await produce_extract(
                scoped(request, caller), keys, reader, youth_id,
                retention_days(caller.tenant, retention), PROTECTED_GRANT in caller.grants,
                datetime.now(UTC),
            )  # fmt: skip
        except NoSuchYouth as refusal:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(refusal)) from None
        except ProtectedIdentity as refusal:
            raise HTTPException(status.HTTP_403_FORBIDDEN, str(refusal)) from None
        if format == "json":
            return found
        return Response(
            as_pdf(found),
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="registerutdrag-{youth_id}.pdf"',
                "Cache-Control": "no-store",
            },
        )

    return router
