"""The outreach service's two hottest routes the light way (`shared.casework.entrypoints.fast`):
recording a contact attempt and reading a worklist page, a caseworker's everyday requests.

Each answers as its documented route in `entrypoints.http` does (the same status, headers and
bytes: tests hold them equal); a request in any other shape (another parameter, an escaped value,
a body that does not validate, a refused token) is left to that route.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from services.outreach import commands
from services.outreach.adapters.worklists import LIST_NAMES
from services.outreach.commands import OutreachHandlers
from services.outreach.entrypoints.http import MAX_OFFSET, ContactAttemptRequest, page_answer
from shared.auth import Principal
from shared.casework.entrypoints.fast import (
    Delegate,
    FastRoute,
    bounded_int,
    json_body,
    plain_query,
)
from shared.casework.entrypoints.http import CaseRoutes

_WORKLIST_PARAMETERS = frozenset({"limit", "offset", "state"})


def youth_id_of(text: str) -> uuid.UUID:
    """A youth id in its written form (36 characters), as the route's parameter reads it."""
    if len(text) != 36:
        raise Delegate
    return uuid.UUID(text)


def fast_routes(context: CaseRoutes, handlers: OutreachHandlers) -> list[FastRoute]:
    async def prepare_attempt(
        request: Request, params: dict[str, str], body: bytes
    ) -> tuple[Principal, commands.AttemptContact]:
        youth_id = youth_id_of(params["youth_id"])
        given = ContactAttemptRequest.model_validate(json_body(request, body))
        caller = await context.caseworker(request)
        return caller, commands.AttemptContact(
            youth_id, given.channel, given.outcome, given.attempted_at, given.contact_attempt_id
        )

    async def attempt_contact(prepared: tuple[Principal, commands.AttemptContact]) -> Response:
        caller, command = prepared
        done = await handlers.attempt_contact(caller, command)
        answer = {"contact_attempt_id": str(done.contact_attempt_id),
                  "youth_id": str(command.youth_id), "recorded": done.recorded}  # fmt: skip
        return Response(
            orjson.dumps(answer), status_code=201 if done.recorded else 200,
            media_type="application/json",
        )  # fmt: skip

    async def prepare_worklist(
        request: Request, params: dict[str, str], body: bytes
    ) -> tuple[Principal, commands.WorklistQuery, str]:
        name: Any = params["name"]
        if name not in LIST_NAMES:
            raise Delegate
        query = plain_query(request.scope["query_string"], _WORKLIST_PARAMETERS)
        state = query.get("state", "open")
        if state not in ("open", "closed"):
            raise Delegate
        limit = bounded_int(query.get("limit"), 50, 1, 500)
        offset = bounded_int(query.get("offset"), 0, 0, MAX_OFFSET)
        caller = await context.caseworker(request)
        wanted = commands.WorklistQuery(
            name, closed=state == "closed", limit=limit, offset=offset, teams=caller.teams
        )
        return caller, wanted, state

    async def worklist(prepared: tuple[Principal, commands.WorklistQuery, str]) -> Response:
        caller, query, state = prepared
        total, items = await handlers.worklist(caller, query)
        return page_answer(
            {"worklist": query.name, "state": state, "total": total, "limit": query.limit,
             "offset": query.offset, "items": items}
        )  # fmt: skip

    return [
        FastRoute("POST", "/v1/youths/{youth_id}/contact-attempts", prepare_attempt,
                  attempt_contact),
        FastRoute("GET", "/v1/worklists/{name}", prepare_worklist, worklist),
    ]  # fmt: skip
