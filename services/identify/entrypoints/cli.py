"""The identify service's commands (`kaa scope …`): who waits for their feeds, and why a person is
(not) in scope. They read the service's own store (nothing is created), never print the
personnummer, and name the rule version and every fact a decision used."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from shared.commandline import service_settings

if TYPE_CHECKING:
    from services.identify.commands import Explanation
    from shared.settings import ServiceSettings

NOT_STARTED = (
    "kaa: error: identify's tables are not in this database: has the identify service started "
    "with this DATABASE_URL?"
)


@contextmanager
def _identify_started() -> Iterator[None]:
    """A store whose tables are missing (the event library wraps psycopg's error in its own) is
    said in one line, exit 2."""
    from psycopg.errors import UndefinedTable

    try:
        yield
    except Exception as exc:
        if not (isinstance(exc, UndefinedTable) or isinstance(exc.__cause__, UndefinedTable)):
            raise
        typer.echo(NOT_STARTED, err=True)
        raise typer.Exit(code=2) from None


scope_app = typer.Typer(help="The identify service's scope decisions.", no_args_is_help=True)


@scope_app.command("pending")
def scope_pending() -> None:
    """Per municipality: how many persons wait for their feeds' watermarks, how many the release
    decides now, the oldest wait and how far each source is complete (no personal data)."""
    with _identify_started():
        lines = pending_lines(service_settings())
    for line in lines:
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
    from shared.personnummer import InvalidPersonnummer

    settings = service_settings()
    try:
        day = date.fromisoformat(at) if at else date.today()
        with _identify_started():
            lines = explain_lines(settings, tenant, personnummer, day)
    except InvalidPersonnummer as exc:
        typer.echo(f"kaa: error: personnummer: {exc}", err=True)
        raise typer.Exit(code=2) from None
    except ValueError as exc:
        typer.echo(f"kaa: error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    for line in lines:
        typer.echo(line)


def explain_lines(settings: ServiceSettings, tenant: str, number: str, at: date) -> list[str]:
    """`kaa scope explain`: the decision for one person on one day, and why."""
    from services.identify.commands import from_settings

    if tenant not in settings.tenants:
        raise ValueError(f"tenant: {tenant} is not served by this deployment (KAA_TENANTS)")
    commands = from_settings(settings, create_table=False)
    try:
        result = commands.explain(number, tenant, at)
    finally:
        commands.store.close()
    return render_explanation(result, tenant, at)


def render_explanation(result: Explanation, tenant: str, at: date) -> list[str]:
    if not result.known or result.decision is None:
        return [f"{tenant} {at}: this person is not known to the identify service"]
    decision = result.decision
    verdict = "IN SCOPE" if decision.in_scope else "not in scope"
    reason = f" (reason: {decision.leaving_reason})" if decision.leaving_reason else ""
    lines = [
        f"{tenant} {at}: {verdict}{reason}",
        f"rule version: {decision.rule_version}",
        f"youth id in {tenant}: {result.youth_id or '(none yet)'}",
        f"open scope episode now: {result.open_episode or '(none)'}",
        "facts used:",
    ]
    lines.extend(f"  {key}: {value}" for key, value in sorted(decision.facts.items()))
    waiting = result.pending
    if waiting is not None:
        sources = ", ".join(waiting.waiting_for) or "(none: decided on the release's next round)"
        lines[1:1] = [
            f"PENDING since {waiting.since:%Y-%m-%d %H:%M} UTC: new facts observed "
            f"{waiting.facts_observed_at:%Y-%m-%d %H:%M} UTC are not decided yet",
            f"  waiting for the watermark of: {sources}",
            f"  decided on the facts known by {waiting.settles_at:%Y-%m-%d %H:%M} UTC at the "
            "latest (KAA_FEED_SETTLE)",
            "  the decision below is what the facts known now would give",
        ]
    return lines


def pending_lines(settings: ServiceSettings) -> list[str]:
    """`kaa scope pending`: per municipality, the persons waiting for their feeds' watermarks."""
    from services.identify.commands import from_settings

    commands = from_settings(settings, create_table=False)
    try:
        rows = commands.pending_summary()
    finally:
        commands.store.close()
    if not rows:
        return ["nobody waits for a feed: every person is decided"]
    lines = []
    for row in rows:
        sources = ", ".join(
            f"{s} {'complete up to ' + f'{at:%Y-%m-%d %H:%M} UTC' if at else 'has not reported'}"
            for s, at in row["complete_up_to"].items()
        )
        lines.append(
            f"{row['tenant']}: {row['waiting']} persons pending, {row['decidable']} decidable now; "
            f"the oldest since {row['oldest_since']:%Y-%m-%d %H:%M} UTC (decided by "
            f"{row['oldest_since'] + timedelta(seconds=settings.feed_settle):%Y-%m-%d %H:%M} UTC "
            f"at the latest)"
        )
        lines.append(f"  waits for: {sources or '(no source: decided as read)'}")
    return lines


def mount(app: typer.Typer) -> None:
    """Put identify's commands on the platform's `kaa` command."""
    app.add_typer(scope_app, name="scope")
