"""Feed records are sealed by the feed adapter, opened only by identify, and shredded with the youth.

Two youths arrive through `kaa feed load` (population, and SS 12000 with an e-mail address); a
caseworker writes each an individual plan and offers a measure with its content (free text about
the youth is personal data too); one moves away and, once the retention period has passed, `kaa
retention run` purges them. Afterwards no Kafka topic holds anybody's personal data or free text
in the clear (not the feed topics either), no PostgreSQL table holds it, the purged youth's feed
records can no longer be opened, and the views show the purged youth's free text as redacted.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from kaa.deployment import Deployment
from shared import personnummer
from shared.contracts.events import IndividualPlanRevised, MeasureOffered, parse_event
from shared.contracts.topics import MEASURES_EVENTS, POPULATION_FEED
from shared.crypto import TenantKeys
from shared.intake import FeedOpener, stored_keys
from shared.messaging import read_topics
from shared.messaging.consumer import Delivery, Rejected
from tests.conftest import RunningInfra
from tests.e2e.conftest import TODAY, running
from tests.e2e.test_bad_input_and_republication import read_all
from tests.e2e.test_scb_report import _scan_kafka, _scan_postgres

RNG = random.Random(20260302)
LEAVER = personnummer.generate(date(2008, 5, 17), RNG)
STAYER = personnummer.generate(date(2009, 1, 9), RNG)
DETAILS = {
    LEAVER: ("Zebulonia", "Qvarnström", "Lövängsgränd 17", "zebulonia@example.org"),
    STAYER: ("Ottiliana", "Wennerbom", "Mossbrovägen 3", "ottiliana@example.org"),
}


def population(
    number: str, change: str = "baseline", kommunkod: str = "0180", effective: str = "2026-02-01"
) -> bytes:
    given, family, street, _ = DETAILS[number]
    return json.dumps({
        "feed": "population", "schema_version": 1, "record_id": str(uuid.uuid4()),
        "tenant": "0180", "observed_at": f"{effective}T08:00:00Z",
        "record": {"personnummer": number, "given_name": given, "family_name": family,
                   "address": {"street": street, "postal_code": "123 45", "city": "Stockholm"},
                   "kommunkod": kommunkod, "birth_date": personnummer.birth_date(number).isoformat(),
                   "change_type": change, "effective_date": effective},
    }).encode()  # fmt: skip


def school(number: str) -> bytes:
    given, family, _, email = DETAILS[number]
    return json.dumps({
        "feed": "ss12000", "schema_version": 1, "record_id": str(uuid.uuid4()), "tenant": "0180",
        "observed_at": "2026-02-01T08:00:00Z",
        "person": {"id": str(uuid.uuid4()), "givenName": given, "familyName": family,
                   "civicNo": {"value": number, "nationality": "SE"},
                   "emails": [{"value": email, "type": "Privat"}], "enrolments": []},
    }).encode()  # fmt: skip


def kaa(deployment: Deployment, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kaa", *args],
        env={**deployment.env(dict(os.environ)), **env},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def secrets_of(*numbers: str) -> tuple[str, ...]:
    return tuple(s for n in numbers for s in (n, *DETAILS[n], *WORDS[n].values()))


# What a caseworker writes about each youth, with markers no other data holds, so a scan finds any
# copy that is readable.
WORDS = {
    number: {part: f"Fritext{part.capitalize()}{who}Xq7" for part in
             ("goal", "goals", "needs", "effort", "actor", "ended", "content")}
    for number, who in ((LEAVER, "Lamell"), (STAYER, "Stubbe"))
}  # fmt: skip


def write_casework(measures: httpx.Client, youth: uuid.UUID, number: str) -> list[str]:
    """A plan revision and a measure offer with the youth's free text; the plan's warnings."""
    words = WORDS[number]
    plan = measures.put(f"/v1/youths/{youth}/plan", json={
        "goal": f"{words['goal']}; har en ADHD-diagnos",
        "mapping": {"goals": [words["goals"]], "needs": [words["needs"]]},
        "efforts": [{"description": words["effort"], "responsible": "other_actor",
                     "other_actor": words["actor"], "start_date": "2026-02-10",
                     "end_date": "2026-02-20", "end_reason": words["ended"]}],
    })  # fmt: skip
    assert plan.status_code == 201, plan.text
    offer = measures.post(f"/v1/youths/{youth}/measure-offers", json={
        "measure_type": "internship", "offered_on": TODAY.isoformat(),
        "content": words["content"],
    })  # fmt: skip
    assert offer.status_code == 201, offer.text
    assert offer.json()["warnings"] == []
    warnings: list[str] = plan.json()["warnings"]
    return warnings


def shown_text(record: dict[str, Any]) -> tuple[Any, ...]:
    """The free text of a register timeline (the live one or an audit replay's), as shown."""
    [revision] = record["plan_revisions"]
    [effort] = revision["efforts"]
    [measure] = record["measures"]
    return (revision["text"], revision["goal"], revision["mapping"] and revision["mapping"]["goals"],
            effort["description"], effort["other_actor"], effort["end_reason"],
            effort["responsible"], measure["text"], measure["content"])  # fmt: skip


def opened_text(number: str) -> tuple[Any, ...]:
    words = WORDS[number]
    return ("open", f"{words['goal']}; har en ADHD-diagnos", [words["goals"]], words["effort"],
            words["actor"], words["ended"], "other_actor", "open", words["content"])  # fmt: skip


REDACTED = ("redacted", None, None, None, None, None, "other_actor", "redacted", None)


def test_feed_records_are_sealed_on_kafka_and_shredded_with_the_youth(
    infra: RunningInfra, tmp_path: Path
) -> None:
    with running(infra, services=["identify", "measures", "register"]) as deployment:
        people, schools = tmp_path / "population.jsonl", tmp_path / "ss12000.jsonl"
        people.write_bytes(population(LEAVER) + b"\n" + population(STAYER) + b"\n")
        schools.write_bytes(school(LEAVER) + b"\n" + school(STAYER) + b"\n")
        for feed, path in (("ss12000", schools), ("population", people)):
            loaded = kaa(deployment, "feed", "load", feed, str(path))
            assert loaded.returncode == 0, loaded.stderr
            assert "published 2 records" in loaded.stdout
        asyncio.run(deployment.drained())

        coordinator = deployment.client("register", "0180", "caseworker", "coordinator")
        desk = deployment.client("measures", "0180", "caseworker")
        inspector = deployment.client("register", "0180", "inspector")
        try:
            youths = {y["youth_id"] for y in coordinator.get("/v1/youths").json()["items"]}
            assert len(youths) == 2, "identify opened both sealed records"
            names = {coordinator.get(f"/v1/youths/{y}/identity").json()["given_name"]: y
                     for y in youths}  # fmt: skip
            assert set(names) == {"Zebulonia", "Ottiliana"}
            leaver, stayer = uuid.UUID(names["Zebulonia"]), uuid.UUID(names["Ottiliana"])

            # Free text about each youth: the sensitive-keyword warning still reads the words ...
            for youth, number in ((leaver, LEAVER), (stayer, STAYER)):
                assert write_casework(desk, youth, number) == [
                    "goal: may contain sensitive personal data (health); documentation under the "
                    "activity responsibility must not hold it"
                ]
            asyncio.run(deployment.drained())
            # ... the views open them ...
            for youth, number in ((leaver, LEAVER), (stayer, STAYER)):
                assert shown_text(coordinator.get(f"/v1/youths/{youth}").json()) == opened_text(
                    number
                )
                plan = desk.get(f"/v1/youths/{youth}/plan").json()["plan"]
                assert (plan["text"], plan["goal"]) == opened_text(number)[:2]
                assert not {"sealed_text", "text_digest"} & set(plan)
                [measure] = desk.get(f"/v1/youths/{youth}/measures").json()["measures"]
                assert (measure["text"], measure["content"]) == ("open", WORDS[number]["content"])
            # ... and the events carry them only sealed, on the topic and everywhere else.
            events = asyncio.run(_measures_events(deployment))
            [revised] = [e for e in events if isinstance(e, IndividualPlanRevised)
                         and e.youth_id == leaver]  # fmt: skip
            assert (revised.goal, revised.mapping.goals) == (None, [])
            assert (revised.sealed_text or "").startswith("kaa1.")
            assert revised.efforts[0].description is None
            assert revised.efforts[0].responsible == "other_actor", "codes and dates stay clear"
            assert revised.efforts[0].end_date == date(2026, 2, 20)
            offers = [e for e in events if isinstance(e, MeasureOffered)]
            assert all((e.sealed_content or "").startswith("kaa1.") for e in offers)
            words = tuple(w for n in (LEAVER, STAYER) for w in WORDS[n].values())
            assert asyncio.run(_scan_kafka(deployment, words)) == []
            assert asyncio.run(_scan_postgres(deployment.database_url, words)) == []

            asyncio.run(deployment.publish_feed(
                "population", [population(LEAVER, "moved_out", "1480", "2026-03-02")]
            ))  # fmt: skip
            asyncio.run(deployment.drained())
            assert coordinator.get(f"/v1/youths/{leaver}").json()["status"] == "out_of_scope"
            assert asyncio.run(_youths_with_subject(deployment)) == {leaver, stayer}

            # Half a year later, with a retention period of a day: the leaver is due, the stayer is not.
            ran = kaa(deployment, "retention", "run", KAA_TODAY="2026-07-01",
                      KAA_RETENTION_DAYS='{"0180": 1}')  # fmt: skip
            assert ran.returncode == 0, ran.stderr
            assert "1 youths due, 1 data keys destroyed" in ran.stdout
            assert "intake keys destroyed: 1 of purged youths" in ran.stdout
            asyncio.run(deployment.drained())
            assert coordinator.get(f"/v1/youths/{leaver}/identity").json()["state"] == "redacted"
            assert coordinator.get(f"/v1/youths/{stayer}/identity").json()["state"] == "open"

            # The purged youth's free text is gone from every view, said so (not an error); the
            # stayer's still opens.
            assert shown_text(coordinator.get(f"/v1/youths/{leaver}").json()) == REDACTED
            assert shown_text(coordinator.get(f"/v1/youths/{stayer}").json()) == opened_text(STAYER)
            now = datetime.now(UTC).isoformat()
            for youth, expected in ((leaver, REDACTED), (stayer, opened_text(STAYER))):
                audit = inspector.get(f"/v1/audit/youths/{youth}", params={"as_of": now})
                assert audit.status_code == 200, audit.text
                assert shown_text(audit.json()["youth"]) == expected
            plan = desk.get(f"/v1/youths/{leaver}/plan/revisions")
            assert plan.status_code == 200, plan.text
            [revision] = plan.json()["revisions"]
            assert (revision["text"], revision["goal"], revision["efforts"][0]["description"]) == (
                "redacted",
                None,
                None,
            )
            [measure] = desk.get(f"/v1/youths/{leaver}/measures").json()["measures"]
            assert (measure["text"], measure["content"]) == ("redacted", None)
        finally:
            coordinator.close()
            desk.close()
            inspector.close()

        # Nobody's personal data is on any topic in the clear, the feed topics included ...
        assert asyncio.run(_scan_kafka(deployment, secrets_of(LEAVER, STAYER))) == []
        assert (
            asyncio.run(_scan_postgres(deployment.database_url, secrets_of(LEAVER, STAYER))) == []
        )
        assert asyncio.run(read_all(deployment.bootstrap_servers,
                                    f"{deployment.namespace}{POPULATION_FEED}.dlq")) == []  # fmt: skip
        # ... and the purged youth's records on the feed topic no longer open; the stayer's do.
        opened = asyncio.run(_open_feed_topic(deployment))
        assert sorted(opened.values()) == ["no intake key", "no intake key", "open"]


async def _measures_events(deployment: Deployment) -> list[Any]:
    records = await read_topics(
        deployment.bootstrap_servers, [f"{deployment.namespace}{MEASURES_EVENTS}"]
    )
    return [parse_event(r.value) for r in records if r.value is not None]


async def _youths_with_subject(deployment: Deployment) -> set[uuid.UUID]:
    """Youths whose data key names the subject of their intake keys."""
    conn = await asyncpg.connect(deployment.database_url)
    try:
        rows = await conn.fetch(
            "SELECT y.youth_id FROM keyring.youth_keys y JOIN keyring.intake_keys k "
            "ON k.tenant = y.tenant AND k.subject = y.subject"
        )
        return {r["youth_id"] for r in rows}
    finally:
        await conn.close()


async def _open_feed_topic(deployment: Deployment) -> dict[str, str]:
    """Each population record on the topic: does it still open with the keyring as it is?"""
    records = await read_topics(
        deployment.bootstrap_servers, [f"{deployment.namespace}{POPULATION_FEED}"]
    )
    deliveries = [
        Delivery(r.topic, r.partition, r.offset, r.key, r.value)
        for r in records
        if r.value is not None and json.loads(r.value).get("feed") != "watermark"  # no person
    ]
    conn = await asyncpg.connect(deployment.database_url)

    async def fetch(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
        return await stored_keys(conn, pairs)

    try:
        outcomes = await FeedOpener(TenantKeys(deployment.master_key), fetch).open(deliveries)
    finally:
        await conn.close()
    return {
        f"{d.partition}:{d.offset}": (
            "no intake key" if isinstance(o, Rejected) and "no intake key" in o.reason
            else "open" if isinstance(o, Delivery) and o.opened else f"other: {o}"
        )
        for d, o in zip(deliveries, outcomes, strict=True)
    }  # fmt: skip
