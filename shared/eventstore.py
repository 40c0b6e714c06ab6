"""Wiring of the `eventsourcing` library's PostgreSQL recorder to the platform's `DATABASE_URL`.

Each service owns its event store in its own PostgreSQL schema; no service reads another's tables.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit


def eventsourcing_env(
    database_url: str, schema: str, *, create_table: bool = True
) -> dict[str, str]:
    """The environment an `eventsourcing` Application needs to store its events in `schema`."""
    parts = urlsplit(database_url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(
            f"DATABASE_URL must start with postgresql:// (got scheme {parts.scheme or 'none'!r})"
        )
    if not parts.hostname or not parts.path.strip("/"):
        raise ValueError(
            "DATABASE_URL must name a host and a database, e.g. postgresql://u:p@host:5432/kaa"
        )
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_HOST": parts.hostname,
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_DBNAME": unquote(parts.path.lstrip("/")),
        "POSTGRES_USER": unquote(parts.username or ""),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_SCHEMA": schema,
        "CREATE_TABLE": "y" if create_table else "n",
    }
