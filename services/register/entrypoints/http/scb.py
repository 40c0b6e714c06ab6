"""The half-year report to SCB (coordinators of the municipality in the token): check it, export
the file, and each period's history."""

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status

from services.register.commands import scb
from services.register.domain.period import Period as HalfYear
from services.register.entrypoints.http.params import Period, half_year_of, scoped
from shared import access_log
from shared.auth import Principal
from shared.crypto import TenantKeys


def scb_routes(
    coordinator: Callable[..., Awaitable[Principal]],
    today: Callable[[], date],
    keys: TenantKeys,
) -> APIRouter:
    """The half-year report to SCB (coordinators of the municipality in the token)."""
    router = APIRouter(prefix="/v1/scb")
    Coordinator = Annotated[Principal, Depends(coordinator)]

    def half_year(name: str) -> HalfYear:
        return half_year_of(name, today())

    def reading(caller: Principal, what: str) -> access_log.Access:
        return access_log.Access(caller.tenant, caller.actor, "scb-report", what, "register")

    @router.get("/report")
    async def check(request: Request, caller: Coordinator, period: Period) -> dict[str, Any]:
        """The validation report of the file as it would be generated now (nothing recorded)."""
        half = half_year(period)
        report = await scb.build(
            scoped(request, caller), keys, caller.tenant, half, today(),
            reading(caller, f"SCB check {period}"),
        )  # fmt: skip
        return report.summary()

    @router.post("/exports", status_code=status.HTTP_201_CREATED)
    async def export(
        request: Request,
        caller: Coordinator,
        period: Period,
        force: Annotated[bool, Query(description="Export even with errors.")] = False,
    ) -> Response:
        """Generate the period's file (text/plain, UTF-8) and record it; refused (422, with the
        validation report) when the local checks find errors, unless forced."""
        try:
            report, recorded = await scb.export(
                scoped(request, caller), keys, caller.tenant, half_year(period), today(),
                reading(caller, f"SCB export {period}"), force,
            )  # fmt: skip
        except scb.ExportRefused as refused:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                {"problem": f"the report has {len(refused.report.errors)} errors; correct them "
                 "or export with force=true", **refused.report.summary()},
            ) from None  # fmt: skip
        return Response(
            content=report.content,
            media_type="text/plain; charset=utf-8",
            status_code=status.HTTP_201_CREATED,
            headers={
                "X-Content-SHA256": report.content_hash,
                "X-Export-Id": recorded["export_id"],
                "X-Export-Sequence": str(recorded["sequence"]),
                "Content-Disposition": f'attachment; filename="kaa-scb-{caller.tenant}-{period}.txt"',
            },
        )

    @router.get("/exports")
    async def exports(request: Request, caller: Coordinator, period: Period) -> dict[str, Any]:
        """Every file generated for the period; the latest stands; whether it must be resubmitted."""
        half = half_year(period)
        return await scb.history(
            scoped(request, caller), keys, caller.tenant, half, today(),
            reading(caller, f"SCB resubmission check {period}"),
        )  # fmt: skip

    return router
