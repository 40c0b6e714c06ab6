"""PostgreSQL spans against the launcher's PostgreSQL: one client span per statement, for asyncpg
(direct and pooled) and psycopg (in a worker thread, as the event store runs it), a child of the
current span, named by the operation only; never the statement's text, a parameter or an error's
message. Untraced, the clients are not patched at all."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import asyncpg
import asyncpg.connection
import psycopg
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from psycopg import sql

from shared import tracing
from shared.tracing_postgres import operation_of, uninstrument_postgres
from tests.conftest import RunningInfra

PERSONNUMMER = "200711031234"
OTHER = "200802149876"
# The clients' own methods, as collected (before any test configures tracing).
ASYNCPG_EXECUTE = vars(asyncpg.connection.Connection)["execute"]
PSYCOPG_EXECUTE = vars(psycopg.Cursor)["execute"]
ASYNCPG_RESET = vars(asyncpg.connection.Connection)["reset"]
ONLY = {"db.system.name": "postgresql"}


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert tracing.configure_tracing("register", exporter=exporter)
    yield exporter
    tracing._provider = None  # the next test starts untraced, its clients unpatched
    uninstrument_postgres()
    assert vars(asyncpg.connection.Connection)["execute"] is ASYNCPG_EXECUTE


def _parent() -> Any:
    return trace.get_tracer("test", tracer_provider=tracing._provider).start_as_current_span(
        "batch"
    )


def _statements(exporter: InMemorySpanExporter, parent: ReadableSpan) -> list[ReadableSpan]:
    found = [s for s in exporter.get_finished_spans() if s is not parent]
    for span in found:
        assert span.kind is SpanKind.CLIENT
        assert span.parent is not None
        assert span.parent.span_id == parent.context.span_id
        assert span.context.trace_id == parent.context.trace_id
        assert not span.events, "no exception event: its message may quote a value"
    return found


def _said(spans: list[ReadableSpan]) -> str:
    """Everything the spans say, as one text to search for a value."""
    said = [s.name + " " + (s.status.description or "") for s in spans]
    said += [f"{k}={v!s}" for s in spans for k, v in (s.attributes or {}).items()]
    return " ".join(said)


def _finished_parent(exporter: InMemorySpanExporter) -> ReadableSpan:
    return next(s for s in exporter.get_finished_spans() if s.name == "batch")


def test_untraced_the_clients_are_not_patched(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    try:
        assert tracing.configure_tracing("register", exporter=InMemorySpanExporter())
        patched = vars(asyncpg.connection.Connection)["execute"]
        assert patched is not ASYNCPG_EXECUTE
        assert tracing.configure_tracing("register", exporter=InMemorySpanExporter())
        assert vars(asyncpg.connection.Connection)["execute"] is patched, "patched once only"
    finally:
        assert not tracing.configure_tracing("register")
    assert vars(asyncpg.connection.Connection)["execute"] is ASYNCPG_EXECUTE
    assert vars(asyncpg.connection.Connection)["reset"] is ASYNCPG_RESET
    assert vars(psycopg.Cursor)["execute"] is PSYCOPG_EXECUTE


def test_the_operation_is_the_first_known_keyword() -> None:
    assert operation_of("  select 1") == "SELECT"
    assert operation_of("-- why\n/* how\n */ (SELECT 1) UNION (SELECT 2)") == "SELECT"
    assert operation_of(b"INSERT INTO t VALUES (1)") == "INSERT"
    assert operation_of(sql.SQL("DELETE FROM {} WHERE id = %s").format(sql.Identifier("t")))
    assert operation_of(sql.Composed([sql.SQL("WITH x AS (SELECT 1) SELECT * FROM x")])) == "WITH"
    assert operation_of("BEGIN ISOLATION LEVEL SERIALIZABLE") == "BEGIN"
    for unknown in ("", "   ", "-- only a comment", PERSONNUMMER, "Anna Svensson", None, 42):
        assert operation_of(unknown) is None


async def test_asyncpg_statements_are_spans_of_the_current_span(
    infra: RunningInfra, db: asyncpg.Connection, spans: InMemorySpanExporter
) -> None:
    await db.execute("CREATE TABLE youths (pnr text PRIMARY KEY)")
    assert spans.get_finished_spans() == (), "outside any span: not traced"
    pool = await asyncpg.create_pool(
        infra.database_url, min_size=1, max_size=1,
        server_settings={"search_path": await db.fetchval("SELECT current_schema()")},
    )  # fmt: skip
    try:
        with _parent():
            async with db.transaction():
                await db.execute("INSERT INTO youths (pnr) VALUES ($1)", PERSONNUMMER)
                await db.copy_records_to_table("youths", records=[(OTHER,)])
            count = await db.fetchval("/* count */ SELECT count(*) FROM youths WHERE pnr <> $1", "")
            row = await pool.fetchrow("SELECT pnr FROM youths WHERE pnr = $1", PERSONNUMMER)
            await db.executemany("UPDATE youths SET pnr = $1 WHERE pnr = $1", [(OTHER,)])
    finally:
        await pool.close()
    assert count == 2
    assert row is not None
    assert row["pnr"] == PERSONNUMMER
    statements = _statements(spans, _finished_parent(spans))
    names = ["BEGIN", "INSERT", "COPY", "COMMIT", "SELECT", "SELECT", "UPDATE"]
    assert [s.name for s in statements] == names, "the pool's reset on release is not a span"
    for span, name in zip(statements, names, strict=True):
        assert span.attributes == {**ONLY, "db.operation.name": name}
        assert span.status.status_code is StatusCode.UNSET
    assert PERSONNUMMER not in _said(statements)
    assert OTHER not in _said(statements)


async def test_psycopg_statements_in_a_worker_thread_nest_under_the_current_span(
    infra: RunningInfra, db_schema: str, spans: InMemorySpanExporter
) -> None:
    def work() -> list[Any]:
        options = f"-c search_path={db_schema}"
        with psycopg.connect(infra.database_url, options=options, autocommit=True) as conn:
            conn.execute("CREATE TABLE youths (pnr text PRIMARY KEY)")
            with conn.cursor() as cursor:
                cursor.executemany("INSERT INTO youths (pnr) VALUES (%s)", [(PERSONNUMMER,)])
                query = sql.SQL("SELECT pnr FROM {} WHERE pnr = %s").format(
                    sql.Identifier("youths")
                )
                return cursor.execute(query, (PERSONNUMMER,)).fetchall()

    with _parent():
        rows = await asyncio.to_thread(work)
    assert rows == [(PERSONNUMMER,)]
    statements = _statements(spans, _finished_parent(spans))
    assert [s.name for s in statements] == ["CREATE", "INSERT", "SELECT"]
    for span in statements:
        assert span.attributes == {**ONLY, "db.operation.name": span.name}
    assert PERSONNUMMER not in _said(statements)


async def test_a_failed_statement_says_the_error_class_only(
    infra: RunningInfra, db: asyncpg.Connection, db_schema: str, spans: InMemorySpanExporter
) -> None:
    await db.execute("CREATE TABLE youths (pnr text PRIMARY KEY)")
    await db.execute("INSERT INTO youths (pnr) VALUES ($1)", PERSONNUMMER)

    def duplicate() -> None:
        with psycopg.connect(infra.database_url, options=f"-c search_path={db_schema}") as conn:
            conn.execute("INSERT INTO youths (pnr) VALUES (%s)", (PERSONNUMMER,))

    with _parent():
        with pytest.raises(asyncpg.UniqueViolationError) as asyncpg_error:
            await db.execute("INSERT INTO youths (pnr) VALUES ($1)", PERSONNUMMER)
        with pytest.raises(psycopg.errors.UniqueViolation) as psycopg_error:
            await asyncio.to_thread(duplicate)
        with pytest.raises(asyncpg.PostgresSyntaxError):
            await db.execute(f"{PERSONNUMMER} Anna")
    # The errors themselves are unchanged: they quote the value (so a span must not).
    assert PERSONNUMMER in str(asyncpg_error.value.detail)
    assert PERSONNUMMER in str(psycopg_error.value.diag.message_detail)
    first, second, unknown = _statements(spans, _finished_parent(spans))
    assert first.attributes == {
        **ONLY, "db.operation.name": "INSERT", "error.type": "UniqueViolationError"
    }  # fmt: skip
    assert second.attributes == {
        **ONLY, "db.operation.name": "INSERT", "error.type": "UniqueViolation"
    }  # fmt: skip
    assert unknown.name == "postgresql", "no known keyword: the system's name"
    assert unknown.attributes == {**ONLY, "error.type": "PostgresSyntaxError"}
    for span in (first, second, unknown):
        assert span.status.status_code is StatusCode.ERROR
    assert PERSONNUMMER not in _said([first, second, unknown])
    assert "Anna" not in _said([first, second, unknown])
