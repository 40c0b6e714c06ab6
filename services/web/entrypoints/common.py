"""What every page of the web application works with: the `Web` its routers are made on (the
settings, the services' APIs, the sessions, the templates), the signed-in user, and the form check.

No `from __future__ import annotations` in the routers' modules: FastAPI must see the dependency
annotations, built inside each router function, as real objects.
"""

import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request, status
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from services.web import commands
from services.web.adapters.config import WebConfig
from services.web.adapters.services_api import Refused, ServicesApi, Unavailable
from services.web.adapters.sessions import Session, SessionStore
from services.web.domain import swedish
from services.web.domain.menu import menu
from services.web.domain.youth import who
from services.web.entrypoints.security import same_token, session_cookie_name

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SIGNIN = "/logga-in"


class SignInNeeded(Exception):
    """No valid session: the page answers with the sign-in page's address."""


def templates() -> Jinja2Templates:
    made = Jinja2Templates(directory=str(TEMPLATES))
    made.env.globals.update(
        WORKLISTS=swedish.WORKLISTS, CHANNELS=swedish.CHANNELS, OUTCOMES=swedish.OUTCOMES,
        ROLES=swedish.ROLES, LEAVING_REASONS=swedish.LEAVING_REASONS, MENU=menu,
    )  # fmt: skip
    made.env.filters.update(
        datum=swedish.swedish_date,
        datum_iso=swedish.swedish_iso_date,
        label_of=lambda code, codes: swedish.label(codes, code),
        vem=who,
    )
    return made


@dataclass
class Web:
    """What the pages work with, made by the composition root."""

    config: WebConfig
    api: ServicesApi
    store: SessionStore | None
    token_secret: str
    tenants: list[str]
    views: Jinja2Templates = field(default_factory=templates)
    fixed_today: date | None = None  # the deployment's fixed day (demos, tests)
    max_token_seconds: float = 12 * 3600.0  # the longest token the services accept

    @property
    def sessions(self) -> SessionStore:
        if self.store is None:
            raise RuntimeError("the web application has not started")
        return self.store

    @property
    def cookie(self) -> str:
        return session_cookie_name(self.config.cookie_secure)

    async def signed_in(self, request: Request) -> Session:
        """The dependency of every page that needs a user: the session of the cookie, or
        `SignInNeeded` (answered with the sign-in page)."""
        found = await self.sessions.get(request.cookies.get(self.cookie, ""))
        if found is None:
            raise SignInNeeded
        return found

    def page(
        self, request: Request, name: str, user: Session | None, code: int = 200, **context: Any
    ) -> HTMLResponse:
        """A template rendered for `user` (its form token in `csrf`)."""
        return self.views.TemplateResponse(
            request, name, {"user": user, "csrf": user.csrf if user else None, **context},
            status_code=code,
        )  # fmt: skip

    async def youth_name(self, user: Session, youth_id: uuid.UUID) -> commands.Name | None:
        """What a youth's page is headed with: the name and age, as the register opens them for
        casework (in its access log; a protected identity as such); none when it cannot say."""
        try:
            names = await commands.names_of(self.api, user, [youth_id])
        except (Unavailable, Refused):
            return None
        return names.get(youth_id)

    @staticmethod
    def checked(user: Session, csrf: str | None) -> None:
        """A form's token is the session's, or 403."""
        if not same_token(user.csrf, csrf):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "form token missing or wrong")


async def posted(
    request: Request, user: Session, *, max_fields: int, max_chars: int
) -> dict[str, str]:
    """The form's text fields as posted (a file or an overlong value is cut, never echoed), once
    its token is found to be the session's (or 403)."""
    form = await request.form(max_files=0, max_fields=max_fields)
    fields = {k: v[:max_chars] for k, v in form.items() if isinstance(v, str)}
    Web.checked(user, fields.get("csrf"))
    return fields


def kept(prefix: str, fields: dict[str, str]) -> dict[str, str]:
    """What was typed in a form, by element id (`<prefix>-<field>`), to show again."""
    return {f"{prefix}-{k}": v for k, v in fields.items() if k != "csrf"}
