"""Benchmark: the inspector's register as of an instant, and the coordinator's data-quality page.

`./run bench web_figures [YOUTHS] [ROUNDS]` (defaults 5,000 and 20; `./run bench web` runs it too,
after the caseworkers' pages): one municipality (0180) of YOUTHS youths whose history is the
register benchmark's own (`kaa/dev/synthetic.py` with its seed: the first YOUTHS youths of
`bench/register.py`'s log, ~9 events each), published to a fresh deployment's event topics (their
data keys in the keyring), the four services running (`KAA_TENANTS=0180`) and one web process with
the development sign-in. Once every consumer has caught up:

1. the inspector's `GET /granskning?vid=…` (the register as of an instant beside now: two replays
   at once) at three instants, and with `&jamfor=` (beside a second instant): ROUNDS pages one
   after another, then SESSIONS sessions at once (ROUNDS pages in all), each timed from the
   request until the whole body is received; beside it, the two calls the page makes (`GET
   /v1/audit/register?as_of=…`, at once) straight to the register with an inspector's token;
2. the coordinator's `GET /datakvalitet` (four half-years' `GET /v1/quality` and outreach's `GET
   /v1/tenant-rules`, at once) the same way, 3 x ROUNDS pages;
3. where the as-of page's time goes, with nothing else running: the register's replay command
   in-process (its projection of the archive into a scratch schema, then its read-model
   queries), its answer encoded as FastAPI does, the same over HTTP (plus the access log of every
   youth shown, and the transfer), and the web's own work on the two answers (JSON decoded,
   compared, summarised); the rest of the page's time is the rendering.

The sequential pages' p95 are the figures (`asof_page_p95_ms`, target < 2,000 ms;
`quality_page_p95_ms`, target < 300 ms); the rest goes under `asof_and_quality`. They are merged
into bench/results/web.json: what the caseworkers' benchmark wrote there is kept.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from fastapi.encoders import jsonable_encoder

from bench.casework import percentile
from bench.pipeline import commit
from bench.register import publish
from kaa.deployment import Deployment, free_port
from kaa.dev.launcher import InfraSettings, Infrastructure
from kaa.dev.synthetic import KOMMUNKODER, generate
from services.register.adapters.archive import drop_schema, project_archive
from services.register.commands.replay import replay
from services.web.domain import inspection as shown
from services.web.domain.scb import last_halves
from shared.codelists import code_list
from shared.crypto import ensure_keyring

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "web.json"
TENANT = KOMMUNKODER[0]
TOKEN = re.compile(r'name="csrf" value="([^"]+)"')
# The instants asked (vid, jamfor), Swedish time as an inspector types them; no jamfor: beside now.
INSTANTS = (
    ("2025-06-30 23:59", ""),
    ("2025-12-31 23:59", ""),
    ("2026-06-30 23:59", ""),
    ("2025-12-31 23:59", "2026-06-30 23:59"),
)
SESSIONS = 4  # the concurrent phase
HALVES = 4  # the half-years the quality page draws (services/web/commands/figures.py)
TARGET_ASOF_MS, TARGET_QUALITY_MS = 2000, 300
SPLIT_ROUNDS = 3  # each part of the as-of page's split, per instant
YOUTHS, ROUNDS = 5000, 20  # the size, and the sequential pages of each kind


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def stats(samples: list[float]) -> dict[str, Any]:
    """p50/p95/max of the answered requests (None when none was: never NaN in the JSON)."""
    if not samples:
        return {"p50_ms": None, "p95_ms": None, "max_ms": None, "n": 0}
    return {"p50_ms": percentile(samples, 50), "p95_ms": percentile(samples, 95),
            "max_ms": round(max(samples), 1), "n": len(samples)}  # fmt: skip


def ratio(page: dict[str, Any], api: dict[str, Any]) -> float | None:
    return round(page["p95_ms"] / api["p95_ms"], 2) if page["n"] and api["n"] else None


def median(samples: list[float]) -> float:
    return round(sorted(samples)[len(samples) // 2], 1)


# -- the pages, and the same calls straight to the services ---------------------------------------


async def signed_in(url: str, role: str, subject: str) -> httpx.AsyncClient:
    """A session of 0180 with `role`, by the development sign-in (the form's `role` field)."""
    client = httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(60.0, read=600.0))
    found = TOKEN.search((await client.get("/logga-in")).text)
    assert found is not None, "no form token on the sign-in page"
    done = await client.post("/logga-in", data={"tenant": TENANT, "role": role,
                                                "subject": subject, "csrf": found.group(1)})  # fmt: skip
    assert done.status_code == 303, done.status_code
    return client


def as_of_fields(n: int) -> dict[str, str]:
    vid, jamfor = INSTANTS[n % len(INSTANTS)]
    return {"vid": vid, **({"jamfor": jamfor} if jamfor else {})}


def label(fields: dict[str, str]) -> str:
    return f"{fields['vid']} / {fields.get('jamfor') or 'nu'}"


def instants_of(fields: dict[str, str]) -> tuple[datetime, datetime]:
    """The two instants the page asks the register for, read as the web reads the fields."""
    first = shown.instant_typed(fields["vid"])
    second = shown.instant_typed(fields.get("jamfor", ""))
    assert first is not None
    return first, second or datetime.now(UTC) - timedelta(seconds=2)


Call = Callable[[int], Awaitable[tuple[int, str]]]  # the n-th request: (status, what it was)


async def page(client: httpx.AsyncClient, path: str, params: dict[str, str]) -> int:
    return (await client.get(path, params=params)).status_code  # the whole body read


async def asof_page(client: httpx.AsyncClient, n: int) -> tuple[int, str]:
    fields = as_of_fields(n)
    return await page(client, "/granskning", fields), label(fields)


async def asof_api(register: httpx.AsyncClient, n: int) -> tuple[int, str]:
    """The page's two calls at once: the register replayed at each instant."""
    fields = as_of_fields(n)
    answers = await asyncio.gather(*(register.get("/v1/audit/register",
                                                  params={"as_of": at.isoformat()})
                                     for at in instants_of(fields)))  # fmt: skip
    bad = [a.status_code for a in answers if a.status_code != 200]
    return (bad[0] if bad else 200), label(fields)


async def quality_page(client: httpx.AsyncClient, n: int) -> tuple[int, str]:
    return await page(client, "/datakvalitet", {}), "datakvalitet"


async def quality_api(clients: dict[str, httpx.AsyncClient], n: int) -> tuple[int, str]:
    """The page's calls at once: outreach's rules and each half-year's figures."""
    halves = last_halves(datetime.now(UTC).date(), HALVES)
    answers = await asyncio.gather(
        clients["outreach"].get("/v1/tenant-rules"),
        *(clients["register"].get("/v1/quality", params={"period": h.name}) for h in halves),
    )
    bad = [a.status_code for a in answers if a.status_code != 200]
    return (bad[0] if bad else 200), "datakvalitet"


class Timed:
    """Samples (ms) over all requests and by what was asked; errors by status."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.by: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}

    async def run(self, call: Call, n: int) -> None:
        started = time.perf_counter()
        status, what = await call(n)
        ms = (time.perf_counter() - started) * 1000
        if status != 200:
            self.errors[str(status)] = self.errors.get(str(status), 0) + 1
            return
        self.samples.append(ms)
        self.by.setdefault(what, []).append(ms)

    def figures(self) -> dict[str, Any]:
        out = stats(self.samples)
        if len(self.by) > 1:
            out["by_instants"] = {k: stats(v) for k, v in self.by.items()}
        if self.errors:
            out["errors"] = self.errors
        return out


async def sequential(page_call: Call, api_call: Call, rounds: int) -> dict[str, Any]:
    """`rounds` pages one after another, each followed by its calls straight to the services
    (interleaved: both see the same machine)."""
    await page_call(-1)  # warm: connections opened, the first of each kind not counted
    await api_call(-1)
    pages, api = Timed(), Timed()
    for n in range(rounds):
        await pages.run(page_call, n)
        await api.run(api_call, n)
    return both(pages.figures(), api.figures())


async def concurrent(calls: list[Call], rounds: int) -> dict[str, Any]:
    """`len(calls)` sessions at once, `rounds` requests in all (each session its share)."""
    timed = Timed()

    async def session(k: int, call: Call) -> None:
        for n in range(k, rounds, len(calls)):
            await timed.run(call, n)

    started = time.perf_counter()
    await asyncio.gather(*(session(k, call) for k, call in enumerate(calls)))
    return {**timed.figures(), "seconds": round(time.perf_counter() - started, 1)}


def both(page_figures: dict[str, Any], api_figures: dict[str, Any]) -> dict[str, Any]:
    return {"page": page_figures, "api": api_figures,
            "page_to_api_p95_ratio": ratio(page_figures, api_figures)}  # fmt: skip


# -- where the as-of page's time goes ------------------------------------------------------------


async def split(database_url: str, register: httpx.AsyncClient) -> dict[str, Any]:
    """Per instant (the page asks two at once; here one at a time, with nothing else running):
    the register's projection of its archive into a scratch schema, the whole replay command
    (projection and read-model queries), its answer encoded as FastAPI does, the replay over HTTP
    (all of that, the access log of every youth shown, and the transfer), and the web's own work
    on a page's two answers (decoded, compared, summarised)."""
    words = dict(code_list("occupation").codes)
    out: dict[str, Any] = {}
    asked = [(vid, instants_of({"vid": vid})[0]) for vid, _ in INSTANTS[:3]]
    for name, at in [*asked, ("nu", datetime.now(UTC) - timedelta(seconds=2))]:
        projected, commanded, encoded, served = [], [], [], []
        for _ in range(SPLIT_ROUNDS):
            schema = f"bench_{uuid.uuid4().hex[:12]}"
            started = time.perf_counter()
            try:
                await project_archive(database_url, TENANT, at, schema)
                projected.append((time.perf_counter() - started) * 1000)
            finally:
                await drop_schema(database_url, schema)
            started = time.perf_counter()
            answered = await replay(database_url, TENANT, at, datetime.now(UTC))
            commanded.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            json.dumps(jsonable_encoder(answered))  # what FastAPI does with the route's dict
            encoded.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            answer = await register.get("/v1/audit/register", params={"as_of": at.isoformat()})
            served.append((time.perf_counter() - started) * 1000)
        out[name] = {"projection_ms": median(projected),
                              "replay_command_ms": median(commanded),
                              "answer_encoding_ms": median(encoded),
                              "replay_http_ms": median(served),
                              "answer_bytes": len(answer.content),
                              "youths": len(answer.json().get("youths") or [])}  # fmt: skip
    # The web's work on one page's two answers (the earliest instant beside now).
    first, second = instants_of(as_of_fields(0))
    bodies = [(await register.get("/v1/audit/register", params={"as_of": at.isoformat()})).content
              for at in (first, second)]  # fmt: skip
    work = []
    for _ in range(SPLIT_ROUNDS):
        started = time.perf_counter()
        then, now = (json.loads(b) for b in bodies)
        compared = shown.compare(then["youths"], now["youths"], words)
        shown.summary_rows(then["summary"], now["summary"])
        work.append((time.perf_counter() - started) * 1000)
    out["web_decode_and_compare_ms"] = median(work)
    out["compared_rows"] = len(compared.rows)
    return out


# -- the run -------------------------------------------------------------------------------------


async def load(deployment: Deployment, youths: int) -> tuple[int, int]:
    """The municipality's history (the register benchmark's first youths) published, its data
    keys in the keyring; the events and the youths published."""
    say(f"generating the history of {youths} youths of {TENANT} ...")
    made = generate(youths * 12, deployment.master_key, first_tenant_youths=youths)
    assert made.youths.get(TENANT) == youths, made.youths.get(TENANT)
    events = [e for e in made.events if e.tenant == TENANT]
    keys = [k for k in made.wrapped_keys if k[0] == TENANT]
    conn = await asyncpg.connect(deployment.database_url)
    try:
        await ensure_keyring(conn)
        await conn.copy_records_to_table("youth_keys", schema_name="keyring", records=keys,
                                         columns=["tenant", "youth_id", "wrapped"])  # fmt: skip
    finally:
        await conn.close()
    say(f"publishing {len(events)} events ...")
    await publish(deployment, events)
    return len(events), len(keys)


async def caught_up(deployment: Deployment) -> tuple[int, int]:
    """Until every consumer has caught up: the register's youths and archived events of 0180."""
    await deployment.drained(max_wait=1800)
    conn = await asyncpg.connect(deployment.database_url)
    try:
        youths = await conn.fetchval("SELECT count(*) FROM register.youths WHERE tenant = $1",
                                     TENANT)  # fmt: skip
        archived = await conn.fetchval(
            "SELECT count(*) FROM register.applied_events WHERE tenant = $1", TENANT
        )
    finally:
        await conn.close()
    return int(youths), int(archived)


async def measure(deployment: Deployment, url: str, rounds: int) -> dict[str, Any]:
    assert deployment.platform is not None
    platform = deployment.platform

    def api(service: str, role: str) -> httpx.AsyncClient:
        token = deployment.token(TENANT, role, subject=f"bench-{role}")
        return httpx.AsyncClient(base_url=platform.url(service), timeout=httpx.Timeout(600.0),
                                 headers={"Authorization": f"Bearer {token}"})  # fmt: skip

    inspectors = [await signed_in(url, "inspector", f"granskare-{k}") for k in range(SESSIONS)]
    coordinators = [await signed_in(url, "coordinator", f"samordnare-{k}") for k in range(SESSIONS)]
    registers = [api("register", "inspector") for _ in range(SESSIONS)]
    figures = [{"register": api("register", "coordinator"), "outreach": api("outreach",
               "coordinator")} for _ in range(SESSIONS)]  # fmt: skip
    try:
        say(f"the as-of page, {rounds} one after another, and the register's calls ...")
        asof = {
            "sequential": await sequential(
                partial_of(asof_page, inspectors[0]), partial_of(asof_api, registers[0]), rounds
            )
        }
        say(f"  p95 {asof['sequential']['page']['p95_ms']} ms; {SESSIONS} sessions at once ...")
        asof["concurrent"] = both(
            await concurrent([partial_of(asof_page, c) for c in inspectors], rounds),
            await concurrent([partial_of(asof_api, c) for c in registers], rounds),
        )  # fmt: skip
        say("the quality page ...")
        quality = {
            "sequential": await sequential(
                partial_of(quality_page, coordinators[0]),
                partial_of(quality_api, figures[0]),
                3 * rounds,
            )
        }
        quality["concurrent"] = both(
            await concurrent([partial_of(quality_page, c) for c in coordinators], 3 * rounds),
            await concurrent([partial_of(quality_api, c) for c in figures], 3 * rounds),
        )  # fmt: skip
        say(f"  p95 {quality['sequential']['page']['p95_ms']} ms; the as-of page's split ...")
        parts = await split(deployment.database_url, registers[0])
        seq = asof["sequential"]  # the web's own share: the page beside its two calls
        parts["page_minus_api_p50_ms"] = round(seq["page"]["p50_ms"] - seq["api"]["p50_ms"], 1)
    finally:
        clients = [
            *inspectors,
            *coordinators,
            *registers,
            *(c for f in figures for c in f.values()),
        ]
        await asyncio.gather(*(c.aclose() for c in clients))
    return {"asof_page": asof, "quality_page": quality, "asof_split": parts}


def partial_of(call: Callable[[Any, int], Awaitable[tuple[int, str]]], client: Any) -> Call:
    async def bound(n: int) -> tuple[int, str]:
        return await call(client, n)

    return bound


def merged(figures: dict[str, Any]) -> dict[str, Any]:
    """web.json as it stands (the caseworkers' figures kept) with these figures in it."""
    result: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {
        "benchmark": "web"}  # fmt: skip
    result.update({
        "asof_page_p95_ms": figures["asof_page"]["sequential"]["page"]["p95_ms"],
        "quality_page_p95_ms": figures["quality_page"]["sequential"]["page"]["p95_ms"],
        "target_asof_page_p95_ms": TARGET_ASOF_MS,
        "target_quality_page_p95_ms": TARGET_QUALITY_MS,
        "asof_and_quality": figures,
    })  # fmt: skip
    return result


def run(youths: int, rounds: int) -> dict[str, Any]:
    infrastructure = Infrastructure(InfraSettings())
    infrastructure.up()
    deployment = Deployment(
        name="bench-web-figures",
        bootstrap_servers=infrastructure.bootstrap_servers(),
        admin_database_url=infrastructure.database_url(),
        logs_dir=infrastructure.settings.logs_dir / "bench",
        tenants=(TENANT,),
    )
    asyncio.run(deployment.reset())
    platform = deployment.start(dict(os.environ))
    try:
        events, keys = asyncio.run(load(deployment, youths))
        started = time.monotonic()
        registered, archived = asyncio.run(caught_up(deployment))
        say(f"  caught up in {time.monotonic() - started:.0f} s: {registered} youths, "
            f"{archived} events in the register's archive")  # fmt: skip
        platform.env = {**platform.env, "KAA_WEB_COOKIE_SECURE": "0"}  # httpx sends it over http
        url = platform.start_web(free_port(), dev_signin=True, key="web").url
        before = os.getloadavg()[0]  # the machine is shared: how busy it was around the run
        measured = asyncio.run(measure(deployment, url, rounds))
        measured["load_average_1min"] = [round(before, 2), round(os.getloadavg()[0], 2)]
    finally:
        deployment.stop()
        asyncio.run(deployment.drop())
    return {
        "youths": youths,
        "events_published": events,
        "data_keys": keys,
        "register_youths": registered,
        "register_archived_events": archived,
        "instants": [label(dict(zip(("vid", "jamfor"), i, strict=True))) for i in INSTANTS],
        "rounds": rounds,
        "sessions": SESSIONS,
        "web_processes": 1,
        **measured,
        "cores": os.cpu_count(),
        "commit": commit(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def main(youths: int | None = None, rounds: int | None = None) -> None:
    youths = youths or (int(sys.argv[1]) if len(sys.argv) > 1 else YOUTHS)
    rounds = rounds or (int(sys.argv[2]) if len(sys.argv) > 2 else ROUNDS)
    figures = run(youths, rounds)
    print(json.dumps(figures, indent=2))
    if youths == YOUTHS:  # the size writes web.json; a smaller one only prints
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(merged(figures), indent=2) + "\n")
    asof, quality = figures["asof_page"]["sequential"], figures["quality_page"]["sequential"]
    print(f"as-of page p95 {asof['page']['p95_ms']} ms (target < {TARGET_ASOF_MS}), the register's "
          f"two replays p95 {asof['api']['p95_ms']} ms; quality page p95 "
          f"{quality['page']['p95_ms']} ms (target < {TARGET_QUALITY_MS}), its calls p95 "
          f"{quality['api']['p95_ms']} ms")  # fmt: skip


if __name__ == "__main__":
    main()
