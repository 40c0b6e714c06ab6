"""The register's commands: data quality, rebuild and verify, re-applying parked events, the audit
replay and retention. Mounted on the `kaa` command by the platform (`mount`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any

import typer

from shared.commandline import check_served, cli_reading, progress_bar, service_settings
from shared.settings import ServiceSettings

commands = typer.Typer()
register_app = typer.Typer(
    help="The statutory register: rebuild, verify, re-apply parked events.", no_args_is_help=True
)


def mount(app: typer.Typer) -> None:
    """Put the register's commands on the platform's `kaa` command."""
    from services.register.entrypoints import (
        cli_extract,  # noqa: F401 (kaa register extract)
        cli_rebuild,  # noqa: F401 (rebuild, verify, …)
    )
    from services.register.entrypoints.cli_scb import scb_app

    app.registered_commands.extend(commands.registered_commands)
    app.add_typer(register_app, name="register")
    app.add_typer(audit_app, name="audit")
    app.add_typer(scb_app, name="scb")
    app.add_typer(retention_app, name="retention")


def half_year_context(tenant: str, period: str) -> tuple[ServiceSettings, Any, Any]:
    """Settings, the half-year and today for a command about a served municipality's half-year
    that has begun (or a clear exit)."""
    from datetime import date

    from services.register.domain.period import half_year

    settings = service_settings()
    check_served(settings, tenant)
    try:
        half = half_year(period)
    except ValueError as exc:
        typer.echo(f"kaa: error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    today = settings.today or date.today()
    if half.start > today:
        typer.echo(f"kaa: error: period: {period} has not begun", err=True)
        raise typer.Exit(code=2)
    return settings, half, today


@commands.command("quality")
def data_quality(
    tenant: Annotated[str, typer.Option(help="4-digit kommunkod")],
    period: Annotated[str, typer.Option(help="a half-year: 2026H1 or 2026H2")],
    currency_days: Annotated[
        int, typer.Option(help="days an occupation stays known", min=14, max=365)
    ] = 90,
) -> None:
    """Data-quality figures of a municipality's register for a half-year."""
    import asyncio

    import asyncpg

    from services.register.adapters.database import create_pool
    from services.register.commands.quality import quality

    settings, half, today = half_year_context(tenant, period)

    async def figures() -> dict[str, Any]:
        pool = await create_pool(settings.database_url.get_secret_value(), min_size=1, max_size=2)
        try:
            return await quality(pool, tenant, half, today, currency_days)
        finally:
            await pool.close()

    try:
        result = asyncio.run(figures())
    except asyncpg.UndefinedTableError:
        typer.echo("kaa: error: no register here yet (start the register service once)", err=True)
        raise typer.Exit(code=1) from None
    for key, value in result.items():
        typer.echo(f"{key:<40} {value}")


@contextlib.asynccontextmanager
async def register_pool(settings: ServiceSettings) -> AsyncIterator[Any]:
    """A small pool on the live register, its tables made where they are missing."""
    from services.register.adapters.database import create_pool, create_tables

    pool = await create_pool(settings.database_url.get_secret_value(), min_size=1, max_size=2)
    try:
        await create_tables(pool)
        yield pool
    finally:
        await pool.close()


@register_app.command("reapply")
def register_reapply(
    event_id: Annotated[
        list[str] | None,
        typer.Option("--event-id", help="only this parked event (repeatable); default: all"),
    ] = None,
) -> None:
    """Apply the events the register parked again, after the fix (idempotent; exit 1 while some
    still fail). The parked events are listed by `GET /v1/dead-events` and `kaa dlq list`."""
    import asyncio
    import uuid

    from services.register.commands.parked import reapply

    try:
        wanted = [uuid.UUID(value) for value in event_id or []]
    except ValueError:
        typer.echo("kaa: error: --event-id: not an event id (a UUID)", err=True)
        raise typer.Exit(code=2) from None
    settings = service_settings()

    async def work() -> Any:
        async with register_pool(settings) as pool:
            return await reapply(
                pool, settings.tenants, wanted or None, progress_bar(stream_err=True)
            )

    result = asyncio.run(work())
    typer.echo(
        f"parked events re-applied: {result.applied}; applied already: "
        f"{result.already_applied}; still failing: {len(result.still_failing)}; waiting behind "
        f"them (same youth, kept in order): {result.waiting}"
    )
    for failing_id, reason in result.still_failing:
        typer.echo(f"  {failing_id}: {reason}")
    if result.still_failing:
        raise typer.Exit(code=1)


@register_app.command("discard")
def register_discard(
    event_id: Annotated[str, typer.Option("--event-id", help="the parked event to give up")],
    why: Annotated[str, typer.Option(help="why no fix will take it (kept with the event)")],
) -> None:
    """Give up on a parked event no fix will take: it is never applied, the youth's events held
    behind it are applied at the next `kaa register reapply`, and who, when and why are kept."""
    import asyncio
    import getpass
    import uuid

    from services.register.commands.parked import discard, discard_reason

    try:
        chosen = uuid.UUID(event_id)
    except ValueError:
        typer.echo("kaa: error: --event-id: not an event id (a UUID)", err=True)
        raise typer.Exit(code=2) from None
    try:
        reason = discard_reason(why)
    except ValueError as exc:
        typer.echo(f"kaa: error: --{exc}", err=True)
        raise typer.Exit(code=2) from None
    settings = service_settings()

    async def work() -> bool:
        async with register_pool(settings) as pool:
            return await discard(pool, chosen, f"cli:{getpass.getuser()}", reason)

    if not asyncio.run(work()):
        typer.echo("kaa: error: --event-id: no parked event waits with this id", err=True)
        raise typer.Exit(code=1)
    typer.echo(
        "discarded; the youth's events held behind it apply at the next kaa register reapply"
    )


audit_app = typer.Typer(
    help="What the register said on a past date, and why.", no_args_is_help=True
)


@audit_app.command("replay")
def audit_replay(
    tenant: Annotated[str, typer.Option(help="4-digit kommunkod")],
    as_of: Annotated[
        str,
        typer.Option(
            "--as-of", help="the instant with its UTC offset, e.g. 2025-06-30T23:59:59+02:00"
        ),
    ],
    youth_id: Annotated[
        str | None, typer.Option(help="one youth's timeline instead of the whole register")
    ] = None,
    from_topics: Annotated[
        bool,
        typer.Option(
            help="read every event topic from the start instead of the register's archive"
        ),
    ] = False,
) -> None:
    """The register exactly as it stood at an instant (only events recorded by then), as JSON.
    With --youth-id, the youth's timeline as the inspectors' HTTP route shows it: the words
    caseworkers wrote opened (plan texts, measures' content, correction notes), never sealed."""
    import asyncio
    import json
    import uuid
    from datetime import UTC, datetime

    import asyncpg

    from services.register.commands.replay import (
        ReplayInterrupted,
        record_reading,
        replay,
        replay_from_topics,
        shown_in,
        youth_read,
    )
    from shared import access_log
    from shared.crypto import TenantKeys

    settings = service_settings()
    check_served(settings, tenant)
    try:
        instant = datetime.fromisoformat(as_of)
    except ValueError:
        typer.echo(
            "kaa: error: --as-of: not an instant such as 2025-06-30T23:59:59+02:00", err=True
        )
        raise typer.Exit(code=2) from None
    try:
        youth = uuid.UUID(youth_id) if youth_id else None
    except ValueError:
        typer.echo("kaa: error: --youth-id: not a youth id (a UUID)", err=True)
        raise typer.Exit(code=2) from None
    try:
        progress = progress_bar(stream_err=True)  # stdout carries the JSON
        url = settings.database_url.get_secret_value()
        now = datetime.now(UTC)
        result = asyncio.run(
            replay_from_topics(
                settings.kafka_bootstrap_servers, url, settings.namespace, settings.tenants,
                tenant, instant, now, youth, progress,
            )
            if from_topics
            else replay(url, tenant, instant, now, youth, progress)
        )  # fmt: skip
    except ValueError as exc:
        typer.echo(f"kaa: error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    except ReplayInterrupted as exc:
        typer.echo(f"kaa: error: {exc}", err=True)
        raise typer.Exit(code=1) from None
    except asyncpg.UndefinedTableError:
        typer.echo(
            "kaa: error: DATABASE_URL: holds no register yet (the register service makes it when "
            "it first starts); point it at the deployment's database",
            err=True,
        )
        raise typer.Exit(code=1) from None
    # Every youth the replay shows is in the access log, like every other read.
    if youth is not None:
        if result["youth"] is None:
            typer.echo("kaa: error: --youth-id: no such youth in this municipality then", err=True)
            raise typer.Exit(code=1)
        keys = TenantKeys(settings.master_key.get_secret_value())
        reading = cli_reading(tenant, "audit-replay", f"register as of {instant}")

        async def opened(chosen: uuid.UUID) -> dict[str, Any]:
            async with register_pool(settings) as pool:
                await access_log.create(pool)
                return await youth_read(pool, keys, reading, chosen, result)

        result = asyncio.run(opened(youth))
    else:
        shown = shown_in(result, None)
        what = f"whole register as of {instant}"
        if shown:
            asyncio.run(record_reading(url, cli_reading(tenant, "audit-replay", what), shown))
    typer.echo(json.dumps(result, indent=2, default=str))


retention_app = typer.Typer(help="Retention of personal data (gallring).", no_args_is_help=True)


@retention_app.command("run")
def retention_run() -> None:
    """Purge the personal data of every youth whose retention period has passed (crypto-shredding:
    their data key is destroyed and PersonalDataPurged published). The register service also runs
    this daily."""
    import asyncio
    from datetime import date

    from services.register.adapters.database import create_pool
    from services.register.commands.retention import run_retention
    from shared.contracts.topics import RETENTION_EVENTS
    from shared.runtime import idempotent_producer

    settings = service_settings()
    today = settings.today or date.today()

    async def work() -> Any:
        pool = await create_pool(settings.database_url.get_secret_value(), min_size=1, max_size=2)
        producer = idempotent_producer(settings)
        await producer.start()
        try:
            return await run_retention(
                pool, producer, settings.topic(RETENTION_EVENTS), settings.tenants, today,
                settings.retention_days, progress_bar(stream_err=True, unit="youths"),
            )  # fmt: skip
        finally:
            await producer.stop()
            await pool.close()

    result = asyncio.run(work())
    typer.echo(
        f"retention on {today}: {result.due} youths due, {result.keys_destroyed} data keys "
        f"destroyed, {result.events_published} PersonalDataPurged published; intake keys "
        f"destroyed: {result.intake_keys_destroyed} of purged youths, "
        f"{result.expired_intake_keys_destroyed} unused for longer than the feed topics keep records"
    )
