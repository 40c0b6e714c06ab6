"""The youth's individual plan (with its editor and print view) and measures (insatser).

Thin: each page asks its use case (`services.web.commands.plan`, `.measures`) and renders a
template. A refusal of the measures service re-renders the page with the message next to the
field and everything typed kept; a step the lifecycle does not allow has no button, and a stale
page's step is refused in Swedish.
"""

import uuid
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.web.adapters.services_api import Refused
from services.web.adapters.sessions import Session
from services.web.commands import measures as measure_cases
from services.web.commands import plan as plan_cases
from services.web.domain.measures import Action
from services.web.entrypoints import common
from services.web.entrypoints.common import Web, kept

MAX_FIELD = 4000  # characters of one posted field kept (the services cap theirs lower)


posted = partial(common.posted, max_fields=400, max_chars=MAX_FIELD)  # a plan has many rows


def plan_routes(web: Web) -> APIRouter:
    router = APIRouter()
    User = Annotated[Session, Depends(web.signed_in)]

    async def plan_shown(
        request: Request,
        user: Session,
        youth_id: uuid.UUID,
        form: plan_cases.PlanForm | None = None,
        code: int = 200,
        **context: object,
    ) -> Response:
        page = await plan_cases.plan_page(web.api, user, youth_id)
        form = form or plan_cases.form_from_plan(page.plan, page.today)
        return web.page(request, "ungdom_plan.html", user, code=code, youth_id=youth_id,
                        youth_name=await web.youth_name(user, youth_id),
                        page=page, form=form, RESPONSIBLE=plan_cases.RESPONSIBLE,
                        **context)  # fmt: skip

    @router.get("/ungdomar/{youth_id}/plan", response_class=HTMLResponse)
    async def plan(request: Request, youth_id: uuid.UUID, user: User, sparad: int = 0) -> Response:
        return await plan_shown(request, user, youth_id, saved=sparad == 1)

    @router.post("/ungdomar/{youth_id}/plan", response_class=HTMLResponse)
    async def revise(request: Request, youth_id: uuid.UUID, user: User) -> Response:
        fields = await posted(request, user)
        form = plan_cases.form_of(fields)
        try:
            warnings = await plan_cases.revise_plan(web.api, user, youth_id, form)
        except Refused as refused:
            if refused.status not in (409, 422):
                raise
            errors = plan_cases.plan_refusal(refused, form)
            return await plan_shown(request, user, youth_id, form, refused.status, errors=errors)
        if warnings:  # saved: the page again, with what to check (a reload records nothing new)
            return await plan_shown(request, user, youth_id, warnings=warnings)
        return RedirectResponse(f"/ungdomar/{youth_id}/plan?sparad=1", status.HTTP_303_SEE_OTHER)

    @router.get("/ungdomar/{youth_id}/plan/utskrift", response_class=HTMLResponse)
    async def printed(request: Request, youth_id: uuid.UUID, user: User) -> Response:
        page = await plan_cases.plan_page(web.api, user, youth_id)
        # No user given to the frame: no menu, no sign-out; only the plan.
        return web.page(request, "ungdom_plan_utskrift.html", None, youth_id=youth_id,
                        youth_name=await web.youth_name(user, youth_id),
                        plan=page.plan, today=page.today, tenant=user.tenant,
                        RESPONSIBLE=plan_cases.RESPONSIBLE)  # fmt: skip

    async def measures_shown(
        request: Request, user: Session, youth_id: uuid.UUID, code: int = 200, **context: object
    ) -> Response:
        page = await measure_cases.measures_page(
            web.api, user, youth_id, plan_cases.today(web.fixed_today)
        )
        context = {"given": {}, **context}
        return web.page(request, "ungdom_insatser.html", user, code=code, youth_id=youth_id,
                        youth_name=await web.youth_name(user, youth_id),
                        page=page, new_measure_id=uuid.uuid4(), new_objection_id=uuid.uuid4(),
                        **context)  # fmt: skip

    async def refused_form(
        request: Request,
        user: Session,
        youth_id: uuid.UUID,
        refused: Refused,
        prefix: str,
        labels: dict[str, str],
        fields: dict[str, str],
        day: str = "on",
    ) -> Response:
        if refused.status not in (409, 422):
            raise refused
        errors = measure_cases.step_refusal(refused, prefix, labels, day)
        return await measures_shown(request, user, youth_id, refused.status, errors=errors,
                                    given=kept(prefix, fields))  # fmt: skip

    def back(youth_id: uuid.UUID, anchor: str = "") -> Response:
        return RedirectResponse(f"/ungdomar/{youth_id}/insatser{anchor}",
                                status.HTTP_303_SEE_OTHER)  # fmt: skip

    @router.get("/ungdomar/{youth_id}/insatser", response_class=HTMLResponse)
    async def measures(request: Request, youth_id: uuid.UUID, user: User) -> Response:
        return await measures_shown(request, user, youth_id)

    @router.post("/ungdomar/{youth_id}/insatser/erbjud", response_class=HTMLResponse)
    async def offer(request: Request, youth_id: uuid.UUID, user: User) -> Response:
        fields = await posted(request, user)
        try:
            await measure_cases.offer(web.api, user, youth_id, fields)
        except Refused as refused:
            return await refused_form(request, user, youth_id, refused, "erbjud",
                                      measure_cases.OFFER_LABELS, fields, "offered_on")  # fmt: skip
        return back(youth_id)

    @router.post("/ungdomar/{youth_id}/insatser/invandning", response_class=HTMLResponse)
    async def objection(request: Request, youth_id: uuid.UUID, user: User) -> Response:
        fields = await posted(request, user)
        try:
            await measure_cases.record_objection(web.api, user, youth_id, fields)
        except Refused as refused:
            return await refused_form(request, user, youth_id, refused, "invandning",
                                      measure_cases.OBJECTION_LABELS, fields)  # fmt: skip
        return back(youth_id, "#invandning")

    @router.post("/ungdomar/{youth_id}/insatser/{measure_id}", response_class=HTMLResponse)
    async def step(
        request: Request, youth_id: uuid.UUID, measure_id: uuid.UUID, user: User
    ) -> Response:
        fields = await posted(request, user)
        prefix = f"m-{measure_id}"
        try:
            action = Action(fields.get("steg", ""))
        except ValueError:
            errors = {prefix: "Välj ett av stegen som knapparna visar."}
            return await measures_shown(request, user, youth_id, 422, errors=errors)
        try:
            await measure_cases.take_step(web.api, user, youth_id, measure_id, action, fields)
        except Refused as refused:
            return await refused_form(request, user, youth_id, refused, prefix,
                                      measure_cases.STEP_LABELS, fields)  # fmt: skip
        return back(youth_id, f"#{prefix}")

    return router
