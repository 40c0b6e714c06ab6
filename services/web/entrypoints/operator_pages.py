"""The operator's and the consortium administrator's pages: the platform's health, lag, dead letters and parked events; the member municipalities.

`GET /drift` (operators) shows the whole page; `GET /drift/innehall` only its content, which the
page swaps in every ten seconds (htmx) without taking the focus: a polite status above it says so
when the summary changed, nothing otherwise. Without JavaScript, a reload shows the same. The
refresh does not count as activity: an open page keeps nobody signed in. `GET /konsortium`
(consortium administrators) shows the members and the catalogue. Both check the role themselves:
much of what they show comes from no service that would refuse.

No `from __future__ import annotations`: FastAPI must see the dependency annotations.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response

from services.web.adapters.platform import Platform
from services.web.adapters.sessions import Session
from services.web.commands import operations
from services.web.domain.operations import announcement
from services.web.entrypoints.common import SIGNIN, SignInNeeded, Web

OPERATOR = "operator"
ADMINISTRATOR = "consortium-admin"
REFRESH_SECONDS = 10


def allowed(user: Session, role: str) -> None:
    """The page is the role's, or the forbidden page (403)."""
    if role not in user.roles:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"requires role {role}")


def operator_routes(web: Web, platform: Platform | None = None) -> APIRouter:
    router = APIRouter()
    User = Annotated[Session, Depends(web.signed_in)]
    reads = platform or Platform(web.config)

    @router.get("/drift", response_class=HTMLResponse)
    async def drift(request: Request, user: User) -> Response:
        allowed(user, OPERATOR)
        view = await operations.drift(web.api, reads, user)
        return web.page(request, "drift.html", user, view=view, said="",
                        refresh=REFRESH_SECONDS)  # fmt: skip

    @router.get("/drift/innehall", response_class=HTMLResponse)
    async def drift_content(
        request: Request,
        fore: str | None = None,
        hx_request: Annotated[str | None, Header()] = None,
    ) -> Response:
        user = await web.sessions.get(request.cookies.get(web.cookie, ""), touch=False)
        if user is None:
            if hx_request:  # the page moves to the sign-in page, not its content
                return Response(headers={"HX-Redirect": SIGNIN})
            raise SignInNeeded
        allowed(user, OPERATOR)
        view = await operations.drift(web.api, reads, user)
        return web.page(request, "drift_innehall.html", user, view=view,
                        said=announcement(fore, view), refresh=REFRESH_SECONDS,
                        fragment=True)  # fmt: skip

    @router.get("/konsortium", response_class=HTMLResponse)
    async def consortium(request: Request, user: User) -> Response:
        allowed(user, ADMINISTRATOR)
        view = await operations.consortium(web.api, reads, user)
        return web.page(request, "konsortium.html", user, view=view)

    return router
