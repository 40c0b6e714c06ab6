"""Traces: off without a collector, the context carried through Kafka headers, and HTTP spans named
by the route template with no id from the path, the query or the body."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from shared import tracing
from shared.logs import RequestContext

YOUTH = uuid.UUID("6a1f0c2e-1111-4a2b-9c3d-5e6f7a8b9c0d")
PERSONNUMMER = "200711031234"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    global_before = trace.get_tracer_provider()
    assert tracing.configure_tracing("identify", exporter=exporter)
    # Never the global provider: FastAPI would trace each request itself, raw path included.
    assert trace.get_tracer_provider() is global_before
    yield exporter
    tracing._provider = None  # the next test starts untraced


def _app() -> TestClient:
    app = FastAPI()

    @app.get("/v1/youths/{youth_id}")
    async def youth(youth_id: uuid.UUID, q: str = "") -> dict[str, str]:
        return {"youth_id": str(youth_id)}

    @app.get("/v1/broken")
    async def broken() -> None:
        raise RuntimeError(f"failed for {PERSONNUMMER}")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(RequestContext)
    app.add_middleware(tracing.TracingMiddleware)  # outermost, as the services add it
    return TestClient(app, raise_server_exceptions=False)


def _values(span: ReadableSpan) -> str:
    """Everything a span says about the request, as one text to search."""
    attributes = [f"{k}={v!s}" for k, v in (span.attributes or {}).items()]
    return " ".join([span.name, *attributes, span.status.description or ""])


def test_without_a_collector_nothing_is_traced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert not tracing.configure_tracing("identify")
    assert not tracing.tracing_enabled()
    assert tracing.inject_headers() == []
    assert tracing.correlation_headers(YOUTH) == []
    with tracing.consumer_batch_span("g", "t", 0, [[("traceparent", b"x")]]) as span:
        assert span is None
    answered = _app().get(f"/v1/youths/{YOUTH}")
    assert answered.status_code == 200


def test_a_collector_named_by_the_standard_variable_turns_tracing_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert not tracing.configure_tracing("identify"), "OTEL_SDK_DISABLED wins"
    monkeypatch.delenv("OTEL_SDK_DISABLED")
    try:
        assert tracing.configure_tracing("identify")
        assert tracing.tracing_enabled()
    finally:
        tracing._provider = None


def test_inject_then_extract_keeps_the_trace(spans: InMemorySpanExporter) -> None:
    tracer = trace.get_tracer("test", tracer_provider=tracing._provider)
    with tracer.start_as_current_span("publish") as sent:
        headers = tracing.inject_headers()
    assert [k for k, _ in headers] == ["traceparent"]
    carried = trace.get_current_span(tracing.extract_context(headers)).get_span_context()
    assert carried.trace_id == sent.get_span_context().trace_id
    assert carried.span_id == sent.get_span_context().span_id

    # A batch of that one message: a child of the sender, linked to it too.
    with tracing.consumer_batch_span("kaa.register", "kaa.identify.events.v1", 3, [headers]):
        pass
    batch = spans.get_finished_spans()[-1]
    assert batch.kind is SpanKind.CONSUMER
    assert batch.context.trace_id == sent.get_span_context().trace_id
    assert batch.parent is not None
    assert batch.parent.span_id == sent.get_span_context().span_id
    assert [link.context.span_id for link in batch.links] == [sent.get_span_context().span_id]
    assert batch.attributes is not None
    assert batch.attributes["messaging.destination.partition.id"] == "3"
    assert batch.attributes["messaging.batch.message_count"] == 1


def test_a_batch_from_several_traces_links_to_each(spans: InMemorySpanExporter) -> None:
    tracer = trace.get_tracer("test", tracer_provider=tracing._provider)
    carried = []
    for name in ("first", "second"):
        with tracer.start_as_current_span(name):
            carried.append(tracing.inject_headers())
    broken = [("traceparent", b"00-zz-zz-01")]
    with tracing.consumer_batch_span("g", "t", 0, [*carried, carried[0], broken, []]):
        pass
    batch = spans.get_finished_spans()[-1]
    assert batch.parent is None, "no single cause: a root of its own"
    assert len(batch.links) == 2
    assert batch.attributes is not None
    assert batch.attributes["messaging.batch.message_count"] == 5


def test_an_http_span_names_the_route_template_never_the_path(
    spans: InMemorySpanExporter,
) -> None:
    client = _app()
    answered = client.get(f"/v1/youths/{YOUTH}", params={"q": PERSONNUMMER})
    assert answered.status_code == 200
    failed = client.get("/v1/broken")
    assert failed.status_code == 500
    assert client.get("/health").status_code == 200  # probes are not traced

    ok, broken = spans.get_finished_spans()
    assert ok.name == "GET /v1/youths/{youth_id}"
    assert ok.kind is SpanKind.SERVER
    assert ok.attributes == {
        "http.request.method": "GET",
        "http.route": "/v1/youths/{youth_id}",
        "http.response.status_code": 200,
    }
    assert broken.attributes is not None
    assert broken.attributes["http.response.status_code"] == 500
    assert not broken.status.is_ok
    assert not broken.events, "no exception event: its message may hold personal data"
    for span in (ok, broken):
        said = _values(span)
        assert str(YOUTH) not in said
        assert YOUTH.hex not in said
        assert PERSONNUMMER not in said


def test_the_trace_id_is_the_correlation_id_and_the_relay_joins_it(
    spans: InMemorySpanExporter,
) -> None:
    client = _app()
    given = uuid.uuid4()
    answered = client.get(f"/v1/youths/{YOUTH}", headers={"X-Correlation-Id": str(given)})
    made = client.get(f"/v1/youths/{YOUTH}")
    request, other = spans.get_finished_spans()
    assert answered.headers["x-correlation-id"] == str(given)
    assert request.context.trace_id == given.int
    # Without one, the id made for the request is both the log lines' and the trace's.
    assert other.context.trace_id == uuid.UUID(made.headers["x-correlation-id"]).int

    # Later, the outbox relay publishes the request's event; the consumer's batch joins the trace
    # as a child of the request's span.
    with tracing.consumer_batch_span("g", "t", 0, [tracing.correlation_headers(given)]):
        pass
    batch = spans.get_finished_spans()[-1]
    assert batch.context.trace_id == given.int
    assert batch.parent is not None
    assert batch.parent.span_id == request.context.span_id


def test_a_callers_traceparent_is_continued(spans: InMemorySpanExporter) -> None:
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    client = _app()
    answered = client.get(
        f"/v1/youths/{YOUTH}", headers={"traceparent": f"00-{trace_id}-{parent_id}-01"}
    )
    [span] = spans.get_finished_spans()
    assert span.context.trace_id == int(trace_id, 16)
    assert span.parent is not None
    assert span.parent.span_id == int(parent_id, 16)
    # The log lines' correlation id is the caller's trace id.
    assert uuid.UUID(answered.headers["x-correlation-id"]).int == int(trace_id, 16)
