"""`kaa register rebuild`, `verify` and `fingerprint`: the register projected afresh from the
topics, compared with the live one, or put in its place after a disaster (the live register's
schema lost) and its content hash compared with the one written down before."""

from __future__ import annotations

from typing import Annotated

import typer

from services.register.entrypoints.cli import register_app
from shared.commandline import progress_bar, service_settings


@register_app.command("rebuild")
def register_rebuild(
    into: Annotated[
        str, typer.Option(help="schema to build into, beside the live register")
    ] = "register_rebuild",
    processes: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=8,
            help="processes reading the partitions at once, each writing through 3 database "
            "connections (default: the cores this process may use, at most 4, from 100,000 "
            "events on)",
        ),
    ] = None,
) -> None:
    """Project every event on the topics afresh into a schema beside the live register; when the
    live register is missing (its schema lost), the rebuild is put in its place. Says what the
    event log cannot restore (the access log, the SCB export history, the keyring, discards)."""
    import asyncio

    from services.register.commands.rebuild import describe_restore, restore

    settings = service_settings()
    progress = progress_bar()
    try:
        result = asyncio.run(
            restore(
                settings.kafka_bootstrap_servers,
                settings.database_url.get_secret_value(),
                settings.namespace,
                settings.tenants,
                into,
                progress,
                processes,
            )
        )
    except ValueError as exc:
        typer.echo(f"kaa: error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    for line in describe_restore(result, into):
        typer.echo(line)


@register_app.command("fingerprint")
def register_fingerprint(
    schema: Annotated[str, typer.Option(help="the register to fingerprint")] = "register",
    expect: Annotated[
        str | None, typer.Option(help="the content hash it must have (exit 1 when it differs)")
    ] = None,
) -> None:
    """The register's content hash (every content table's rows): write it down before a disaster
    recovery drill, and give it as --expect after the rebuild."""
    import asyncio

    import asyncpg

    from services.register.adapters.database import CONTENT_TABLES
    from services.register.adapters.fingerprint import content_hash, content_hashes

    settings = service_settings()
    try:
        hashes = asyncio.run(content_hashes(settings.database_url.get_secret_value(), schema))
    except (asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError):
        typer.echo(f"kaa: error: --schema: no register in schema {schema}", err=True)
        raise typer.Exit(code=2) from None
    for table in CONTENT_TABLES:
        typer.echo(f"{table:<24} {hashes[table][0]:>8} rows  {hashes[table][1]}")
    found = content_hash(hashes)
    typer.echo(f"content hash of {schema}: {found}")
    if expect is not None and expect.strip() != found:
        typer.echo(f"kaa: the content hash differs from the expected {expect.strip()}", err=True)
        raise typer.Exit(code=1)
    if expect is not None:
        typer.echo("equal to the expected content hash")


@register_app.command("verify")
def register_verify(
    against: Annotated[str, typer.Option(help="the register to compare with")] = "register_rebuild",
) -> None:
    """Compare the live register's content with another (exit 1 when they differ)."""
    import asyncio

    import asyncpg

    from services.register.adapters.database import CONTENT_TABLES
    from services.register.commands.rebuild import verification

    settings = service_settings()
    try:
        found = asyncio.run(verification(settings.database_url.get_secret_value(), against))
    except asyncpg.UndefinedTableError:
        typer.echo(f"kaa: error: no register in schema register or {against}", err=True)
        raise typer.Exit(code=2) from None
    if found.dead:
        typer.echo(f"the live register could not apply {found.dead} events (GET /v1/dead-events)")
    if found.waiting:
        typer.echo(
            f"{found.waiting} casework events wait for their youth's identification "
            "(GET /v1/dead-events)"
        )
    if found.orphans:
        typer.echo(
            f"{found.orphans} youths have casework in the live register but no scope episode "
            "(their identification has not arrived)"
        )
    differ = found.differ
    live, other = found.live, found.other
    for table in CONTENT_TABLES:
        mark = "DIFFERS" if table in differ else "same"
        typer.echo(f"{table:<16} {live[table][0]:>8} rows  {other[table][0]:>8} rows  {mark}")
    if differ:
        typer.echo(f"kaa: the registers differ in {', '.join(differ)}", err=True)
        raise typer.Exit(code=1)
    typer.echo(f"the live register and {against} hold the same content")
