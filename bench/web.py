"""Benchmark: caseworkers' pages in the web application, beside the services' own API, in one run.

`./run bench web [YOUTHS] [SESSIONS] [SECONDS]` (defaults 3,000, 50, 40): a municipality of YOUTHS
youths in scope (population feed) and a few enrolled 17-year-olds (the dropouts to come) go through
the four services; two web processes (development sign-in) stand in front of them. Then, with
`KAA_BENCH_STREAMS` browsers (default 20) "open on Min dag" (signed-in `GET /live` streams, spread
over the two web processes):

1. the services' API: SESSIONS clients, each with a bearer token, make for SECONDS the very calls
   each page of the walk makes (the same calls, concurrently where the page makes them
   concurrently): the baseline, without the web application;
2. the pages: SESSIONS signed-in sessions (development sign-in with the form's CSRF token), spread
   over the two web processes, each walking for SECONDS: Min dag (all of the municipality's cases),
   a youth's overview, the contacts page, a contact attempt recorded (the form POSTed with its
   token; the 303 is measured, not followed), the plan page and the measures page. Meanwhile a
   school reports `KAA_BENCH_DROPOUTS` (default 20) students who left (`POST
   /v1/school-notifications`), each timed from the POST to the event naming the youth on every
   open stream, and to Min dag's list fetched again as the page does on that event ("on screen");
3. the same dropouts once more on a quiet platform (no page load), for comparison.

Reported: p50/p95 per page kind and over all pages, the API's per page kind, their ratio, the
dropout figures, and the client's own CPU seconds (the load generator shares the machine's two
cores with everything it measures). Each session walks without pause (a closed loop: what the
platform does flat out); `KAA_BENCH_THINK=S` has each pause 0.5-1.5 times S seconds after a page,
as a caseworker reading it would. Writes bench/results/web.json (web-think<S>s.json with a pause).

Then (without a pause only; `KAA_BENCH_WEB_FIGURES=0` leaves it out) `bench/web_figures.py` in a
deployment of its own: the inspector's register as of an instant and the coordinator's
data-quality page of a 5,000-youth municipality, merged into web.json (`asof_page_p95_ms`,
`quality_page_p95_ms`, `asof_and_quality`); `./run bench web_figures` runs that part alone.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from bench import web_figures
from bench.casework import TODAY, percentile, population, youth_ids
from bench.pipeline import commit
from kaa.deployment import Deployment, free_port
from kaa.dev.launcher import InfraSettings, Infrastructure
from shared.personnummer import generate

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "web.json"
PAGES = ("min_dag", "youth", "contacts", "attempt", "plan", "measures")
TOKEN = re.compile(r'name="csrf" value="([^"]+)"')
SEVENTEEN = date(2008, 9, 14)
HEARD_WITHIN = 10.0  # seconds a dropout may take to reach the streams before it counts as missed


def enrolled(numbers: list[str]) -> tuple[list[bytes], list[bytes]]:
    """Population and school-feed lines of 17-year-olds enrolled in upper secondary school: not
    in scope until their school reports that they left."""

    def line(feed: str, body: dict[str, Any]) -> bytes:
        return json.dumps({"feed": feed, "schema_version": 1, "record_id": str(uuid.uuid4()),
                           "tenant": "0180", "observed_at": "2026-01-15T08:00:00Z", **body}).encode()  # fmt: skip

    people = [line("population", {"record": {
        "personnummer": n, "given_name": "D", "family_name": "E", "kommunkod": "0180",
        "birth_date": SEVENTEEN.isoformat(), "change_type": "baseline",
        "effective_date": "2026-01-15"}}) for n in numbers]  # fmt: skip
    schools = [line("ss12000", {"person": {"id": f"p-{n}", "civicNo": {"value": n}, "enrolments": [{
        "enroledAt": {"id": "unit-1", "displayName": "Gymnasiet"}, "schoolType": "GY",
        "cancelled": False, "educationCode": "NA", "startDate": "2024-08-20"}]}}) for n in numbers]  # fmt: skip
    return people, schools


@dataclass
class Timings:
    samples: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in PAGES})
    errors: dict[str, int] = field(default_factory=dict)
    think: float = 0.0  # seconds a caseworker reads a page before the next (0.5-1.5 times this)

    async def timed(self, kind: str, call: Awaitable[int], expected: int) -> None:
        started = time.perf_counter()
        try:
            status = await call
        except httpx.HTTPError as error:  # e.g. a keep-alive connection the server just closed
            key = f"{kind}:{type(error).__name__}"
            self.errors[key] = self.errors.get(key, 0) + 1
        else:
            self.samples[kind].append((time.perf_counter() - started) * 1000)
            if status != expected:
                key = f"{kind}:{status}"
                self.errors[key] = self.errors.get(key, 0) + 1
        if self.think:
            await asyncio.sleep(self.think * random.uniform(0.5, 1.5))

    def figures(self, prefix: str) -> dict[str, Any]:
        every = [ms for samples in self.samples.values() for ms in samples]
        out: dict[str, Any] = {f"{prefix}_p50_ms": percentile(every, 50),
                               f"{prefix}_p95_ms": percentile(every, 95)}  # fmt: skip
        out[f"{prefix}_by_kind"] = {
            kind: {"p50_ms": percentile(s, 50), "p95_ms": percentile(s, 95), "n": len(s)}
            for kind, s in self.samples.items()
        }
        return out


def attempt_fields(rng: random.Random) -> dict[str, str]:
    day = TODAY - timedelta(days=rng.randrange(0, 40))
    return {"channel": rng.choice(["phone", "sms", "letter", "email"]),
            "outcome": rng.choice(["reached", "not_reached", "declined_contact"]),
            "attempted_at": f"{day.isoformat()} 10:00"}  # fmt: skip


# -- the walk through the pages ------------------------------------------------------------------


async def signed_in(url: str, subject: str) -> tuple[httpx.AsyncClient, str]:
    """A caseworker of 0180 signed in with the development sign-in; the session's form token."""
    client = httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(30.0, read=60.0))
    found = TOKEN.search((await client.get("/logga-in")).text)
    assert found is not None, "no form token on the sign-in page"
    done = await client.post("/logga-in", data={"tenant": "0180", "role": "caseworker",
                                                "subject": subject, "csrf": found.group(1)})  # fmt: skip
    assert done.status_code == 303, done.status_code
    page = await client.get("/min-dag")
    csrf = TOKEN.search(page.text)
    assert page.status_code == 200, page.status_code
    assert csrf is not None, "no form token on Min dag"
    return client, csrf.group(1)


async def page_walk(client: httpx.AsyncClient, csrf: str, ids: list[str], until: float,
                    timings: Timings, seed: int) -> int:  # fmt: skip
    rng, rounds = random.Random(seed), 0

    async def get(path: str, **params: str) -> int:
        return (await client.get(path, params=params)).status_code

    async def post(path: str, data: dict[str, str]) -> int:
        return (await client.post(path, data={"csrf": csrf, **data})).status_code

    while time.monotonic() < until:
        youth = f"/ungdomar/{rng.choice(ids)}"
        await timings.timed("min_dag", get("/min-dag", vems="all"), 200)
        await timings.timed("youth", get(youth), 200)
        await timings.timed("contacts", get(f"{youth}/kontakter"), 200)
        await timings.timed("attempt", post(f"{youth}/kontakter/forsok", attempt_fields(rng)), 303)
        await timings.timed("plan", get(f"{youth}/plan"), 200)
        await timings.timed("measures", get(f"{youth}/insatser"), 200)
        rounds += 1
    return rounds


# -- the same calls straight to the services (the baseline) ---------------------------------------


@dataclass
class Api:
    clients: dict[str, httpx.AsyncClient]

    async def status(self, service: str, method: str, path: str, **kw: Any) -> httpx.Response:
        return await self.clients[service].request(method, path, **kw)

    async def name(self, youths: list[str]) -> int:
        body = {"youth_ids": youths, "purpose": "casework"}
        return (
            await self.status("register", "POST", "/v1/identities/batch", json=body)
        ).status_code

    async def both(self, *calls: Awaitable[httpx.Response]) -> list[httpx.Response]:
        return list(await asyncio.gather(*calls))

    async def min_dag(self) -> int:
        """GET /min-dag?vems=all: the counts and the list's first page at once, then the names."""
        _, page = await self.both(
            self.status("outreach", "GET", "/v1/worklists", params={"mine": "false"}),
            self.status("outreach", "GET", "/v1/worklists/first_contact",
                        params={"limit": 25, "mine": "false"}),
        )  # fmt: skip
        return await self.name([item["youth_id"] for item in page.json()["items"]])

    async def paired(self, youth: str, first: tuple[str, str], second: tuple[str, str]) -> int:
        """A youth's page: two reads at once, then the name it is headed with."""
        answers = await self.both(self.status(first[0], "GET", first[1]),
                                  self.status(second[0], "GET", second[1]))  # fmt: skip
        if any(a.status_code != 200 for a in answers):
            return answers[0].status_code if answers[0].status_code != 200 else 599
        return await self.name([youth])

    async def contacts(self, youth: str) -> int:
        case = await self.status("outreach", "GET", f"/v1/youths/{youth}/case")
        return case.status_code if case.status_code != 200 else await self.name([youth])


async def api_walk(api: Api, ids: list[str], until: float, timings: Timings, seed: int) -> int:
    rng, rounds = random.Random(seed), 0
    while time.monotonic() < until:
        youth = rng.choice(ids)
        at = f"/v1/youths/{youth}"
        await timings.timed("min_dag", api.min_dag(), 200)
        await timings.timed("youth", api.paired(youth, ("outreach", f"{at}/case"),
                                                ("register", at)), 200)  # fmt: skip
        await timings.timed("contacts", api.contacts(youth), 200)
        fields = attempt_fields(rng)
        body = {**fields, "attempted_at": fields["attempted_at"].replace(" ", "T") + ":00+01:00"}
        attempt = api.status("outreach", "POST", f"{at}/contact-attempts", json=body)
        await timings.timed("attempt", status_of(attempt), 201)
        await timings.timed("plan", api.paired(youth, ("measures", f"{at}/plan"),
                                               ("measures", f"{at}/plan/revisions")), 200)  # fmt: skip
        await timings.timed("measures", api.paired(youth, ("measures", f"{at}/measures"),
                                                   ("measures", "/v1/catalogue")), 200)  # fmt: skip
        rounds += 1
    return rounds


async def status_of(call: Awaitable[httpx.Response]) -> int:
    return (await call).status_code


# -- browsers open on Min dag, and a school reporting dropouts ------------------------------------


@dataclass
class Stream:
    """One open Min dag's `/live` stream: when each youth was first named on it."""

    client: httpx.AsyncClient
    heard: dict[str, float] = field(default_factory=dict)

    async def read(self) -> None:
        event = ""
        try:
            async with self.client.stream("GET", "/live") as response:
                assert response.status_code == 200, response.status_code
                async for line in response.aiter_lines():
                    if line.startswith("event: "):
                        event = line.removeprefix("event: ")
                    elif line.startswith("data: ") and event == "worklists":
                        at = time.perf_counter()
                        for youth in json.loads(line.removeprefix("data: "))["youths"]:
                            self.heard.setdefault(youth, at)
        except (httpx.HTTPError, asyncio.CancelledError):
            return


@dataclass
class Dropouts:
    reporter: httpx.AsyncClient
    streams: list[Stream]
    event_ms: list[float] = field(default_factory=list)
    screen_ms: list[float] = field(default_factory=list)
    missed: int = 0

    async def report(self, personnummer: str, kind: str = "left") -> tuple[str, float]:
        posted = time.perf_counter()
        answer = await self.reporter.post("/v1/school-notifications", json={
            "personnummer": personnummer, "kind": kind, "on": TODAY.isoformat(),
            "school_type": "GY", "school_unit": "unit-1"})  # fmt: skip
        assert answer.status_code == 202, answer.status_code
        return str(answer.json()["youth_id"]), posted

    async def heard_by_all(self, youth: str, within: float) -> bool:
        deadline = time.monotonic() + within
        while any(youth not in s.heard for s in self.streams):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.005)
        return True

    async def warm(self, personnummer: str) -> None:
        """The web's subscribers listen from the latest offset once they have their partitions:
        absence reports (no change of scope) until every stream hears one."""
        deadline = time.monotonic() + 90
        while not await self.heard_by_all((await self.report(personnummer, "absence"))[0], 3.0):
            assert time.monotonic() < deadline, "the streams never heard the live topics"
            for stream in self.streams:
                stream.heard.clear()

    async def measure(self, numbers: list[str], spacing: float) -> None:
        for personnummer in numbers:
            youth, posted = await self.report(personnummer)
            if not await self.heard_by_all(youth, HEARD_WITHIN):
                self.missed += 1
            self.event_ms += [(s.heard[youth] - posted) * 1000 for s in self.streams
                              if youth in s.heard]  # fmt: skip
            # What the page does on the event: fetch Min dag's list again (htmx), then it shows.
            first = self.streams[0]
            if youth in first.heard:
                page = await first.client.get("/min-dag/lista", params={"vems": "all"},
                                              headers={"HX-Request": "true"})  # fmt: skip
                if page.status_code == 200:
                    self.screen_ms.append((time.perf_counter() - posted) * 1000)
            await asyncio.sleep(spacing)

    def figures(self, prefix: str) -> dict[str, Any]:
        return {f"{prefix}_to_event_p50_ms": percentile(self.event_ms, 50),
                f"{prefix}_to_event_p95_ms": percentile(self.event_ms, 95),
                f"{prefix}_to_screen_p50_ms": percentile(self.screen_ms, 50),
                f"{prefix}_to_screen_p95_ms": percentile(self.screen_ms, 95),
                f"{prefix}_missed": self.missed}  # fmt: skip


# -- the run -------------------------------------------------------------------------------------


Walk = Callable[[float, Timings, int], Awaitable[int]]


async def concurrently(walks: list[Walk], seconds: float, timings: Timings,
                       beside: Awaitable[None] | None = None) -> tuple[int, float, bool]:  # fmt: skip
    """Warm-up (2 s: connections opened, caches filled; not measured), then the walks for
    `seconds` with `beside` running meanwhile; returns the rounds walked, the seconds the walks
    took, and whether `beside` was done before the walks ended (it is awaited either way)."""
    warm_until = time.monotonic() + 2
    await asyncio.gather(
        *(walk(warm_until, Timings(think=timings.think), n) for n, walk in enumerate(walks))
    )
    other = asyncio.ensure_future(beside) if beside is not None else None
    started = time.monotonic()
    jobs = [walk(started + seconds, timings, 1000 + n) for n, walk in enumerate(walks)]
    rounds = sum(await asyncio.gather(*jobs))
    elapsed, within = time.monotonic() - started, other is None or other.done()
    if other is not None:
        await other
    return rounds, elapsed, within


async def measure(made: Deployment, web_urls: list[str], dropouts: list[str], sessions: int,
                  seconds: float, streams: int, think: float) -> dict[str, Any]:  # fmt: skip
    assert made.platform is not None
    token = made.token("0180", "caseworker", subject="bench-api")
    auth = {"Authorization": f"Bearer {token}"}
    services = {name: made.platform.url(name) for name in ("outreach", "register", "measures")}
    clients = [
        Api(
            {
                n: httpx.AsyncClient(base_url=u, headers=auth, timeout=30.0)
                for n, u in services.items()
            }
        )
        for _ in range(sessions)
    ]
    ids = await youth_ids(clients[0].clients["outreach"])
    print(f"{len(ids)} youths on the first-contact list; {sessions} sessions for {seconds:.0f} s, "
          f"{streams} open Min dag streams, {len(web_urls)} web processes", flush=True)  # fmt: skip
    cpu = time.process_time()

    api = Timings(think=think)
    api_rounds, api_elapsed, _ = await concurrently(
        [partial(api_walk, c, ids) for c in clients], seconds, api
    )
    for c in clients:
        await asyncio.gather(*(h.aclose() for h in c.clients.values()))

    opened = [await signed_in(web_urls[n % len(web_urls)], f"live-{n}") for n in range(streams)]
    live = [Stream(client) for client, _ in opened]
    readers = [asyncio.create_task(s.read()) for s in live]
    reporter = httpx.AsyncClient(base_url=made.platform.url("identify"), timeout=30.0,
                                 headers={"Authorization": "Bearer " + made.token(
                                     "0180", "school-reporter")})  # fmt: skip
    under_load, quiet = Dropouts(reporter, live), Dropouts(reporter, live)
    await under_load.warm(dropouts[0])
    half = (len(dropouts) - 1) // 2
    walkers = [await signed_in(web_urls[n % len(web_urls)], f"anna-{n}") for n in range(sessions)]
    pages = Timings(think=think)
    spacing = max(0.3, seconds / max(1, half) - 1.5)  # all of them within the load
    page_rounds, page_elapsed, within = await concurrently(
        [partial(page_walk, client, csrf, ids) for client, csrf in walkers],
        seconds,
        pages,
        under_load.measure(dropouts[1 : 1 + half], spacing),
    )
    await asyncio.sleep(2)  # the last events of the load settle
    await quiet.measure(dropouts[1 + half :], 1.2)
    client_cpu = time.process_time() - cpu
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    for client, _ in opened + walkers:
        await client.aclose()
    await reporter.aclose()

    web_figures, api_figures = pages.figures("page"), api.figures("api")
    ratios = {
        kind: round(web_figures["page_by_kind"][kind]["p95_ms"]
                    / api_figures["api_by_kind"][kind]["p95_ms"], 2)
        for kind in PAGES
    }  # fmt: skip
    return {
        **web_figures,
        **api_figures,
        "page_to_api_p95_ratio": round(web_figures["page_p95_ms"] / api_figures["api_p95_ms"], 2),
        "page_to_api_p95_ratio_by_kind": ratios,
        **under_load.figures("dropout"),
        **quiet.figures("quiet_dropout"),
        "dropouts_under_load": half,
        "dropouts_quiet": len(dropouts) - 1 - half,
        "dropouts_all_under_load": within,
        "pages_per_s": round(sum(len(s) for s in pages.samples.values()) / page_elapsed, 1),
        "api_pages_per_s": round(sum(len(s) for s in api.samples.values()) / api_elapsed, 1),
        "walk_rounds": page_rounds,
        "api_walk_rounds": api_rounds,
        "page_seconds": round(page_elapsed, 1),
        "api_seconds": round(api_elapsed, 1),
        "page_errors": pages.errors,
        "api_errors": api.errors,
        "client_cpu_seconds": round(client_cpu, 1),
        "youths_on_first_contact_list": len(ids),
    }


def main() -> None:
    youths = int(sys.argv[1]) if len(sys.argv) > 1 else 3_000
    sessions = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 40.0
    streams = int(os.environ.get("KAA_BENCH_STREAMS", "20"))
    dropouts = int(os.environ.get("KAA_BENCH_DROPOUTS", "20"))
    think = float(os.environ.get("KAA_BENCH_THINK", "0"))
    infrastructure = Infrastructure(InfraSettings())
    infrastructure.up()
    deployment = Deployment(
        name="bench-web",
        bootstrap_servers=infrastructure.bootstrap_servers(),
        admin_database_url=infrastructure.database_url(),
        logs_dir=infrastructure.settings.logs_dir / "bench",
        today=TODAY,
        feed_sources=(),  # decided as read: the dropouts' enrolment follows their population line
    )
    rng = random.Random(2026)
    numbers = sorted({generate(SEVENTEEN, rng) for _ in range(3 * dropouts)})[: 2 * dropouts + 1]
    people, schools = enrolled(numbers)
    asyncio.run(deployment.reset())
    platform = deployment.start(dict(os.environ))
    try:
        print(f"identifying {youths} youths and {len(numbers)} enrolled students ...", flush=True)
        asyncio.run(deployment.publish_feed("population", population(youths, rng) + people))
        asyncio.run(deployment.publish_feed("ss12000", schools))
        asyncio.run(deployment.drained(max_wait=600))
        platform.env = {**platform.env, "KAA_WEB_COOKIE_SECURE": "0"}  # httpx sends it over http
        urls = [platform.start_web(free_port(), dev_signin=True, key=key).url
                for key in ("web", "web-2")]  # fmt: skip
        figures = asyncio.run(measure(deployment, urls, numbers, sessions, seconds, streams, think))
    finally:
        deployment.stop()
        asyncio.run(deployment.drop())
    result = {
        "benchmark": "web",
        "youths_in_scope": youths,
        "sessions": sessions,
        "web_processes": len(urls),
        "open_min_dag_streams": streams,
        "seconds_per_phase": seconds,
        "think_seconds": think,
        "target_page_p95_ms": 150,
        "target_dropout_to_screen_p95_ms": 1000,
        **figures,
        "cores": os.cpu_count(),
        "commit": commit(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    # The configuration (no time between pages) writes web.json; others a file of their own.
    out = RESULTS if think == 0 else RESULTS.with_name(f"web-think{think:g}s.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"pages p50 {result['page_p50_ms']} ms, p95 {result['page_p95_ms']} ms (target < 150); "
          f"the services' API for the same calls p95 {result['api_p95_ms']} ms "
          f"(ratio {result['page_to_api_p95_ratio']}); dropout to screen p95 "
          f"{result['dropout_to_screen_p95_ms']} ms under load (target < 1000), "
          f"{result['quiet_dropout_to_screen_p95_ms']} ms quiet")  # fmt: skip
    if think == 0 and os.environ.get("KAA_BENCH_WEB_FIGURES", "1") != "0":
        web_figures.main(web_figures.YOUTHS, web_figures.ROUNDS)  # merged into web.json


if __name__ == "__main__":
    main()
