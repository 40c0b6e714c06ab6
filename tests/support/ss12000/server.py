"""An SS 12000 server for tests and benchmarks, on loopback, following Skolverket's openapi.yml.

Skolverket's own reference API needs MongoDB; this one keeps its data in memory and answers
`/persons` (and `/persons/{id}`), `/deletedEntities` and `/subscriptions`, behind an OAuth2
client-credentials token endpoint (`/token`). Every request it receives is checked against
openapi.yml (a bad one is answered 400 with an `Error`), and every response it gives is validated
with openapi-core before it is sent; a response that does not fit is recorded in `invalid` (which
a test asserts empty). The test controls failures (`fail`, `fail_always`), malformed and garbled
pages, and the clock (`advance`).

    with Ss12000Server() as school:
        school.put_person(school.person("200801019999", given="A", family="B",
                                        enrolments=[school.enrolment(UNIT, "GY")]))
        ...  # the client under test reads school.base_url with a token from school.token_url
        assert school.invalid == []
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Any

import httpx
import orjson

from tests.support.ss12000 import api, spec
from tests.support.ss12000.api import Credentials, Incoming, Reply
from tests.support.ss12000.store import Store
from tests.support.ss12000.transport import LoopbackServer

ENDPOINTS = ("Activity", "Duty", "Group", "Person", "Organisation")  # openapi.yml EndPointsEnum
_ERROR_CODES = {
    401: "unauthorized",
    403: "forbidden",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}

Query = dict[str, list[str]]


@dataclass
class _Failure:
    path: str
    status: int
    remaining: int | None  # None: until heal()
    retry_after: int | None

    def applies_to(self, path: str) -> bool:
        # The token endpoint fails only when it is named: fail_always(503) takes the API down.
        return path.startswith(self.path) and (
            path != api.TOKEN_PATH or self.path == api.TOKEN_PATH
        )


def _uuid(value: str, what: str) -> str:
    try:
        uuid.UUID(value)
    except ValueError:
        raise ValueError(f"{what} must be a UUID (openapi.yml: format uuid)") from None
    return value


class Ss12000Server:
    def __init__(
        self,
        *,
        client_id: str = "kaa",
        client_secret: str = "s3cret",  # noqa: S107  # a test server's made-up credentials
        validate: bool | int = True,
        subscription_ttl: timedelta = timedelta(hours=1),
        token_ttl: timedelta = timedelta(minutes=10),
        require_token: bool = True,
    ) -> None:
        """validate: True every response, False none, N every Nth (benchmarks)."""
        self._every = (1 if validate else 0) if isinstance(validate, bool) else int(validate)
        self._store = Store(subscription_ttl=subscription_ttl, token_ttl=token_ttl)
        self._lock = self._store.lock  # one lock for everything the threads share
        self._credentials = Credentials(client_id, client_secret, require_token)
        self.requests: list[tuple[str, str, Query]] = []
        self.invalid: list[str] = []  # responses that broke openapi.yml: which, and why
        self.undocumented: list[str] = []  # statuses openapi.yml does not document (see spec.py)
        self.checked = 0  # responses validated
        self._answered = 0
        self._failures: list[_Failure] = []
        self._malformed: list[list[object]] = []
        self._garbled = 0
        self._corruptions: list[tuple[str, Callable[[Any], object]]] = []
        self._http: LoopbackServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""
        self.token_url = ""

    # -- running ---------------------------------------------------------------------------------

    def start(self) -> str:
        spec.warm()
        self._http = LoopbackServer(self._handle)
        port = self._http.server_address[1]
        self.base_url = f"http://127.0.0.1:{port}"
        self.token_url = self.base_url + api.TOKEN_PATH
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        http = self._http
        if http is None:
            return
        http.shutdown()
        http.close_connections()
        http.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._http, self._thread = None, None

    def __enter__(self) -> Ss12000Server:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- data ------------------------------------------------------------------------------------

    def put_person(self, person: dict[str, Any], *, modified: datetime | None = None) -> None:
        """Stores a copy; meta.created stays from the first put, meta.modified = `modified` or now."""
        self._store.put([person], modified)

    def put_persons(
        self, persons: Sequence[dict[str, Any]], *, modified: datetime | None = None
    ) -> None:
        self._store.put(list(persons), modified)

    def delete_person(self, person_id: str, *, at: datetime | None = None) -> None:
        """Removed from /persons, listed in /deletedEntities as deleted `at` (now by default)."""
        self._store.delete(person_id, at)

    @staticmethod
    def person(
        civic_no: str,
        *,
        given: str,
        family: str,
        enrolments: list[dict[str, Any]],
        person_id: str | None = None,
    ) -> dict[str, Any]:
        """An SS 12000 Person (without meta: put_person sets it)."""
        return {
            "id": _uuid(person_id, "person_id") if person_id else str(uuid.uuid4()),
            "givenName": given,
            "familyName": family,
            "eduPersonPrincipalNames": [],
            "civicNo": {"value": civic_no, "nationality": "SE"},
            "enrolments": enrolments,
        }

    @staticmethod
    def enrolment(
        school_unit: str,
        school_type: str = "GY",
        *,
        start: date | None = None,
        end: date | None = None,
        cancelled: bool = False,
        school_year: int | None = None,
    ) -> dict[str, Any]:
        """An Enrolment; start/end as SS 12000:2020's startDate/endDate (not in openapi.yml, which
        does not forbid extra properties)."""
        enrolment: dict[str, Any] = {
            "enroledAt": {"id": _uuid(school_unit, "school_unit")},
            "schoolType": school_type,
            "cancelled": cancelled,
        }
        if school_year is not None:
            enrolment["schoolYear"] = school_year
        if start is not None:
            enrolment["startDate"] = start.isoformat()
        if end is not None:
            enrolment["endDate"] = end.isoformat()
        return enrolment

    # -- clock and tokens ------------------------------------------------------------------------

    def now(self) -> datetime:
        return self._store.now()

    def advance(self, delta: timedelta) -> None:
        """Moves the server's clock (tokens and subscriptions expire by it; meta.modified uses it)."""
        with self._lock:
            self._store.offset += delta

    def revoke_tokens(self) -> None:
        with self._lock:
            self._store.tokens.clear()

    # -- failures --------------------------------------------------------------------------------

    def fail(
        self, status: int, *, times: int = 1, path: str = "/persons", retry_after: int | None = None
    ) -> None:
        """The next `times` requests under `path` are answered `status` with an Error body."""
        with self._lock:
            self._failures.append(_Failure(path, status, times, retry_after))

    def fail_always(self, status: int, *, path: str = "") -> None:
        with self._lock:
            self._failures.append(_Failure(path, status, None, None))

    def heal(self) -> None:
        with self._lock:
            self._failures.clear()

    def malform_next_page(self, bad_items: list[object]) -> None:
        """The next /persons page also carries these raw items in `data` (after its first person).
        That page is validated without them: deliberate, so not counted in `invalid`."""
        with self._lock:
            self._malformed.append(list(bad_items))

    def garble_next_page(self) -> None:
        """The next /persons answer is 200 with half its JSON: not JSON (and not validated)."""
        with self._lock:
            self._garbled += 1

    def corrupt_next_response(
        self, mutate: Callable[[Any], object], *, path: str = "/persons"
    ) -> None:
        """Test-only: `mutate` changes (in place) the JSON body of the next answer under `path`,
        before validation: proves a response breaking openapi.yml lands in `invalid`."""
        with self._lock:
            self._corruptions.append((path, mutate))

    # -- subscriptions ---------------------------------------------------------------------------

    @property
    def subscriptions(self) -> dict[str, dict[str, Any]]:
        """id -> Subscription as stored (name, target, resourceTypes, expires), expired ones too
        (until deleted); a copy taken under the lock."""
        with self._lock:
            return {sid: dict(s) for sid, s in self._store.subscriptions.items()}

    def notify(self, *, modified: Sequence[str] = ("Person",), deleted: bool = False) -> list[int]:
        """POSTs a webhook_callback to every unexpired subscription's target that takes one of the
        types (or any, when `deleted`); returns the statuses (0: no answer)."""
        unknown = [m for m in modified if m not in ENDPOINTS]
        if unknown:
            raise ValueError(f"modified: not in EndPointsEnum: {unknown}")
        statuses: list[int] = []
        with httpx.Client(timeout=10) as client:
            for subscription in self._store.live_subscriptions():
                wanted = {
                    t.get("resource") for t in subscription["resourceTypes"] if isinstance(t, dict)
                }
                types = [m for m in modified if m in wanted] if wanted else list(modified)
                if not types and not deleted:
                    continue
                body = {"modifiedEntites": types, "deletedEntities": deleted}  # sic, openapi.yml
                try:
                    answer = client.post(
                        subscription["target"],
                        content=orjson.dumps(body),
                        headers={"Content-Type": "application/json"},
                    )
                    statuses.append(answer.status_code)
                except httpx.HTTPError:
                    statuses.append(0)
        return statuses

    # -- serving ---------------------------------------------------------------------------------

    def _handle(self, incoming: Incoming) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.requests.append((incoming.method, incoming.path, incoming.query))
            failure = self._take_failure(incoming.path)
        try:
            reply = failure or api.dispatch(self._store, self._credentials, incoming)
            self._tamper(incoming, reply)
            body = reply.body()
            self._check(incoming, reply, body)
        except Exception as exc:  # a bug in the test server: a test must see it
            with self._lock:
                self.invalid.append(
                    f"{incoming.method} {incoming.path}: the server failed ({type(exc).__name__}: {exc})"
                )
            reply = api.error(500, "internal_error", "the test server failed")
            body = reply.body()
        headers = dict(reply.headers)
        if body:
            headers.setdefault("Content-Type", "application/json")
        return reply.status, headers, body

    def _take_failure(self, path: str) -> Reply | None:
        """Called under the lock."""
        for failure in self._failures:
            if failure.applies_to(path):
                if failure.remaining is not None:
                    failure.remaining -= 1
                    if failure.remaining <= 0:
                        self._failures.remove(failure)
                headers = (
                    {} if failure.retry_after is None else {"Retry-After": str(failure.retry_after)}
                )
                code = _ERROR_CODES.get(failure.status, "error")
                reply = api.error(
                    failure.status, code, f"failing on purpose ({failure.status})", **headers
                )
                reply.in_spec = path != api.TOKEN_PATH
                return reply
        return None

    def _tamper(self, incoming: Incoming, reply: Reply) -> None:
        listing = incoming.method == "GET" and incoming.path == "/persons" and reply.status == 200
        with self._lock:
            malformed = self._malformed.pop(0) if listing and self._malformed else None
            garbled = listing and self._garbled > 0
            if garbled:
                self._garbled -= 1
            mutate = None
            for index, (path, candidate) in enumerate(self._corruptions):
                if incoming.path.startswith(path) and reply.document is not None:
                    mutate = candidate
                    del self._corruptions[index]
                    break
        if mutate is not None:
            reply.document = orjson.loads(orjson.dumps(reply.document))
            mutate(reply.document)
        if malformed is not None:
            reply.checked_document = reply.document
            good = list(reply.document["data"])
            reply.document = {**reply.document, "data": good[:1] + malformed + good[1:]}
        if garbled:
            whole = reply.body()
            reply.raw = whole[: max(1, len(whole) // 2)]
            reply.in_spec = False

    def _check(self, incoming: Incoming, reply: Reply, body: bytes) -> None:
        if not reply.in_spec:
            return
        with self._lock:
            number = self._answered
            self._answered += 1
        if not self._every or number % self._every:
            return
        checked = body if reply.checked_document is None else orjson.dumps(reply.checked_document)
        problem = spec.check_response(
            incoming.method,
            incoming.path,
            incoming.query,
            incoming.body,
            incoming.content_type,
            reply.status,
            checked,
            "application/json" if checked else "",
        )
        with self._lock:
            self.checked += 1
            if problem is not None:
                where = self.undocumented if problem.undocumented else self.invalid
                where.append(
                    f"{incoming.method} {incoming.path} -> {reply.status}: {problem.message}"
                )
