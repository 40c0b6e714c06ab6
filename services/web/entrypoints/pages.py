"""The caseworker's pages: Min dag (the worklists) and taking a case (youth pages: `youth_pages`).

Min dag's address says which list (`lista`) and whose cases (`vems`: mine, team, unassigned,
all); the counts above it are of the same cases.

Thin: each page asks its use case (`services.web.commands`) and renders a template. The youth id
in a path is the pseudonymous UUID; nothing personal goes in a URL.
"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.web import commands
from services.web.adapters.sessions import Session
from services.web.domain.menu import start_page
from services.web.entrypoints.common import Web


def pages(web: Web) -> APIRouter:
    router = APIRouter()
    User = Annotated[Session, Depends(web.signed_in)]

    @router.get("/")
    async def root(request: Request) -> RedirectResponse:
        """The signed-in user's start page (their role's first page); else Min dag, which asks
        to sign in."""
        found = await web.sessions.get(request.cookies.get(web.cookie, ""), touch=False)
        return RedirectResponse(
            start_page(found.roles) if found else "/min-dag", status.HTTP_303_SEE_OTHER
        )

    @router.get("/min-dag", response_class=HTMLResponse)
    async def my_day(
        request: Request, user: User, lista: str = "first_contact", vems: str = "mine"
    ) -> Response:
        day = await commands.my_day(web.api, user, lista, commands.whose_of(vems))
        return web.page(request, "min_dag.html", user, day=day)

    @router.post("/ungdomar/{youth_id}/ta-arende")
    async def take_case(
        youth_id: uuid.UUID, user: User, csrf: Annotated[str, Form(max_length=100)] = ""
    ) -> Response:
        web.checked(user, csrf)
        await commands.take_case(web.api, user, youth_id)
        return RedirectResponse(f"/ungdomar/{youth_id}", status.HTTP_303_SEE_OTHER)

    return router
