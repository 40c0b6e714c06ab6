"""What every service's command-line commands share: settings read once with a clear error, the
served-municipality check, a progress bar for long work, and who reads personal data from the CLI.

Each service's own commands live in its `entrypoints/cli.py`; the platform's `kaa` command mounts
them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import typer
from pydantic import ValidationError

from shared.contracts.validation import describe
from shared.settings import MissingSecretError, ServiceSettings, ensure_dev_secrets

if TYPE_CHECKING:
    from shared.access_log import Access, Purpose


def service_settings(**overrides: Any) -> ServiceSettings:
    """The deployment's settings, or exit 2 naming the setting that is wrong."""
    try:
        ensure_dev_secrets()
    except MissingSecretError as exc:
        typer.echo(f"kaa: error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    try:
        return ServiceSettings(**overrides)
    except ValidationError as exc:
        typer.echo(f"kaa: error: invalid settings: {describe(exc)}", err=True)
        raise typer.Exit(code=2) from None


def check_served(settings: ServiceSettings, tenant: str) -> None:
    if tenant not in settings.tenants:
        typer.echo(
            f"kaa: error: tenant: {tenant} is not served by this deployment (KAA_TENANTS)", err=True
        )
        raise typer.Exit(code=2)


def progress_bar(stream_err: bool = False, unit: str = "events") -> Callable[[int, int], None]:
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


def cli_reading(tenant: str, purpose: Purpose, what: str) -> Access:
    """Who reads personal data from the command line, for the access log."""
    import getpass

    from shared.access_log import Access

    return Access(tenant, f"cli:{getpass.getuser()}", purpose, what, "kaa-cli")
