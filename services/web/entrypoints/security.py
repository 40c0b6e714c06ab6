"""What every answer of the web application carries, and the session and form checks.

- Security headers: a Content-Security-Policy with no inline script or style, no framing
  (`frame-ancestors 'none'`), no referrer, no caching of pages (they hold personal data), HSTS when
  the request came over https.
- The session cookie: HttpOnly, SameSite=Lax, Secure (named `__Host-…` then, so no other host or
  path can set it); it holds a random id only (`adapters/sessions.py`).
- CSRF: every form carries the session's form token (before sign-in, a double-submit token in a
  short-lived cookie of its own), compared in constant time.
"""

from __future__ import annotations

import secrets

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'; object-src 'none'"
)
SIGNIN_CSRF_COOKIE = "kaa-signin-csrf"


def session_cookie_name(secure: bool) -> str:
    return "__Host-kaa-session" if secure else "kaa-session"


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        headers = response.headers
        headers["Content-Security-Policy"] = CSP
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Frame-Options"] = "DENY"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if not request.url.path.startswith("/static/"):
            headers["Cache-Control"] = "no-store"
        if request.url.scheme == "https":
            headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        return response


def same_token(expected: str | None, given: str | None) -> bool:
    """A form's token matches (constant time; a missing one never does)."""
    if not expected or not given:
        return False
    return secrets.compare_digest(expected.encode(), given.encode())


def new_form_token() -> str:
    return secrets.token_urlsafe(32)
