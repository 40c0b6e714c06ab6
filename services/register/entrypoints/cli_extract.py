"""`kaa register extract`: the youth's own extract (GDPR art. 15) written to a file only its owner
may read (mode 0600), as a PDF in Swedish or as JSON; producing it is in the access log."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from services.register.entrypoints.cli import register_app, register_pool
from shared.commandline import check_served, cli_reading, service_settings

FORMATS = ("pdf", "json")


def write_private(path: Path, content: bytes) -> None:
    """Write `content` to `path` readable by its owner only (an existing file is made so too)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            descriptor = -1
            file.write(content)
    finally:
        if descriptor >= 0:
            os.close(descriptor)


@register_app.command("extract")
def register_extract(
    tenant: Annotated[str, typer.Option(help="4-digit kommunkod")],
    youth_id: Annotated[str, typer.Option(help="the youth's id in the register (a UUID)")],
    out: Annotated[Path, typer.Option(help="the file to write (mode 0600)")],
    format: Annotated[str, typer.Option(help="pdf (for the youth) or json")] = "pdf",
) -> None:
    """Everything the municipality holds about one youth (GDPR art. 15), for the youth: identity
    (never a protected address), scope, contacts, occupations, plans, measures, corrections, who
    read their data, and the retention rule. Producing it is in the access log."""
    import asyncio
    import json
    import uuid
    from datetime import UTC, datetime

    from services.register.commands.extract import NoSuchYouth, as_pdf, produce_extract
    from services.register.domain.retention import retention_days
    from shared import access_log
    from shared.crypto import TenantKeys

    if format not in FORMATS:
        typer.echo("kaa: error: --format: is not one of pdf, json", err=True)
        raise typer.Exit(code=2)
    try:
        youth = uuid.UUID(youth_id)
    except ValueError:
        typer.echo("kaa: error: --youth-id: not a youth id (a UUID)", err=True)
        raise typer.Exit(code=2) from None
    settings = service_settings()
    check_served(settings, tenant)
    keys = TenantKeys(settings.master_key.get_secret_value())

    async def work() -> dict[str, Any]:
        async with register_pool(settings) as pool:
            await access_log.create(pool)
            return await produce_extract(
                pool, keys, cli_reading(tenant, "extract", "extract"), youth,
                retention_days(tenant, settings.retention_days), True, datetime.now(UTC),
            )  # fmt: skip

    try:
        extract = asyncio.run(work())
    except NoSuchYouth:
        typer.echo("kaa: error: --youth-id: no such youth in this municipality", err=True)
        raise typer.Exit(code=1) from None
    content = (
        as_pdf(extract) if format == "pdf"
        else json.dumps(extract, indent=2, ensure_ascii=False).encode()
    )  # fmt: skip
    write_private(out, content)
    typer.echo(f"the extract ({format}, {len(content)} bytes) is written to {out} (mode 0600)")
