"""The coordinator's figures: the SCB half-year report (check, export, history), the data quality drawn, and exports as CSV and Excel.

Thin: each page asks its use case (`services.web.commands.figures`) and renders a template. Only a
coordinator uses these pages: the SCB endpoints are the register's coordinators' own (it answers
403 to anyone else); the quality figures and the lists the register and outreach also give
caseworkers (and inspectors), so these pages check the role themselves. A file is never addressed
by anything personal: the SCB file is the answer to a POST (a period and whether to force), a list
the answer to a POST of its filters; no name, personnummer or youth id is in a URL or the log.

No `from __future__ import annotations`: FastAPI must see the dependency annotations.
"""

import asyncio
from datetime import date
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response

from services.web.adapters.sessions import Session
from services.web.commands import figures
from services.web.domain import exports, scb, swedish
from services.web.domain.scb import Half
from services.web.entrypoints import common
from services.web.entrypoints.common import Web, kept

SCB_HALVES = 6  # the half-years the SCB page offers (three years)
posted = partial(common.posted, max_fields=20, max_chars=100)
REGISTER_CHOICES: dict[str, dict[str, str]] = {
    "status": {"": "Alla", "in_scope": "I aktivitetsansvaret", "out_of_scope": "Har lämnat"},
    "occupation": {"": "Alla", "known": "Känd sysselsättning", "unknown": "Okänd sysselsättning"},
    "contacted": {"": "Alla", "true": "Med kontaktförsök", "false": "Utan kontaktförsök"},
}


def coordinator_only(user: Session) -> None:
    """A coordinator's page: anyone else gets the forbidden page."""
    if "coordinator" not in user.roles:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "for coordinators")


def download(content: bytes, name: str, media_type: str, **headers: str) -> Response:
    """A file to save (never cached: it may hold names)."""
    return Response(content, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", **headers,
    })  # fmt: skip


def scb_routes(web: Web) -> APIRouter:
    router = APIRouter()
    User = Annotated[Session, Depends(web.signed_in)]

    def today() -> date:
        return figures.today_of(web.fixed_today)

    def offered() -> list[Half]:
        return scb.last_halves(today(), SCB_HALVES)

    async def scb_shown(
        request: Request, user: Session, half: Half, *, check: bool, code: int = 200,
        report: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
    ) -> Response:  # fmt: skip
        coordinator_only(user)
        if check and report is None:
            report, state = await asyncio.gather(
                figures.scb_report(web.api, user, half), figures.scb_history(web.api, user, half)
            )
        else:
            state = await figures.scb_history(web.api, user, half)
        return web.page(request, "scb.html", user, code=code, half=half, halves=offered(),
                        period_words=scb.period_words(half, today()), report=report,
                        findings=scb.findings(report) if report else [],
                        report_events=scb.event_range(report.get("event_range") if report else None),
                        report_positions=scb.positions(report.get("event_range") if report else None),
                        state=state, files=scb.history(state), errors=errors,
                        BLOCKS=scb.BLOCKS)  # fmt: skip

    @router.get("/scb", response_class=HTMLResponse)
    async def scb_page(request: Request, user: User, period: str = "") -> Response:
        half = scb.chosen(period, today(), offered())
        return await scb_shown(request, user, half, check=False)

    @router.get("/scb/kontroll", response_class=HTMLResponse)
    async def scb_check(request: Request, user: User, period: str = "") -> Response:
        half = scb.chosen(period, today(), offered())
        return await scb_shown(request, user, half, check=True)

    @router.post("/scb/export", response_class=HTMLResponse)
    async def scb_export(request: Request, user: User) -> Response:
        fields = await posted(request, user)
        coordinator_only(user)
        half = scb.chosen(fields.get("period"), today(), offered())
        if half.name != fields.get("period"):
            return await scb_shown(request, user, half, check=False, code=422,
                                   errors={"period": "Välj ett halvår i listan"})  # fmt: skip
        try:
            made = await figures.scb_export(web.api, user, half, fields.get("force") == "ja")
        except figures.ExportRefused as refused:
            count = refused.report.get("errors", 0)
            message = (f"Filen skapades inte: kontrollen hittade {count} fel. Rätta felen, "
                       "eller exportera ändå om SCB ska få filen med felen.")  # fmt: skip
            return await scb_shown(request, user, half, check=True, code=422,
                                   report=refused.report, errors={"scb-force": message})  # fmt: skip
        return download(made.content, made.name, "text/plain; charset=utf-8",
                        **{"X-Content-SHA256": made.sha256})  # fmt: skip

    def quality_halves() -> list[Half]:
        return scb.last_halves(today(), figures.QUALITY_HALVES)

    @router.get("/datakvalitet", response_class=HTMLResponse)
    async def quality(request: Request, user: User, fordelning: str = "") -> Response:
        coordinator_only(user)
        halves = quality_halves()
        found = await figures.quality(web.api, user, halves)
        shown = scb.chosen(fordelning, today(), halves) if fordelning else halves[-1]
        waits_chart, waits = found.waits(shown)
        sheet = found.sheet()
        return web.page(request, "datakvalitet.html", user, quality=found, charts=found.charts(),
                        shown=shown, waits_chart=waits_chart, waits=waits, halves=halves,
                        sheet=sheet, rows=exports.rows_of(sheet))  # fmt: skip

    @router.get("/datakvalitet/export")
    async def quality_export(user: User, format: str = "xlsx") -> Response:
        coordinator_only(user)
        kind = format if format in exports.FORMATS else "xlsx"
        found = await figures.quality(web.api, user, quality_halves())
        name = exports.filename("datakvalitet", user.tenant, today(), kind)
        return download(exports.file_bytes(found.sheet(), kind), name, exports.MEDIA_TYPES[kind])

    def lists_shown(
        request: Request, user: Session, code: int = 200, **context: object
    ) -> Response:
        coordinator_only(user)
        context = {"given": {}, "errors": None, **context}
        return web.page(request, "datakvalitet_listor.html", user, code=code,
                        FORMATS=exports.FORMATS, CHOICES=REGISTER_CHOICES, **context)  # fmt: skip

    @router.get("/datakvalitet/listor", response_class=HTMLResponse)
    async def lists(request: Request, user: User) -> Response:
        return lists_shown(request, user)

    def refused_fields(fields: dict[str, str], prefix: str) -> dict[str, str]:
        errors = {}
        if fields.get("format") not in exports.FORMATS:
            errors[f"{prefix}-format"] = "Välj filformat"
        if prefix == "arbetslista" and fields.get("lista") not in swedish.WORKLISTS:
            errors["arbetslista-lista"] = "Välj en arbetslista"
        for name, choices in REGISTER_CHOICES.items():
            if prefix == "register" and fields.get(name, "") not in choices:
                errors[f"register-{name}"] = "Välj ett av alternativen"
        return errors

    @router.post("/datakvalitet/listor/arbetslista", response_class=HTMLResponse)
    async def worklist_export(request: Request, user: User) -> Response:
        fields = await posted(request, user)
        coordinator_only(user)
        errors = refused_fields(fields, "arbetslista")
        if errors:
            return lists_shown(request, user, 422, errors=errors, given=kept("arbetslista", fields))
        name, kind = fields["lista"], fields["format"]
        heading = swedish.WORKLISTS[name][0]
        sheet = await figures.worklist_sheet(web.api, user, name, heading,
                                             fields.get("namn") == "ja")  # fmt: skip
        file = exports.filename(f"arbetslista {heading}", user.tenant, today(), kind)
        return download(exports.file_bytes(sheet, kind), file, exports.MEDIA_TYPES[kind])

    @router.post("/datakvalitet/listor/register", response_class=HTMLResponse)
    async def register_export(request: Request, user: User) -> Response:
        fields = await posted(request, user)
        coordinator_only(user)
        errors = refused_fields(fields, "register")
        if errors:
            return lists_shown(request, user, 422, errors=errors, given=kept("register", fields))
        kind = fields["format"]
        sheet = await figures.register_sheet(web.api, user, fields, fields.get("namn") == "ja")
        file = exports.filename("registerlista", user.tenant, today(), kind)
        return download(exports.file_bytes(sheet, kind), file, exports.MEDIA_TYPES[kind])

    return router
