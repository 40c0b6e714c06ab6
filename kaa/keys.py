"""`kaa keys`: the master key's backup, checked without showing the key (`shared/key_backup.py`).

Mounted on the `kaa` command by the platform (`mount`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shared.commandline import service_settings

keys_app = typer.Typer(
    help="The master key (KAA_MASTER_KEY): check a key or a backup copy against the keyring.",
    no_args_is_help=True,
)


@keys_app.callback()
def keys() -> None:
    """The master key (KAA_MASTER_KEY): its backup checked without showing it."""


def mount(app: typer.Typer) -> None:
    """Put `kaa keys` on the platform's `kaa` command."""
    app.add_typer(keys_app, name="keys")


def _key_from(path: Path) -> str:
    """A backup copy of the key: the file's one line (`-`: standard input); never echoed."""
    import sys

    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"kaa: error: --key-file: cannot be read ({type(exc).__name__})", err=True)
        raise typer.Exit(code=2) from None
    key = text.strip()
    if len(key) < 16:
        typer.echo("kaa: error: --key-file: must hold a key of at least 16 characters", err=True)
        raise typer.Exit(code=2)
    return key


@keys_app.command("check")
def keys_check(
    key_file: Annotated[
        Path | None,
        typer.Option(
            help="check the key in this file (a backup copy; `-`: standard input) instead of "
            "KAA_MASTER_KEY",
        ),
    ] = None,
) -> None:
    """Whether the master key matches the one this database's keyring was made with (exit 0: it
    does; 1: it does not, or no service has recorded one yet). Prints check values, never a key."""
    import asyncio

    import asyncpg

    from shared.key_backup import KeyCheck, read

    given = _key_from(key_file) if key_file is not None else None
    settings = service_settings(**({"master_key": given} if given else {}))
    which = f"the key in {key_file}" if key_file is not None else "KAA_MASTER_KEY"

    async def compare() -> KeyCheck:
        conn = await asyncpg.connect(settings.database_url.get_secret_value())
        try:
            return await read(conn, settings.master_key.get_secret_value())
        finally:
            await conn.close()

    found = asyncio.run(compare())
    if found.stored is None:
        typer.echo(
            f"kaa: no check value recorded in this database's keyring yet (no service has started "
            f"on it); {which} has the check value {found.configured}",
            err=True,
        )
        raise typer.Exit(code=1)
    if not found.matches:
        typer.echo(
            f"kaa: {which} does not match the key this database's keyring was made with: its "
            f"check value is {found.configured}, the keyring's {found.stored} (recorded "
            f"{found.recorded_at:%Y-%m-%d %H:%M} UTC)",
            err=True,
        )
        raise typer.Exit(code=1)
    typer.echo(
        f"{which} matches this database's keyring: check value {found.stored} (recorded "
        f"{found.recorded_at:%Y-%m-%d %H:%M} UTC)"
    )
