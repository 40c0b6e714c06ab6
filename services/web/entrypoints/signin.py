"""Signing in and out.

The development sign-in (a form to choose municipality, role and user name, which mints a token
with the deployment's secret) exists only where `KAA_WEB_DEV_SIGNIN` turns it on: the demo and the
tests. Elsewhere the page says sign-in is not set up.
"""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.web.adapters.sessions import Session
from services.web.entrypoints.common import SIGNIN, Web
from services.web.entrypoints.security import SIGNIN_CSRF_COOKIE, new_form_token, same_token
from shared.auth import ROLES, is_kommunkod, issue_token

DEV_ROLES = ["caseworker", "coordinator"]


def signin_routes(web: Web) -> APIRouter:
    router = APIRouter()
    User = Annotated[Session, Depends(web.signed_in)]

    def form(request: Request, code: int = 200, **context: object) -> Response:
        token = new_form_token()
        response = web.page(request, "signin.html", None, code=code, signin_csrf=token,
                            tenants=web.tenants, roles=DEV_ROLES, **context)  # fmt: skip
        response.set_cookie(SIGNIN_CSRF_COOKIE, token, max_age=900, httponly=True,
                            secure=web.config.cookie_secure, samesite="strict")  # fmt: skip
        return response

    @router.get(SIGNIN, response_class=HTMLResponse)
    async def sign_in_page(request: Request) -> Response:
        if not web.config.dev_signin:
            return web.page(request, "signin_closed.html", None, code=503)
        return form(request)

    @router.post(SIGNIN)
    async def sign_in(
        request: Request,
        tenant: Annotated[str, Form(max_length=4)] = "",
        role: Annotated[str, Form(max_length=32)] = "",
        subject: Annotated[str, Form(max_length=64)] = "",
        csrf: Annotated[str, Form(max_length=100)] = "",
    ) -> Response:
        if not web.config.dev_signin:
            return web.page(request, "signin_closed.html", None, code=503)
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
            given = {"tenant": tenant, "role": role, "subject": subject}
            return form(request, code=422, errors=errors, given=given)
        lifetime = timedelta(hours=web.config.session_absolute_hours)
        token = issue_token(web.token_secret, subject=subject, tenant=tenant, roles=[role],
                            lifetime=lifetime)  # fmt: skip
        session_id = await web.sessions.start(subject, tenant, [role], token)
        signed = RedirectResponse("/min-dag", status.HTTP_303_SEE_OTHER)
        signed.set_cookie(web.cookie, session_id, httponly=True, secure=web.config.cookie_secure,
                          samesite="lax", path="/")  # fmt: skip
        signed.delete_cookie(SIGNIN_CSRF_COOKIE)
        return signed

    @router.post("/logga-ut")
    async def sign_out(
        request: Request, user: User, csrf: Annotated[str, Form(max_length=100)] = ""
    ) -> Response:
        web.checked(user, csrf)
        await web.sessions.end(request.cookies.get(web.cookie, ""))
        response = RedirectResponse(SIGNIN, status.HTTP_303_SEE_OTHER)
        response.delete_cookie(web.cookie, path="/", secure=web.config.cookie_secure,
                               httponly=True)  # fmt: skip
        return response

    return router
