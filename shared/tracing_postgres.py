"""Traces of PostgreSQL statements: a client span per statement, from kaa's own tracer provider,
for asyncpg and psycopg alike (written here: OpenTelemetry's instrumentation packages do not
resolve with the pinned FastAPI and SDK).

`shared.tracing.configure_tracing` patches the clients' statement methods once per process, and
only when it traces; untraced, nothing here is imported or patched and a statement costs nothing.

A statement is traced only inside a span (a request's, a consumer batch's): the background loops'
polling (leases, the relay, schedules) would otherwise be a root trace every second, saying
nothing. `asyncio.to_thread` copies the context, so psycopg's statements in a worker thread nest
under the span that handed the work off.

A span says only which operation ran: its name and `db.operation.name` are the statement's first
keyword (SELECT, INSERT, COPY …) when it is a known one, else the name is `postgresql`;
`db.system.name` is `postgresql`; on a failure, `error.type` is the exception's class name. Never
the statement's text, a parameter or an exception's message: values may be personal data.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind, Status, StatusCode

__all__ = ["instrument_postgres", "operation_of", "uninstrument_postgres"]

# The first keywords of PostgreSQL's statements: a span is named by one of these or not at all,
# so a malformed statement starting with a value never names a span.
# fmt: off
_OPERATIONS = frozenset((
    "ABORT", "ALTER", "ANALYZE", "BEGIN", "CALL", "CHECKPOINT", "CLOSE", "CLUSTER", "COMMENT",
    "COMMIT", "COPY", "CREATE", "DEALLOCATE", "DECLARE", "DELETE", "DISCARD", "DO", "DROP", "END",
    "EXECUTE", "EXPLAIN", "FETCH", "GRANT", "IMPORT", "INSERT", "LISTEN", "LOAD", "LOCK", "MERGE",
    "MOVE", "NOTIFY", "PREPARE", "REASSIGN", "REFRESH", "REINDEX", "RELEASE", "RESET", "REVOKE",
    "ROLLBACK", "SAVEPOINT", "SECURITY", "SELECT", "SET", "SHOW", "START", "TABLE", "TRUNCATE",
    "UNLISTEN", "UPDATE", "VACUUM", "VALUES", "WITH",
))
# fmt: on
# Leading blanks, comments and opening parentheses, then the first word.
_FIRST_WORD = re.compile(r"(?:\s+|--[^\n]*|/\*.*?\*/|\()*([A-Za-z]+)", re.DOTALL)
_SYSTEM = "postgresql"

# (class, method name) -> the method it was before the patch.
_originals: dict[tuple[type, str], Any] = {}
_provider_of: Callable[[], TracerProvider | None] = lambda: None  # noqa: E731
_tracers: dict[int, tuple[TracerProvider, trace.Tracer]] = {}
# Set while asyncpg's pool resets a released connection: its reset query is the pool's
# housekeeping, not the caller's statement, and would double the spans of every pooled call.
_housekeeping: ContextVar[bool] = ContextVar("kaa_postgres_housekeeping", default=False)


def operation_of(query: object) -> str | None:
    """A statement's operation (its first keyword, upper-cased) when it is a known one.

    `query` is a string, bytes or psycopg's composed SQL; only its opening is read."""
    text = _opening(query)
    found = _FIRST_WORD.match(text) if text else None
    word = found.group(1).upper() if found else ""
    return word if word in _OPERATIONS else None


def _opening(query: object) -> str:
    if isinstance(query, str):
        return query
    if isinstance(query, bytes | bytearray | memoryview):
        return bytes(query[:4096]).decode("utf-8", "replace")
    from psycopg import sql

    while isinstance(query, sql.Composed):  # its first part: SQL("INSERT INTO "), Identifier …
        query = next(iter(query), None)
    return query.as_string(None) if isinstance(query, sql.SQL) else ""


def _tracer() -> trace.Tracer | None:
    """kaa's tracer, when tracing and a span is current (the statement's parent), else None."""
    provider = _provider_of()
    if provider is None or _housekeeping.get():
        return None
    if not trace.get_current_span().get_span_context().is_valid:
        return None
    cached = _tracers.get(id(provider))
    if cached is None or cached[0] is not provider:
        _tracers.clear()
        cached = _tracers[id(provider)] = (provider, provider.get_tracer("kaa.postgresql"))
    return cached[1]


@contextlib.contextmanager
def _statement_span(tracer: trace.Tracer, operation: str | None) -> Iterator[None]:
    attributes = {"db.system.name": _SYSTEM}
    if operation is not None:
        attributes["db.operation.name"] = operation
    with tracer.start_as_current_span(
        operation or _SYSTEM, kind=SpanKind.CLIENT, attributes=attributes,
        record_exception=False, set_status_on_exception=False,
    ) as span:  # fmt: skip
        try:
            yield
        except Exception as error:  # its class only: the message may quote a value
            span.set_attribute("error.type", type(error).__name__)
            span.set_status(Status(StatusCode.ERROR))
            raise


def _operation(args: tuple[Any, ...], kwargs: dict[str, Any], fixed: str | None) -> str | None:
    if fixed is not None:
        return fixed
    return operation_of(args[0] if args else kwargs.get("query"))


def _wrap_sync(original: Callable[..., Any], fixed: str | None) -> Callable[..., Any]:
    @functools.wraps(original)
    def statement(self: Any, *args: Any, **kwargs: Any) -> Any:
        tracer = _tracer()
        if tracer is None:
            return original(self, *args, **kwargs)
        with _statement_span(tracer, _operation(args, kwargs, fixed)):
            return original(self, *args, **kwargs)

    return statement


def _wrap_async(original: Callable[..., Any], fixed: str | None) -> Callable[..., Any]:
    @functools.wraps(original)
    async def statement(self: Any, *args: Any, **kwargs: Any) -> Any:
        tracer = _tracer()
        if tracer is None:
            return await original(self, *args, **kwargs)
        with _statement_span(tracer, _operation(args, kwargs, fixed)):
            return await original(self, *args, **kwargs)

    return statement


def _untraced(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    async def housekeeping(self: Any, *args: Any, **kwargs: Any) -> Any:
        token = _housekeeping.set(True)
        try:
            return await original(self, *args, **kwargs)
        finally:
            _housekeeping.reset(token)

    return housekeeping


def _targets() -> list[tuple[type, str, str | None, bool]]:
    """(class, method, fixed operation or None to read the statement, is a coroutine); the
    operation `""` marks asyncpg's reset, whose statements are not traced."""
    import asyncpg.connection
    import psycopg

    connection = asyncpg.connection.Connection
    found: list[tuple[type, str, str | None, bool]] = [
        (connection, name, None, True)
        for name in ("execute", "executemany", "fetch", "fetchrow", "fetchval", "fetchmany")
    ]
    for name in ("copy_records_to_table", "copy_to_table", "copy_from_table", "copy_from_query"):
        found.append((connection, name, "COPY", True))
    found.append((connection, "reset", "", True))
    for cursor, is_async in ((psycopg.Cursor, False), (psycopg.AsyncCursor, True),
                             (psycopg.ServerCursor, False), (psycopg.AsyncServerCursor, True)):  # fmt: skip
        found += [(cursor, name, None, is_async) for name in ("execute", "executemany")]
    # Only what each class defines itself: an inherited method is patched once, on its owner.
    return [target for target in found if target[1] in vars(target[0])]


def instrument_postgres(provider_of: Callable[[], TracerProvider | None]) -> None:
    """Trace asyncpg's and psycopg's statements with the provider `provider_of` returns when
    called (None: pass straight through). Patches once; a second call only changes the source."""
    global _provider_of
    _provider_of = provider_of
    if _originals:
        return
    for owner, name, fixed, is_async in _targets():
        original = vars(owner)[name]
        _originals[(owner, name)] = original
        if fixed == "":
            setattr(owner, name, _untraced(original))
        else:
            setattr(owner, name, (_wrap_async if is_async else _wrap_sync)(original, fixed))


def uninstrument_postgres() -> None:
    """Put the clients' own methods back (tracing turned off, or a test done)."""
    global _provider_of
    for (owner, name), original in _originals.items():
        setattr(owner, name, original)
    _originals.clear()
    _tracers.clear()
    _provider_of = lambda: None  # noqa: E731
