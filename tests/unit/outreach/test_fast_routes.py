"""The two routes outreach answers the light way (`entrypoints.fast`) answer as their documented
routes do: the same status, content type and bytes for each request, whether taken the light way
(recorded, retried, each refusal of the domain, a date that cannot be true, the database gone, a
bug) or left to the framework (a malformed id, body or parameter, a refused caller)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.outreach import commands
from services.outreach.adapters.outbound import RELAYED, to_integration_event
from services.outreach.adapters.store import OutreachApplication
from services.outreach.entrypoints.fast import fast_routes
from services.outreach.entrypoints.http import routes
from shared.casework.bootstrap import create_case_service
from shared.casework.commands import CaseClock
from shared.casework.domain import CaseNotFound, CommandRefused, NotInScope
from shared.casework.entrypoints.fast import FastRoute
from tests.unit.apps import bearer, offline_settings
from tests.unit.outreach.test_worklist_answer import items

TODAY = date(2026, 3, 2)
REFUSALS: dict[str, Exception] = {
    "not-found": CaseNotFound(),
    "not-in-scope": NotInScope(),
    "refused": CommandRefused("outcome", "not allowed on this case", conflict=True),
    "database": ConnectionRefusedError("the database went"),
    "bug": RuntimeError("a bug"),
}
ITEMS = items()  # one page's items, the same for every answer
YOUTHS = {name: str(uuid.uuid5(uuid.NAMESPACE_URL, name)) for name in [*REFUSALS, "new", "again"]}


class Handlers:
    """The use cases as the routes call them, answering from the youth's id."""

    clock = CaseClock(TODAY)

    async def attempt_contact(
        self, caller: Any, command: commands.AttemptContact
    ) -> commands.AttemptRecorded:
        self.clock.check_past("attempted_at", command.attempted_at)
        for name, refusal in REFUSALS.items():
            if str(command.youth_id) == YOUTHS[name]:
                raise refusal
        attempt = command.contact_attempt_id or uuid.UUID(int=7)
        again = str(command.youth_id) == YOUTHS["again"]
        return commands.AttemptRecorded(command.youth_id, not again, attempt)

    async def worklist(self, caller: Any, query: commands.WorklistQuery) -> tuple[int, list[Any]]:
        if query.offset == 666:
            raise ConnectionRefusedError("the database went")
        return 120, ITEMS[: query.limit]


@contextlib.contextmanager
def client(fast: bool, taken: list[str]) -> Iterator[TestClient]:
    def counted(route: FastRoute) -> FastRoute:
        async def run(prepared: Any) -> Any:
            taken.append(route.path)
            return await route.run(prepared)

        return FastRoute(route.method, route.path, route.prepare, run)

    patch = pytest.MonkeyPatch()
    patch.setenv("KAA_FAST_ROUTES", "1" if fast else "0")
    try:
        app = create_case_service(
            name="outreach", settings=offline_settings(), application_class=OutreachApplication,
            mapper=to_integration_event, relayed=RELAYED,
            routes=lambda context: routes(context, Handlers()),  # type: ignore[arg-type]
            fast_routes=lambda context: [
                counted(r) for r in fast_routes(context, Handlers())  # type: ignore[arg-type]
            ],
        )  # fmt: skip
        yield TestClient(app, raise_server_exceptions=False)
    finally:
        patch.undo()


CASEWORKER = bearer("caseworker")
ATTEMPT = {"channel": "phone", "outcome": "reached", "attempted_at": "2026-02-20T10:00:00+01:00"}
# (method, path, body, headers): a request each; None for the body: none sent.
REQUESTS: list[tuple[str, str, Any, dict[str, str]]] = [
    *[("POST", f"/v1/youths/{y}/contact-attempts", ATTEMPT, CASEWORKER) for y in YOUTHS.values()],
    ("POST", f"/v1/youths/{YOUTHS['new']}/contact-attempts",
     {**ATTEMPT, "contact_attempt_id": str(uuid.UUID(int=9))}, CASEWORKER),
    ("POST", f"/v1/youths/{YOUTHS['new']}/contact-attempts",
     {**ATTEMPT, "attempted_at": "2026-03-09T10:00:00+01:00"}, CASEWORKER),  # the future
    ("POST", f"/v1/youths/{YOUTHS['new']}/contact-attempts",
     {**ATTEMPT, "attempted_at": "1899-12-31T10:00:00+01:00"}, CASEWORKER),
    ("POST", f"/v1/youths/{YOUTHS['new']}/contact-attempts", {**ATTEMPT, "x": 1}, CASEWORKER),
    ("POST", f"/v1/youths/{YOUTHS['new']}/contact-attempts", {"channel": "pigeon"}, CASEWORKER),
    ("POST", f"/v1/youths/{YOUTHS['new']}/contact-attempts", b"{not json", CASEWORKER),
    ("POST", f"/v1/youths/{YOUTHS['new']}/contact-attempts", b"", CASEWORKER),
    ("POST", f"/v1/youths/{YOUTHS['new']}/contact-attempts", [1, 2], CASEWORKER),
    ("POST", f"/v1/youths/{YOUTHS['new'].replace('-', '')}/contact-attempts", ATTEMPT,
     CASEWORKER),
    ("POST", "/v1/youths/not-a-youth/contact-attempts", ATTEMPT, CASEWORKER),
    ("POST", f"/v1/youths/{YOUTHS['new']}/contact-attempts", ATTEMPT, {}),
    ("POST", f"/v1/youths/{YOUTHS['new']}/contact-attempts", ATTEMPT, bearer("inspector")),
    ("POST", f"/v1/youths/{YOUTHS['new']}/contact-attempts", ATTEMPT,
     bearer("caseworker", tenant="0181")),
    ("POST", f"/v1/youths/{YOUTHS['new']}/contact-attempts", ATTEMPT,
     {"Authorization": "Bearer not.a.token"}),
    *[("GET", f"/v1/worklists/{q}", None, CASEWORKER) for q in [
        "first_contact", "recontact?limit=2&offset=10", "turning_20?state=closed&limit=1",
        "follow_up?offset=666", "first_contact?limit=0", "first_contact?limit=501",
        "first_contact?limit=05", "first_contact?offset=-1", "first_contact?state=shut",
        "first_contact?limit=2&limit=3", "first_contact?mine=true", "first_contact?assigned=none",
        "first_contact?limit=%32", "first_contact?limit", "nowhere", "first_contact/",
    ]],
    ("GET", "/v1/worklists/first_contact", None, bearer("inspector")),
    ("GET", "/v1/worklists/first_contact", None, {}),
    ("GET", "/v1/worklists/first_contact", None, {**CASEWORKER, "X-Kaa-Tenant": "0181"}),
]  # fmt: skip


def answers(fast: bool) -> tuple[list[tuple[int, str | None, bytes]], list[str]]:
    taken: list[str] = []
    with client(fast, taken) as http:
        answered = []
        for method, path, body, headers in REQUESTS:
            sent: dict[str, Any] = {"headers": headers}
            if isinstance(body, bytes):
                sent["content"] = body
                sent["headers"] = {**headers, "Content-Type": "application/json"}
            elif body is not None:
                sent["json"] = body
            response = http.request(method, path, **sent)
            answered.append(
                (response.status_code, response.headers.get("content-type"), response.content)
            )
    return answered, taken


def test_each_request_gets_the_answer_its_documented_route_gives() -> None:
    slow, not_taken = answers(fast=False)
    fast, taken = answers(fast=True)
    assert not not_taken
    for request, before, after in zip(REQUESTS, slow, fast, strict=True):
        assert after == before, request[:2]
    statuses = {status for status, _, _ in slow}
    assert {200, 201, 401, 403, 404, 409, 422, 500, 503} <= statuses
    # The everyday requests (and each refusal from the use case) went the light way.
    assert taken.count("/v1/youths/{youth_id}/contact-attempts") == len(YOUTHS) + 2
    # Four, and the page the framework's redirect of "first_contact/" leads to.
    assert taken.count("/v1/worklists/{name}") == 5


def test_the_request_line_names_the_route_template(capsys: pytest.CaptureFixture[str]) -> None:
    taken: list[str] = []
    with client(True, taken) as http:
        http.get("/v1/worklists/recontact?limit=3", headers=CASEWORKER)
    assert taken == ["/v1/worklists/{name}"]
    written = capsys.readouterr()
    [line] = [s for s in (written.out + written.err).splitlines() if " request " in s]
    assert "route=/v1/worklists/{name}" in line
    assert "status=200" in line
    assert "tenant=0180" in line
