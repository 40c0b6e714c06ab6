"""Signing in and out.

Production: OpenID Connect against the municipality's identity provider (`adapters/oidc.py`) when
`KAA_WEB_OIDC_ISSUER`, `…_CLIENT_ID` and `…_CLIENT_SECRET` are set: the sign-in page sends the
browser to the provider, the callback (`/logga-in/svar`) verifies the answer and starts a session
holding the provider's access token (what the services verify), sign-out ends the session and, if
the provider advertises `end_session_endpoint`, the provider's session too.

The development sign-in (a form to choose municipality, role and user name, which mints a token
with the deployment's secret) exists only where `KAA_WEB_DEV_SIGNIN` turns it on: the demo and the
tests. With neither, the page says sign-in is not set up.
"""

import logging
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.web.adapters.oidc import (
    PENDING_SECONDS,
    OidcClient,
    Pending,
    Sealer,
    SignedIn,
    SignInRefused,
)
from services.web.adapters.sessions import Session
from services.web.domain.menu import start_page
from services.web.entrypoints.common import SIGNIN, Web
from services.web.entrypoints.security import SIGNIN_CSRF_COOKIE, new_form_token, same_token
from shared.auth import ROLES, issue_token
from shared.settings import ServiceSettings
from shared.token_claims import is_kommunkod

DEV_ROLES = list(ROLES)  # every role, to try each part of the application
CALLBACK = "/logga-in/svar"
SIGNED_OUT = "/utloggad"
PENDING_COOKIE = "kaa-oidc-pending"  # the flow's state, nonce and PKCE verifier, sealed
END_COOKIE = "kaa-oidc-end"  # the ID token, sealed: the provider's sign-out hint
REFUSALS = {"flow": 400, "provider": 502, "no_role": 403, "tenant": 403}
log = logging.getLogger("kaa.web.signin")


def signin_routes(web: Web, oidc: "OidcFlow | None" = None) -> APIRouter:
    """The sign-in pages; with the identity provider when `oidc` is given (the composition root
    makes it when the provider is configured, and closes it at shutdown)."""
    router = APIRouter()
    User = Annotated[Session, Depends(web.signed_in)]
    if oidc is not None:
        router.include_router(oidc_routes(web, oidc))

    def form(request: Request, code: int = 200, **context: object) -> Response:
        token = new_form_token()
        response = web.page(request, "signin.html", None, code=code, signin_csrf=token,
                            tenants=web.tenants, roles=DEV_ROLES, **context)  # fmt: skip
        response.set_cookie(SIGNIN_CSRF_COOKIE, token, max_age=900, httponly=True,
                            secure=web.config.cookie_secure, samesite="strict")  # fmt: skip
        return response

    @router.get(SIGNIN, response_class=HTMLResponse)
    async def sign_in_page(request: Request) -> Response:
        if web.config.dev_signin:
            return form(request, oidc=oidc is not None)
        if oidc is not None:
            return await oidc.begin(request)
        return web.page(request, "signin_closed.html", None, code=503)

    @router.post(SIGNIN)
    async def sign_in(
        request: Request,
        tenant: Annotated[str, Form(max_length=4)] = "",
        role: Annotated[str, Form(max_length=32)] = "",
        subject: Annotated[str, Form(max_length=64)] = "",
        team: Annotated[str, Form(max_length=64)] = "",
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
        team = team.strip()
        if team and not all(c.isalnum() or c in "._-" for c in team):
            errors["team"] = ("Ange teamets kod med bokstäver, siffror, punkt, bindestreck eller "
                              "understreck, eller lämna fältet tomt")  # fmt: skip
        if errors:
            given = {"tenant": tenant, "role": role, "subject": subject, "team": team}
            return form(request, code=422, errors=errors, given=given)
        # No longer than the services accept a token (else every page would be refused).
        lifetime = timedelta(
            seconds=min(web.config.session_absolute_hours * 3600.0, web.max_token_seconds)
        )
        token = issue_token(web.token_secret, subject=subject, tenant=tenant, roles=[role],
                            lifetime=lifetime, teams=[team] if team else None)  # fmt: skip
        session_id = await web.sessions.start(subject, tenant, [role], token)
        signed = RedirectResponse(start_page([role]), status.HTTP_303_SEE_OTHER)
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
        response: Response = RedirectResponse(SIGNIN, status.HTTP_303_SEE_OTHER)
        if oidc is not None:
            response = await oidc.signed_out(request)
        response.delete_cookie(web.cookie, path="/", secure=web.config.cookie_secure,
                               httponly=True)  # fmt: skip
        return response

    return router


class OidcFlow:
    """The sign-in with the municipality's identity provider, as the pages drive it."""

    def __init__(self, web: Web, settings: ServiceSettings | None) -> None:
        self.web = web
        self._settings = settings
        self._client: OidcClient | None = None
        self.sealer = Sealer(web.token_secret, "oidc cookies")

    @property
    def client(self) -> OidcClient:
        if self._client is None:  # the services' token settings, read as they read them
            settings = self._settings or ServiceSettings()
            self._client = OidcClient(
                self.web.config, tenants=self.web.tenants, audience=settings.token_audience,
                claim_map=settings.token_claims, max_lifetime=settings.token_max_lifetime,
            )  # fmt: skip
        return self._client

    async def close(self) -> None:
        """Close the provider client's connections, if it was ever made."""
        if self._client is not None:
            await self._client.close()
            self._client = None

    def cookie(self, response: Response, name: str, value: str, path: str, seconds: int) -> None:
        response.set_cookie(name, value, max_age=seconds, path=path, httponly=True,
                            secure=self.web.config.cookie_secure, samesite="lax")  # fmt: skip

    def redirect_uri(self, request: Request) -> str:
        return self.web.config.oidc_redirect_url or str(request.url_for("oidc_callback"))

    async def begin(self, request: Request) -> Response:
        pending = Pending.new(self.redirect_uri(request))
        try:
            url = await self.client.authorization_url(pending)
        except SignInRefused as refused:
            return self.refused(request, refused)
        response = RedirectResponse(url, status.HTTP_303_SEE_OTHER)
        self.cookie(response, PENDING_COOKIE, self.sealer.seal_pending(pending), SIGNIN,
                    PENDING_SECONDS)  # fmt: skip
        return response

    async def callback(
        self, request: Request, code: str, state: str, iss: str | None, error: str | None
    ) -> Response:
        pending = self.sealer.open_pending(request.cookies.get(PENDING_COOKIE))
        response: Response
        try:
            if error is not None:  # the user cancelled, or the provider would not sign them in
                raise SignInRefused("flow", "the provider answered with an error")
            signed = await self.client.finish(pending, code, state, iss)
        except SignInRefused as refused:
            response = self.refused(request, refused)
        else:
            response = await self.signed_in(signed)
        response.delete_cookie(PENDING_COOKIE, path=SIGNIN, secure=self.web.config.cookie_secure,
                               httponly=True)  # fmt: skip
        return response

    async def signed_in(self, signed: SignedIn) -> Response:
        web = self.web
        session_id = await web.sessions.start(signed.subject, signed.tenant, signed.roles,
                                              signed.access_token)  # fmt: skip
        response = RedirectResponse(start_page(signed.roles), status.HTTP_303_SEE_OTHER)
        lifetime = web.config.session_absolute_hours * 3600
        self.cookie(response, web.cookie, session_id, "/", lifetime)
        self.cookie(response, END_COOKIE, self.sealer.seal({"id_token": signed.id_token}),
                    "/logga-ut", lifetime)  # fmt: skip
        log.info("signed in with the identity provider (%s)", ", ".join(signed.roles))
        return response

    def refused(self, request: Request, refused: SignInRefused) -> Response:
        log.warning("sign-in refused (%s): %s", refused.kind, refused.reason)
        return self.web.page(request, "signin_refused.html", None, code=REFUSALS[refused.kind],
                             kind=refused.kind)  # fmt: skip

    async def signed_out(self, request: Request) -> Response:
        """The session is ended: the page that says so, sending the browser on to the provider's
        sign-out when it has one (a page, not a redirect: the form's CSP allows only 'self')."""
        opened = self.sealer.open(request.cookies.get(END_COOKIE)) or {}
        hint = opened.get("id_token")
        after = str(request.url_for("signed_out_page"))
        if self.web.config.oidc_redirect_url:
            after = self.web.config.oidc_redirect_url.replace(CALLBACK, SIGNED_OUT)
        url = await self.client.end_session_url(hint if isinstance(hint, str) else None, after)
        response = self.web.page(request, "signin_utloggad.html", None, provider_url=url)
        response.delete_cookie(END_COOKIE, path="/logga-ut", secure=self.web.config.cookie_secure,
                               httponly=True)  # fmt: skip
        return response


def oidc_routes(web: Web, oidc: OidcFlow) -> APIRouter:
    router = APIRouter()

    @router.get(f"{SIGNIN}/oidc")
    async def begin(request: Request) -> Response:
        return await oidc.begin(request)

    @router.get(CALLBACK, name="oidc_callback")
    async def callback(
        request: Request,
        code: Annotated[str, Query(max_length=2048)] = "",
        state: Annotated[str, Query(max_length=512)] = "",
        iss: Annotated[str | None, Query(max_length=512)] = None,
        error: Annotated[str | None, Query(max_length=128)] = None,
    ) -> Response:
        return await oidc.callback(request, code, state, iss, error)

    @router.get(SIGNED_OUT, name="signed_out_page", response_class=HTMLResponse)
    async def signed_out_page(request: Request) -> Response:
        return web.page(request, "signin_utloggad.html", None, provider_url=None)

    return router
