"""The `kaa` command line: infrastructure, and (as the platform grows) services, feeds and reports."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from shared.auth import issue_token

if TYPE_CHECKING:
    pass
from services.identify.entrypoints import cli as identify_cli
from services.register.entrypoints import cli as register_cli
from shared.commandline import check_served, progress_bar, service_settings
from shared.contracts.feeds import SOURCE_PATTERN
from shared.contracts.topics import all_topic_specs
from shared.infra import InfraError, InfraSettings, InfraStatus, Infrastructure
from shared.infra.launcher import ComponentStatus
from shared.platform import SERVICES, Platform, Supervision
from shared.runtime import configure_logging
from shared.settings import ensure_dev_secrets

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
    settings = service_settings(**({"http_port": chosen} if chosen else {}))
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
    settings = service_settings()
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
    settings = service_settings()
    topic = settings.topic(FEED_BY_NAME[feed.value])
    total = sum(1 for _ in read_lines(file))
    bar = progress_bar(stream_err=True, unit="records")

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

    settings = service_settings()
    check_served(settings, tenant)
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

    settings = service_settings()
    summaries = asyncio.run(summarize(settings.kafka_bootstrap_servers, settings.namespace, show))
    total = 0
    for item in summaries:
        total += item.count
        typer.echo(f"{item.topic:<40} {item.count:>7} dead letters")
        for reason in item.latest:
            typer.echo(f"    {reason}")
    typer.echo(f"{total} dead letters in all")


@app.command("consortium")
def consortium_show() -> None:
    """The municipalities this deployment serves, with each one's scope policy and retention."""
    from services.register.retention import DEFAULT_RETENTION_DAYS

    settings = service_settings()
    source = settings.consortium_file or "KAA_TENANTS"
    typer.echo(f"members (from {source}):")
    for code in settings.tenants:
        name = settings.tenant_names.get(code, "")
        days = settings.retention_days.get(code, DEFAULT_RETENTION_DAYS)
        policy = settings.tenant_policies.get(code) or "default"
        typer.echo(f"  {code} {name:<24} retention {days} days; scope policy {policy}")


# Each service's own commands, mounted here.
register_cli.mount(app)
identify_cli.mount(app)


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
