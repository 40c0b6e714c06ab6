"""Logs an operator can follow: one JSON object per line, from kaa's code and every library's.

Every process writes one stream on stderr. kaa's own lines (structlog) and the libraries' (uvicorn,
aiokafka, eventsourcing, asyncio, httpx …, through the standard `logging` module) go through the
same formatter, so each line is a JSON object with `timestamp`, `level`, `service`, `logger` and
`event`, plus what is bound where it was written:

- an HTTP request binds `correlation_id`, `route` (the template, never the path), and once the
  caller is authenticated `tenant` and `actor`; the request ends with one `request` line (method,
  route, status, duration_ms);
- a Kafka consumer binds `topic`, `partition`, `offset` and the event's `correlation_id` and
  `event_type` while it applies a message (`shared.messaging.consumer`).

The correlation id of a request is the caller's `X-Correlation-Id` when it is a UUID, else a new
one; it is returned in the same header and recorded in the events the request causes (their
`correlation_id`), which carry it to every consumer: one `grep` follows a school's notification
to the register's row. Lines carry ids and codes, never personal data.
"""

from __future__ import annotations

import json
import logging
import random
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

CORRELATION_HEADER = "X-Correlation-Id"
# Libraries whose INFO lines say nothing an operator needs: WARNING and above only.
QUIET_LIBRARIES = (
    "aiokafka", "kafka", "eventsourcing", "asyncio", "httpx", "httpcore", "psycopg", "asyncpg",
    "uvicorn", "uvicorn.error", "multipart",
)  # fmt: skip
# Libraries that repeat one complaint while the world is down (a broker or the database
# unreachable; aiokafka writes `Unable connect to node …` some 75 times a second): the same message
# template is written once per window, then once more with how often it was repeated. kaa says in
# its own words when a dependency goes and comes back (shared/health.py).
RATE_LIMITED = ("aiokafka", "kafka", "asyncpg", "psycopg", "eventsourcing", "asyncio")
REPEAT_WINDOW_SECONDS = 30.0

_UUID = re.compile(
    r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
)

log = structlog.get_logger(__name__)


class RepeatLimiter(logging.Filter):
    """Lets the first of a rate-limited library's repeated messages through per window; the
    first after the window carries `repeated`: how many were left out."""

    def __init__(
        self,
        window: float = REPEAT_WINDOW_SECONDS,
        names: tuple[str, ...] = RATE_LIMITED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.window = window
        self.names = names
        self.clock = clock
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if not isinstance(record.msg, str) or not record.name.startswith(self.names):
            return True
        key = (record.name, record.levelno, record.msg)  # the template: its arguments vary
        now = self.clock()
        with self._lock:
            since, left_out = self._seen.get(key, (None, 0))
            if since is not None and now - since < self.window:
                self._seen[key] = (since, left_out + 1)
                return False
            if len(self._seen) > 1000:
                self._seen.clear()
            self._seen[key] = (now, 0)
        if left_out:
            record.kaa_repeated = left_out
        return True


def _service(name: str) -> Processor:
    def add(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
        # A processor, not a context variable: threads start with an empty context.
        event.setdefault("service", name)
        return event

    return add


def _repeated(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    record = event.get("_record")
    left_out = getattr(record, "kaa_repeated", None)
    if left_out:
        event["repeated"] = left_out
    return event


# pydantic's errors quote the value they refused (`input_value='…'`): a traceback must not.
_INPUT_VALUE = re.compile(r"input_value=.*?, input_type=")


def _without_values(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    text = event.get("exception")
    if isinstance(text, str) and "input_value=" in text:
        event["exception"] = _INPUT_VALUE.sub("input_value=(not logged), input_type=", text)
    return event


def configure_logging(service: str, level: str = "INFO", stream: TextIO | None = None) -> None:
    """One JSON stream on stderr (or `stream`) for the process: kaa's lines and every library's."""
    threshold = logging.getLevelName(level.upper())
    if not isinstance(threshold, int):
        threshold = logging.INFO
    common: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        _service(service),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*common, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=structlog.stdlib.LoggerFactory(),
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*common, _repeated],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _without_values,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(RepeatLimiter())
    global _lines
    _lines = _Lines(handler, service, threshold)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(threshold)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(threshold, logging.WARNING))
    adopt_uvicorn_loggers()
    sys.excepthook = _log_uncaught


def adopt_uvicorn_loggers() -> None:
    """Send uvicorn's lines through the root handler (JSON) instead of its own plain-text ones.

    uvicorn installs its handlers when the server is made, after `configure_logging`: the
    service's lifespan calls this again once it runs.
    """
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True
    # The `request` line of `RequestContext` replaces uvicorn's plain access line.
    logging.getLogger("uvicorn.access").disabled = True


def _log_uncaught(kind: type[BaseException], value: BaseException, tb: Any) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    log.critical("the process stopped on an uncaught exception", exc_info=(kind, value, tb))


# -- the correlation id and the caller of a request ---------------------------------------------

_correlation: ContextVar[uuid.UUID | None] = ContextVar("kaa_correlation_id", default=None)


@dataclass
class _Request:
    """What the access line reports about a request; filled in as the request goes on."""

    tenant: str | None = None
    actor: str | None = None


_request: ContextVar[_Request | None] = ContextVar("kaa_request", default=None)


def accepted_correlation_id(value: str | None) -> uuid.UUID | None:
    """The caller's correlation id when it is a UUID (the form events carry), else None."""
    if value is None or len(value) > 36 or _UUID.fullmatch(value.strip()) is None:
        return None
    return uuid.UUID(value.strip())


def correlation_id() -> uuid.UUID:
    """The current request's correlation id, or a new one outside a request (a CLI command)."""
    return _correlation.get() or uuid.uuid4()


def bind_caller(tenant: str, actor: str, route: str | None = None) -> None:
    """Bind the authenticated caller (and the route template) to the request's log lines."""
    structlog.contextvars.bind_contextvars(tenant=tenant, actor=actor)
    if route is not None:
        structlog.contextvars.bind_contextvars(route=route)
    current = _request.get()
    if current is not None:
        current.tenant, current.actor = tenant, actor


def route_of(scope: MutableMapping[str, Any]) -> str:
    """The route template a request matched (`/v1/youths/{youth_id}`), never its path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


@dataclass(frozen=True)
class _Lines:
    """The handler `configure_logging` made, the service it names and the level kaa's lines
    start at (structlog's filter is fixed with it when logging is configured)."""

    handler: logging.StreamHandler[TextIO]
    service: str
    threshold: int


_lines: _Lines | None = None


def _request_line(level: int, fields: dict[str, Any]) -> None:
    """The `request` line, written straight to the process's handler: the JSON object kaa's
    lines have (the request's bound context, `level`, `logger`, `service`, `timestamp`) without
    the passage through structlog's and logging's chains, which cost as much CPU as a health
    request (measured: ~60 µs a line). Through the chains when logging is another's (a test's
    capture)."""
    lines = _lines
    if lines is None or logging.getLogger().handlers != [lines.handler]:
        log.log(level, "request", **fields)
        return
    if level < lines.threshold:  # as structlog's filter decides for the chain
        return
    event = {
        **fields, "event": "request", **structlog.contextvars.get_contextvars(), **fields,
        "level": logging.getLevelName(level).lower(), "logger": __name__, "service": lines.service,
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }  # fmt: skip
    text = json.dumps(event, default=repr) + lines.handler.terminator
    handler = lines.handler
    handler.acquire()
    try:
        handler.stream.write(text)
        handler.flush()
    except Exception:  # the chain's handler says so as logging does; the request goes on
        failed = True
    else:
        failed = False
    finally:
        handler.release()
    if failed:
        log.log(level, "request", **fields)


# Correlation ids made here: random, not secret (a caller may choose its own), so drawn from a
# generator seeded once from the system's randomness rather than a system call per request.
_ids = random.Random()  # noqa: S311 (not a secret: see above)


def new_correlation_id() -> uuid.UUID:
    return uuid.UUID(int=_ids.getrandbits(128), version=4)


class RequestContext:
    """ASGI middleware: the request's correlation id (accepted, or made), bound to every line
    written while it runs and returned in `X-Correlation-Id`; one `request` line when it ends."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope.get("headers") or () if k == b"x-correlation-id"), None)
        correlation = (
            accepted_correlation_id(given.decode("latin-1") if given is not None else None)
            or new_correlation_id()
        )
        text = str(correlation)
        header = (b"x-correlation-id", text.encode())
        request = _Request()
        status = 500

        async def answer(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*(message.get("headers") or ()), header]
            await send(message)

        started = time.perf_counter()
        correlation_token = _correlation.set(correlation)
        request_token = _request.set(request)
        # Bound and reset by token: `bound_contextvars` reads the whole context to do so.
        bound = structlog.contextvars.bind_contextvars(correlation_id=text)
        try:
            await self.app(scope, receive, answer)
        finally:
            _correlation.reset(correlation_token)
            _request.reset(request_token)
            route = route_of(scope)
            fields = {
                "method": scope.get("method"), "route": route, "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "tenant": request.tenant, "actor": request.actor,
            }  # fmt: skip
            level = logging.DEBUG if route == "/health" and status == 200 else logging.INFO
            # `route`, `tenant` and `actor` may be bound already (the caller); these win.
            structlog.contextvars.unbind_contextvars("route", "tenant", "actor")
            _request_line(level, fields)
            structlog.contextvars.reset_contextvars(**bound)
