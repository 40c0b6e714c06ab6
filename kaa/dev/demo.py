"""`./run demo`: the platform's main job, end to end, on real Kafka and PostgreSQL.

Brings the four services up as separate processes in a fresh demo deployment, loads a generated
municipality of 1,000 youths (plus three deliberately bad records), lets caseworkers record contact
attempts and offer measures over HTTP, prints what the register then says, and stops the services
(in a terminal, `keep_running` leaves them up for the web application: `demo_web.py`).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from kaa.deployment import Deployment
from kaa.dev.synthetic_feeds import generate
from shared import personnummer
from shared.contracts.topics import FEED_TOPICS
from shared.feed_adapter import read_lines
from shared.intake import is_sealed
from shared.messaging import read_topics
from shared.messaging.dead_letters import summarize

TENANT = "0180"
STOCKHOLM = ZoneInfo("Europe/Stockholm")

BAD_POPULATION_LINES = [
    b"this is not JSON",
    # valid shape, but the personnummer's check digit is wrong
    b'{"feed":"population","schema_version":1,"record_id":"6f1c9a52-8d0e-4a7b-9c3e-2b5d7f0e1a11",'
    b'"tenant":"0180","observed_at":"2026-01-01T00:00:00Z","record":{"personnummer":"200801011235",'
    b'"given_name":"Test","family_name":"Testsson","kommunkod":"0180","birth_date":"2008-01-01",'
    b'"change_type":"baseline","effective_date":"2026-01-01"}}',
    # a municipality this deployment does not serve
    b'{"feed":"population","schema_version":1,"record_id":"6f1c9a52-8d0e-4a7b-9c3e-2b5d7f0e1a12",'
    b'"tenant":"9999","observed_at":"2026-01-01T00:00:00Z","record":{"personnummer":"200801011230",'
    b'"given_name":"Test","family_name":"Testsson","kommunkod":"9999","birth_date":"2008-01-01",'
    b'"change_type":"baseline","effective_date":"2026-01-01"}}',
]


def _enrolled_student(ss12000: Path, today: date) -> str:
    """A 17–18-year-old with a current, undated GY enrolment in the generated school data."""
    for line in ss12000.read_text().splitlines():
        person = json.loads(line)["person"]
        number = person["civicNo"]["value"]
        age = personnummer.age_on(personnummer.birth_date(number), today)
        for enrolment in person["enrolments"]:
            if (
                enrolment["schoolType"] == "GY"
                and not enrolment.get("cancelled")
                and not enrolment.get("endDate")
                and age in (17, 18)
            ):
                return str(number)
    raise RuntimeError("the generated municipality has no enrolled 17-18-year-old")


def _numbers(population: Path) -> set[bytes]:
    return {
        json.loads(line)["record"]["personnummer"].encode()
        for line in population.read_bytes().splitlines()
        if line.strip()
    }


async def _scan_feeds(deployment: Deployment, numbers: set[bytes]) -> tuple[int, int, int]:
    """(records on the feed topics, how many sealed, how many generated personnummer readable)."""
    topics = [f"{deployment.namespace}{topic}" for topic in FEED_TOPICS]
    records = await read_topics(deployment.bootstrap_servers, topics)
    sealed = sum(1 for r in records if is_sealed(r.value))
    readable = {n for r in records for n in re.findall(rb"\d{12}", r.value or b"")} & numbers
    return len(records), sealed, len(readable)


def _exit(code: int | None) -> str:
    # uvicorn re-raises the SIGTERM it handled, after its graceful shutdown
    return "clean" if code in (0, -15) else f"exit {code}"


@dataclass
class DemoResult:
    lines: list[str]
    # Still running (keep_running): the caller serves it (`demo_web.serve`) and stops it.
    running: Deployment | None = None


def run_demo(
    bootstrap_servers: str,
    database_url: str,
    home: Path,
    say: Callable[[str], None],
    youths: int = 1000,
    keep_running: bool = False,
) -> DemoResult:
    today = datetime.now(STOCKHOLM).date()  # the services' calendar
    deployment = Deployment(
        name="kaa-demo",
        bootstrap_servers=bootstrap_servers,
        admin_database_url=database_url,
        logs_dir=home / "logs" / "demo",
        tenants=(TENANT,),
        today=today,
    )
    feeds = generate(youths, TENANT, seed=2026, out=home / "demo", today=today)
    bad = home / "demo" / "bad-population.jsonl"
    bad.write_bytes(b"\n".join(BAD_POPULATION_LINES) + b"\n")

    say("resetting the demo database and topics")
    asyncio.run(deployment.reset())
    say("starting identify, outreach, measures and register (separate processes)")
    started = time.monotonic()
    deployment.start(dict(os.environ))
    try:
        say(f"services up in {time.monotonic() - started:.1f} s; loading {youths} youths")
        loaded_at = time.monotonic()
        # In the natural order, the population register's delivery first: each load ends with
        # its source's watermark, and identify decides each youth once both are complete.
        asyncio.run(deployment.load("population", feeds.population))
        asyncio.run(deployment.load("ss12000", feeds.ss12000))
        # Three bad lines, not a delivery of their own (no watermark): dead-lettered.
        asyncio.run(deployment.publish_feed("population", read_lines(bad), complete=False))
        asyncio.run(deployment.drained())
        pipeline_seconds = time.monotonic() - loaded_at

        register = deployment.client("register", TENANT, "caseworker")
        outreach = deployment.client("outreach", TENANT, "caseworker")
        measures = deployment.client("measures", TENANT, "caseworker")
        in_scope = register.get("/v1/youths", params={"status": "in_scope", "limit": 40}).json()[
            "items"
        ]
        say(f"register has {len(in_scope)}+ youths in scope; caseworkers start calling")
        channels = ["phone", "sms", "letter", "home_visit"]
        outcomes = ["reached", "not_reached", "not_reached", "wrong_contact_details"]
        now = datetime.now(UTC)
        for n, youth in enumerate(in_scope[:30]):
            response = outreach.post(
                f"/v1/youths/{youth['youth_id']}/contact-attempts",
                json={
                    "channel": channels[n % 4],
                    "outcome": outcomes[n % 4],
                    "attempted_at": (now - timedelta(hours=n)).isoformat(),
                },
            )
            response.raise_for_status()
        for youth in in_scope[:12]:
            measures.post(
                f"/v1/youths/{youth['youth_id']}/measure-offers",
                json={"measure_type": "study_guidance", "offered_on": today.isoformat()},
            ).raise_for_status()
        # One youth's plan and a measure: offered, declined, offered again, accepted, started.
        first = in_scope[0]["youth_id"]
        measures.put(
            f"/v1/youths/{first}/plan",
            json={"goal": "Studier på komvux", "mapping": {"goals": ["komvux"]},
                  "efforts": [{"description": "Träffa studie- och yrkesvägledare",
                               "responsible": "municipality"}],
                  "follow_up_on": (today + timedelta(days=30)).isoformat()},
        ).raise_for_status()  # fmt: skip
        measure = measures.post(
            f"/v1/youths/{first}/measure-offers",
            json={"measure_type": "internship", "offered_on": today.isoformat()},
        ).json()["measure_id"]
        for step in ("decline", "reoffer", "acceptance", "start"):
            path = f"/v1/youths/{first}/measures/{measure}/{step}"
            body: dict[str, str] = {"on": today.isoformat()}
            if step == "reoffer":
                path = f"/v1/youths/{first}/measure-offers"
                body = {"measure_type": "internship", "offered_on": today.isoformat(),
                        "measure_id": measure}  # fmt: skip
            measures.post(path, json=body).raise_for_status()
        asyncio.run(deployment.drained())
        worklists = outreach.get("/v1/worklists").json()["open"]
        waiting = outreach.get("/v1/worklists/first_contact", params={"limit": 1}).json()
        clock = waiting["items"][0]["clock"] if waiting["items"] else None
        timeline = register.get(f"/v1/youths/{first}").json()
        # The measure walked through its steps (the youth was also offered study guidance).
        walked = next(m for m in timeline["measure_status"] if m["measure_id"] == measure)

        # A school reports that an enrolled student left: how fast does a caseworker see it?
        dropout = _enrolled_student(feeds.ss12000, today)
        reporter = deployment.client("identify", TENANT, "school-reporter")
        before = register.get("/v1/summary").json()["known"]
        reported = time.monotonic()
        accepted = reporter.post(
            "/v1/school-notifications",
            json={"personnummer": dropout, "kind": "left", "on": today.isoformat(),
                  "school_type": "GY", "school_unit": "demo-gymnasium"},
        )  # fmt: skip
        accepted.raise_for_status()
        dropout_youth = accepted.json()["youth_id"]
        while register.get(f"/v1/youths/{dropout_youth}").status_code != 200:
            if time.monotonic() - reported > 10:
                raise RuntimeError("the reported dropout did not reach the register in 10 s")
            time.sleep(0.01)
        dropout_seconds = time.monotonic() - reported
        asyncio.run(deployment.drained())
        summary = register.get("/v1/summary").json()
        if summary["known"] != before + 1:
            raise RuntimeError("the reported dropout was not registered exactly once")
        # The half-year report to SCB (checks only), and who is behind a youth id.
        period = f"{today.year}H{1 if today.month <= 6 else 2}"
        with deployment.client("register", TENANT, "coordinator") as coordinator:
            report = coordinator.get("/v1/scb/report", params={"period": period}).json()
        identity = register.get(f"/v1/youths/{first}/identity").json()
        with deployment.client("register", TENANT, "inspector") as inspector:
            logged = len(inspector.get("/v1/access-log").json()["items"])
        dead = asyncio.run(summarize(bootstrap_servers, deployment.namespace, show=3))
        feed_records, sealed, readable = asyncio.run(
            _scan_feeds(deployment, _numbers(feeds.population))
        )
    except BaseException:
        deployment.stop()
        raise
    codes = None if keep_running else deployment.stop()
    dead_total = sum(item.count for item in dead)
    lines = [
        f"Municipality {TENANT}: {youths} youths generated ({feeds.population_records} population "
        f"records, {feeds.ss12000_records} SS 12000 records) + 3 bad records",
        f"Feeds to register in {pipeline_seconds:.1f} s",
        f"Register: {summary['in_scope']} youths in scope, {summary['left_scope']} left scope, "
        f"{summary['known']} known",
        f"Contacted: {summary['contacted']} youths ({summary['contact_attempts']} contact attempts)",
        f"Offered a measure: {summary['offered']} youths ({summary['measure_offers']} offers)",
        "Worklists today: " + ", ".join(f"{name} {count}" for name, count in worklists.items()),
        (
            f"Longest wait for a first contact attempt: {clock['working_days_waiting']} working "
            f"days since {clock['started_on']} (limit {clock['limit_working_days']})"
            if clock
            else "Nobody waits for a first contact attempt"
        ),
        f"One youth in the register: plan revision {timeline['plan_revisions'][-1]['revision']}, "
        f"measure {walked['measure_type']} {walked['state']} after {walked['offers']} offers",
        f"A school reported a dropout: in the register {dropout_seconds * 1000:.0f} ms later",
        f"SCB report {period} (checks only): {report['youths']} youths, records per block "
        + ", ".join(f"{block}: {n}" for block, n in report["records"].items())
        + f"; {report['errors']} errors, {report['warnings']} warnings",
        f"A caseworker opened one youth's sealed identity ({identity['state']}); the access log "
        f"holds {logged} reads, each with who, when and why",
        f"Feed topics: {feed_records} records, {sealed} sealed at intake by the feed adapter; "
        f"{readable} of the generated personnummer readable on them",
        f"Dead letters: {dead_total} (see 'kaa dlq list'; reasons name the field, never the value)",
    ]
    for item in dead:
        lines.extend(f"    {reason}" for reason in item.latest)
    if codes is None:
        return DemoResult(lines, running=deployment)
    lines.append(stopped(codes))
    return DemoResult(lines)


def stopped(codes: dict[str, int | None]) -> str:
    return "Services stopped: " + ", ".join(f"{n} ({_exit(c)})" for n, c in codes.items())
