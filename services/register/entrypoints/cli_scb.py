"""The SCB half-year report's commands: export, check and status."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from services.register.entrypoints.cli import half_year_context
from shared.commandline import check_served, cli_reading, service_settings
from shared.settings import ServiceSettings

scb_app = typer.Typer(help="The half-year report to SCB.", no_args_is_help=True)


def scb_context(tenant: str, period: str) -> tuple[ServiceSettings, Any, Any, Any]:
    """Settings, the half-year, today and the tenant keys of an SCB command (or a clear exit)."""
    from shared.crypto import TenantKeys

    settings, half, today = half_year_context(tenant, period)
    return settings, half, today, TenantKeys(settings.master_key.get_secret_value())


def with_register(settings: ServiceSettings, work: Callable[[Any], Any]) -> Any:
    import asyncio

    import asyncpg

    from services.register.adapters.database import create_pool
    from services.register.adapters.export_log import create_export_log
    from shared import access_log

    async def run() -> Any:
        pool = await create_pool(settings.database_url.get_secret_value(), min_size=1, max_size=2)
        try:
            await create_export_log(pool)
            await access_log.create(pool)
            return await work(pool)
        finally:
            await pool.close()

    try:
        return asyncio.run(run())
    except (asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError):
        typer.echo("kaa: error: no register here yet (start the register service once)", err=True)
        raise typer.Exit(code=1) from None


@scb_app.command("export")
def scb_export(
    tenant: Annotated[str, typer.Option(help="4-digit kommunkod")],
    period: Annotated[str, typer.Option(help="a half-year: 2026H1 or 2026H2")],
    out: Annotated[Path, typer.Option(help="file to write", dir_okay=False)],
    force: Annotated[bool, typer.Option(help="export even when the checks find errors")] = False,
) -> None:
    """Check and write the period's SCB file, and record it (exit 1 when refused)."""

    from services.register.commands import scb

    settings, half, today, keys = scb_context(tenant, period)

    reading = cli_reading(tenant, "scb-report", f"SCB export {period}")
    try:
        report, recorded = with_register(
            settings, lambda pool: scb.export(pool, keys, tenant, half, today, reading, force)
        )
    except scb.ExportRefused as refused:
        typer.echo(refused.report.text(), err=True, nl=False)
        typer.echo(
            f"kaa: error: refused: {len(refused.report.errors)} errors (see above); correct them "
            "in the register or export with --force",
            err=True,
        )
        raise typer.Exit(code=1) from None
    typer.echo(report.text(), err=True, nl=False)
    tmp = out.with_name(out.name + ".tmp")
    tmp.unlink(missing_ok=True)
    tmp.touch(mode=0o600)  # the file names youths: readable by its owner only
    tmp.write_bytes(report.content)
    tmp.replace(out)
    typer.echo(
        f"wrote {out} ({len(report.content)} bytes, sha256 {report.content_hash}); "
        f"export {recorded['sequence']} of {period}"
        + (f", supersedes {recorded['supersedes']}" if recorded["supersedes"] else "")
    )


@scb_app.command("check")
def scb_check(
    tenant: Annotated[str, typer.Option(help="4-digit kommunkod")],
    period: Annotated[str, typer.Option(help="a half-year: 2026H1 or 2026H2")],
) -> None:
    """The validation report only (nothing written or recorded; exit 1 with errors)."""
    from services.register.commands import scb

    settings, half, today, keys = scb_context(tenant, period)
    reading = cli_reading(tenant, "scb-report", f"SCB check {period}")
    report = with_register(
        settings, lambda pool: scb.build(pool, keys, tenant, half, today, reading)
    )
    typer.echo(report.text(), nl=False)
    if report.errors:
        raise typer.Exit(code=1)


@scb_app.command("status")
def scb_status(
    tenant: Annotated[str, typer.Option(help="4-digit kommunkod")],
    period: Annotated[
        str | None,
        typer.Option(help="a half-year: 2026H1 or 2026H2; without it, every half-year with a file"),
    ] = None,
) -> None:
    """The files generated for a period, and whether it must be resubmitted (as JSON). Without a
    period: which closed half-years must be resubmitted because the register changed since their
    file (a correction, an episode found late with its real dates)."""
    import json
    from datetime import date

    from services.register.commands import scb
    from shared.crypto import TenantKeys

    if period is None:
        settings = service_settings()
        check_served(settings, tenant)
        today = settings.today or date.today()
        keys = TenantKeys(settings.master_key.get_secret_value())
        reading = cli_reading(tenant, "scb-report", "SCB resubmission check, every half-year")
        states = with_register(
            settings, lambda pool: scb.resubmissions(pool, keys, tenant, today, reading)
        )
        typer.echo(json.dumps(states, indent=2, default=str))
        return
    settings, half, today, keys = scb_context(tenant, period)
    reading = cli_reading(tenant, "scb-report", f"SCB resubmission check {period}")
    state = with_register(
        settings, lambda pool: scb.history(pool, keys, tenant, half, today, reading)
    )
    typer.echo(json.dumps(state, indent=2, default=str))
