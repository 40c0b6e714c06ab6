"""The `kaa` command line: infrastructure, and (as the platform grows) services, feeds and reports."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from pydantic import ValidationError

from shared.auth import issue_token

if TYPE_CHECKING:
    from shared.access_log import Access, Purpose
from shared.contracts.feeds import SOURCE_PATTERN
from shared.contracts.topics import all_topic_specs
from shared.contracts.validation import describe
from shared.infra import InfraError, InfraSettings, InfraStatus, Infrastructure
from shared.infra.launcher import ComponentStatus
from shared.platform import SERVICES, Platform, Supervision
from shared.runtime import configure_logging
from shared.settings import ServiceSettings, ensure_dev_secrets

app = typer.Typer(
    name="kaa",
    help="Kommunernas aktivitetsansvar: run the platform, its infrastructure and its reports.",
    no_args_is_help=True,
    # Locals in a traceback could hold a database password or personal data: never print them.
    pretty_exceptions_show_locals=False,
)
infra_app = typer.Typer(
    help="Start, stop and inspect the development Kafka and PostgreSQL.", no_args_is_help=True
)
app.add_typer(infra_app, name="infra")

T = TypeVar("T")


def _run(action: Callable[[], T]) -> T:
    """Run a launcher action; an InfraError becomes one readable line and exit code 1."""
    try:
        return action()
    except InfraError as exc:
        typer.echo(f"kaa: error: {exc}", err=True)
        raise typer.Exit(code=1) from None
    except KeyboardInterrupt:
        typer.echo("kaa: interrupted", err=True)
        raise typer.Exit(code=130) from None


def _line(c: ComponentStatus) -> str:
    label = {"kafka": "Kafka", "postgres": "PostgreSQL"}[c.name]
    pid = f" (pid {c.pid})" if c.pid else ""
    return f"  {label:<11} {c.outcome:<12} {c.address}{pid}"


def _print(status: InfraStatus, settings: InfraSettings) -> None:
    typer.echo(_line(status.kafka))
    typer.echo(_line(status.postgres))
    if status.env:
        typer.echo(f"  settings    {settings.env_file}")


@infra_app.command("up")
def infra_up() -> None:
    """Start Kafka and PostgreSQL if they are not running; write .kaa/infra.env."""
    settings = InfraSettings()
    started = time.monotonic()
    status = _run(Infrastructure(settings).up)
    _print(status, settings)
    typer.echo(f"  ready in {time.monotonic() - started:.1f} s; logs in {settings.logs_dir}")


@infra_app.command("down")
def infra_down() -> None:
    """Stop the Kafka and PostgreSQL that `kaa infra up` started, and nothing else."""
    settings = InfraSettings()
    _print(_run(Infrastructure(settings).down), settings)


@infra_app.command("status")
def infra_status() -> None:
    """Show what runs; exit code 3 when something is not running."""
    settings = InfraSettings()
    status = _run(Infrastructure(settings).status)
    _print(status, settings)
    if not status.healthy:
        raise typer.Exit(code=3)


@app.command("demo")
def demo(
    youths: Annotated[int, typer.Option(min=10, help="size of the generated municipality")] = 1000,
) -> None:
    """The platform's main job: infrastructure, four services, a municipality's feeds, caseworkers, register."""
    from shared.demo import run_demo

    settings = InfraSettings()
    infra = Infrastructure(settings)
    started = time.monotonic()
    status = _run(infra.up)
    typer.echo("kaa demo")
    _print(status, settings)
    typer.echo(f"  infra ready in {time.monotonic() - started:.1f} s")

    def say(line: str) -> None:
        typer.echo(f"  .. {line}")

    try:
        result = run_demo(
            infra.bootstrap_servers(), infra.database_url(), settings.home, say, youths=youths
        )
    except (RuntimeError, TimeoutError) as exc:
        typer.echo(f"kaa: error: {exc}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo("")
    for line in result.lines:
        typer.echo(f"  {line}")
    typer.echo(f"Done in {time.monotonic() - started:.1f} s.")


# -- the platform ----------------------------------------------------------------------------


class ServiceName(StrEnum):
    identify = "identify"
    outreach = "outreach"
    measures = "measures"
    register = "register"


def _service_settings(**overrides: Any) -> ServiceSettings:
    ensure_dev_secrets()
    try:
        return ServiceSettings(**overrides)
    except ValidationError as exc:
        typer.echo(f"kaa: error: invalid settings: {describe(exc)}", err=True)
        raise typer.Exit(code=2) from None


@app.command("run")
def run_service(
    service: ServiceName,
    port: Annotated[
        int | None, typer.Option(help="HTTP port (default: KAA_HTTP_PORT or 810x)")
    ] = None,
) -> None:
    """Run one service in the foreground (SIGTERM / Ctrl-C stops it cleanly)."""
    import importlib
    import os

    import uvicorn

    chosen = port or (None if os.environ.get("KAA_HTTP_PORT") else SERVICES[service.value])
    settings = _service_settings(**({"http_port": chosen} if chosen else {}))
    configure_logging(service.value, settings.log_level)
    module = importlib.import_module(f"services.{service.value}.bootstrap")
    application = module.create_app(settings)
    uvicorn.run(
        application,
        host=settings.http_host,
        port=settings.http_port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=10,
    )


@app.command("up")
def up() -> None:
    """Start the infrastructure and all four services; Ctrl-C stops the services. A service that
    stops is reported with the last error line of its log and started again after a pause; the
    others keep running."""
    import os
    import signal as signals

    infra_settings = InfraSettings()
    infrastructure = Infrastructure(infra_settings)
    _run(infrastructure.up)
    ensure_dev_secrets()
    env = {**os.environ, **infrastructure.env()}
    platform = Platform(env=env, logs_dir=infra_settings.logs_dir)
    try:
        platform.start()
    except RuntimeError as exc:
        platform.stop()
        typer.echo(f"kaa: error: {exc}", err=True)
        raise typer.Exit(code=1) from None
    for name, proc in platform.processes.items():
        typer.echo(f"  {name:<9} {proc.url}  (log {proc.log_file})")
    typer.echo("kaa is up; Ctrl-C stops the services (kaa infra down stops Kafka and PostgreSQL).")
    stop = False

    def request_stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signals.signal(signals.SIGTERM, request_stop)
    supervision: dict[str, Supervision] = {}
    try:
        while not stop:
            for line in platform.supervise(supervision, time.monotonic()):
                typer.echo(f"kaa: {line}", err=True)
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    codes = platform.stop()
    typer.echo("stopped: " + ", ".join(f"{n} (exit {c})" for n, c in codes.items()))


@app.command("token")
def token(
    role: Annotated[
        list[str],
        typer.Option(
            help="caseworker, coordinator, school-reporter, inspector, consortium-admin, "
            "operator (repeat for several)"
        ),
    ],
    tenant: Annotated[
        str | None, typer.Option(help="4-digit kommunkod the token speaks for")
    ] = None,
    tenants: Annotated[
        str | None,
        typer.Option(
            help="a consortium token: several kommunkoder, comma-separated (each request names "
            "the one it acts for in X-Kaa-Tenant)"
        ),
    ] = None,
    sub: Annotated[
        str, typer.Option("--sub", "--subject", help="the subject: who the token speaks for")
    ] = "dev",
    grant: Annotated[
        list[str] | None,
        typer.Option(help="a grant beyond the roles, e.g. protected-identity (repeatable)"),
    ] = None,
    hours: Annotated[
        float, typer.Option(min=0.01, help="lifetime; at most KAA_TOKEN_MAX_LIFETIME (12 h)")
    ] = 12,
) -> None:
    """Print a development bearer token signed with the local secret."""
    from datetime import timedelta

    if (tenant is None) == (tenants is None):
        typer.echo("kaa: error: give --tenant (one municipality) or --tenants (several)", err=True)
        raise typer.Exit(code=2)
    settings = _service_settings()
    if hours * 3600 > settings.token_max_lifetime:
        typer.echo(
            f"kaa: error: --hours: a token may live {settings.token_max_lifetime / 3600:g} hours "
            "at most here (KAA_TOKEN_MAX_LIFETIME, seconds); services refuse longer ones",
            err=True,
        )
        raise typer.Exit(code=2)
    covered = None if tenants is None else [t.strip() for t in tenants.split(",") if t.strip()]
    try:
        typer.echo(
            issue_token(
                settings.token_secret.get_secret_value(),
                subject=sub,
                tenant=tenant,
                tenants=covered,
                roles=role,
                grants=grant or None,
                lifetime=timedelta(hours=hours),
            )
        )
    except ValueError as exc:
        typer.echo(f"kaa: error: {exc}", err=True)
        raise typer.Exit(code=2) from None


feed_app = typer.Typer(help="Generate and load input feeds.", no_args_is_help=True)
app.add_typer(feed_app, name="feed")


class FeedName(StrEnum):
    population = "population"
    ss12000 = "ss12000"
    completions = "completions"


@feed_app.command("generate")
def feed_generate(
    youths: Annotated[int, typer.Option(min=1, help="how many young people")],
    out: Annotated[Path, typer.Option(help="directory for population.jsonl and ss12000.jsonl")],
    tenant: Annotated[str, typer.Option(help="4-digit kommunkod")] = "0180",
    seed: Annotated[int, typer.Option(help="same seed, same files")] = 1,
    today: Annotated[
        str | None, typer.Option(help="reference date YYYY-MM-DD (default today)")
    ] = None,
) -> None:
    """Write a synthetic municipality (valid personnummer, ages 15–21, enrolled, dropped out, moved)."""
    from datetime import date

    from shared.feeds import generate

    reference = date.fromisoformat(today) if today else date.today()
    result = generate(youths, tenant, seed, out, reference)
    typer.echo(
        f"wrote {result.population_records} population records to {result.population} and "
        f"{result.ss12000_records} SS 12000 records to {result.ss12000}"
    )


@feed_app.command("load")
def feed_load(
    feed: FeedName,
    file: Path,
    complete: Annotated[
        bool,
        typer.Option(
            help="The file is the source's whole delivery: end it with the source's watermark "
            "('complete up to' its latest observed_at, per municipality), which lets identify "
            "decide the persons who wait for it. --no-complete for a part of a delivery."
        ),
    ] = True,
) -> None:
    """Publish a JSON-lines file to the feed's topic, each record sealed with its person's intake
    key (only the envelope stays readable); bad lines end up in the dead-letter topic."""
    from shared.contracts.topics import FEED_BY_NAME
    from shared.feeds import FeedAdapter, read_lines
    from shared.infra.kafka_admin import ensure_topics

    if not file.is_file():
        typer.echo(f"kaa: error: {file}: no such file", err=True)
        raise typer.Exit(code=2)
    settings = _service_settings()
    topic = settings.topic(FEED_BY_NAME[feed.value])
    total = sum(1 for _ in read_lines(file))
    bar = _progress_bar(stream_err=True, unit="records")

    async def publish() -> int:
        await ensure_topics(
            settings.kafka_bootstrap_servers, all_topic_specs(prefix=settings.namespace)
        )
        adapter = FeedAdapter(
            settings.kafka_bootstrap_servers,
            settings.database_url.get_secret_value(),
            settings.master_key.get_secret_value(),
            settings.pseudonym_key.get_secret_value(),
        )
        return await adapter.load(
            file, topic, lambda done: bar(done, total), source=feed.value if complete else None
        )

    count = asyncio.run(publish())
    marked = f", then the {feed.value} watermark" if complete else " (no watermark)"
    typer.echo(f"published {count} records to {topic}{marked}")


@feed_app.command("watermark")
def feed_watermark(
    feed: FeedName,
    tenant: Annotated[str, typer.Option(help="4-digit kommunkod")],
    complete_up_to: Annotated[
        str,
        typer.Option(
            help="ISO 8601 time with its zone: the source has delivered everything "
            "it observed up to then"
        ),
    ],
    source: Annotated[
        str | None, typer.Option(help="the source's name (default: the feed's; ss12000:<name>)")
    ] = None,
) -> None:
    """Publish a source's watermark alone ('complete up to T' for one municipality): for a
    delivery that held no record for it, or a writer that publishes its records itself."""
    from datetime import UTC, datetime

    from aiokafka import AIOKafkaProducer

    from shared.contracts.topics import FEED_BY_NAME
    from shared.feeds import publish_watermarks

    settings = _service_settings()
    _check_served(settings, tenant)
    name = source or feed.value
    if not re.fullmatch(SOURCE_PATTERN, name) or not (
        name == feed.value or name.startswith((f"{feed.value}:", f"{feed.value}."))
    ):
        typer.echo(f"kaa: error: source: names {feed.value} or {feed.value}:<name>", err=True)
        raise typer.Exit(code=2)
    try:
        at = datetime.fromisoformat(complete_up_to)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        typer.echo("kaa: error: complete-up-to: not an ISO 8601 time with its zone", err=True)
        raise typer.Exit(code=2)
    if at > datetime.now(UTC):
        typer.echo("kaa: error: complete-up-to: lies in the future", err=True)
        raise typer.Exit(code=2)
    topic = settings.topic(FEED_BY_NAME[feed.value])

    async def send() -> int:
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap_servers, enable_idempotence=True
        )
        await producer.start()
        try:
            return await publish_watermarks(producer, topic, name, {tenant: at})
        finally:
            await producer.stop()

    sent = asyncio.run(send())
    typer.echo(f"published the {name} watermark for {tenant} to {sent} partitions of {topic}")


contracts_app = typer.Typer(help="The public event contracts.", no_args_is_help=True)
app.add_typer(contracts_app, name="contracts")


@contracts_app.command("export")
def contracts_export(directory: Path) -> None:
    """Write a JSON Schema per event and feed record, and an AsyncAPI document per service."""
    from shared.contracts.export import export

    written = export(directory)
    typer.echo(f"wrote {len(written)} files to {directory}")


dlq_app = typer.Typer(help="Dead-letter topics: what was refused and why.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")


@dlq_app.command("list")
def dlq_list(
    show: Annotated[int, typer.Option(help="latest reasons to show per topic")] = 3,
) -> None:
    """Count dead letters per topic and show the latest reasons (never the message contents)."""
    from shared.messaging.dead_letters import summarize

    settings = _service_settings()
    summaries = asyncio.run(summarize(settings.kafka_bootstrap_servers, settings.namespace, show))
    total = 0
    for item in summaries:
        total += item.count
        typer.echo(f"{item.topic:<40} {item.count:>7} dead letters")
        for reason in item.latest:
            typer.echo(f"    {reason}")
    typer.echo(f"{total} dead letters in all")


def _check_served(settings: ServiceSettings, tenant: str) -> None:
    if tenant not in settings.tenants:
        typer.echo(
            f"kaa: error: tenant: {tenant} is not served by this deployment (KAA_TENANTS)", err=True
        )
        raise typer.Exit(code=2)


def _half_year_context(tenant: str, period: str) -> tuple[ServiceSettings, Any, Any]:
    """Settings, the half-year and today for a command about a served municipality's half-year
    that has begun (or a clear exit)."""
    from datetime import date

    from services.register.quality import half_year

    settings = _service_settings()
    _check_served(settings, tenant)
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


@app.command("quality")
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

    from services.register.projection import create_pool
    from services.register.quality import quality

    settings, half, today = _half_year_context(tenant, period)

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


register_app = typer.Typer(
    help="The statutory register: rebuild, verify, re-apply parked events.", no_args_is_help=True
)
app.add_typer(register_app, name="register")


def _progress_bar(stream_err: bool = False, unit: str = "events") -> Callable[[int, int], None]:
    """A one-line progress bar for long work over the event topics (redrawn per percent)."""
    shown = [-1]

    def progress(done: int, total: int) -> None:
        percent = 100 * done // max(total, 1)
        if percent != shown[0]:
            shown[0] = percent
            bar = "#" * (percent // 4)
            line = f"\r  [{bar:<25}] {percent:3d}%  {done}/{total} {unit}"
            typer.echo(line, nl=False, err=stream_err)
            if done >= total:
                typer.echo("", err=stream_err)

    return progress


@register_app.command("rebuild")
def register_rebuild(
    into: Annotated[
        str, typer.Option(help="schema to build into, beside the live register")
    ] = "register_rebuild",
) -> None:
    """Project every event on the topics afresh into a schema beside the live register."""
    import asyncio

    from services.register.rebuild import rebuild

    settings = _service_settings()
    progress = _progress_bar()
    try:
        result = asyncio.run(
            rebuild(
                settings.kafka_bootstrap_servers,
                settings.database_url.get_secret_value(),
                settings.namespace,
                settings.tenants,
                into,
                progress,
            )
        )
    except ValueError as exc:
        typer.echo(f"kaa: error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(
        f"rebuilt into {result.schema}: {result.events} events read, {result.applied} applied, "
        f"{result.rejected} not applicable (dead-lettered by the live register too)"
    )


@register_app.command("verify")
def register_verify(
    against: Annotated[str, typer.Option(help="the register to compare with")] = "register_rebuild",
) -> None:
    """Compare the live register's content with another (exit 1 when they differ)."""
    import asyncio

    import asyncpg

    from services.register.rebuild import (
        CONTENT_TABLES,
        content_hashes,
        dead_event_count,
        orphan_youths,
    )

    settings = _service_settings()
    url = settings.database_url.get_secret_value()
    try:
        live = asyncio.run(content_hashes(url, "register"))
        other = asyncio.run(content_hashes(url, against))
    except asyncpg.UndefinedTableError:
        typer.echo(f"kaa: error: no register in schema register or {against}", err=True)
        raise typer.Exit(code=2) from None
    dead, waiting = asyncio.run(dead_event_count(url))
    if dead:
        typer.echo(f"the live register could not apply {dead} events (GET /v1/dead-events)")
    if waiting:
        typer.echo(
            f"{waiting} casework events wait for their youth's identification (GET /v1/dead-events)"
        )
    orphans = asyncio.run(orphan_youths(url))
    if orphans:
        typer.echo(
            f"{orphans} youths have casework in the live register but no scope episode "
            "(their identification has not arrived)"
        )
    differ = [t for t in CONTENT_TABLES if live[t] != other[t]]
    for table in CONTENT_TABLES:
        mark = "DIFFERS" if table in differ else "same"
        typer.echo(f"{table:<16} {live[table][0]:>8} rows  {other[table][0]:>8} rows  {mark}")
    if differ:
        typer.echo(f"kaa: the registers differ in {', '.join(differ)}", err=True)
        raise typer.Exit(code=1)
    typer.echo(f"the live register and {against} hold the same content")


@contextlib.asynccontextmanager
async def _register_pool(settings: ServiceSettings) -> AsyncIterator[Any]:
    """A small pool on the live register, its tables made where they are missing."""
    from services.register.projection import create_pool, create_tables

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

    from services.register.reapply import reapply

    try:
        wanted = [uuid.UUID(value) for value in event_id or []]
    except ValueError:
        typer.echo("kaa: error: --event-id: not an event id (a UUID)", err=True)
        raise typer.Exit(code=2) from None
    settings = _service_settings()

    async def work() -> Any:
        async with _register_pool(settings) as pool:
            return await reapply(
                pool, settings.tenants, wanted or None, _progress_bar(stream_err=True)
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

    from services.register.reapply import discard
    from shared.contracts.text import text_problem

    try:
        chosen = uuid.UUID(event_id)
    except ValueError:
        typer.echo("kaa: error: --event-id: not an event id (a UUID)", err=True)
        raise typer.Exit(code=2) from None
    problem = text_problem(why) or ("is empty" if not why.strip() else None)
    if problem is None and len(why) > 300:
        problem = "is longer than 300 characters"
    if problem is not None:
        typer.echo(f"kaa: error: --why: {problem}", err=True)
        raise typer.Exit(code=2)
    settings = _service_settings()

    async def work() -> bool:
        async with _register_pool(settings) as pool:
            return await discard(pool, chosen, f"cli:{getpass.getuser()}", why.strip())

    if not asyncio.run(work()):
        typer.echo("kaa: error: --event-id: no parked event waits with this id", err=True)
        raise typer.Exit(code=1)
    typer.echo(
        "discarded; the youth's events held behind it apply at the next kaa register reapply"
    )


audit_app = typer.Typer(
    help="What the register said on a past date, and why.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")


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
    """The register exactly as it stood at an instant (only events recorded by then), as JSON."""
    import asyncio
    import json
    import uuid
    from datetime import UTC, datetime

    from services.register.replay import replay, replay_from_topics

    settings = _service_settings()
    _check_served(settings, tenant)
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
        progress = _progress_bar(stream_err=True)  # stdout carries the JSON
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
    # Every youth the replay shows is in the access log, like every other read.
    if youth is not None:
        shown = [youth] if result.get("youth") is not None else []
        what = f"register as of {instant}"
    else:
        shown = [row["youth_id"] for row in result.get("youths", [])]
        what = f"whole register as of {instant}"
    if shown:
        asyncio.run(_record_reading(url, _cli_reading(tenant, "audit-replay", what), shown))
    typer.echo(json.dumps(result, indent=2, default=str))


async def _record_reading(database_url: str, reading: Access, youths: list[Any]) -> None:
    import asyncpg

    from shared import access_log

    conn = await asyncpg.connect(database_url)
    try:
        await access_log.create(conn)
        await access_log.record(conn, reading, youths)
    finally:
        await conn.close()


scb_app = typer.Typer(help="The half-year report to SCB.", no_args_is_help=True)
app.add_typer(scb_app, name="scb")


def _cli_reading(tenant: str, purpose: Purpose, what: str) -> Access:
    """Who reads personal data from the command line, for the access log."""
    import getpass

    from shared.access_log import Access

    return Access(tenant, f"cli:{getpass.getuser()}", purpose, what, "kaa-cli")


def _scb_context(tenant: str, period: str) -> tuple[ServiceSettings, Any, Any, Any]:
    """Settings, the half-year, today and the tenant keys of an SCB command (or a clear exit)."""
    from shared.crypto import TenantKeys

    settings, half, today = _half_year_context(tenant, period)
    return settings, half, today, TenantKeys(settings.master_key.get_secret_value())


def _with_register(settings: ServiceSettings, work: Callable[[Any], Any]) -> Any:
    import asyncio

    import asyncpg

    from services.register.projection import create_pool
    from services.register.scb import create_export_log
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

    from services.register import scb

    settings, half, today, keys = _scb_context(tenant, period)

    async def work(pool: Any) -> tuple[Any, dict[str, Any] | None]:
        reading = _cli_reading(tenant, "scb-report", f"SCB export {period}")
        report = await scb.build(pool, keys, tenant, half, today, reading)
        if report.errors and not force:
            return report, None
        return report, await scb.record_export(pool, report, reading.actor, force)

    report, recorded = _with_register(settings, work)
    typer.echo(report.text(), err=True, nl=False)
    if recorded is None:
        typer.echo(
            f"kaa: error: refused: {len(report.errors)} errors (see above); correct them in the "
            "register or export with --force",
            err=True,
        )
        raise typer.Exit(code=1)
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
    from services.register import scb

    settings, half, today, keys = _scb_context(tenant, period)
    reading = _cli_reading(tenant, "scb-report", f"SCB check {period}")
    report = _with_register(
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

    from services.register import scb
    from shared.crypto import TenantKeys

    if period is None:
        settings = _service_settings()
        _check_served(settings, tenant)
        today = settings.today or date.today()
        keys = TenantKeys(settings.master_key.get_secret_value())
        reading = _cli_reading(tenant, "scb-report", "SCB resubmission check, every half-year")
        states = _with_register(
            settings, lambda pool: scb.resubmissions(pool, keys, tenant, today, reading)
        )
        typer.echo(json.dumps(states, indent=2, default=str))
        return
    settings, half, today, keys = _scb_context(tenant, period)
    reading = _cli_reading(tenant, "scb-report", f"SCB resubmission check {period}")
    state = _with_register(
        settings, lambda pool: scb.history(pool, keys, tenant, half, today, reading)
    )
    typer.echo(json.dumps(state, indent=2, default=str))


retention_app = typer.Typer(help="Retention of personal data (gallring).", no_args_is_help=True)
app.add_typer(retention_app, name="retention")


@retention_app.command("run")
def retention_run() -> None:
    """Purge the personal data of every youth whose retention period has passed (crypto-shredding:
    their data key is destroyed and PersonalDataPurged published). The register service also runs
    this daily."""
    import asyncio
    from datetime import date

    from services.register import retention
    from services.register.projection import create_pool
    from shared.contracts.topics import RETENTION_EVENTS
    from shared.runtime import idempotent_producer

    settings = _service_settings()
    today = settings.today or date.today()

    async def work() -> Any:
        pool = await create_pool(settings.database_url.get_secret_value(), min_size=1, max_size=2)
        producer = idempotent_producer(settings)
        await producer.start()
        try:
            return await retention.run(
                pool, producer, settings.topic(RETENTION_EVENTS), settings.tenants, today,
                settings.retention_days, _progress_bar(stream_err=True, unit="youths"),
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


@app.command("consortium")
def consortium_show() -> None:
    """The municipalities this deployment serves, with each one's scope policy and retention."""
    from services.register.retention import DEFAULT_RETENTION_DAYS

    settings = _service_settings()
    source = settings.consortium_file or "KAA_TENANTS"
    typer.echo(f"members (from {source}):")
    for code in settings.tenants:
        name = settings.tenant_names.get(code, "")
        days = settings.retention_days.get(code, DEFAULT_RETENTION_DAYS)
        policy = settings.tenant_policies.get(code) or "default"
        typer.echo(f"  {code} {name:<24} retention {days} days; scope policy {policy}")


scope_app = typer.Typer(help="The identify service's scope decisions.", no_args_is_help=True)
app.add_typer(scope_app, name="scope")


@scope_app.command("pending")
def scope_pending() -> None:
    """Per municipality: how many persons wait for their feeds' watermarks, how many the release
    decides now, the oldest wait and how far each source is complete (no personal data)."""
    from services.identify.explain import pending

    for line in pending(_service_settings()):
        typer.echo(line)


@scope_app.command("explain")
def scope_explain(
    tenant: Annotated[str, typer.Option(help="4-digit kommunkod")],
    personnummer: Annotated[
        str,
        typer.Option(
            help="12 digits; read from the prompt if omitted", prompt=True, hide_input=True
        ),
    ],
    at: Annotated[
        str | None, typer.Option(help="the day to decide for, YYYY-MM-DD (default today)")
    ] = None,
) -> None:
    """Print the scope decision for a person on a day, the rule version and the facts it used."""
    from datetime import date

    from services.identify.explain import explain
    from shared.personnummer import InvalidPersonnummer

    settings = _service_settings()
    try:
        day = date.fromisoformat(at) if at else date.today()
        lines = explain(settings, tenant, personnummer, day)
    except InvalidPersonnummer as exc:
        typer.echo(f"kaa: error: personnummer: {exc}", err=True)
        raise typer.Exit(code=2) from None
    except ValueError as exc:
        typer.echo(f"kaa: error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    for line in lines:
        typer.echo(line)


def main() -> None:
    """The `kaa` command. Infrastructure that cannot be reached is one line saying which and what
    to check, not a traceback (the message never holds a password: asyncpg and aiokafka name the
    address only)."""
    import asyncpg
    from aiokafka.errors import KafkaConnectionError

    try:
        app(prog_name="kaa")
    except KafkaConnectionError as exc:
        typer.echo(f"kaa: error: cannot reach Kafka ({exc}); check KAFKA_BOOTSTRAP_SERVERS and "
                   "that the broker runs (`kaa infra status`)", err=True)  # fmt: skip
        raise SystemExit(1) from None
    except (ConnectionRefusedError, asyncpg.CannotConnectNowError) as exc:
        typer.echo(f"kaa: error: cannot connect ({exc}); check DATABASE_URL and that PostgreSQL "
                   "runs (`kaa infra status`)", err=True)  # fmt: skip
        raise SystemExit(1) from None
    except (asyncpg.InvalidPasswordError, asyncpg.InvalidCatalogNameError) as exc:
        typer.echo(f"kaa: error: PostgreSQL refused the connection ({type(exc).__name__}); "
                   "check DATABASE_URL", err=True)  # fmt: skip
        raise SystemExit(1) from None
