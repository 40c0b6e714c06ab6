"""The inspector's pages (granskare): the register as of an instant beside another, a youth's timeline as of an instant, the access log; read-only.

No `from __future__ import annotations`: FastAPI must see the dependency annotations.

No form records anything. The pages are GETs, the instants and the search in the query string
(no personal data: youth ids are pseudonymous), except a search of the access log by user: a user
name is a person's name, so that search is posted (the form and its pages), never put in an
address. A user without the inspector's role gets the forbidden page before any service is asked
(or a form is read); the register decides again.
"""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from services.web.adapters.services_api import Refused
from services.web.adapters.sessions import Session
from services.web.commands import inspection as cases
from services.web.commands.youth import FormRefused
from services.web.domain.inspection import instant_field, instant_said
from services.web.entrypoints.common import Web, posted

ROLE = "inspector"
Typed = Annotated[str, Query(max_length=100)]
Page = Annotated[int, Query(ge=1, le=100_000)]


def inspector_routes(web: Web) -> APIRouter:
    router = APIRouter()
    User = Annotated[Session, Depends(web.signed_in)]

    def shown(
        request: Request, user: Session, name: str, code: int = 200, **context: Any
    ) -> Response:
        if ROLE not in user.roles:
            return web.page(request, "forbidden.html", user, code=403)
        page = web.page(
            request, name, user, code=code, **{"said": instant_said, "errors": None, **context}
        )
        page.headers["Cache-Control"] = "no-store"
        return page

    def linker(path: str, fields: dict[str, str]) -> Callable[..., str]:
        def link(number: int, **changes: str) -> str:
            kept = {k: v for k, v in {**fields, **changes}.items() if v}
            return f"{path}?{urlencode({**kept, 'sida': number})}"

        return link

    @router.get("/granskning", response_class=HTMLResponse)
    async def register_as_of(
        request: Request, user: User, vid: Typed = "", jamfor: Typed = "", visa: Typed = "",
        sida: Page = 1,
    ) -> Response:  # fmt: skip
        given = {"vid": vid, "jamfor": jamfor}
        if ROLE not in user.roles or not (vid or jamfor):
            return shown(request, user, "granskning_register.html", given=given, view=None)
        now = datetime.now(UTC)
        try:
            asked = cases.instants(vid, jamfor, now)
            view = await cases.register_as_of(web.api, user, asked, now, sida, visa == "skillnader")
        except FormRefused as refused:
            return shown(request, user, "granskning_register.html", refused.status, given=given,
                         view=None, errors=refused.errors)  # fmt: skip
        fields = {"vid": instant_field(asked.first), "jamfor": jamfor.strip() and
                  instant_field(view.second), "visa": visa if visa == "skillnader" else ""}  # fmt: skip
        return shown(request, user, "granskning_register.html", given=given, view=view,
                     link=linker("/granskning", fields),
                     youth_query=urlencode({"vid": fields["vid"]}))  # fmt: skip

    @router.get("/granskning/ungdomar/{youth_id}", response_class=HTMLResponse)
    async def youth_as_of(
        request: Request, youth_id: uuid.UUID, user: User, vid: Typed = ""
    ) -> Response:
        now = datetime.now(UTC)
        context: dict[str, Any] = {"youth_id": youth_id, "given": {"vid": vid}, "printed": now,
                                   "timeline": None, "at": None, "missing": False,
                                   "back_query": ""}  # fmt: skip
        if ROLE not in user.roles or not vid:
            return shown(request, user, "granskning_ungdom.html", **context)
        try:
            asked = cases.instants(vid, "", now, prefix="tidslinje")
        except FormRefused as refused:
            return shown(request, user, "granskning_ungdom.html", refused.status,
                         errors=refused.errors, **context)  # fmt: skip
        context.update(at=asked.first, back_query=urlencode({"vid": instant_field(asked.first)}))
        try:
            context["timeline"] = await cases.youth_as_of(web.api, user, youth_id, asked.first)
        except FormRefused as refused:
            return shown(request, user, "granskning_ungdom.html", refused.status,
                         errors=refused.errors, **context)  # fmt: skip
        except Refused as refused:
            if refused.status != 404:
                raise
            return shown(
                request, user, "granskning_ungdom.html", 404, **{**context, "missing": True}
            )
        return shown(request, user, "granskning_ungdom.html", **context)

    async def access_log_shown(
        request: Request, user: Session, given: dict[str, str], sida: int, by_form: bool
    ) -> Response:
        search = cases.AccessSearch(given["ungdom"], given["anvandare"], given["fran"],
                                    given["till"])  # fmt: skip
        try:
            found = await cases.access_log(web.api, user, search, sida)
        except FormRefused as refused:
            return shown(request, user, ACCESS_PAGE, refused.status, given=given, found=None,
                         errors=refused.errors, posted=by_form)  # fmt: skip
        # A posted search is paged by the form's buttons; only a search in the address by links.
        link = None if by_form else linker("/granskning/atkomstlogg", given)
        return shown(request, user, ACCESS_PAGE, given=given, found=found, posted=by_form,
                     link=link)  # fmt: skip

    @router.get("/granskning/atkomstlogg", response_class=HTMLResponse)
    async def access_log(
        request: Request, user: User, ungdom: Typed = "", fran: Typed = "", till: Typed = "",
        sida: Page = 1,
    ) -> Response:  # fmt: skip
        given = {"ungdom": ungdom, "anvandare": "", "fran": fran, "till": till}
        if ROLE not in user.roles:
            return shown(request, user, ACCESS_PAGE, given=given, found=None)
        if request.query_params.get("anvandare", "").strip():  # an old link: not searched from it
            return shown(request, user, ACCESS_PAGE, 400, given=given, found=None,
                         errors={"atkomst-anvandare": NAME_NOT_IN_ADDRESS})  # fmt: skip
        return await access_log_shown(request, user, given, sida, by_form=False)

    @router.post("/granskning/atkomstlogg", response_class=HTMLResponse)
    async def access_log_searched(request: Request, user: User) -> Response:
        if ROLE not in user.roles:
            return shown(request, user, ACCESS_PAGE, given={}, found=None)
        fields = await posted(request, user, max_fields=10, max_chars=100)
        given = {k: fields.get(k, "") for k in ("ungdom", "anvandare", "fran", "till")}
        return await access_log_shown(request, user, given, page_posted(fields), by_form=True)

    return router


ACCESS_PAGE = "granskning_atkomstlogg.html"
NAME_NOT_IN_ADDRESS = (
    "Sök på användare med formuläret nedan: ett användarnamn skrivs inte i adressen."
)


def page_posted(fields: dict[str, str]) -> int:
    """The page a posted search asks for (1 when none, or none that can be)."""
    text = fields.get("sida", "")
    return int(text) if text.isascii() and text.isdigit() and 1 <= int(text) <= 100_000 else 1
