"""Traces (OpenTelemetry): a span per HTTP request and per consumer batch, the trace context carried
from process to process in Kafka headers (W3C `traceparent`/`tracestate`).

Off unless the operator names a collector: `configure_tracing` sets a tracer provider exporting by
OTLP over HTTP only when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `…_TRACES_ENDPOINT`) is set and
`OTEL_SDK_DISABLED` is not `true`. Otherwise every helper here returns at once and costs nothing:
no provider, no span, no header.

A request's trace id is its correlation id (both are 128 bits): a request that brings neither a
`traceparent` nor an `X-Correlation-Id` is given one, so the id in the log lines is the id of the
trace. Events carry their correlation id through the event store; the outbox relay, which
publishes long after the request, puts `correlation_headers(event.correlation_id)` on each message
and the consumers' batch spans join the request's trace without anything stored beside the events.

The provider is this module's, not OpenTelemetry's global one: FastAPI traces by itself once a
global provider is set, with the raw path and exception messages (so `FASTAPI_OTEL_AUTO_CONFIGURE`
must stay unset). Span attributes are codes only: the route template, the method, the status, a
topic, a group, a partition, counts, a SQL statement's first keyword (`shared.tracing_postgres`).
Never a path, a query, a key, a value, a statement's text or an exception's message.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import Link, Span, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shared.logs import accepted_correlation_id, route_of
from shared.tracing_postgres import instrument_postgres, uninstrument_postgres

if TYPE_CHECKING:  # not imported at run time: a reading process needs no web framework
    from fastapi import FastAPI

__all__ = [
    "TracingMiddleware",
    "configure_tracing",
    "consumer_batch_span",
    "correlation_headers",
    "extract_context",
    "inject_headers",
    "traced",
    "tracer_provider",
    "tracing_enabled",
]

# W3C trace context only: baggage could carry anything a caller put in it.
_PROPAGATOR = TraceContextTextMapPropagator()
_HEADERS = ("traceparent", "tracestate")
# A batch span links to at most this many message contexts (a batch of 500 from 500 requests).
MAX_LINKS = 128
# Probes and scrapes are not traced: they would be most of the spans and say nothing.
_UNTRACED = ("/health", "/metrics")

_provider: TracerProvider | None = None
# The ids the next root span takes (set by the HTTP middleware around starting its span).
_root_ids: ContextVar[tuple[int, int] | None] = ContextVar("kaa_trace_root_ids", default=None)


class _CorrelatedIds(RandomIdGenerator):
    """Random ids, except for a request's span: its trace id is the correlation id and its span
    id is derived from it, so that the relay can name that span as the parent of the messages it
    publishes later (`correlation_headers`)."""

    def generate_trace_id(self) -> int:
        ids = _root_ids.get()
        return ids[0] if ids is not None else super().generate_trace_id()

    def generate_span_id(self) -> int:
        ids = _root_ids.get()
        if ids is None:
            return super().generate_span_id()
        _root_ids.set(None)  # once: the spans under the request's get random ids
        return ids[1]

    def is_trace_id_random(self) -> bool:
        return False  # a caller may choose its correlation id


def _span_id_of(correlation_id: uuid.UUID) -> int:
    """The span id of the request a correlation id names: 64 bits of its hash, never 0."""
    return int.from_bytes(hashlib.sha256(correlation_id.bytes).digest()[:8], "big") or 1


def _wanted() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(
        os.environ.get(name, "").strip()
        for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def configure_tracing(service: str, exporter: SpanExporter | None = None) -> bool:
    """Trace this process when a collector is named (or `exporter` is given: tests); True if it
    does. The service's name is `OTEL_SERVICE_NAME` when set, else `kaa-<service>`; the exporter
    reads the other standard `OTEL_EXPORTER_OTLP_*` variables (headers, timeout, protocol)."""
    global _provider
    if exporter is None:
        if not _wanted():
            _provider = None
            uninstrument_postgres()  # untraced: the database clients' own methods, unpatched
            return False
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        processor: Any = BatchSpanProcessor(OTLPSpanExporter())
    else:
        processor = SimpleSpanProcessor(exporter)  # a test reads its spans at once
    name = os.environ.get("OTEL_SERVICE_NAME", "").strip() or f"kaa-{service}"
    provider = TracerProvider(resource=Resource.create({"service.name": name}),
                              id_generator=_CorrelatedIds())  # fmt: skip
    provider.add_span_processor(processor)
    if _provider is not None and exporter is not None:
        _provider.shutdown()  # a test's earlier provider
    # Kept to ourselves, never made the global provider: FastAPI's own telemetry turns on when
    # a global one is set, and its spans carry the raw path (youth ids) and exception messages.
    _provider = provider
    instrument_postgres(tracer_provider)  # a span per SQL statement (shared/tracing_postgres.py)
    return True


def traced(app: FastAPI, service: str) -> FastAPI:
    """A service's app, traced when a collector is named: `configure_tracing(service)` and, if it
    traces, `TracingMiddleware` outermost. Called last in each service's `create_app`."""
    if configure_tracing(service):
        app.add_middleware(TracingMiddleware)
    return app


def tracing_enabled() -> bool:
    return _provider is not None


def tracer_provider() -> TracerProvider | None:
    """This process's provider (None: not tracing), for an instrumentation given it explicitly
    (`shared.tracing_postgres` asks for it at each statement), never through the global one."""
    return _provider


def _tracer() -> trace.Tracer:
    assert _provider is not None
    return _provider.get_tracer("kaa")


def inject_headers(context: Context | None = None) -> list[tuple[str, bytes]]:
    """The current (or given) trace context as Kafka headers; [] when not tracing."""
    if _provider is None:
        return []
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=context)
    return [(k, carrier[k].encode("ascii")) for k in _HEADERS if k in carrier]


def extract_context(headers: Iterable[tuple[str, bytes | None]] | None) -> Context:
    """The trace context a message's headers carry (an empty context if none or malformed)."""
    carrier: dict[str, str] = {}
    for key, value in headers or ():
        if key in _HEADERS and value:
            with contextlib.suppress(UnicodeDecodeError):
                carrier[key] = value.decode("ascii")
    return _PROPAGATOR.extract(carrier) if carrier else Context()


def correlation_headers(correlation_id: uuid.UUID) -> list[tuple[str, bytes]]:
    """For the outbox relay: headers naming the request with this correlation id (its trace, its
    span) as the parent of a published event; [] when not tracing."""
    if _provider is None:
        return []
    parent = SpanContext(
        trace_id=correlation_id.int, span_id=_span_id_of(correlation_id), is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )  # fmt: skip
    return inject_headers(trace.set_span_in_context(trace.NonRecordingSpan(parent)))


@contextlib.contextmanager
def consumer_batch_span(
    group: str, topic: str, partition: int, headers: Iterable[Iterable[tuple[str, bytes | None]]]
) -> Iterator[Span | None]:
    """A span around applying one batch (`headers`: each message's), current while it runs.

    Linked to the contexts the messages carry; when they all carry the same one (one request's
    events, one school notification) the span is its child too, so the request and what it
    caused downstream are one trace. Yields None when not tracing."""
    if _provider is None:
        yield None
        return
    contexts: dict[tuple[int, int], SpanContext] = {}
    count = 0
    for message in headers:
        count += 1
        found = trace.get_current_span(extract_context(message)).get_span_context()
        if found.is_valid and len(contexts) < MAX_LINKS:
            contexts.setdefault((found.trace_id, found.span_id), found)
    parent: Context | None = None
    if len(contexts) == 1:
        parent = trace.set_span_in_context(trace.NonRecordingSpan(next(iter(contexts.values()))))
    attributes: dict[str, Any] = {
        "messaging.system": "kafka", "messaging.operation.type": "process",
        "messaging.destination.name": topic, "messaging.consumer.group.name": group,
        "messaging.destination.partition.id": str(partition),
        "messaging.batch.message_count": count,
    }  # fmt: skip
    with _tracer().start_as_current_span(
        f"process {topic}", context=parent, kind=SpanKind.CONSUMER, attributes=attributes,
        links=[Link(c) for c in contexts.values()], record_exception=False,
    ) as span:  # fmt: skip
        yield span


def _header(scope: Any, name: bytes) -> str | None:
    value = next((v for k, v in scope.get("headers") or () if k == name), None)
    return value.decode("latin-1") if value is not None else None


class TracingMiddleware:
    """ASGI middleware: one server span per HTTP request, named and labelled by the route
    template (`/v1/youths/{youth_id}`), the method and the status — never the path or query.

    The span continues the caller's `traceparent`; without one, its trace id is the request's
    correlation id (given, or made here and passed on as `X-Correlation-Id`, so the service's
    correlation middleware and its log lines use the same id). Add it outermost."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if _provider is None or scope["type"] != "http" or path.startswith(_UNTRACED):
            await self.app(scope, receive, send)
            return
        scope = dict(scope)
        parent = extract_context((k.decode("latin-1"), v) for k, v in scope.get("headers") or ())
        caller = trace.get_current_span(parent).get_span_context()
        correlation = accepted_correlation_id(_header(scope, b"x-correlation-id"))
        if correlation is None:
            # The caller's trace id as the correlation id, else a new one: one id for both.
            correlation = uuid.UUID(int=caller.trace_id) if caller.is_valid else uuid.uuid4()
            headers = [(k, v) for k, v in scope.get("headers") or () if k != b"x-correlation-id"]
            scope["headers"] = [*headers, (b"x-correlation-id", str(correlation).encode())]
        method = str(scope.get("method", "GET"))
        status, failed = 500, False
        own = not caller.is_valid and correlation.int != 0
        token = _root_ids.set((correlation.int, _span_id_of(correlation)) if own else None)
        try:
            span = _tracer().start_span(
                method, context=parent if caller.is_valid else Context(), kind=SpanKind.SERVER,
                attributes={"http.request.method": method},
            )  # fmt: skip
        finally:
            _root_ids.reset(token)

        async def answer(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            with trace.use_span(span, end_on_exit=False, record_exception=False,
                                set_status_on_exception=False):  # fmt: skip
                await self.app(scope, receive, answer)
        except Exception as error:
            failed = True
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            raise
        finally:
            route = route_of(scope)
            span.update_name(f"{method} {route}")
            span.set_attribute("http.route", route)
            span.set_attribute("http.response.status_code", status)
            if status >= 500 and not failed:
                span.set_status(Status(StatusCode.ERROR))
            span.end()
