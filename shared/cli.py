"""The `kaa` command line: infrastructure, and (as the platform grows) services, feeds and reports."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

import typer

from shared.infra import InfraError, InfraSettings, InfraStatus, Infrastructure
from shared.infra.launcher import ComponentStatus
from shared.infra.smoke import run_smoke_check

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
def demo() -> None:
    """Bring the infrastructure up and prove a message and a row round-trip through it."""
    settings = InfraSettings()
    infra = Infrastructure(settings)
    started = time.monotonic()
    status = _run(infra.up)
    up_seconds = time.monotonic() - started
    report = _run(
        lambda: asyncio.run(run_smoke_check(infra.bootstrap_servers(), infra.database_url()))
    )
    typer.echo("kaa demo: infrastructure smoke check")
    _print(status, settings)
    typer.echo(f"  infra up    {up_seconds:.1f} s")
    for line in report.lines():
        typer.echo(f"  {line}")
    typer.echo("All good: Kafka and PostgreSQL are ready for the kaa services.")
