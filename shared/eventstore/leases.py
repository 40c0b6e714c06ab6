"""Leases: one process at a time does a job (a relay publishing a service's events), and when it
dies another takes over without anyone releasing anything.

A lease is a PostgreSQL advisory lock held by a connection of its own: the database ends the
session of a dead holder, and with it the lock.
"""

from __future__ import annotations

from typing import Any

import psycopg
from eventsourcing.postgres import PostgresDatastore


class Lease:
    """An advisory lock held for as long as its connection lives: when the holder dies, the
    database ends the session and the lease is free for another process."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def held(self) -> bool:
        try:
            self.conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def release(self) -> None:
        self.conn.close()


def try_lease(datastore: PostgresDatastore, name: str) -> Lease | None:
    """Take the lease `name` in the datastore's schema if nobody holds it, on a connection of its
    own made with the datastore's connection settings; None when another process holds it."""
    pool_kwargs = datastore.pool.kwargs
    assert isinstance(pool_kwargs, dict), "the datastore's pool is configured with a dict"
    kwargs = {k: v for k, v in pool_kwargs.items() if k != "row_factory"}
    conn = psycopg.connect(**kwargs, autocommit=True)
    try:
        row = conn.execute(
            "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))",
            (f"{datastore.schema}.{name}",),
        ).fetchone()
    except BaseException:
        conn.close()
        raise
    if row is None or not row[0]:
        conn.close()
        return None
    return Lease(conn)
