"""The school's pages (skolans rapportör): a student's start, leaving or absence reported, one at a time or many in a CSV file.

Thin: each page asks its use case (`services.web.commands.school`) and renders a template. Only
the role `school-reporter` may use them (checked here too: the form and the file's page show
nothing from a service). The personnummer is posted, never in a URL, and shown back only masked.
A report's answer is rendered by the POST itself (no-store): the notification's id is a hash of
what it says, so sending it again records nothing twice and says "already reported".

No `from __future__ import annotations`: FastAPI must see the dependency annotations.
"""

import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from services.web.adapters.sessions import Session
from services.web.commands import school as school_cases
from services.web.commands.youth import FormRefused
from services.web.domain import school
from services.web.entrypoints import common
from services.web.entrypoints.common import Web, kept

MAX_FIELD = 200  # characters of one posted field of the form kept (identify caps at 100)
BODY_SLACK = 64_000  # the multipart envelope around a file of at most `school.MAX_BYTES`


def id_key(secret: str) -> bytes:
    """The key of the notifications' ids, derived from the deployment's secret for this use only."""
    return hashlib.sha256(b"kaa-web-school-notification-id\x00" + secret.encode()).digest()


def school_routes(web: Web) -> APIRouter:
    router = APIRouter()
    User = Annotated[Session, Depends(web.signed_in)]
    key = id_key(web.token_secret)

    def forbidden(request: Request, user: Session) -> Response | None:
        if school_cases.ROLE in user.roles:
            return None
        return web.page(request, "forbidden.html", user, code=403)

    def shown(
        request: Request, name: str, user: Session, code: int = 200, **context: object
    ) -> Response:
        page = web.page(request, name, user, code=code, KINDS=school.KINDS,
                        SCHOOL_TYPES=school.SCHOOL_TYPES, **context)  # fmt: skip
        page.headers["Cache-Control"] = "no-store"
        return page

    def form(request: Request, user: Session, code: int = 200, **context: object) -> Response:
        context = {"given": {}, "errors": None, "reported": None, **context}
        return shown(request, "skola_anmalan.html", user, code, **context)

    def file_page(request: Request, user: Session, code: int = 200, **context: object) -> Response:
        context = {"errors": None, "pasted": "", **context}
        return shown(request, "skola_fil.html", user, code, MAX_ROWS=school.MAX_ROWS,
                     HEADER=school.HEADER, **context)  # fmt: skip

    @router.get("/skola", response_class=HTMLResponse)
    async def report_form(request: Request, user: User) -> Response:
        return forbidden(request, user) or form(request, user)

    @router.post("/skola", response_class=HTMLResponse)
    async def report(request: Request, user: User) -> Response:
        fields = await common.posted(request, user, max_fields=20, max_chars=MAX_FIELD)
        if refused := forbidden(request, user):
            return refused
        try:
            reported = await school_cases.report(web.api, user, key, fields)
        except FormRefused as refusal:
            given = {k: v for k, v in kept("skola", fields).items() if k != "skola-personnummer"}
            return form(request, user, refusal.status, errors=refusal.errors, given=given)
        return form(request, user, reported=reported)

    @router.get("/skola/fil", response_class=HTMLResponse)
    async def upload_form(request: Request, user: User) -> Response:
        return forbidden(request, user) or file_page(request, user)

    @router.post("/skola/fil", response_class=HTMLResponse)
    async def upload(request: Request, user: User) -> Response:
        size = request.headers.get("content-length", "")
        if not size.isdigit() or int(size) > school.MAX_BYTES + BODY_SLACK:
            too_big = {"fil": f"Filen är för stor: högst {school.MAX_BYTES // 1_000_000} MB"}
            return forbidden(request, user) or file_page(request, user, 413, errors=too_big)
        posted = await request.form(max_files=1, max_fields=5)
        csrf = posted.get("csrf")
        Web.checked(user, csrf if isinstance(csrf, str) else None)
        if refused := forbidden(request, user):
            return refused
        raw, field = await content(posted.get("fil"), posted.get("rader"))
        if raw is None:
            return file_page(request, user, 422, errors={"fil": "Välj en fil att ladda upp, "
                                                                 "eller klistra in raderna"})  # fmt: skip
        read = school.read_upload(raw)
        if read.problem:
            return file_page(request, user, 422, errors={field: read.problem})
        result = await school_cases.upload(web.api, user, key, read)
        return shown(request, "skola_resultat.html", user, result=result, OUTCOMES=school.OUTCOMES)

    @router.get("/skola/mall.csv")
    async def template(request: Request, user: User) -> Response:
        if refused := forbidden(request, user):
            return refused
        return Response(school.template_csv(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="skolanmalan-mall.csv"'})  # fmt: skip

    return router


async def content(upload: object, pasted: object) -> tuple[bytes | None, str]:
    """What was sent: the file's bytes (at most one byte past the limit is read), else the pasted
    rows; None when neither; and the form field it came from."""
    if isinstance(upload, UploadFile) and (upload.filename or upload.size):
        return await upload.read(school.MAX_BYTES + 1), "fil"
    if isinstance(pasted, str) and pasted.strip():
        return pasted.encode("utf-8"), "rader"
    return None, "fil"
