"""The identify service's commands: who waits for their feeds, and why a person is (not) in scope."""

from __future__ import annotations

from typing import Annotated

import typer

from shared.commandline import service_settings

scope_app = typer.Typer(help="The identify service's scope decisions.", no_args_is_help=True)


@scope_app.command("pending")
def scope_pending() -> None:
    """Per municipality: how many persons wait for their feeds' watermarks, how many the release
    decides now, the oldest wait and how far each source is complete (no personal data)."""
    from services.identify.explain import pending

    for line in pending(service_settings()):
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

    settings = service_settings()
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


def mount(app: typer.Typer) -> None:
    """Put identify's commands on the platform's `kaa` command."""
    app.add_typer(scope_app, name="scope")
