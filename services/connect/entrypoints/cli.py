"""The connect service's command (`kaa connect status`): per organiser, the last complete sync,
the lag, the subscription and the errors, read from the service's state (no personal data);
exit 1 while an organiser is failing, so a monitoring job can call it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from shared.commandline import service_settings

connect_app = typer.Typer(help="The connectors: SS 12000 organisers.", no_args_is_help=True)


def _when(at: datetime | None) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC" if at else "never"


def _lag(seconds: float | None) -> str:
    if seconds is None:
        return "no complete sync yet"
    minutes = int(seconds // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{max(0, minutes)} min"


def status_lines(views: list[dict[str, Any]]) -> list[str]:
    """The operator's lines for the organisers' status views (`entrypoints.http.status_view`)."""
    if not views:
        return ["no SS 12000 organiser is configured (KAA_CONNECTORS_FILE)"]
    lines = []
    for v in views:
        lines.append(f"{v['tenant']} {v['organiser']} ({v['name']}): {v['state']}")
        lines.append(
            f"  last complete sync {_when(v['last_complete_sync'])}, lag {_lag(v['lag_seconds'])}"
        )
        sub = v["subscription"]
        lines.append(
            f"  subscription expires {_when(sub['expires'])}, {sub['callbacks']} callbacks, "
            f"the last {_when(sub['last_callback_at'])}"
            if sub
            else "  no subscription: polled only"
        )
        if v["subscription_error"]:
            lines.append(f"  subscription refused, polled only: {v['subscription_error']}")
        if v["syncing"]:
            s = v["syncing"]
            lines.append(
                f"  syncing since {_when(s['since'])}: {s['pages']} pages, {s['persons']} persons"
            )
        if v["error"]:
            e = v["error"]
            lines.append(
                f"  error ({e['in_a_row']} in a row, next attempt {_when(e['next_attempt_at'])}):"
            )
            lines.append(f"    {e['message']}")
    return lines


@connect_app.command("status")
def status(
    tenant: Annotated[
        str | None, typer.Option(help="4-digit kommunkod (default: all served)")
    ] = None,
) -> None:
    """Per organiser: last complete sync, lag, subscription, errors. Exit 1 while one fails."""
    import asyncpg

    from services.connect.adapters.state import ConnectState
    from services.connect.entrypoints.http import status_view
    from shared import connectors
    from shared.crypto import TenantKeys

    settings = service_settings()
    tenants = [tenant] if tenant else list(settings.tenants)

    async def read() -> list[dict[str, Any]]:
        pool = await asyncpg.create_pool(
            settings.database_url.get_secret_value(), min_size=1, max_size=1
        )
        try:
            if not await pool.fetchval("SELECT to_regclass('connect.organisers') IS NOT NULL"):
                return []
            state = ConnectState(pool, TenantKeys(settings.master_key.get_secret_value()), "")
            now = datetime.now(UTC)
            configured = (
                {(t, o.id) for t, o in connectors.load(settings.connectors_file).all()}
                if settings.connectors_file
                else None
            )
            return [status_view(s, now) for s in await state.all(tenants, configured)]
        finally:
            await pool.close()

    views = asyncio.run(read())
    for line in status_lines(views):
        typer.echo(line)
    if any(v["error"] for v in views):
        raise typer.Exit(code=1)


def mount(app: typer.Typer) -> None:
    """Put the connect service's commands on the platform's `kaa` command."""
    app.add_typer(connect_app, name="connect")
