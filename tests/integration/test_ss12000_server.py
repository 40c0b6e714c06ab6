"""The SS 12000 test server (tests/support/ss12000) the connector's tests and benchmark stand on.

A real HTTP server on loopback; every answer it gives is validated against Skolverket's
openapi.yml, and these tests end by asserting that none broke it (`invalid == []`). No Kafka or
PostgreSQL needed.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import orjson
import pytest

from tests.support.ss12000 import Ss12000Server

UNIT = str(uuid.uuid4())
T0 = datetime(2026, 3, 2, 8, tzinfo=UTC)
CIVIC = "200801019999"  # a test number; the server does not check personnummer checksums


@pytest.fixture
def school() -> Iterator[Ss12000Server]:
    with Ss12000Server() as server:
        yield server
        assert server.invalid == []


def connect(server: Ss12000Server) -> httpx.Client:
    """A client with a token from the server's client-credentials endpoint."""
    token = httpx.post(
        server.token_url, data={"grant_type": "client_credentials"}, auth=("kaa", "s3cret")
    )
    assert token.status_code == 200
    assert token.json()["token_type"] == "Bearer"
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    return httpx.Client(base_url=server.base_url, headers=bearer, timeout=10)


def put(server: Ss12000Server, count: int, *, start: datetime = T0) -> list[str]:
    ids = []
    for n in range(count):
        person = server.person(
            CIVIC,
            given=f"Elev {n}",
            family="Testsson",
            enrolments=[
                server.enrolment(UNIT, "GY", start=date(2025, 8, 18), end=date(2028, 6, 9))
            ],
        )
        server.put_person(person, modified=start + timedelta(seconds=n // 2))  # pairs share a time
        ids.append(person["id"])
    return ids


def test_pages_follow_a_snapshot_while_the_data_changes(school: Ss12000Server) -> None:
    ids = put(school, 250)
    with connect(school) as client:
        first = client.get("/persons", params={"limit": 100}).json()
        assert len(first["data"]) == 100
        keys = [(p["meta"]["modified"], p["id"]) for p in first["data"]]
        assert keys == sorted(keys)  # ordered by (meta.modified, id)
        assert first["data"][0]["enrolments"][0]["endDate"] == "2028-06-09"

        # Meanwhile: a person read already is changed (now sorts last), one is added, one deleted.
        changed = dict(first["data"][0], givenName="Ändrad")
        school.put_person(changed, modified=T0 + timedelta(days=1))
        newcomer = put(school, 1, start=T0 + timedelta(days=2))[0]
        school.delete_person(ids[-1])

        second = client.get("/persons", params={"pageToken": first["pageToken"]}).json()
        again = client.get("/persons", params={"pageToken": first["pageToken"]}).json()
        assert [p["id"] for p in again["data"]] == [p["id"] for p in second["data"]]  # a retry
        third = client.get("/persons", params={"pageToken": second["pageToken"]}).json()
        assert third["pageToken"] is None
    seen = [p["id"] for page in (first, second, third) for p in page["data"]]
    assert len(seen) == len(set(seen)) == 249
    assert set(seen) == set(ids[:-1])
    assert newcomer not in seen
    assert school.checked >= 4


def test_modified_after_is_inclusive_with_any_offset(school: Ss12000Server) -> None:
    ids = put(school, 6)  # pairs at T0, T0+1 s, T0+2 s
    with connect(school) as client:
        stockholm = (T0 + timedelta(seconds=1)).astimezone(timezone(timedelta(hours=1)))
        found = client.get("/persons", params={"meta.modified.after": stockholm.isoformat()})
        assert found.status_code == 200
        assert {p["id"] for p in found.json()["data"]} == set(ids[2:])
        before = client.get("/persons", params={"meta.modified.before": T0.isoformat()}).json()
        assert {p["id"] for p in before["data"]} == set(ids[:2])
        later = client.get("/persons", params={"meta.modified.after": "2030-01-01T00:00:00Z"})
        assert later.json() == {"data": [], "pageToken": None}


def test_bad_queries_are_refused_with_an_error_body(school: Ss12000Server) -> None:
    put(school, 3)
    with connect(school) as client:
        first = client.get("/persons", params={"limit": 1}).json()
        combined = client.get(
            "/persons",
            params={"pageToken": first["pageToken"], "meta.modified.after": T0.isoformat()},
        )
        assert combined.status_code == 400
        assert "meta.modified.after" in combined.json()["message"]
        assert client.get("/persons", params={"pageToken": "nonsense"}).status_code == 400
        zero = client.get("/persons", params={"limit": 0})
        assert zero.status_code == 400
        assert "limit" in zero.json()["message"]
        # An unencoded "+" arrives as a space: not a date-time, and the value is not echoed.
        bad = client.get("/persons?meta.modified.after=2026-03-02T08:00:00+01:00")
        assert bad.status_code == 400
        assert set(bad.json()) == {"code", "message"}
        assert "2026-03-02" not in bad.json()["message"]
        assert client.get("/deletedEntities", params={"entities": "Pupil"}).status_code == 400
        assert client.post("/subscriptions", json={"name": "x"}).status_code == 400


def test_deletions_are_listed_on_or_after_a_time(school: Ss12000Server) -> None:
    ids = put(school, 4)
    school.delete_person(ids[0], at=T0)
    school.delete_person(ids[1], at=T0 + timedelta(hours=1))
    school.delete_person(ids[2], at=T0 + timedelta(hours=2))
    with pytest.raises(KeyError):
        school.delete_person(ids[0])
    with connect(school) as client:
        after = {"after": (T0 + timedelta(hours=1)).isoformat(), "entities": "Person"}
        listed = client.get("/deletedEntities", params=after).json()
        assert listed == {"data": {"persons": [ids[1], ids[2]]}, "pageToken": None}
        groups = client.get("/deletedEntities", params={"entities": "Group"}).json()
        assert groups["data"] == {"groups": []}
        first = client.get("/deletedEntities", params={"limit": 2}).json()
        rest = client.get("/deletedEntities", params={"pageToken": first["pageToken"]}).json()
        assert first["data"]["persons"] + rest["data"]["persons"] == ids[:3]
        assert rest["pageToken"] is None
        assert [p["id"] for p in client.get("/persons").json()["data"]] == [ids[3]]
        assert client.get(f"/persons/{ids[0]}").status_code == 404
        assert client.get(f"/persons/{ids[3]}").json()["id"] == ids[3]


def test_subscriptions_are_created_renewed_deleted_and_expire() -> None:
    with Ss12000Server(token_ttl=timedelta(days=1)) as school:
        subscriptions_lifecycle(school)
        assert school.invalid == []
    assert [u.split(" -> ")[1] for u in school.undocumented] == [
        "401: status 401 is not documented"
    ]


def subscriptions_lifecycle(school: Ss12000Server) -> None:
    body = {
        "name": "kaa 0180",
        "target": "http://127.0.0.1:9/cb",
        "resourceTypes": [{"resource": "Person"}],
    }
    with connect(school) as client:
        created = client.post("/subscriptions", json=body)
        assert created.status_code == 201
        sid = created.json()["id"]
        assert uuid.UUID(sid)
        expires = datetime.fromisoformat(created.json()["expires"])
        assert abs(expires - (school.now() + timedelta(hours=1))) < timedelta(seconds=5)
        assert school.subscriptions[sid]["target"] == body["target"]

        school.advance(timedelta(minutes=50))
        renewed = client.patch(f"/subscriptions/{sid}", json={"expires": "2100-01-01T00:00:00Z"})
        assert renewed.status_code == 200
        assert datetime.fromisoformat(renewed.json()["expires"]) > expires  # now + ttl, not 2100
        soon = (school.now() + timedelta(minutes=5)).isoformat()
        shorter = client.patch(f"/subscriptions/{sid}", json={"expires": soon}).json()
        assert datetime.fromisoformat(shorter["expires"]) == datetime.fromisoformat(soon)
        assert client.patch(f"/subscriptions/{sid}").status_code == 200  # no body: now + ttl

        school.advance(timedelta(hours=2))  # expired: gone for renewal, no callbacks
        assert school.notify() == []
        assert client.patch(f"/subscriptions/{sid}").status_code == 404
        assert client.delete(f"/subscriptions/{sid}").status_code == 204
        assert sid not in school.subscriptions
        assert client.delete(f"/subscriptions/{sid}").status_code == 404
        assert client.patch(f"/subscriptions/{uuid.uuid4()}").status_code == 404
        # a client that renews without a fresh token: 401, which openapi.yml's PATCH lacks
        client.headers["Authorization"] = "Bearer stale"
        assert client.patch(f"/subscriptions/{sid}").status_code == 401
    assert [u.split(" -> ")[1] for u in school.undocumented] == [
        "401: status 401 is not documented"
    ]


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, Any]]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, orjson.loads(body)))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """quiet"""


def test_notify_posts_webhook_callbacks_to_live_subscriptions(school: Ss12000Server) -> None:
    class Handler(_Receiver):
        received: ClassVar[list[tuple[str, Any]]] = []

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    target = f"http://127.0.0.1:{receiver.server_address[1]}"
    try:
        with connect(school) as client:
            for name, resource in (("persons", "Person"), ("groups", "Group")):
                client.post(
                    "/subscriptions",
                    json={
                        "name": name,
                        "target": f"{target}/{name}",
                        "resourceTypes": [{"resource": resource}],
                    },
                )
        assert school.notify(modified=["Person"]) == [204]
        assert Handler.received == [
            ("/persons", {"modifiedEntites": ["Person"], "deletedEntities": False})
        ]
        assert school.notify(modified=[], deleted=True) == [204, 204]
        assert Handler.received[-1] == ("/groups", {"modifiedEntites": [], "deletedEntities": True})
    finally:
        receiver.shutdown()
        receiver.server_close()
    assert school.notify(modified=["Person"]) == [0]  # nobody listening any more
    with pytest.raises(ValueError, match="EndPointsEnum"):
        school.notify(modified=["Pupil"])


def test_tokens_are_required_and_checked(school: Ss12000Server) -> None:
    put(school, 1)
    anonymous = httpx.get(f"{school.base_url}/persons")
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "unauthorized"
    wrong = httpx.post(
        school.token_url, data={"grant_type": "client_credentials"}, auth=("kaa", "nope")
    )
    assert (wrong.status_code, wrong.json()) == (401, {"error": "invalid_client"})
    form = {"grant_type": "client_credentials", "client_id": "kaa", "client_secret": "s3cret"}
    by_form = httpx.post(school.token_url, data=form)
    assert by_form.json()["expires_in"] == 600
    other_grant = httpx.post(school.token_url, data={**form, "grant_type": "password"})
    assert other_grant.json() == {"error": "unsupported_grant_type"}
    with connect(school) as client:
        assert client.get("/persons").status_code == 200
        school.advance(timedelta(minutes=11))  # the token expired
        assert client.get("/persons").status_code == 401
    with connect(school) as client:
        school.revoke_tokens()
        assert client.get("/persons").status_code == 401
    with Ss12000Server(require_token=False) as open_server:
        assert httpx.get(f"{open_server.base_url}/persons").status_code == 200


def test_failures_answer_with_error_bodies_and_retry_after(school: Ss12000Server) -> None:
    put(school, 1)
    with connect(school) as client:
        school.fail(429, times=2, retry_after=7)
        for _ in range(2):
            limited = client.get("/persons")
            assert limited.status_code == 429
            assert limited.headers["Retry-After"] == "7"
            assert limited.json()["code"] == "too_many_requests"
        assert client.get("/persons").status_code == 200
        school.fail(403, path="/deletedEntities")
        assert client.get("/persons").status_code == 200  # other paths untouched
        assert client.get("/deletedEntities").status_code == 403
        school.fail_always(503)
        assert client.get("/persons").status_code == 503
        assert client.post("/subscriptions", json={}).status_code == 503
        assert connect(school).get("/persons").status_code == 503  # the token endpoint still works
        school.heal()
        assert client.get("/persons").status_code == 200
    assert ("GET", "/persons", {}) in school.requests


def test_a_malformed_page_carries_its_bad_items(school: Ss12000Server) -> None:
    put(school, 3)
    with connect(school) as client:
        ids = [p["id"] for p in client.get("/persons").json()["data"]]
        school.malform_next_page([{"id": "not-a-uuid"}, "not even an object"])
        page = client.get("/persons").json()["data"]
        assert [p if isinstance(p, str) else p["id"] for p in page] == [
            ids[0], "not-a-uuid", "not even an object", ids[1], ids[2]
        ]  # fmt: skip
        assert len(client.get("/persons").json()["data"]) == 3  # only the next page
        school.garble_next_page()
        garbled = client.get("/persons")
        assert garbled.status_code == 200
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(garbled.content)
        assert client.get("/persons").json()["data"][0]["id"] == ids[0]
    # the school fixture asserts: nothing deliberate was counted as invalid


def test_a_response_breaking_the_schema_is_caught_without_its_values(school: Ss12000Server) -> None:
    put(school, 2)
    with connect(school) as client:
        school.corrupt_next_response(lambda body: body["data"][0].pop("civicNo"))
        assert client.get("/persons").status_code == 200
        school.corrupt_next_response(
            lambda body: body["data"][1]["enrolments"][0].update(schoolType="Gymnasiet")
        )
        client.get("/persons")
        assert client.get("/persons").status_code == 200  # the next one is sound again
    first, second = school.invalid
    assert first.startswith("GET /persons -> 200:")
    assert "$.data[0]: 'civicNo' is a required property" in first
    assert "$.data[1].enrolments[0].schoolType: fails enum" in second
    assert "Gymnasiet" not in second
    assert all(CIVIC not in line and "Elev" not in line for line in school.invalid)
    school.invalid.clear()


def test_validate_every_nth_response() -> None:
    with Ss12000Server(validate=3) as server, connect(server) as client:
        for _ in range(7):
            client.get("/persons")
        assert server.checked == 3  # the 1st, 4th and 7th
    with Ss12000Server(validate=False) as server, connect(server) as client:
        client.get("/persons")
        assert server.checked == 0


def test_helpers_refuse_ids_that_are_not_uuids() -> None:
    with pytest.raises(ValueError, match="school_unit must be a UUID"):
        Ss12000Server.enrolment("Södra gymnasiet")
    with pytest.raises(ValueError, match="person_id must be a UUID"):
        Ss12000Server.person(CIVIC, given="A", family="B", enrolments=[], person_id="123456789")


def test_stop_closes_the_connections_clients_keep() -> None:
    server = Ss12000Server()
    server.start()
    client = connect(server)
    assert client.get("/persons").status_code == 200  # the connection is now pooled
    server.stop()
    with pytest.raises(httpx.TransportError):
        client.get("/persons")
    client.close()
