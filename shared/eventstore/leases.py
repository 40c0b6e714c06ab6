"""Leases: one process at a time does a job (a relay publishing a service's events), and when it
dies another takes over without anyone releasing anything; slices: processes share a job out.

A lease is a PostgreSQL advisory lock held by a connection of its own: the database ends the
session of a dead holder, and with it the lock.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Generator
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
    conn = _own_connection(datastore)
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


class Slices:
    """A job cut in `count` slices that processes share out as they go: each slice is an advisory
    lock taken for as long as one process works on it (`held_in_turn`), on a connection of this
    process's own (made when first needed, made again when it broke). Two processes so never work
    on the same slice at once, and a slice held by a process that died is free again."""

    def __init__(self, datastore: PostgresDatastore, name: str, count: int) -> None:
        self.datastore = datastore
        self.name = name
        self.count = count
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()

    def held_in_turn(self) -> Generator[int, None, None]:
        """Each slice no other process holds, in a random order, held while the caller works on
        it (until the next is asked for, or the iteration ends)."""
        for index in random.sample(range(self.count), self.count):
            key = f"{self.datastore.schema}.{self.name}/{index}"
            if not self._call("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", key):
                continue
            try:
                yield index
            finally:
                self._call("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", key)

    def _call(self, query: str, key: str) -> bool:
        with self._lock:
            for attempt in (1, 2):
                if self._conn is None or self._conn.closed:
                    self._conn = _own_connection(self.datastore)
                try:
                    row = self._conn.execute(query, (key,)).fetchone()
                    return bool(row and row[0])
                except psycopg.OperationalError:
                    self._conn.close()  # its locks went with its session: take them again
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()


def _own_connection(datastore: PostgresDatastore) -> psycopg.Connection[Any]:
    pool_kwargs = datastore.pool.kwargs
    assert isinstance(pool_kwargs, dict), "the datastore's pool is configured with a dict"
    kwargs = {k: v for k, v in pool_kwargs.items() if k != "row_factory"}
    return psycopg.connect(**kwargs, autocommit=True)
