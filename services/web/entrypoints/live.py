"""Live updates for open pages: `GET /live` (Server-Sent Events) and Min dag's list fragment.

`/live` streams, to a signed-in user, an event `worklists` whenever something changed for a youth
of their municipality (and only theirs): its data is `{"youths": [pseudonymous ids]}`, nothing
personal. Changes coming close together are sent as one event, at most one a `MIN_GAP_SECONDS`,
so that a busy municipality does not make every open page reload its list all the time. A comment
line every `HEARTBEAT_SECONDS` keeps proxies from closing the stream and tells a page that went
away: the stream then ends and its queue goes. The session is checked at each heartbeat without
counting as activity, so an open page keeps nobody signed in; signed out or timed out, the stream
ends (and the browser's reconnection gets 401).

`GET /min-dag/lista` renders Min dag's counts and list only, for the page to swap in when such an
event arrives (htmx); without JavaScript, a reload of /min-dag shows the same.
"""

import asyncio
import json
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Header, Request, status
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from services.web import commands
from services.web.adapters.live import Connection, LiveHub, TooManyConnections
from services.web.entrypoints.common import SIGNIN, SignInNeeded, Web

HEARTBEAT_SECONDS = 15.0
COALESCE_SECONDS = 0.1
MIN_GAP_SECONDS = 1.0
MAX_YOUTHS_PER_EVENT = 50
LIVE_ROLES = frozenset({"caseworker", "coordinator"})  # who has worklists to keep current


def live_routes(web: Web, hub: LiveHub) -> APIRouter:
    router = APIRouter()

    @router.get("/live")
    async def live(request: Request) -> Response:
        cookie = request.cookies.get(web.cookie, "")
        user = await web.sessions.get(cookie)
        if user is None:
            return Response("inte inloggad", status.HTTP_401_UNAUTHORIZED)
        if not LIVE_ROLES.intersection(user.roles):  # the worklists' users only
            return Response("ingen behörighet", status.HTTP_403_FORBIDDEN)
        try:
            connection = hub.connect(user.tenant)
        except TooManyConnections:
            return Response("för många öppna sidor", status.HTTP_503_SERVICE_UNAVAILABLE,
                            headers={"Retry-After": "30"})  # fmt: skip

        async def signed_in() -> bool:
            return await web.sessions.get(cookie, touch=False) is not None

        return StreamingResponse(
            events(hub, connection, signed_in),
            media_type="text/event-stream",
            headers={"X-Accel-Buffering": "no"},
        )

    @router.get("/min-dag/lista", response_class=HTMLResponse)
    async def my_day_list(
        request: Request,
        lista: str = "first_contact",
        vems: str = "mine",
        hx_request: Annotated[str | None, Header()] = None,
    ) -> Response:
        user = await web.sessions.get(request.cookies.get(web.cookie, ""))
        if user is None:
            if hx_request:  # the page moves to the sign-in page, not the list to it
                return Response(headers={"HX-Redirect": SIGNIN})
            raise SignInNeeded
        day = await commands.my_day(web.api, user, lista, commands.whose_of(vems))
        return web.page(request, "min_dag_lista.html", user, day=day)

    return router


async def events(
    hub: LiveHub, connection: Connection, signed_in: Callable[[], Awaitable[bool]]
) -> AsyncGenerator[str, None]:
    """The stream of one open page, until it goes, is dropped, or the session ends."""
    try:
        yield "retry: 5000\n\n"
        last_sent = float("-inf")
        checked = time.monotonic()
        while True:
            try:
                first = await asyncio.wait_for(connection.queue.get(), HEARTBEAT_SECONDS)
            except TimeoutError:
                if connection.dropped or not await signed_in():
                    return
                checked = time.monotonic()
                yield ": \n\n"
                continue
            # However busy the municipality, the session is checked as often as when quiet: a
            # signed-out or timed-out page gets nothing more.
            if time.monotonic() - checked >= HEARTBEAT_SECONDS:
                if not await signed_in():
                    return
                checked = time.monotonic()
            youths = {first.youth_id}
            pause = max(COALESCE_SECONDS, last_sent + MIN_GAP_SECONDS - time.monotonic())
            await asyncio.sleep(pause)
            while not connection.queue.empty():
                youths.add(connection.queue.get_nowait().youth_id)
            if connection.dropped:
                return
            named = sorted(y for y in youths if y is not None)[:MAX_YOUTHS_PER_EVENT]
            yield f"event: worklists\ndata: {json.dumps({'youths': named})}\n\n"
            last_sent = time.monotonic()
    finally:
        hub.disconnect(connection)
