"""The development commands of `kaa`: the launcher (`kaa infra`), `kaa up`, `kaa demo` and
`kaa feed generate`. `kaa.cli` mounts them where `kaa.dev` is installed (never in the built wheel).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from kaa.dev.launcher import InfraError, InfraSettings, InfraStatus, Infrastructure
from kaa.dev.launcher.infrastructure import ComponentStatus
from kaa.supervisor import SERVICES, Platform, Supervision
from shared.settings import ensure_dev_secrets

infra_app = typer.Typer(
    help="Start, stop and inspect the development Kafka and PostgreSQL.", no_args_is_help=True
)

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
    if len(status.kafka_nodes) > 1:  # a cluster: each node on a line of its own
        for node in status.kafka_nodes:
            pid = f" (pid {node.pid})" if node.pid else ""
            typer.echo(f"    {node.detail:<9} {node.outcome:<12} {node.address}{pid}")
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


def demo(
    youths: Annotated[int, typer.Option(min=10, help="size of the generated municipality")] = 1000,
) -> None:
    """The platform's main job: infrastructure, four services, a municipality's feeds, caseworkers, register."""
    import sys

    from kaa.dev.demo import TENANT, run_demo, stopped
    from kaa.dev.demo_web import in_a_terminal, serve

    settings = InfraSettings()
    infra = Infrastructure(settings)
    started = time.monotonic()
    status = _run(infra.up)
    typer.echo("kaa demo")
    _print(status, settings)
    typer.echo(f"  infra ready in {time.monotonic() - started:.1f} s")

    def say(line: str) -> None:
        typer.echo(f"  .. {line}")

    # In a terminal the demo ends by leaving the platform and the web application running.
    stay = in_a_terminal(sys.stdin, sys.stdout)
    try:
        result = run_demo(
            infra.bootstrap_servers(), infra.database_url(), settings.home, say, youths=youths,
            keep_running=stay,
        )  # fmt: skip
    except (RuntimeError, TimeoutError) as exc:
        typer.echo(f"kaa: error: {exc}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo("")
    for line in result.lines:
        typer.echo(f"  {line}")
    typer.echo(f"Done in {time.monotonic() - started:.1f} s.")
    if result.running is not None:
        typer.echo("")
        typer.echo(f"  {stopped(serve(result.running, typer.echo, TENANT))}")


def up(
    dev_signin: Annotated[
        bool,
        typer.Option(
            "--dev-signin",
            help="offer the web application's development sign-in page (choose municipality "
            "and role): for a developer's own machine only",
        ),
    ] = False,
) -> None:
    """Start the infrastructure, the four services, the connectors and the web application; Ctrl-C
    stops the services. A service that stops is reported with the last error line of its log and
    started again after a pause; the others keep running."""
    import os
    import signal as signals

    infra_settings = InfraSettings()
    infrastructure = Infrastructure(infra_settings)
    _run(infrastructure.up)
    ensure_dev_secrets()
    env = {**os.environ, **infrastructure.env()}
    platform = Platform(env=env, logs_dir=infra_settings.logs_dir)
    try:
        platform.start([*SERVICES, "connect"])
        platform.start_web(dev_signin=dev_signin or os.environ.get("KAA_WEB_DEV_SIGNIN") == "1")
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

    from kaa.dev.synthetic_feeds import generate

    reference = date.fromisoformat(today) if today else date.today()
    result = generate(youths, tenant, seed, out, reference)
    typer.echo(
        f"wrote {result.population_records} population records to {result.population} and "
        f"{result.ss12000_records} SS 12000 records to {result.ss12000}"
    )


def mount(app: typer.Typer, feed_app: typer.Typer) -> None:
    """Add the development commands to the `kaa` command and its `feed` group."""
    app.add_typer(infra_app, name="infra")
    app.command("up")(up)
    app.command("demo")(demo)
    feed_app.command("generate")(feed_generate)
