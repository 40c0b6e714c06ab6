"""The coordinator's pages (samordnare): the team overview and assigning many youths at once, the municipality's rules and the measure catalogue with their history.

Thin: each page asks its use case (`services.web.commands.coordination`, `.coordination_rules`)
and renders a template. The pages are the coordinator's: another role gets the forbidden page
before any service is asked (the services refuse them too). A form refused is shown again with
the messages next to the fields; an accepted one redirects to its page (post/redirect/get), whose
address holds no personal data (a holder by a keyed hash, counts, a measure's code).

No `from __future__ import annotations`: FastAPI must see the dependency annotations.
"""

from functools import partial
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.web.adapters.sessions import Session
from services.web.commands import coordination as cases
from services.web.commands import coordination_rules as rules
from services.web.commands.youth import ASSIGNEE_KINDS, FormRefused
from services.web.domain.coordination import holder_key
from services.web.entrypoints import common
from services.web.entrypoints.common import Web

MAX_FIELD = 1000
SAVED = {
    "regler": "Reglerna är sparade.",
    "inga-regler": "Inga regler ändrades: värdena var desamma som förut.",
    "insats": "Insatsen är sparad i katalogen.",
    "borttagen": "Insatsen är borttagen ur katalogen.",
}
posted = partial(common.posted, max_fields=20, max_chars=MAX_FIELD)


def coordinator_routes(web: Web) -> APIRouter:
    router = APIRouter()
    User = Annotated[Session, Depends(web.signed_in)]

    def coordinator(user: Session) -> None:
        if "coordinator" not in user.roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "the coordinator's page")

    async def overview_shown(request: Request, user: Session, visa: str, vem: str,
                             code: int = 200, **context: Any) -> Response:  # fmt: skip
        view = await cases.team_overview(web.api, user, visa, vem, web.token_secret)
        context = {"errors": None, "outcome": None, "ticked": set(), "given": {}, **context}
        page = web.page(request, "samordning_oversikt.html", user, code=code, view=view,
                        ASSIGNEE_KINDS=ASSIGNEE_KINDS, VIEWS=cases.VIEWS, **context)  # fmt: skip
        page.headers["Cache-Control"] = "no-store"
        return page

    @router.get("/samordning", response_class=HTMLResponse)
    async def overview(
        request: Request, user: User, visa: str = "", vem: str = "", tilldelade: int = -1,
        till: str = "",
    ) -> Response:  # fmt: skip
        coordinator(user)
        return await overview_shown(request, user, visa, vem, assigned=tilldelade, to_key=till)

    @router.post("/samordning/tilldela", response_class=HTMLResponse)
    async def assign(request: Request, user: User) -> Response:
        coordinator(user)
        form = await request.form(max_files=0, max_fields=cases.MAX_CHOSEN + 20)
        fields = {k: v[:MAX_FIELD] for k, v in form.items() if isinstance(v, str)}
        web.checked(user, fields.get("csrf"))
        youths = cases.chosen_youths([v for v in form.getlist("ungdom") if isinstance(v, str)])
        visa, vem = fields.get("visa", ""), fields.get("vem", "")
        try:
            outcome = await cases.assign_many(web.api, user, fields, youths)
        except FormRefused as refused:
            return await overview_shown(request, user, visa, vem, refused.status,
                                        errors=refused.errors, ticked=set(youths),
                                        given=common.kept("tilldela", fields))  # fmt: skip
        if outcome.refused:  # said on this page: the names may not go in an address
            return await overview_shown(request, user, visa, vem, outcome=outcome,
                                        assigned=outcome.assigned)  # fmt: skip
        kind, assignee = fields["assignee_kind"], fields["assignee"].strip()
        if kind == "caseworker":
            assignee = "user:" + assignee.removeprefix("user:")
        query = {"visa": visa, "vem": vem, "tilldelade": outcome.assigned,
                 "till": holder_key(web.token_secret, kind, assignee)}  # fmt: skip
        return RedirectResponse(f"/samordning?{urlencode(query)}", status.HTTP_303_SEE_OTHER)

    async def rules_shown(request: Request, user: Session, code: int = 200,
                          **context: Any) -> Response:  # fmt: skip
        page = await rules.rules_page(web.api, user)
        context = {"errors": None, "saved": None, "given": {}, "editing": None, **context}
        return web.page(request, "samordning_regler.html", user, code=code, page=page, **context)

    @router.get("/samordning/regler", response_class=HTMLResponse)
    async def rules_form(
        request: Request, user: User, sparat: str = "", andra: str = ""
    ) -> Response:
        coordinator(user)
        return await rules_shown(request, user, saved=SAVED.get(sparat), editing=andra or None)

    def back(saved: str, anchor: str) -> Response:
        return RedirectResponse(f"/samordning/regler?sparat={saved}#{anchor}",
                                status.HTTP_303_SEE_OTHER)  # fmt: skip

    @router.post("/samordning/regler", response_class=HTMLResponse)
    async def save_rules(request: Request, user: User) -> Response:
        coordinator(user)
        fields = await posted(request, user)
        try:
            changed = await rules.save_rules(web.api, user, fields)
        except FormRefused as refused:
            return await rules_shown(request, user, refused.status, errors=refused.errors,
                                     given=common.kept("regler", fields))  # fmt: skip
        return back("regler" if changed else "inga-regler", "regler-historik")

    @router.post("/samordning/insatser", response_class=HTMLResponse)
    async def define_measure(request: Request, user: User) -> Response:
        coordinator(user)
        fields = await posted(request, user)
        try:
            await rules.define_measure(web.api, user, fields)
        except FormRefused as refused:
            return await rules_shown(request, user, refused.status, errors=refused.errors,
                                     given=common.kept("insats", fields))  # fmt: skip
        return back("insats", "katalog")

    @router.post("/samordning/insatser/ta-bort", response_class=HTMLResponse)
    async def retire_measure(request: Request, user: User) -> Response:
        coordinator(user)
        fields = await posted(request, user)
        try:
            await rules.retire_measure(web.api, user, fields)
        except FormRefused as refused:
            return await rules_shown(request, user, refused.status, errors=refused.errors)
        return back("borttagen", "katalog")

    return router
