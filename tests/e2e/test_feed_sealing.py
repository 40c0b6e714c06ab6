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
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

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


# One deployment: the fixture takes the steps in order and keeps what each answered while it was
# true (the views before the purge); the tests check one behaviour each, and read what no later
# step changes (the views and topics after the purge) themselves.
Sealed = dict[str, Any]
SENSITIVE_GOAL_WARNING = (
    "goal: may contain sensitive personal data (health); documentation under the "
    "activity responsibility must not hold it"
)


def load_both_feeds(deployment: Deployment, folder: Path, sealed: Sealed) -> None:
    """Two youths through `kaa feed load`: SS 12000 (with an e-mail address), then population."""
    people, schools = folder / "population.jsonl", folder / "ss12000.jsonl"
    people.write_bytes(population(LEAVER) + b"\n" + population(STAYER) + b"\n")
    schools.write_bytes(school(LEAVER) + b"\n" + school(STAYER) + b"\n")
    sealed["loads"] = [
        kaa(deployment, "feed", "load", feed, str(path))
        for feed, path in (("ss12000", schools), ("population", people))
    ]
    asyncio.run(deployment.drained())
    youths = {y["youth_id"] for y in sealed["register"].get("/v1/youths").json()["items"]}
    sealed["youths"] = youths
    sealed["names"] = names = {
        sealed["register"].get(f"/v1/youths/{y}/identity").json()["given_name"]: y for y in youths
    }
    sealed["leaver"], sealed["stayer"] = (
        uuid.UUID(names["Zebulonia"]),
        uuid.UUID(names["Ottiliana"]),
    )


def write_and_read_back(deployment: Deployment, sealed: Sealed) -> None:
    """Each youth's plan and measure, written, then read in the views and on the topic."""
    register, measures = sealed["register"], sealed["measures"]
    youths = ((sealed["leaver"], LEAVER), (sealed["stayer"], STAYER))
    sealed["warnings"] = [write_casework(measures, youth, number) for youth, number in youths]
    asyncio.run(deployment.drained())
    sealed["shown"] = [shown_text(register.get(f"/v1/youths/{y}").json()) for y, _ in youths]
    sealed["plans"] = [measures.get(f"/v1/youths/{y}/plan").json()["plan"] for y, _ in youths]
    sealed["measure_views"] = [
        measures.get(f"/v1/youths/{y}/measures").json()["measures"] for y, _ in youths
    ]
    sealed["events"] = asyncio.run(_measures_events(deployment))
    words = tuple(w for n in (LEAVER, STAYER) for w in WORDS[n].values())
    sealed["words_on_kafka"] = asyncio.run(_scan_kafka(deployment, words))
    sealed["words_in_postgres"] = asyncio.run(_scan_postgres(deployment.database_url, words))


def move_out_and_purge(deployment: Deployment, sealed: Sealed) -> None:
    """The leaver moves away; half a year later, with a retention period of a day, is purged."""
    moved = population(LEAVER, "moved_out", "1480", "2026-03-02")
    asyncio.run(deployment.publish_feed("population", [moved]))
    asyncio.run(deployment.drained())
    sealed["leaver_row"] = sealed["register"].get(f"/v1/youths/{sealed['leaver']}").json()
    sealed["youths_with_subject"] = asyncio.run(_youths_with_subject(deployment))
    sealed["retention"] = kaa(deployment, "retention", "run", KAA_TODAY="2026-07-01",
                              KAA_RETENTION_DAYS='{"0180": 1}')  # fmt: skip
    asyncio.run(deployment.drained())


@pytest.fixture(scope="class")
def sealed(infra: RunningInfra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sealed]:
    with running(infra, services=["identify", "measures", "register"]) as deployment:
        clients = {
            "register": deployment.client("register", "0180", "caseworker", "coordinator"),
            "measures": deployment.client("measures", "0180", "caseworker"),
            "inspector": deployment.client("register", "0180", "inspector"),
        }
        answers: Sealed = {"deployment": deployment, **clients}
        try:
            load_both_feeds(deployment, tmp_path_factory.mktemp("feeds"), answers)
            write_and_read_back(deployment, answers)
            move_out_and_purge(deployment, answers)
            yield answers
        finally:
            for client in clients.values():
                client.close()


class TestFeedRecordsAreSealedOnKafkaAndShreddedWithTheYouth:
    def test_kaa_feed_load_publishes_each_file(self, sealed: Sealed) -> None:
        for loaded in sealed["loads"]:
            assert loaded.returncode == 0, loaded.stderr
            assert "published 2 records" in loaded.stdout

    def test_identify_opens_both_sealed_records(self, sealed: Sealed) -> None:
        assert len(sealed["youths"]) == 2, "identify opened both sealed records"
        assert set(sealed["names"]) == {"Zebulonia", "Ottiliana"}

    def test_the_sensitive_keyword_warning_still_reads_the_words(self, sealed: Sealed) -> None:
        assert sealed["warnings"] == [[SENSITIVE_GOAL_WARNING], [SENSITIVE_GOAL_WARNING]]

    def test_the_views_open_the_free_text(self, sealed: Sealed) -> None:
        for n, number in enumerate((LEAVER, STAYER)):
            assert sealed["shown"][n] == opened_text(number)
            plan = sealed["plans"][n]
            assert (plan["text"], plan["goal"]) == opened_text(number)[:2]
            assert not {"sealed_text", "text_digest"} & set(plan)
            [measure] = sealed["measure_views"][n]
            assert (measure["text"], measure["content"]) == ("open", WORDS[number]["content"])

    def test_a_plan_revision_carries_its_words_sealed_and_its_codes_clear(
        self, sealed: Sealed
    ) -> None:
        [revised] = [e for e in sealed["events"] if isinstance(e, IndividualPlanRevised)
                     and e.youth_id == sealed["leaver"]]  # fmt: skip
        assert (revised.goal, revised.mapping.goals) == (None, [])
        assert (revised.sealed_text or "").startswith("kaa1.")
        assert revised.efforts[0].description is None
        assert revised.efforts[0].responsible == "other_actor", "codes and dates stay clear"
        assert revised.efforts[0].end_date == date(2026, 2, 20)

    def test_a_measure_offer_carries_its_content_sealed(self, sealed: Sealed) -> None:
        offers = [e for e in sealed["events"] if isinstance(e, MeasureOffered)]
        assert all((e.sealed_content or "").startswith("kaa1.") for e in offers)

    def test_no_topic_or_table_holds_the_words_in_the_clear(self, sealed: Sealed) -> None:
        assert sealed["words_on_kafka"] == []
        assert sealed["words_in_postgres"] == []

    def test_the_leaver_leaves_scope_and_both_data_keys_name_their_subject(
        self, sealed: Sealed
    ) -> None:
        assert sealed["leaver_row"]["status"] == "out_of_scope"
        assert sealed["youths_with_subject"] == {sealed["leaver"], sealed["stayer"]}

    def test_retention_purges_the_leaver_with_their_intake_keys(self, sealed: Sealed) -> None:
        ran = sealed["retention"]
        assert ran.returncode == 0, ran.stderr
        assert "1 youths due, 1 data keys destroyed" in ran.stdout
        assert "intake keys destroyed: 1 of purged youths" in ran.stdout
        register = sealed["register"]
        assert register.get(f"/v1/youths/{sealed['leaver']}/identity").json()["state"] == "redacted"
        assert register.get(f"/v1/youths/{sealed['stayer']}/identity").json()["state"] == "open"

    def test_the_register_shows_the_purged_text_redacted_and_the_stayers_open(
        self, sealed: Sealed
    ) -> None:
        register = sealed["register"]
        assert shown_text(register.get(f"/v1/youths/{sealed['leaver']}").json()) == REDACTED
        stayer = register.get(f"/v1/youths/{sealed['stayer']}").json()
        assert shown_text(stayer) == opened_text(STAYER)

    def test_the_audit_replay_shows_the_purged_text_redacted(self, sealed: Sealed) -> None:
        now = datetime.now(UTC).isoformat()
        for youth, expected in (
            (sealed["leaver"], REDACTED),
            (sealed["stayer"], opened_text(STAYER)),
        ):
            audit = sealed["inspector"].get(f"/v1/audit/youths/{youth}", params={"as_of": now})
            assert audit.status_code == 200, audit.text
            assert shown_text(audit.json()["youth"]) == expected

    def test_the_measures_views_show_the_purged_text_redacted(self, sealed: Sealed) -> None:
        measures, leaver = sealed["measures"], sealed["leaver"]
        plan = measures.get(f"/v1/youths/{leaver}/plan/revisions")
        assert plan.status_code == 200, plan.text
        [revision] = plan.json()["revisions"]
        assert (revision["text"], revision["goal"], revision["efforts"][0]["description"]) == (
            "redacted", None, None,
        )  # fmt: skip
        [measure] = measures.get(f"/v1/youths/{leaver}/measures").json()["measures"]
        assert (measure["text"], measure["content"]) == ("redacted", None)

    def test_nobodys_personal_data_is_anywhere_in_the_clear(self, sealed: Sealed) -> None:
        deployment = sealed["deployment"]
        secrets = secrets_of(LEAVER, STAYER)
        assert asyncio.run(_scan_kafka(deployment, secrets)) == [], "the feed topics included"
        assert asyncio.run(_scan_postgres(deployment.database_url, secrets)) == []
        dlq = f"{deployment.namespace}{POPULATION_FEED}.dlq"
        assert asyncio.run(read_all(deployment.bootstrap_servers, dlq)) == []

    def test_the_purged_youths_feed_records_no_longer_open(self, sealed: Sealed) -> None:
        opened = asyncio.run(_open_feed_topic(sealed["deployment"]))
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
