"""The pages: sign-in and sign-out, Min dag and the youth's page.

Thin: each page asks its use case (`services.web.commands`) and renders a template. A page needing
a signed-in user sends anyone else to the sign-in page; a form is refused (403) without its form
token. The youth id in a path is the pseudonymous UUID; nothing personal goes in a URL.

No `from __future__ import annotations` here: FastAPI must see the dependency annotations, which
are built inside `pages`, as real objects.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.web import commands
from services.web.adapters.config import WebConfig
from services.web.adapters.services_api import Refused, ServicesApi, Unavailable
from services.web.adapters.sessions import Session, SessionStore
from services.web.domain import swedish
from services.web.entrypoints.security import (
    SIGNIN_CSRF_COOKIE,
    new_form_token,
    same_token,
    session_cookie_name,
)
from shared.auth import ROLES, is_kommunkod, issue_token

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SIGNIN = "/logga-in"


class SignInNeeded(Exception):
    """No valid session: the page answers with the sign-in page's address."""


@dataclass
class Web:
    """What the pages work with, made by the composition root."""

    config: WebConfig
    api: ServicesApi
    store: SessionStore | None
    token_secret: str
    tenants: list[str]

    @property
    def sessions(self) -> SessionStore:
        if self.store is None:
            raise RuntimeError("the web application has not started")
        return self.store


def templates() -> Jinja2Templates:
    made = Jinja2Templates(directory=str(TEMPLATES))
    made.env.globals.update(
        WORKLISTS=swedish.WORKLISTS, CHANNELS=swedish.CHANNELS, OUTCOMES=swedish.OUTCOMES,
        ROLES=swedish.ROLES, LEAVING_REASONS=swedish.LEAVING_REASONS,
    )  # fmt: skip
    made.env.filters.update(
        datum=swedish.swedish_date,
        datum_iso=swedish.swedish_iso_date,
        label_of=lambda code, codes: swedish.label(codes, code),
    )
    return made


def pages(web: Web) -> APIRouter:
    router = APIRouter()
    views = templates()
    cookie = session_cookie_name(web.config.cookie_secure)

    async def signed_in(request: Request) -> Session:
        found = await web.sessions.get(request.cookies.get(cookie, ""))
        if found is None:
            raise SignInNeeded
        return found

    User = Annotated[Session, Depends(signed_in)]

    def page(request: Request, name: str, user: Session | None, code: int = 200,
             **context: Any) -> HTMLResponse:  # fmt: skip
        return views.TemplateResponse(
            request, name, {"user": user, "csrf": user.csrf if user else None, **context},
            status_code=code,
        )  # fmt: skip

    def checked(user: Session, csrf: str | None) -> None:
        if not same_token(user.csrf, csrf):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "form token missing or wrong")

    @router.get("/")
    async def root() -> RedirectResponse:
        return RedirectResponse("/min-dag", status.HTTP_303_SEE_OTHER)

    @router.get(SIGNIN, response_class=HTMLResponse)
    async def sign_in_page(request: Request) -> Response:
        if not web.config.dev_signin:
            return page(request, "signin_closed.html", None, code=503)
        token = new_form_token()
        response = page(request, "signin.html", None, signin_csrf=token, tenants=web.tenants,
                        roles=["caseworker", "coordinator"])  # fmt: skip
        response.set_cookie(SIGNIN_CSRF_COOKIE, token, max_age=900, httponly=True,
                            secure=web.config.cookie_secure, samesite="strict")  # fmt: skip
        return response

    @router.post(SIGNIN)
    async def sign_in(
        request: Request,
        tenant: Annotated[str, Form(max_length=4)],
        role: Annotated[str, Form(max_length=32)],
        subject: Annotated[str, Form(max_length=64)],
        csrf: Annotated[str, Form(max_length=100)] = "",
    ) -> Response:
        if not web.config.dev_signin:
            return page(request, "signin_closed.html", None, code=503)
        if not same_token(request.cookies.get(SIGNIN_CSRF_COOKIE), csrf):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "form token missing or wrong")
        errors: dict[str, str] = {}
        if not is_kommunkod(tenant) or tenant not in web.tenants:
            errors["tenant"] = "Välj en kommun i listan"
        if role not in ROLES:
            errors["role"] = "Välj en roll i listan"
        if not subject.strip() or not all(c.isalnum() or c in "._-@" for c in subject):
            errors["subject"] = ("Ange ett användarnamn med bokstäver, siffror, punkt, "
                                 "bindestreck eller understreck")  # fmt: skip
        if errors:
            token = new_form_token()
            response = page(request, "signin.html", None, code=422, errors=errors,
                            signin_csrf=token, tenants=web.tenants,
                            roles=["caseworker", "coordinator"],
                            given={"tenant": tenant, "role": role, "subject": subject})  # fmt: skip
            response.set_cookie(SIGNIN_CSRF_COOKIE, token, max_age=900, httponly=True,
                                secure=web.config.cookie_secure, samesite="strict")  # fmt: skip
            return response
        lifetime = timedelta(hours=web.config.session_absolute_hours)
        token = issue_token(web.token_secret, subject=subject, tenant=tenant, roles=[role],
                            lifetime=lifetime)  # fmt: skip
        session_id = await web.sessions.start(subject, tenant, [role], token)
        signed = RedirectResponse("/min-dag", status.HTTP_303_SEE_OTHER)
        signed.set_cookie(cookie, session_id, httponly=True, secure=web.config.cookie_secure,
                            samesite="lax", path="/")  # fmt: skip
        signed.delete_cookie(SIGNIN_CSRF_COOKIE)
        return signed

    @router.post("/logga-ut")
    async def sign_out(
        request: Request, user: User, csrf: Annotated[str, Form(max_length=100)] = ""
    ) -> Response:
        checked(user, csrf)
        await web.sessions.end(request.cookies.get(cookie, ""))
        response = RedirectResponse(SIGNIN, status.HTTP_303_SEE_OTHER)
        response.delete_cookie(cookie, path="/", secure=web.config.cookie_secure, httponly=True)
        return response

    @router.get("/min-dag", response_class=HTMLResponse)
    async def my_day(
        request: Request, user: User, lista: str = "first_contact", vems: str = "mine"
    ) -> Response:
        whose: commands.Whose = "all" if vems == "all" else "mine"
        day = await commands.my_day(web.api, user, lista, whose)
        return page(request, "min_dag.html", user, day=day)

    @router.post("/ungdomar/{youth_id}/ta-arende")
    async def take_case(
        youth_id: uuid.UUID, user: User, csrf: Annotated[str, Form(max_length=100)] = ""
    ) -> Response:
        checked(user, csrf)
        await commands.take_case(web.api, user, youth_id)
        return RedirectResponse(f"/ungdomar/{youth_id}", status.HTTP_303_SEE_OTHER)

    @router.get("/ungdomar/{youth_id}", response_class=HTMLResponse)
    async def youth(request: Request, youth_id: uuid.UUID, user: User) -> Response:
        case = await commands.youth_case(web.api, user, youth_id)
        return page(request, "ungdom.html", user, youth_id=youth_id, case=case)

    return router


def error_pages() -> dict[Any, Any]:
    """How the app answers a missing session, a refusal and a service that does not answer."""
    views = templates()

    async def sign_in_needed(request: Request, exc: Exception) -> Response:
        return RedirectResponse(SIGNIN, status.HTTP_303_SEE_OTHER)

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        name = {403: "forbidden.html", 404: "not_found.html"}.get(exc.status, "refused.html")
        return views.TemplateResponse(request, name, {"user": None, "csrf": None},
                                      status_code=exc.status)  # fmt: skip

    async def unavailable(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Unavailable)
        return views.TemplateResponse(request, "unavailable.html",
                                      {"user": None, "csrf": None, "service": exc.service},
                                      status_code=503)  # fmt: skip

    async def invalid(request: Request, exc: Exception) -> Response:
        # A malformed address (a youth id that is no UUID) or form: no such page.
        return views.TemplateResponse(request, "not_found.html", {"user": None, "csrf": None},
                                      status_code=404)  # fmt: skip

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        name = {403: "forbidden.html", 404: "not_found.html"}.get(exc.status_code, "refused.html")
        return views.TemplateResponse(request, name, {"user": None, "csrf": None},
                                      status_code=exc.status_code)  # fmt: skip

    return {
        SignInNeeded: sign_in_needed,
        Refused: refused,
        Unavailable: unavailable,
        StarletteHTTPException: http_error,
        RequestValidationError: invalid,
    }
