"""The `kaa` command line: run a service, tokens, feeds, contracts, dead letters, and each service's
own commands (mounted from `services/<name>/entrypoints/cli.py`).

The development tools (`kaa infra`, `kaa up`, `kaa demo`, `kaa feed generate`) live in `kaa.dev`,
which the built wheel leaves out: they are mounted only where `kaa.dev` is installed (a checkout,
`pip install -e .[dev]`); elsewhere each says so in one line.
"""

from __future__ import annotations

import asyncio
import importlib.util
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from kaa import keys as keys_cli
from kaa.supervisor import PORTS, WEB_PORT
from services.connect.entrypoints import cli as connect_cli
from services.identify.entrypoints import cli as identify_cli
from services.register.entrypoints import cli as register_cli
from shared.auth import issue_token
from shared.commandline import check_served, progress_bar, service_settings
from shared.contracts.feeds import SOURCE_PATTERN
from shared.contracts.topics import all_topic_specs
from shared.runtime import configure_logging

app = typer.Typer(
    name="kaa",
    help="Kommunernas aktivitetsansvar: run the platform, its infrastructure and its reports.",
    no_args_is_help=True,
    # Locals in a traceback could hold a database password or personal data: never print them.
    pretty_exceptions_show_locals=False,
)

# -- the platform ----------------------------------------------------------------------------


class ServiceName(StrEnum):
    identify = "identify"
    outreach = "outreach"
    measures = "measures"
    register = "register"
    web = "web"
    connect = "connect"


@app.command("run")
def run_service(
    service: ServiceName,
    port: Annotated[
        int | None,
        typer.Option(
            help="HTTP port (default: KAA_HTTP_PORT, or 8100 for web, 8101-8104 for the four services "
            "and 8105 for connect)"
        ),
    ] = None,
) -> None:
    """Run one service in the foreground (SIGTERM / Ctrl-C stops it cleanly)."""
    import contextlib
    import importlib
    import os
    from collections.abc import Iterator
    from typing import Any

    import uvicorn

    default = PORTS.get(service.value, WEB_PORT)
    chosen = port or (None if os.environ.get("KAA_HTTP_PORT") else default)
    settings = service_settings(**({"http_port": chosen} if chosen else {}))
    configure_logging(service.value, settings.log_level)
    module = importlib.import_module(f"services.{service.value}.bootstrap")
    try:
        application = module.create_app(settings)
    except ValueError as exc:  # the configuration refused (connectors file, tenant policies …)
        typer.echo(f"kaa: error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    from shared.http_server import OneWriteHttpTools
    from shared.resilience import given_up, request_stop

    class Server(uvicorn.Server):
        """uvicorn raises the signal that stopped it again once it has shut down, so a clean
        stop would end with 143: here a clean stop (SIGTERM, Ctrl-C) exits 0. A stop asked for
        while the start-up waits for its dependencies ends the wait."""

        def handle_exit(self, sig: int, frame: Any) -> None:
            request_stop()
            super().handle_exit(sig, frame)

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            with super().capture_signals():
                try:
                    yield
                finally:  # also when a start-up failure after a signal passes through
                    self._captured_signals.clear()

    config = uvicorn.Config(
        application,
        host=settings.http_host,
        port=settings.http_port,
        log_level="warning",
        access_log=False,  # each service logs its requests itself (shared/logs.py)
        http=OneWriteHttpTools,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    Server(config).run()
    if given_up() is not None:  # a background loop kept failing: a fault, not a stop
        raise typer.Exit(code=1)


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
    from shared.feed_adapter import FeedAdapter, read_lines
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


@feed_app.command("watch")
def feed_watch(
    directory: Path,
    feed: Annotated[str, typer.Option(help="population or completions")] = "population",
    ready: Annotated[
        str,
        typer.Option(
            help="rename: a file counts once it has its final name (write name.jsonl.part, .tmp "
            "or a dotfile, then rename); marker: once name.jsonl.ready stands beside it"
        ),
    ] = "rename",
    interval: Annotated[float, typer.Option(min=0.1, help="seconds between scans")] = 5.0,
    once: Annotated[
        bool, typer.Option("--once", help="scan once and exit (1 when one was quarantined)")
    ] = False,
) -> None:
    """Load delivery files (*.jsonl) as they land in DIRECTORY, each content exactly once (a
    content loaded before is skipped), each ending with its source's watermark; then move it to
    done/, or to quarantine/ with <name>.reason.txt when it cannot be read. Runs until Ctrl-C."""
    import signal

    from services.connect.domain.deliveries import DeliveryFeed, Outcome, ReadyRule, Taken
    from services.connect.entrypoints.deliveries import watcher
    from shared.infra.kafka_admin import ensure_topics

    if feed not in DeliveryFeed.__members__:
        typer.echo("kaa: error: --feed: population or completions", err=True)
        raise typer.Exit(code=2)
    if ready not in ReadyRule.__members__:
        typer.echo("kaa: error: --ready: rename or marker", err=True)
        raise typer.Exit(code=2)
    if not directory.is_dir():
        typer.echo(f"kaa: error: {directory}: no such directory", err=True)
        raise typer.Exit(code=2)
    settings = service_settings()
    configure_logging("kaa-feed-watch", settings.log_level)  # JSON on stderr; the lines on stdout
    watching = watcher(settings, directory, DeliveryFeed(feed), ReadyRule(ready))
    quarantined: list[Taken] = []

    def heard(taken: Taken) -> None:
        if taken.outcome is Outcome.quarantined:
            quarantined.append(taken)
        typer.echo(taken.line())

    async def watch() -> None:
        await ensure_topics(
            settings.kafka_bootstrap_servers, all_topic_specs(prefix=settings.namespace)
        )
        if once:
            await watching.scan(heard)
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        typer.echo(f"watching {directory} for {feed} deliveries (Ctrl-C stops)", err=True)
        await watching.run(stop, interval, heard, lambda problem: typer.echo(problem, err=True))
        typer.echo("stopped", err=True)

    asyncio.run(watch())
    raise typer.Exit(code=1 if once and quarantined else 0)


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
    from shared.feed_adapter import publish_watermarks

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
            bootstrap_servers=settings.kafka_bootstrap_servers, enable_idempotence=True, acks="all"
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
    from services.register.domain.retention import retention_days

    settings = service_settings()
    source = settings.consortium_file or "KAA_TENANTS"
    typer.echo(f"members (from {source}):")
    for code in settings.tenants:
        name = settings.tenant_names.get(code, "")
        days = retention_days(code, settings.retention_days)
        policy = settings.tenant_policies.get(code) or "default"
        typer.echo(f"  {code} {name:<24} retention {days} days; scope policy {policy}")


# Each service's own commands, mounted here.
register_cli.mount(app)
identify_cli.mount(app)
connect_cli.mount(app)
keys_cli.mount(app)

NOT_INSTALLED = (
    "kaa: error: `kaa {command}` is a development tool (kaa.dev), not part of this installation; "
    "run it from a checkout (pip install -e '.[dev]')"
)
ANY_ARGUMENTS = {"allow_extra_args": True, "ignore_unknown_options": True}


def _not_installed(group: typer.Typer, name: str, command: str) -> None:
    """A stand-in for a development command where `kaa.dev` is not installed: one line, exit 2."""

    @group.command(name, hidden=True, context_settings=ANY_ARGUMENTS)
    def unavailable() -> None:
        typer.echo(NOT_INSTALLED.format(command=command), err=True)
        raise typer.Exit(code=2)


if importlib.util.find_spec("kaa.dev") is not None:
    from kaa.dev import cli as dev_cli

    dev_cli.mount(app, feed_app)
else:  # a production install: the wheel ships no launcher, demo or generator
    for name in ("infra", "up", "demo"):
        _not_installed(app, name, name)
    _not_installed(feed_app, "generate", "feed generate")


def main() -> None:
    """The `kaa` command. Infrastructure that cannot be reached is one line saying which and what
    to check, not a traceback (never with a password: asyncpg and aiokafka name the address only,
    and psycopg's message is cut at its first quote)."""
    import asyncpg
    import psycopg
    from aiokafka.errors import KafkaConnectionError
    from eventsourcing.persistence import OperationalError as StoreError

    from shared.messaging.failures import failure_reason, is_connection_failure

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
    except (psycopg.OperationalError, StoreError) as exc:
        # The services' event stores (psycopg, through the eventsourcing library). Only a failure
        # to connect is worded here (`is_connection_failure`); a statement's failure and the
        # library's own keep their traceback. What the driver says is cut at its first quote
        # (`failure_reason`): a malformed DATABASE_URL is quoted back in it, and may hold the
        # password.
        if not is_connection_failure(exc):
            raise
        reason = failure_reason(exc, "the connection", "failed")
        typer.echo(f"kaa: error: cannot connect to PostgreSQL ({reason}); check DATABASE_URL and "
                   "that PostgreSQL runs (`kaa infra status`)", err=True)  # fmt: skip
        raise SystemExit(1) from None
    except (asyncpg.InvalidPasswordError, asyncpg.InvalidCatalogNameError) as exc:
        typer.echo(f"kaa: error: PostgreSQL refused the connection ({type(exc).__name__}); "
                   "check DATABASE_URL", err=True)  # fmt: skip
        raise SystemExit(1) from None
