"""How the web application answers what is not a page: no session (to the sign-in page), a
service's refusal (403, 404, other), a service that does not answer (503), a malformed address,
and a fault of its own (500: a page in Swedish, never a traceback)."""

from typing import Any

from fastapi import Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.web.adapters.services_api import Refused, Unavailable
from services.web.entrypoints.common import SIGNIN, SignInNeeded, Web, templates

PAGES = {403: "forbidden.html", 404: "not_found.html"}


def error_pages(web: Web | None = None) -> dict[Any, Any]:
    """The handlers; with `web`, a service's 401 (the user's token expired or was revoked at the
    identity provider) ends the session and sends the user to sign in again."""
    views = templates()

    def shown(request: Request, code: int, **context: Any) -> Response:
        name = context.pop("name", None) or PAGES.get(code, "refused.html")
        return views.TemplateResponse(request, name, {"user": None, "csrf": None, **context},
                                      status_code=code)  # fmt: skip

    async def sign_in_needed(request: Request, exc: Exception) -> Response:
        return RedirectResponse(SIGNIN, status.HTTP_303_SEE_OTHER)

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        if exc.status == 401 and web is not None:
            await web.sessions.end(request.cookies.get(web.cookie, ""))
            again = RedirectResponse(SIGNIN, status.HTTP_303_SEE_OTHER)
            again.delete_cookie(web.cookie, path="/", secure=web.config.cookie_secure,
                                httponly=True)  # fmt: skip
            return again
        return shown(request, exc.status)

    async def unavailable(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Unavailable)
        return shown(request, 503, name="unavailable.html", service=exc.service)

    async def invalid(request: Request, exc: Exception) -> Response:
        return shown(request, 404)  # a youth id that is no UUID: no such page

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return shown(request, exc.status_code)

    async def failed(request: Request, exc: Exception) -> Response:
        # Logged by the request log with its correlation id (never the exception's text, which
        # may hold what the user typed); the page says what to do, in Swedish.
        return shown(request, 500, name="failed.html")

    return {
        Exception: failed,
        SignInNeeded: sign_in_needed,
        Refused: refused,
        Unavailable: unavailable,
        StarletteHTTPException: http_error,
        RequestValidationError: invalid,
    }
