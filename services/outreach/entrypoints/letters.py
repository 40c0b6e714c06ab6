"""HTTP routes of letters: the municipality's templates (coordinators save, caseworkers read), a
letter for one youth or a batch for the first-contact worklist as one PDF, the batch's listing,
and the confirmation that it was posted (each letter a contact attempt).

PDFs are answered with `Cache-Control: no-store` (they hold names and addresses); no personal
data is in a URL. A bad template is 422 naming the part, the line and the column, never the text.

No `from __future__ import annotations` here: FastAPI must see the dependency annotations, which
are built inside `letter_routes`, as real objects.
"""

import uuid
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.outreach.commands.letters import (
    MAX_BATCH,
    LetterHandlers,
    LetterNotFound,
    Made,
    MakeLetters,
    TemplateDraft,
)
from services.outreach.domain.letters import FIELDS, Template
from shared import dates
from shared.auth import Principal
from shared.casework.entrypoints.http import CaseRoutes
from shared.contracts.text import FreeText, Text

TemplateName = Annotated[str, Path(pattern=r"^[a-z0-9_-]{1,40}$")]
NO_STORE = {"Cache-Control": "no-store"}


MAX_VERSION = 2**31 - 1
"""A template version is a PostgreSQL integer: a larger number names no version (422)."""


class TemplateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: Text = Field(max_length=200)
    body: FreeText = Field(max_length=6000, description="Swedish text with {field} placeholders.")
    offer: FreeText = Field(default="", max_length=1500, description="The municipality's offer.")
    contact: FreeText = Field(default="", max_length=1500, description="How to reach it.")


class TemplateView(BaseModel):
    name: str
    version: int = Field(description="0: the standard first letter shipped with kaa.")
    subject: str
    body: str
    offer: str
    contact: str
    fields: dict[str, str] = Field(description="The placeholders a template may use.")


class LetterRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template: Text = Field(default="first_letter", pattern=r"^[a-z0-9_-]{1,40}$")
    version: int | None = Field(
        default=None, ge=0, le=MAX_VERSION, description="Default: the newest."
    )
    caseworker: Text | None = Field(default=None, max_length=120, description="Who signs.")


class BatchRequest(LetterRequest):
    worklist: Literal["first_contact"]
    limit: int = Field(default=50, ge=1, le=MAX_BATCH)


class ConfirmRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sent_at: dates.Instant | None = Field(default=None, description="When posted; default now.")


class LetterItem(BaseModel):
    youth_id: uuid.UUID
    forwarding: bool = Field(description="Protected: no address, forwarded by Skatteverket.")
    contact_attempt_id: uuid.UUID


class BatchView(BaseModel):
    batch_id: uuid.UUID
    worklist: str | None
    template: str
    template_version: int
    made_on: date
    made_by: str
    sent_at: dates.Instant | None
    forwarded: int
    letters: list[LetterItem]
    address_not_known: list[uuid.UUID] = Field(
        description="The list's youths left out of the batch: no name and address on record."
    )


class NotRecorded(BaseModel):
    youth_id: uuid.UUID
    reason: str


class EmailedView(BaseModel):
    batch_id: uuid.UUID
    emailed: int
    already_emailed: int
    without_email: int = Field(description="No e-mail address recorded: by post only.")
    forwarded: int = Field(description="Protected youths: by Skatteverket only, never e-mailed.")
    left_scope: list[uuid.UUID] = Field(
        description="Youths no longer in the scope period the batch was made in (they left the "
        "municipality's scope, or are in it again for a later period): their letter is not "
        "e-mailed."
    )


class ConfirmView(BaseModel):
    batch_id: uuid.UUID
    sent_at: dates.Instant
    recorded: int
    already_recorded: int = Field(description="Recorded by an earlier confirmation.")
    not_recorded: list[NotRecorded]


def _template_view(template: Template) -> TemplateView:
    return TemplateView(
        name=template.name, version=template.version, subject=template.subject,
        body=template.body, offer=template.offer, contact=template.contact, fields=FIELDS,
    )  # fmt: skip


def _pdf(made: Made) -> Response:
    batch = made.batch
    return Response(
        content=made.pdf,
        status_code=status.HTTP_201_CREATED,
        media_type="application/pdf",
        headers={
            **NO_STORE,
            "Location": f"/v1/letter-batches/{batch.batch_id}",
            "Kaa-Batch-Id": str(batch.batch_id),
            "Kaa-Letters": str(len(batch.items)),
            "Kaa-Forwarded": str(sum(i.forwarding for i in batch.items)),
            "Kaa-Skipped": str(made.skipped),
        },
    )


def letter_routes(context: CaseRoutes, handlers: LetterHandlers) -> APIRouter:
    router = APIRouter()  # included in the service's /v1 router
    Caseworker = Annotated[Principal, Depends(context.caseworker)]
    Coordinator = Annotated[Principal, Depends(context.coordinator)]

    @router.get("/letter-templates/{name}", response_model=TemplateView)
    async def get_template(
        name: TemplateName,
        caller: Caseworker,
        version: Annotated[int | None, Query(ge=0, le=MAX_VERSION)] = None,
    ) -> TemplateView:
        """The municipality's template (newest version, or `version`); `first_letter` is the
        standard first letter until the municipality saves its own."""
        return _template_view(await handlers.template(caller, name, version))

    @router.put(
        "/letter-templates/{name}", response_model=TemplateView, status_code=status.HTTP_201_CREATED
    )
    async def put_template(
        name: TemplateName, body: TemplateBody, caller: Coordinator
    ) -> TemplateView:
        """Save the template as a new version (coordinators); an unknown field or an unbalanced
        brace is 422 naming the part, the line and the column."""
        draft = TemplateDraft(name, body.subject, body.body, body.offer, body.contact)
        return _template_view(await handlers.save_template(caller, draft))

    @router.post("/youths/{youth_id}/letters", response_class=Response, status_code=201)
    async def youth_letter(
        youth_id: uuid.UUID, body: LetterRequest, caller: Caseworker
    ) -> Response:
        """One letter to the youth as a PDF (a batch of one: confirm it like any batch)."""
        command = MakeLetters(body.template, body.version, body.caseworker, youth_id=youth_id)
        return _pdf(await handlers.make(caller, command))

    @router.post("/letter-batches", response_class=Response, status_code=201)
    async def batch_letters(body: BatchRequest, caller: Caseworker) -> Response:
        """Letters to the worklist's next youths (not in a batch awaiting confirmation), as one
        PDF; the batch's id in `Kaa-Batch-Id` and `Location`."""
        command = MakeLetters(
            body.template, body.version, body.caseworker, worklist=body.worklist, limit=body.limit
        )
        return _pdf(await handlers.make(caller, command))

    @router.get("/letter-batches/{batch_id}", response_model=BatchView)
    async def get_batch(batch_id: uuid.UUID, caller: Caseworker) -> BatchView:
        """The batch's letters in order, each youth's flagged `forwarding` when protected, and
        the list's youths left out because their address is not known."""
        batch = await handlers.batch(caller, batch_id)
        return BatchView(
            batch_id=batch.batch_id, worklist=batch.worklist, template=batch.template,
            template_version=batch.template_version, made_on=batch.made_on,
            made_by=batch.made_by, sent_at=batch.sent_at,
            forwarded=sum(i.forwarding for i in batch.items),
            letters=[LetterItem(youth_id=i.youth_id, forwarding=i.forwarding,
                                contact_attempt_id=i.contact_attempt_id) for i in batch.items],
            address_not_known=list(batch.address_not_known),
        )  # fmt: skip

    @router.get("/letter-batches/{batch_id}/pdf", response_class=Response)
    async def get_batch_pdf(batch_id: uuid.UUID, caller: Caseworker) -> Response:
        """The batch's PDF again; letters whose address is no longer known are left out and
        counted in `Kaa-Skipped` (none left: 409)."""
        pdf, skipped = await handlers.pdf(caller, batch_id)
        headers = {**NO_STORE, "Kaa-Skipped": str(skipped)}
        return Response(content=pdf, media_type="application/pdf", headers=headers)

    @router.post("/letter-batches/{batch_id}/sent", response_model=ConfirmView)
    async def confirm_sent(
        batch_id: uuid.UUID, body: ConfirmRequest, caller: Caseworker
    ) -> ConfirmView:
        """The batch was posted: each letter is recorded as a contact attempt (channel `letter`,
        outcome `not_reached`), once; confirming again records nothing new."""
        done = await handlers.confirm_sent(caller, batch_id, body.sent_at)
        return ConfirmView(
            batch_id=done.batch_id, sent_at=done.sent_at, recorded=done.recorded,
            already_recorded=done.already_recorded,
            not_recorded=[NotRecorded(**n) for n in done.not_recorded],
        )  # fmt: skip

    @router.post("/letter-batches/{batch_id}/email", response_model=EmailedView)
    async def email_batch(batch_id: uuid.UUID, caller: Caseworker) -> EmailedView:
        """E-mail the batch's letters to the youths whose e-mail address is recorded (each once;
        a protected youth's never, nor one who has left scope since), each a contact attempt
        (channel `email`); 409 when no SMTP server is configured."""
        done = await handlers.email(caller, batch_id)
        return EmailedView(
            batch_id=done.batch_id, emailed=done.emailed, already_emailed=done.already_emailed,
            without_email=done.without_email, forwarded=done.forwarded,
            left_scope=done.left_scope,
        )  # fmt: skip

    return router


async def letter_not_found(request: Request, exc: Exception) -> JSONResponse:
    """A template or batch the caller's municipality does not have: 404 naming the field."""
    field = exc.field if isinstance(exc, LetterNotFound) else "id"
    return JSONResponse(
        status_code=404,
        content={"detail": "not found", "errors": [{"field": field, "problem": "not found"}]},
    )
