"""What every service process counts, in Prometheus' text format at `GET /metrics`.

One registry per process (prometheus-client's default). Labels are names, codes and numbers only:
a topic, a consumer group, a partition, an event type, a route template, a status, a kommunkod, a
reason *kind* — never a youth id, a personnummer, a name or a reason's text (`reason_kind` keeps
the part before the first colon, which is a field or a kind, never a value).

The messaging layer calls the functions below; a service adds its domain's own figures (the scope
schedule's backlog, retention runs, overdue first-contact clocks) with the metric objects here.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

__all__ = [
    "CONTENT_TYPE_LATEST",
    "aggregates_held",
    "aggregates_loaded",
    "consumer_batch",
    "consumer_lag",
    "dead_letter",
    "dependency",
    "exposition",
    "forget_consumer_lag",
    "http_request",
    "readiness",
    "reason_kind",
    "relay_lag",
    "relay_published",
]

_BATCH_SIZES = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500)
_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

BATCH_MESSAGES = Histogram(
    "kaa_consumer_batch_messages",
    "Messages in each batch a consumer applied (one transaction each).",
    ["group", "topic"],
    buckets=_BATCH_SIZES,
)
BATCH_SECONDS = Histogram(
    "kaa_consumer_batch_seconds",
    "Seconds a consumer took to apply a batch, parked messages included.",
    ["group", "topic"],
    buckets=_SECONDS,
)
EVENTS_APPLIED = Counter(
    "kaa_events_applied_total",
    "Messages a consumer applied, by event type.",
    ["group", "topic", "event_type"],
)
REJECTED = Counter(
    "kaa_consumer_rejected_total",
    "Messages a consumer could not read or apply (dead-lettered or parked).",
    ["group", "topic"],
)
CONSUMER_LAG = Gauge(
    "kaa_consumer_lag_messages",
    "Messages on the partition after the consumer's position (the broker's high water mark "
    "minus the next offset to read), as the consumer last saw it.",
    ["group", "topic", "partition"],
)
DEAD_LETTERS = Counter(
    "kaa_dead_letters_total",
    "Messages published to a dead-letter topic, by the topic they came from and the reason's kind.",
    ["topic", "reason_kind"],
)
RELAY_PUBLISHED = Counter(
    "kaa_relay_published_total",
    "Integration events an outbox relay published (acknowledged by the broker).",
    ["relay"],
)
RELAY_LAG = Gauge(
    "kaa_relay_lag_events",
    "Stored events the outbox relay has not yet published.",
    ["relay"],
)
RELAY_LAST_PUBLISHED = Gauge(
    "kaa_relay_last_published_timestamp_seconds",
    "When the outbox relay last published (Unix time); with events waiting, a relay whose "
    "timestamp stops moving is stalled.",
    ["relay"],
)
DEPENDENCY_UP = Gauge(
    "kaa_dependency_up",
    "1 while the process reaches the dependency (kafka, postgresql), 0 while it does not.",
    ["dependency"],
)
READY = Gauge(
    "kaa_ready",
    "1 while the process is ready (its dependencies reachable, every loop running: what "
    "/health/ready answers), 0 while it is not; a process that is not ready still answers here.",
)
HTTP_SECONDS = Histogram(
    "kaa_http_request_seconds",
    "HTTP requests by route template, method and status.",
    ["route", "method", "status"],
    buckets=_SECONDS,
)

AGGREGATES_LOADED = Counter(
    "kaa_aggregates_loaded_total",
    "Aggregates the writer's batches needed, by where they came from: held (in memory between "
    "batches, KAA_AGGREGATE_CACHE_SIZE), read (from the event store), new (not stored yet).",
    ["how"],
)
AGGREGATES_HELD = Gauge(
    "kaa_aggregates_held",
    "Aggregates held in memory between batches (at most KAA_AGGREGATE_CACHE_SIZE).",
)
_HELD, _READ, _NEW = (AGGREGATES_LOADED.labels(how) for how in ("held", "read", "new"))

_KIND = re.compile(r"[A-Za-z_][\w.\[\]-]{0,60}")


def reason_kind(reason: str) -> str:
    """The part of a dead letter's reason before its first colon when it is a field name or a
    kind (`envelope.event_type`, `message`), else `other`: never the reason's values."""
    head = reason.split(":", 1)[0].strip()
    return head if _KIND.fullmatch(head) else "other"


def consumer_batch(
    group: str,
    topic: str,
    *,
    applied: int,
    rejected: int,
    seconds: float,
    event_types: Iterable[str] = (),
) -> None:
    """A batch applied: its size, its time, and each applied message's event type."""
    BATCH_MESSAGES.labels(group, topic).observe(applied + rejected)
    BATCH_SECONDS.labels(group, topic).observe(seconds)
    if rejected:
        REJECTED.labels(group, topic).inc(rejected)
    counts: dict[str, int] = {}
    for kind in event_types:
        counts[kind] = counts.get(kind, 0) + 1
    for kind, count in counts.items():
        EVENTS_APPLIED.labels(group, topic, kind).inc(count)


def consumer_lag(group: str, topic: str, partition: int, lag: int) -> None:
    CONSUMER_LAG.labels(group, topic, str(partition)).set(max(lag, 0))


def forget_consumer_lag(group: str, topic: str, partition: int) -> None:
    """The partition went to another member of the group: its lag is that member's to say."""
    with contextlib.suppress(KeyError):  # never measured here
        CONSUMER_LAG.remove(group, topic, str(partition))


def dead_letter(source_topic: str, reason: str) -> None:
    DEAD_LETTERS.labels(source_topic, reason_kind(reason)).inc()


def relay_published(relay: str, count: int) -> None:
    if count:
        RELAY_PUBLISHED.labels(relay).inc(count)
        RELAY_LAST_PUBLISHED.labels(relay).set(time.time())


def relay_lag(relay: str, pending: int) -> None:
    RELAY_LAG.labels(relay).set(max(pending, 0))


def dependency(name: str, up: bool) -> None:
    DEPENDENCY_UP.labels(name).set(1 if up else 0)


def readiness(ready: Callable[[], bool]) -> None:
    """Have `kaa_ready` read `ready()` at each scrape (0 if it fails): the figure is the state
    at the scrape, whether or not anyone asked /health/ready since."""

    def value() -> float:
        try:
            return 1.0 if ready() else 0.0
        except Exception:
            return 0.0

    READY.set_function(value)


def http_request(route: str, method: str, status: int, seconds: float) -> None:
    HTTP_SECONDS.labels(route, method, str(status)).observe(seconds)


def aggregates_loaded(*, held: int, read: int, new: int) -> None:
    """The aggregates a batch needed, by where they came from."""
    _HELD.inc(held)
    _READ.inc(read)
    _NEW.inc(new)


def aggregates_held(count: int) -> None:
    AGGREGATES_HELD.set(count)


def exposition(registry: Any = None) -> bytes:
    """The process's metrics in Prometheus' text format."""
    return generate_latest(registry) if registry is not None else generate_latest()
