"""A lighter path for a service's hottest routes (a caseworker recording a contact attempt, reading
a worklist page): answered by a plain ASGI handler instead of the framework's router, dependency
solver and response serialiser, which took about half of such a request's CPU (measured with
py-spy under the casework benchmark). With 50 caseworkers on two cores a request's latency is
mostly its wait for CPU, so every request's CPU is every other request's latency.

What a request keeps: `FastRoutes` is the innermost of the app's middlewares, so the correlation
id, the `request` line, the request metrics, the body limit and the database gate are the same
ones; the route stays registered with the framework, so the OpenAPI documents are unchanged; the
caller is authenticated and their role checked by the same dependency; refusals are answered by
the app's own exception handlers (the same problem JSON).

A fast route has two steps. `prepare` reads and checks the request (path, query, body, caller)
and does nothing else; whatever it does not take the simple way (a malformed value, an unknown
parameter, a refused token, anything it raised) it leaves to the framework's route, which answers
it as it always has (the body it read is handed on again). `run` does the work; what it raises
is answered by the app's exception handlers, as the framework would, or reaches the server's
error handler (500) when none takes it.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response


class Delegate(Exception):
    """`prepare` leaves the request to the framework's route."""


Prepare = Callable[[Request, dict[str, str], bytes], Awaitable[Any]]
Run = Callable[[Any], Awaitable[Response]]


@dataclass(frozen=True)
class FastRoute:
    """One route taken the light way: `path` is the documented route's template (what the
    `request` line, the metrics and the spans name: `shared.logs.route_of` reads it here)."""

    method: str
    path: str
    prepare: Prepare
    run: Run
    pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        object.__setattr__(self, "pattern", re.compile(pattern))


class FastRoutes:
    """ASGI middleware (the app's innermost): a request of a fast route is answered here, every
    other passes on to the framework."""

    def __init__(self, app: Any, routes: Sequence[FastRoute]) -> None:
        self.app = app
        self.routes = tuple(routes)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            method, path = scope["method"], scope["path"]
            for route in self.routes:
                if route.method == method and (found := route.pattern.fullmatch(path)):
                    await self._answer(route, found.groupdict(), scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _answer(
        self, route: FastRoute, params: dict[str, str], scope: Any, receive: Any, send: Any
    ) -> None:
        scope["route"] = route  # before the caller is bound: its log lines name the route
        request = Request(scope, receive)
        answer: Response
        try:
            body = await request.body() if method_has_body(route.method) else b""
        except Exception as exc:  # as the framework answers a body it could not read
            answer = await self._handled(request, exc, body_error=True)
            await answer(scope, receive, send)
            return
        try:
            prepared = await route.prepare(request, params, body)
        except Exception:  # the framework's route answers it, as it always has
            read = method_has_body(route.method)  # an empty body was read too
            await self.app(scope, _again(body, receive) if read else receive, send)
            return
        try:
            answer = await route.run(prepared)
        except Exception as exc:
            answer = await self._handled(request, exc)
        await answer(scope, receive, send)

    async def _handled(self, request: Request, exc: Exception, *, body_error: bool = False) -> Any:
        """The app's answer to `exc` (`exception_handlers`, looked up as the framework's
        exception middleware does); raised again when no handler takes it."""
        if body_error:
            exc = HTTPException(400, "There was an error parsing the body")
        handlers: Mapping[Any, Any] = request.app.exception_handlers
        if isinstance(exc, HTTPException) and exc.status_code != 500:
            by_status = handlers.get(exc.status_code)
            if by_status is not None:
                return await _called(by_status, request, exc)
        for kind in type(exc).__mro__:
            if kind is Exception:
                break  # the server's error handler's, outside the middlewares
            handler = handlers.get(kind)
            if handler is not None:
                return await _called(handler, request, exc)
        raise exc


async def _called(handler: Any, request: Request, exc: Exception) -> Any:
    answer = handler(request, exc)
    return await answer if inspect.isawaitable(answer) else answer


def method_has_body(method: str) -> bool:
    return method in ("POST", "PUT", "PATCH")


def _again(body: bytes, receive: Any) -> Any:
    """`receive` that hands the body read already over once more, then the server's messages."""
    given = False

    async def replayed() -> Any:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def json_body(request: Request, body: bytes) -> Any:
    """The request's JSON body when it is declared JSON (`application/json`), else `Delegate`."""
    declared = request.headers.get("content-type", "")
    if declared.split(";", 1)[0].strip().lower() != "application/json" or not body:
        raise Delegate
    return orjson.loads(body)


_PLAIN = re.compile(rb"[A-Za-z0-9_.:-]*")


def plain_query(query: bytes, known: frozenset[str]) -> dict[str, str]:
    """The query's parameters when each is one of `known`, given once, with a plain value (no
    escapes); else `Delegate` (the framework reads it)."""
    found: dict[str, str] = {}
    if not query:
        return found
    for pair in query.split(b"&"):
        name, equals, value = pair.partition(b"=")
        key = name.decode("ascii", "replace")
        if not equals or key not in known or key in found or not _PLAIN.fullmatch(value):
            raise Delegate
        found[key] = value.decode("ascii")
    return found


def bounded_int(value: str | None, default: int, lowest: int, highest: int) -> int:
    """A query's whole number in its bounds, written plainly (digits, no leading zero)."""
    if value is None:
        return default
    if not value.isdigit() or (len(value) > 1 and value[0] == "0"):
        raise Delegate
    number = int(value)
    if not lowest <= number <= highest:
        raise Delegate
    return number
