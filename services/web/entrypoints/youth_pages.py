"""The youth's overview and contact work, and finding a youth by personnummer.

Thin: each page asks its use case (`services.web.commands.youth`, `.contacts`) and renders a
template. A form refused (by the page's own check or a service's 409/422) is shown again with the
message next to the field, the summary at the top and everything typed kept; an accepted one
redirects back (a reload records nothing twice). The personnummer is posted, never in a URL.
"""

import uuid
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.web.adapters.sessions import Session
from services.web.commands import contacts as contact_cases
from services.web.commands import youth as youth_cases
from services.web.commands.youth import FormRefused
from services.web.domain.youth import PURPOSES, TENSES
from services.web.entrypoints import common
from services.web.entrypoints.common import Web, kept

MAX_FIELD = 1000  # characters of one posted field kept (the services cap theirs lower)
SAVED = {
    "forsok": "Kontaktförsöket är registrerat.",
    "kontakt": "Kontakten är registrerad.",
    "information": "Att ungdomen fått information är registrerat.",
    "sysselsattning": "Sysselsättningen är registrerad.",
    "kontaktuppgifter": "Kontaktuppgifterna är sparade.",
    "tilldelning": "Ärendet är tilldelat.",
}
CONTACT_FORMS = ("forsok", "kontakt", "information", "sysselsattning")


posted = partial(common.posted, max_fields=50, max_chars=MAX_FIELD)


def youth_routes(web: Web) -> APIRouter:
    router = APIRouter()
    User = Annotated[Session, Depends(web.signed_in)]

    async def overview_shown(
        request: Request, user: Session, youth_id: uuid.UUID, code: int = 200, **context: object
    ) -> Response:
        view = await youth_cases.overview(web.api, user, youth_id)
        context = {"given": {}, "saved": None, "identity": None, **context}
        page = web.page(request, "ungdom.html", user, code=code, youth_id=youth_id, view=view,
                        youth_name=await web.youth_name(user, youth_id),
                        PURPOSES=PURPOSES, ASSIGNEE_KINDS=youth_cases.ASSIGNEE_KINDS,
                        coordinator="coordinator" in user.roles, **context)  # fmt: skip
        page.headers["Cache-Control"] = "no-store"
        return page

    def back(youth_id: uuid.UUID, tab: str, saved: str) -> Response:
        return RedirectResponse(f"/ungdomar/{youth_id}{tab}?sparat={saved}",
                                status.HTTP_303_SEE_OTHER)  # fmt: skip

    @router.get("/ungdomar/{youth_id}", response_class=HTMLResponse)
    async def youth(
        request: Request, youth_id: uuid.UUID, user: User, sparat: str = ""
    ) -> Response:
        return await overview_shown(request, user, youth_id, saved=SAVED.get(sparat))

    @router.post("/ungdomar/{youth_id}/identitet", response_class=HTMLResponse)
    async def identity(request: Request, youth_id: uuid.UUID, user: User) -> Response:
        fields = await posted(request, user)
        purpose = fields.get("purpose", "")
        try:
            opened = await youth_cases.identity(web.api, user, youth_id, purpose)
        except FormRefused as refused:
            return await overview_shown(request, user, youth_id, refused.status,
                                        errors=refused.errors)  # fmt: skip
        return await overview_shown(request, user, youth_id, identity=opened,
                                    purpose=PURPOSES[purpose])  # fmt: skip

    @router.post("/ungdomar/{youth_id}/kontaktuppgifter", response_class=HTMLResponse)
    async def contact_details(request: Request, youth_id: uuid.UUID, user: User) -> Response:
        fields = await posted(request, user)
        try:
            await youth_cases.record_contact_details(web.api, user, youth_id, fields)
        except FormRefused as refused:
            return await overview_shown(request, user, youth_id, refused.status,
                                        errors=refused.errors,
                                        given=kept("kontaktuppgifter", fields))  # fmt: skip
        return back(youth_id, "", "kontaktuppgifter")

    @router.post("/ungdomar/{youth_id}/tilldelning", response_class=HTMLResponse)
    async def assignment(request: Request, youth_id: uuid.UUID, user: User) -> Response:
        fields = await posted(request, user)
        try:
            await youth_cases.assign(web.api, user, youth_id, fields)
        except FormRefused as refused:
            return await overview_shown(request, user, youth_id, refused.status,
                                        errors=refused.errors,
                                        given=kept("tilldelning", fields))  # fmt: skip
        return back(youth_id, "", "tilldelning")

    async def contacts_shown(
        request: Request, user: Session, youth_id: uuid.UUID, code: int = 200, **context: object
    ) -> Response:
        page = await contact_cases.contacts_page(web.api, user, youth_id, web.fixed_today)
        context = {"given": {}, "saved": None, **context}
        return web.page(request, "ungdom_kontakter.html", user, code=code, youth_id=youth_id,
                        youth_name=await web.youth_name(user, youth_id),
                        page=page, TENSES=TENSES, new_id=uuid.uuid4(), **context)  # fmt: skip

    @router.get("/ungdomar/{youth_id}/kontakter", response_class=HTMLResponse)
    async def contacts(
        request: Request, youth_id: uuid.UUID, user: User, sparat: str = ""
    ) -> Response:
        return await contacts_shown(request, user, youth_id, saved=SAVED.get(sparat))

    @router.post("/ungdomar/{youth_id}/kontakter/{form}", response_class=HTMLResponse)
    async def record(request: Request, youth_id: uuid.UUID, form: str, user: User) -> Response:
        if form not in CONTACT_FORMS:
            return web.page(request, "not_found.html", user, code=404)
        fields = await posted(request, user)
        try:
            if form == "forsok":
                await contact_cases.record_attempt(web.api, user, youth_id, fields)
            elif form == "sysselsattning":
                await contact_cases.record_occupation(web.api, user, youth_id, fields)
            else:
                await contact_cases.record_contact(web.api, user, youth_id, fields, form)
        except FormRefused as refused:
            return await contacts_shown(request, user, youth_id, refused.status,
                                        errors=refused.errors, given=kept(form, fields))  # fmt: skip
        return back(youth_id, "/kontakter", form)

    @router.get("/sok", response_class=HTMLResponse)
    async def search(request: Request, user: User) -> Response:
        return web.page(request, "sok.html", user, given={}, PURPOSES=PURPOSES)

    @router.post("/sok", response_class=HTMLResponse)
    async def find(request: Request, user: User) -> Response:
        fields = await posted(request, user)
        try:
            found = await youth_cases.find_youth(
                web.api, user, fields.get("personnummer", ""), fields.get("purpose", "")
            )
        except FormRefused as refused:
            page = web.page(request, "sok.html", user, code=refused.status, errors=refused.errors,
                            given=kept("sok", fields), PURPOSES=PURPOSES)  # fmt: skip
            page.headers["Cache-Control"] = "no-store"
            return page
        return RedirectResponse(f"/ungdomar/{found}", status.HTTP_303_SEE_OTHER)

    return router
