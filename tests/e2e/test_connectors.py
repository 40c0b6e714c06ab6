"""Connected to the schools, over the real services: a municipality with three SS 12000 organisers
(servers that follow Skolverket's openapi.yml), one denying kaa access (403), one failing twice
with 503 before it answers. The third syncs regardless; the operator sees each one's state; the
youths are decided on every source's facts. Then a school's system ends a student's enrolment, its
subscription calls kaa back, and the youth is on the caseworker's worklist: measured. A forged
callback is refused; a malformed page's bad item is dead-lettered with its reason."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from kaa.deployment import Deployment
from kaa.supervisor import SERVICES
from shared.messaging.dead_letters import summarize
from tests.conftest import RunningInfra
from tests.e2e.conftest import kaa, new_deployment
from tests.e2e.test_identify import number, population
from tests.support.ss12000 import Ss12000Server

TODAY = date.today()
BORN = date(TODAY.year - 17, 1, 15)
UNIT = str(uuid.uuid4())


@dataclass
class Connected:
    deployment: Deployment
    city: Ss12000Server
    free: Ss12000Server
    other: Ss12000Server

    def get(self, service: str, path: str, role: str = "caseworker", **params: Any) -> Any:
        with self.deployment.client(service, "0180", role) as client:
            answer = client.get(path, params=params)
        if answer.status_code != 200:  # who answered, for a failure seen only in CI
            platform = self.deployment.platform
            assert platform is not None
            ports = {n: (p.port, p.running()) for n, p in platform.processes.items()}
            organisers = [s.base_url for s in (self.city, self.free, self.other)]
            raise AssertionError(f"{service} {path}: {answer.status_code} {answer.text} "
                                 f"(processes: {ports}; organisers: {organisers})")  # fmt: skip
        return answer.json()

    def organisers(self) -> dict[str, dict[str, Any]]:
        return {
            o["organiser"]: o
            for o in self.get("connect", "/v1/connectors", "operator")["organisers"]
        }


def until(check: Any, within: float, step: float = 0.05) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(step)
    raise AssertionError(f"not within {within} s")


@contextmanager
def connected(infra: RunningInfra, tmp_path: Path) -> Iterator[Connected]:
    """A deployment of 0180 with its three organisers in the connectors file; connect started
    last, so that its address is known for the subscriptions' callbacks."""
    with ExitStack() as stack:
        servers = [stack.enter_context(Ss12000Server()) for _ in range(3)]
        organisers = [
            {"id": name, "name": title, "base_url": s.base_url, "token_url": s.token_url,
             "client_id": "kaa", "school_types": ["GY"], "page_size": 2, "poll_interval": 600}
            for name, title, s in zip(("city", "free", "other"),
                                      ("Staden", "Friskolan AB", "Grannkommunen"), servers, strict=True)
        ]  # fmt: skip
        (tmp_path / "connectors.json").write_text(json.dumps({"0180": {"organisers": organisers}}))
        made = new_deployment(infra, feed_sources=None)  # population and every organiser
        made.today, made.feed_settle = TODAY, 4.0
        asyncio.run(made.reset())
        env = {
            **os.environ, "KAA_CONNECTORS_FILE": str(tmp_path / "connectors.json"),
            "KAA_SS12000_SECRET_CITY": "s3cret", "KAA_SS12000_SECRET_OTHER": "s3cret",
            "KAA_SS12000_SECRET_FREE": "s3cret",
        }  # fmt: skip
        try:
            platform = made.start(env, list(SERVICES))
            platform.env = {
                **platform.env,
                "KAA_CONNECT_PUBLIC_URL": f"http://127.0.0.1:{platform.ports['connect']}",
            }
            yield Connected(made, *servers)
        finally:
            made.stop()
            asyncio.run(made.drop())
        for server in servers:
            assert server.invalid == [], "every answer the organisers gave follows openapi.yml"


def student(server: Ss12000Server, pnr: str, end: date | None = None) -> dict[str, Any]:
    start = TODAY - timedelta(days=470)
    return server.person(pnr, given="Elin", family="Svensson",
                         enrolments=[server.enrolment(UNIT, "GY", start=start, end=end)])  # fmt: skip


def test_three_organisers_one_refusing_one_failing_and_a_callback_to_the_worklist(
    infra: RunningInfra, tmp_path: Path
) -> None:
    with connected(infra, tmp_path) as c:
        made = c.deployment
        at_city, at_other, nowhere = [number(BORN) for _ in range(3)], number(BORN), number(BORN)
        people = {p: student(c.city, p) for p in at_city}
        c.city.put_persons(list(people.values()), modified=made_at(-1))
        c.city.malform_next_page([{"id": str(uuid.uuid4()), "enrolments": []}])
        c.other.put_person(student(c.other, at_other), modified=made_at(-1))
        c.free.put_person(student(c.free, number(BORN)), modified=made_at(-1))
        c.other.fail(503, times=2)
        c.free.fail_always(403, path="/")  # kaa's client is not granted reading (its token is fine)
        lines = [population(p, BORN) for p in [*at_city, at_other, nowhere]]
        asyncio.run(made.publish_feed("population", lines))
        assert made.platform is not None
        made.platform.start(["connect"])

        the_operator_sees_each_organiser(c, personal=[*at_city, at_other])

        # Decided once the silent organiser's settle window passed: only the one at no school.
        summary = until(lambda: (s := c.get("register", "/v1/summary"))["known"] >= 1 and s, 30)
        assert summary["in_scope"] == 1
        dead = asyncio.run(summarize(made.bootstrap_servers, made.namespace))
        reasons = [r for d in dead if "ss12000" in d.topic for r in d.latest]
        assert any("civicNo" in r for r in reasons), reasons

        leaver = at_city[0]
        ended = student(c.city, leaver, end=TODAY - timedelta(days=1))
        a_callback_puts_the_leaver_on_the_worklist(c, ended | {"id": people[leaver]["id"]}, leaver)
        a_forged_callback_is_refused_or_only_makes_kaa_fetch(c)
        assert c.get("register", "/v1/summary")["in_scope"] == 2, "nothing changed but a fetch"


def the_operator_sees_each_organiser(c: Connected, personal: list[str]) -> None:
    """The city syncs while the free school denies kaa access; the other recovers from 503s."""
    made = c.deployment
    assert made.platform is not None
    found = until(lambda: (o := c.organisers())["city"]["last_complete_sync"]
                  and o["other"]["last_complete_sync"] and o["free"]["error"] and o, 60)  # fmt: skip
    free, city = found["free"], found["city"]
    assert free["state"] == "failing"
    assert free["error"]["message"].startswith(
        "Friskolan AB: the organiser denied access (HTTP 403): check that kaa's client is "
        "granted reading persons"
    )
    assert free["last_complete_sync"] is None
    assert city["state"] == "ok"
    assert city["subscription"]["expires"] is not None
    assert found["other"]["error"] is None, "the 503s were retried with backoff"
    assert sum(1 for _, p, _ in c.other.requests if p == "/persons") >= 3, "2 failed, then"
    health = httpx.get(made.platform.url("connect") + "/health").json()
    assert health["status"] == "degraded"
    assert [p for p in health["problems"] if "Friskolan AB" in p], health
    status = kaa(made, "connect", "status", "--tenant", "0180")
    assert status.returncode == 1, status.stdout + status.stderr
    assert "Friskolan AB" in status.stdout
    assert "failing" in status.stdout
    text = json.dumps(found) + status.stdout
    assert not any(p in text for p in personal), "no personal data"
    assert "Elin" not in text


def a_callback_puts_the_leaver_on_the_worklist(
    c: Connected, ended: dict[str, Any], leaver: str
) -> None:
    """The school ends a student's enrolment; its system calls kaa back: measured to the list."""

    def first_contact() -> set[str]:
        return {i["youth_id"] for i in c.get("outreach", "/v1/worklists/first_contact")["items"]}

    before = first_contact()
    c.city.put_person(ended)
    started = time.monotonic()
    assert c.city.notify() == [200]
    new = until(lambda: first_contact() - before, 10, 0.02)
    elapsed = time.monotonic() - started
    print(f"\nfrom the school system's callback to the worklist: {elapsed * 1000:.0f} ms")
    assert elapsed < 2.0
    with c.deployment.client("register", "0180", "caseworker") as register:
        body = {"personnummer": leaver, "purpose": "casework"}
        found = register.post("/v1/youths/lookup", json=body)
    assert found.json()["youth_id"] in new


def a_forged_callback_is_refused_or_only_makes_kaa_fetch(c: Connected) -> None:
    assert c.deployment.platform is not None
    with httpx.Client(base_url=c.deployment.platform.url("connect")) as outside:
        unknown = "/v1/ss12000/callbacks/" + secrets.token_urlsafe(32)
        assert outside.post(unknown, json={}).status_code == 404
        assert outside.post("/v1/ss12000/callbacks/x", json={}).status_code == 404
    [target] = [s["target"] for s in c.city.subscriptions.values()]
    fetched = sum(1 for _, p, _ in c.city.requests if p == "/persons")
    forged = {"modifiedEntites": ["Person"], "evil": "drop everything"}
    assert httpx.post(target, json=forged).status_code == 200
    until(lambda: sum(1 for _, p, _ in c.city.requests if p == "/persons") > fetched, 10)


def made_at(days: int) -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC) + timedelta(days=days)
