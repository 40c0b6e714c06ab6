"""Where a service's event store lives: the `eventsourcing` environment for a PostgreSQL schema,
the schema itself, and the claim that a database belongs to one deployment namespace.

Each service owns its event store in its own PostgreSQL schema; no service reads another's tables.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import psycopg


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
        # Also how long a command waits for a pooled connection: during a database outage a
        # thread gives up after 5 s (the library's 30 s held threads long after the 503).
        "POSTGRES_CONNECT_TIMEOUT": "5",
        "CREATE_TABLE": "y" if create_table else "n",
    }


class NamespaceClash(RuntimeError):
    """The database belongs to another deployment namespace."""


def claim_database(database_url: str, namespace: str) -> None:
    """Record that this database belongs to the deployment `namespace`, or refuse.

    A namespace (`KAA_NAMESPACE`) separates topics and consumer groups on one Kafka cluster, not
    the database: the services' schemas (identify, outreach, measures, register, access_log,
    keyring, …) have fixed names, so two namespaces on one database would share identify's event
    store, the register and the keys. The first service to start records its namespace in
    `kaa_deployment.namespace`; a service of another namespace is refused before it touches a
    table. Give each namespace a database of its own (the demo, tests and benchmarks do).
    """
    with psycopg.connect(database_url, autocommit=True) as conn, conn.transaction():
        # One claim at a time: several services start together on a fresh database.
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('kaa_deployment', 0))")
        conn.execute("CREATE SCHEMA IF NOT EXISTS kaa_deployment")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS kaa_deployment.namespace ("
            "  single boolean PRIMARY KEY DEFAULT true CHECK (single),"
            "  namespace text NOT NULL,"
            "  claimed_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute(
            "INSERT INTO kaa_deployment.namespace (namespace) VALUES (%s) ON CONFLICT DO NOTHING",
            (namespace,),
        )
        row = conn.execute("SELECT namespace FROM kaa_deployment.namespace").fetchone()
    owner = row[0] if row else namespace
    if owner != namespace:
        raise NamespaceClash(
            f"DATABASE_URL: this database belongs to the deployment namespace {owner or '(none)'!r}"
            f", not {namespace or '(none)'!r} (KAA_NAMESPACE); a namespace separates topics and "
            "consumer groups but not the database, so give each namespace a database of its own"
        )


def ensure_schema(database_url: str, schema: str, *, namespace: str | None = None) -> None:
    """Create the service's schema (the library creates tables, not schemas), in a database that
    belongs to this deployment's namespace (`claim_database`; by default the `KAA_NAMESPACE` the
    service's settings read)."""
    if namespace is None:
        from shared.settings import current_namespace

        namespace = current_namespace()
    claim_database(database_url, namespace)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
