"""Is a failure the message's fault or the world's? And how to say why without the message.

A consumer that cannot apply a message must tell two things apart. A database or broker that is
unreachable, restarting or out of resources fails every message alike: retry (the position in the
database makes that safe) and never park good events because of it. Anything else — a value the
store refuses, a constraint, a bug — belongs to that message: park it with the reason and go on.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import asyncpg
import psycopg
from aiokafka.errors import KafkaError, MessageSizeTooLargeError
from asyncpg.exceptions import _base as asyncpg_base
from eventsourcing import persistence
from pydantic import ValidationError

from shared.contracts.text import text_problem
from shared.contracts.validation import describe

# SQLSTATE classes of the world, not of the statement: connection exception, transaction rollback
# (serialization failure, deadlock), insufficient resources, operator intervention (shutdown,
# cannot connect now), system error.
_TRANSIENT_CLASSES = frozenset({"08", "40", "53", "57", "58"})
# States that say the deployment is wrong for every message alike (a missing table or grant after a
# bad migration, a wrong database or password): parking would empty the line into the dead letters.
_DEPLOYMENT_STATES = frozenset({"42501", "42P01", "3D000", "3F000", "28000", "28P01"})
# The database clients' errors, transient or not: the one list of them (which dependency a failure
# names, `shared.resilience.dependency_of`; which a request answers 503, `shared.runtime`).
POSTGRES_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.PostgresError,
    asyncpg_base.InterfaceError,
    psycopg.Error,
    persistence.PersistenceError,
)
_TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    OSError,  # ConnectionError and friends
    asyncio.TimeoutError,
    KafkaError,
    asyncpg_base.InterfaceError,  # the connection is closed or in a broken state
    asyncpg.exceptions.ConnectionDoesNotExistError,
    # "cannot switch to state …; another operation is in progress": a connection that broke in
    # the middle of an operation (seen when the server was killed under a batch), not the data.
    asyncpg_base.InternalClientError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    persistence.OperationalError,
    persistence.InterfaceError,
    persistence.ConnectionUnavailableError,
    persistence.ConnectionPoolClosedError,
)


def causes(exc: BaseException) -> Iterator[BaseException]:
    """The failure, then what caused it, outward in; each once."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def sqlstate_of(exc: BaseException) -> str | None:
    for error in causes(exc):
        state = getattr(error, "sqlstate", None)
        if isinstance(state, str) and state:
            return state
    return None


# SQLSTATEs of a failure to connect: connection exception, invalid authorisation, invalid catalog
# name (classes); the server starting or shutting down, too many connections.
_CONNECTION_CLASSES = frozenset({"08", "28", "3D"})
_CONNECTION_STATES = frozenset({"57P03", "53300"})


def is_connection_failure(exc: BaseException) -> bool:
    """True when psycopg (directly or through the event library) could not connect at all: the
    pool's time-out or a refused socket (no SQLSTATE), or the server refusing the session. A
    statement's failure (a time-out, a deadlock) and the library's own errors are not."""
    if not any(isinstance(error, psycopg.OperationalError) for error in causes(exc)):
        return False
    state = sqlstate_of(exc)
    return state is None or state[:2] in _CONNECTION_CLASSES or state in _CONNECTION_STATES


def is_transient(exc: BaseException) -> bool:
    """True when the failure says nothing about the message: retry, never park.

    The outermost error that says something decides (a wrapper's cause only when the wrapper
    says nothing): a database state, an argument that cannot be encoded, a broken connection."""
    for error in causes(exc):
        state = getattr(error, "sqlstate", None)
        if isinstance(state, str) and state:
            return state[:2] in _TRANSIENT_CLASSES or state in _DEPLOYMENT_STATES
        if isinstance(error, MessageSizeTooLargeError):
            return False  # this message is too large, not the broker unwell
        if isinstance(error, asyncpg_base.DataError | ValueError | TypeError):
            return False  # an argument asyncpg cannot encode (an InterfaceError by inheritance)
        if isinstance(error, _TRANSIENT_TYPES):
            return True
    return False


_ARGUMENT = re.compile(r"(query argument \$\d+)[^:]*: .*")


def failure_reason(exc: BaseException, what: str, failed: str = "could not be applied") -> str:
    """Why `what` could not be applied: the error's kind and its first line with every quoted or
    echoed value removed (a store's message may quote the value, which may be personal data)."""
    if isinstance(exc, ValidationError):  # names the fields, never the values
        return f"{what} {failed}: {describe(exc)}"
    state = sqlstate_of(exc)
    kind = type(exc).__name__ + (f" (SQLSTATE {state})" if state else "")
    first = (str(exc).strip().splitlines() or [""])[0]
    first = _ARGUMENT.sub(r"\1: a value the store refuses", first)
    quote = min((i for i in (first.find("'"), first.find('"')) if i >= 0), default=-1)
    if quote >= 0:  # whatever a message quotes may be the value: nothing from the first quote on
        first = first[:quote].rstrip() + " …"
    if text_problem(first, free_text=False) is not None:
        first = "".join(c if text_problem(c) is None else "?" for c in first)
    detail = f": {first[:240]}" if first else ""
    return f"{what} {failed}: {kind}{detail}"
