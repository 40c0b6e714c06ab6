"""The SCB half-year report and audit replay, from a scripted half-year on the real topics.

A small municipality's first half of 2026 is published as integration events (identifications with
sealed personal details, contacts, occupations, measures, a move out and a re-entry, a 20th
birthday) onto the deployment's Kafka topics; the real register service projects them. The SCB
file must equal the hand-checked golden file (tests/golden/README.md explains each line), twice
byte for byte; then a correction after the period closed marks it for resubmission, an unnamed
youth makes the checks refuse the export, and the audit replay shows what stood before a
correction was recorded.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from kaa.deployment import Deployment
from services.register.adapters.projection.parking import EARLY
from services.register.commands.replay import replay, replay_from_topics
from shared.contracts.envelope import IntegrationEvent
from shared.contracts.events import (
    ContactAttempted,
    ContactEstablished,
    IndividualPlanRevised,
    MeasureAccepted,
    MeasureEnded,
    MeasureOffered,
    MeasureStarted,
    OccupationRecorded,
    PersonalDetails,
    PlanText,
    YouthIdentified,
    YouthLeftScope,
)
from shared.crypto import TenantKeys, new_data_key, seal
from tests.conftest import RunningInfra
from tests.e2e.conftest import kaa, running

GOLDEN = Path(__file__).parent.parent / "golden" / "scb-0180-2026H1.txt"
TODAY = date(2026, 7, 15)  # the half-year has closed
TENANT = "0180"


def at(day: str, hour: int = 10) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(hour), tzinfo=UTC)


class Script:
    """Integration events as the services would have published them, recorded when stated."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.keys = TenantKeys(deployment.master_key)
        self.events: list[IntegrationEvent] = []
        self.key_rows: list[tuple[str, uuid.UUID, bytes]] = []
        self.published = 0
        self.data_keys: dict[uuid.UUID, bytes] = {}

    def envelope(self, youth: uuid.UUID, when: datetime, actor: str) -> dict[str, Any]:
        return {
            "event_id": uuid.uuid4(),
            "tenant": TENANT,
            "youth_id": youth,
            "occurred_at": when,
            "recorded_at": when,
            "actor": actor,
            "correlation_id": uuid.uuid4(),
        }

    def identified(
        self,
        youth: uuid.UUID,
        entered: str,
        background: str | None,
        number: str | None,
        born: date,
        protected: bool = False,
    ) -> uuid.UUID:
        episode = uuid.uuid4()
        sealed = None
        if number is not None:
            data_key = self.data_keys.get(youth)
            if data_key is None:
                data_key = self.data_keys[youth] = new_data_key()
                self.key_rows.append((TENANT, youth, self.keys.wrap(TENANT, youth, data_key)))
            details = PersonalDetails(
                personnummer=number, given_name="Test", family_name="Person",
                street=None if protected else "Storgatan 1",
                postal_code=None if protected else "111 22",
                city=None if protected else "Stockholm", protected=protected,
            )  # fmt: skip
            sealed = seal(
                data_key, details.model_dump_json().encode(), TENANT, youth,
                PersonalDetails.PURPOSE,
            )  # fmt: skip
        self.events.append(
            YouthIdentified(
                **self.envelope(youth, at(entered, 0), "system:identify"),
                scope_episode_id=episode,
                entered_on=date.fromisoformat(entered),
                scope_ends_on=date(born.year + 20, born.month, born.day),
                rule_version="2018-07-01",
                facts={"tenant": TENANT, "on": entered, "folkbokford_in_tenant": "yes"},
                school_background=background,
                personal_details=sealed,
            )
        )
        return episode

    def left(self, youth: uuid.UUID, episode: uuid.UUID, day: str, reason: str) -> None:
        self.events.append(
            YouthLeftScope(
                **self.envelope(youth, at(day, 0), "system:identify"),
                scope_episode_id=episode,
                left_on=date.fromisoformat(day),
                reason=reason,
                rule_version="2018-07-01",
            )
        )

    def attempt(self, youth: uuid.UUID, day: str, outcome: str) -> None:
        self.events.append(
            ContactAttempted(
                **self.envelope(youth, at(day), "user:caseworker1"),
                contact_attempt_id=uuid.uuid4(),
                channel="phone",
                outcome=outcome,
                attempted_at=at(day),
            )
        )

    def contact(self, youth: uuid.UUID, day: str) -> None:
        self.events.append(
            ContactEstablished(
                **self.envelope(youth, at(day), "user:caseworker1"),
                established_at=at(day),
                channel="home_visit",
            )
        )

    def occupation(
        self, youth: uuid.UUID, category: str, since: str, confirmed: str, recorded: datetime
    ) -> None:
        self.events.append(
            OccupationRecorded(
                **self.envelope(youth, recorded, "user:caseworker1"),
                occupation_id=uuid.uuid4(),
                category=category,
                code_list_version="2026-1",
                tense="current",
                from_date=date.fromisoformat(since),
                confirmed_on=date.fromisoformat(confirmed),
            )
        )

    def measure(
        self, youth: uuid.UUID, kind: str, offered: str, started: str,
        ended: str | None = None, after: str | None = None,
    ) -> None:  # fmt: skip
        measure = uuid.uuid4()
        day = date.fromisoformat
        self.events += [
            MeasureOffered(**self.envelope(youth, at(offered), "user:caseworker1"),
                           measure_id=measure, measure_type=kind, offered_on=day(offered)),
            MeasureAccepted(**self.envelope(youth, at(offered, 11), "user:caseworker1"),
                            measure_id=measure, accepted_on=day(offered)),
            MeasureStarted(**self.envelope(youth, at(started), "user:caseworker1"),
                           measure_id=measure, started_on=day(started)),
        ]  # fmt: skip
        if ended is not None:
            self.events.append(
                MeasureEnded(**self.envelope(youth, at(ended), "user:caseworker1"),
                             measure_id=measure, ended_on=day(ended),
                             end_reason="started_education", occupation_after=after)
            )  # fmt: skip

    def plan(self, youth: uuid.UUID, day: str, goal: str) -> None:
        """A plan revision as the measures service publishes it: its words sealed."""
        text = PlanText(goal=goal).model_dump_json().encode()
        self.events.append(
            IndividualPlanRevised(
                **self.envelope(youth, at(day), "user:caseworker1"), revision=1,
                valid_from=date.fromisoformat(day), efforts=[],
                sealed_text=seal(self.data_keys[youth], text, TENANT, youth, PlanText.PURPOSE),
            )
        )  # fmt: skip

    def publish(self) -> None:
        events, rows = self.events, self.key_rows
        self.events, self.key_rows = [], []
        self.published += len(events)
        asyncio.run(_publish(self.deployment, events, rows))
        asyncio.run(self.deployment.drained())


async def _publish(
    deployment: Deployment, events: list[IntegrationEvent], keys: list[tuple[str, uuid.UUID, bytes]]
) -> None:
    from aiokafka import AIOKafkaProducer

    conn = await asyncpg.connect(deployment.database_url)
    try:
        await conn.executemany(
            "INSERT INTO keyring.youth_keys (tenant, youth_id, wrapped) VALUES ($1, $2, $3)", keys
        )
    finally:
        await conn.close()
    producer = AIOKafkaProducer(
        bootstrap_servers=deployment.bootstrap_servers, enable_idempotence=True
    )
    await producer.start()
    try:
        for event in events:
            topic = f"{deployment.namespace}{event.topic}"
            await producer.send_and_wait(topic, value=event.to_bytes(), key=event.key())
    finally:
        await producer.stop()


@pytest.fixture
def register_only(infra: RunningInfra) -> Iterator[Deployment]:
    with running(infra, tenants=(TENANT, "0181"), today=TODAY, services=["register"]) as made:
        yield made


# The half-year on one deployment: the fixture scripts it, exports, corrects and exports again,
# keeping what each step answered; the tests of TestTheScriptedHalfYearGivesTheGoldenScbFile each
# check one behaviour, and ask themselves what no step changes (roles, bad periods, the export log).
HalfYear = dict[str, Any]
H1 = {"period": "2026H1"}


def script_the_half_year(script: Script) -> list[uuid.UUID]:
    """Five youths' half-year onto the topics; the three the report names (A first)."""
    a, b, c, d, e = (uuid.uuid4() for _ in range(5))
    # A: in scope since before the half-year; working; contacted; a measure started and ended.
    script.identified(a, "2025-09-01", "GY", "200803142389", date(2008, 3, 14))
    script.occupation(a, "work", "2026-01-10", "2026-02-03", at("2026-02-03", 12))
    script.contact(a, "2026-02-03")
    script.measure(a, "study_guidance", "2026-02-20", "2026-03-02", "2026-04-30", "studies_komvux")
    # B: identified in January, reached by phone, turned 20 in May.
    episode_b = script.identified(b, "2026-01-20", "GR", "200605102417", date(2006, 5, 10))
    script.attempt(b, "2026-01-25", "reached")
    script.left(b, episode_b, "2026-05-10", "turned_20")
    # C: after an introduction programme; not reached; moved out; came back; own measure.
    episode_c = script.identified(c, "2026-02-01", "IM", "200907222558", date(2009, 7, 22))
    script.attempt(c, "2026-02-05", "not_reached")
    script.left(c, episode_c, "2026-03-15", "moved_out")
    script.identified(c, "2026-05-02", "IM", "200907222558", date(2009, 7, 22))
    script.measure(c, "own_mentoring", "2026-05-15", "2026-05-20")
    # D: responsibility ended before the half-year; E: identified after it.
    episode_d = script.identified(d, "2025-03-01", "GY", "200701012635", date(2007, 1, 1))
    script.left(d, episode_d, "2025-12-01", "enrolled")
    script.identified(e, "2026-07-05", "GR", "200901012716", date(2009, 1, 1))
    script.publish()
    return [a, b, c]


def check_and_export(half: HalfYear) -> None:
    """The report checked, exported twice over HTTP and once by the CLI."""
    coordinator, deployment, out = half["coordinator"], half["deployment"], half["out"]
    half["published_before_export"] = half["script"].published
    half["report"] = coordinator.get("/v1/scb/report", params=H1)
    half["exports"] = [coordinator.post("/v1/scb/exports", params=H1) for _ in range(2)]
    half["history"] = coordinator.get("/v1/scb/exports", params=H1).json()
    half["cli_export"] = kaa(deployment, "scb", "export", "--tenant", TENANT, "--period", "2026H1",
                             "--out", str(out))  # fmt: skip
    half["cli_file"] = out.read_bytes() if out.exists() else None
    half["cli_file_mode"] = out.stat().st_mode & 0o777 if out.exists() else None
    half["access_log"] = half["inspector"].get("/v1/access-log").json()["items"]
    out.unlink(missing_ok=True)


def correct_after_the_period(half: HalfYear) -> None:
    """A correction after the period closed: the file would change."""
    half["script"].contact(half["a"], "2026-03-10")
    half["script"].publish()
    half["history_after_correction"] = half["coordinator"].get("/v1/scb/exports", params=H1).json()
    half["cli_status"] = kaa(half["deployment"], "scb", "status", "--tenant", TENANT)


def name_no_one(half: HalfYear) -> None:
    """A youth no population record named; exported anyway, by force."""
    coordinator, deployment, out = half["coordinator"], half["deployment"], half["out"]
    half["script"].identified(uuid.uuid4(), "2026-03-01", None, None, date(2008, 1, 1))
    half["script"].publish()
    half["unnamed_refused"] = coordinator.post("/v1/scb/exports", params=H1)
    half["cli_unnamed"] = kaa(deployment, "scb", "export", "--tenant", TENANT, "--period", "2026H1",
                              "--out", str(out))  # fmt: skip
    half["cli_unnamed_wrote"] = out.exists()
    half["forced"] = coordinator.post("/v1/scb/exports", params={**H1, "force": True})
    half["history_after_forced"] = coordinator.get("/v1/scb/exports", params=H1).json()


@pytest.fixture(scope="class")
def half_year(infra: RunningInfra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HalfYear]:
    tenants = (TENANT, "0181")
    with running(infra, tenants=tenants, today=TODAY, services=["register"]) as deployment:
        clients = {role: deployment.client("register", TENANT, role)
                   for role in ("coordinator", "caseworker", "inspector")}  # fmt: skip
        script = Script(deployment)
        out = tmp_path_factory.mktemp("scb") / "scb-0180-2026H1.txt"
        half: HalfYear = {"deployment": deployment, "script": script, "out": out, **clients}
        try:
            named = script_the_half_year(script)
            half["a"], half["named"] = named[0], {str(youth) for youth in named}
            for step in (check_and_export, correct_after_the_period, name_no_one):
                step(half)
            yield half
        finally:
            for client in clients.values():
                client.close()


class TestTheScriptedHalfYearGivesTheGoldenScbFile:
    def test_the_checks_find_no_error_and_warn_of_an_own_measure(self, half_year: HalfYear) -> None:
        report = half_year["report"]
        assert report.status_code == 200, report.text
        checked = report.json()
        assert checked["errors"] == 0, checked["findings"]
        assert checked["youths"] == 3
        assert [(f["field"], f["block"]) for f in checked["findings"]] == [("measure_type", 3)], (
            "the municipality's own measure has no SCB code of its own: a warning"
        )

    def test_the_export_is_the_golden_file(self, half_year: HalfYear) -> None:
        first = half_year["exports"][0]
        assert first.status_code == 201, first.text
        assert first.content == GOLDEN.read_bytes()

    def test_the_same_register_gives_the_same_bytes(self, half_year: HalfYear) -> None:
        first, second = half_year["exports"]
        assert second.content == first.content, "the same register gives the same bytes"
        assert second.headers["X-Content-SHA256"] == first.headers["X-Content-SHA256"]

    def test_a_later_export_supersedes_the_earlier(self, half_year: HalfYear) -> None:
        history = half_year["history"]
        assert [x["superseded"] for x in history["exports"]] == [True, False]
        assert history["exports"][1]["supersedes"] == history["exports"][0]["export_id"]
        event_range = history["exports"][1]["event_range"]
        assert event_range["tenant_events"] == half_year["published_before_export"] == 20
        assert history["needs_resubmission"] is False

    def test_the_cli_writes_the_same_file_for_its_owner_only(self, half_year: HalfYear) -> None:
        cli = half_year["cli_export"]
        assert cli.returncode == 0, cli.stderr
        assert half_year["cli_file"] == GOLDEN.read_bytes()
        assert half_year["cli_file_mode"] == 0o600, "the file names youths: its owner only"
        assert "errors: 0; warnings: 1" in cli.stderr

    def test_every_identity_read_for_the_report_is_in_the_access_log(
        self, half_year: HalfYear
    ) -> None:
        reads: dict[str, set[str]] = {}
        for entry in half_year["access_log"]:
            reads.setdefault(entry["what"], set()).add(entry["youth_id"])
        assert reads["SCB check 2026H1"] == half_year["named"]
        assert reads["SCB export 2026H1"] == half_year["named"]
        assert reads["SCB resubmission check 2026H1"] == half_year["named"]
        assert any(
            e["actor"].startswith("cli:") and e["service"] == "kaa-cli"
            for e in half_year["access_log"]
        )

    def test_only_a_coordinator_checks_and_exports(self, half_year: HalfYear) -> None:
        caseworker, inspector = half_year["caseworker"], half_year["inspector"]
        assert caseworker.post("/v1/scb/exports", params=H1).status_code == 403
        assert inspector.get("/v1/scb/report", params=H1).status_code == 403

    @pytest.mark.parametrize(
        ("bad", "problem"), [("2026H3", "is not a half-year"), ("2027H1", "has not begun")]
    )
    def test_a_bad_period_is_refused_naming_the_problem(
        self, half_year: HalfYear, bad: str, problem: str
    ) -> None:
        refused = half_year["coordinator"].get("/v1/scb/report", params={"period": bad})
        assert refused.status_code == 422, refused.text
        assert problem in refused.text

    def test_the_cli_refuses_a_municipality_not_served(self, half_year: HalfYear) -> None:
        cli = kaa(half_year["deployment"], "scb", "check", "--tenant", "0380", "--period", "2026H1")
        assert cli.returncode != 0
        assert "0380" in cli.stderr

    def test_a_correction_after_the_period_needs_a_resubmission(self, half_year: HalfYear) -> None:
        history = half_year["history_after_correction"]
        assert history["register_changed_since_last_export"] is True
        assert history["needs_resubmission"] is True
        # Every half-year with a file at once: which closed ones must be resubmitted.
        cli = half_year["cli_status"]
        assert cli.returncode == 0, cli.stderr
        states = json.loads(cli.stdout)
        assert [(x["period"], x["files"], x["needs_resubmission"]) for x in states] == [
            ("2026H1", 3, True)
        ]

    def test_an_unnamed_youth_makes_the_checks_refuse_the_export(self, half_year: HalfYear) -> None:
        refused = half_year["unnamed_refused"]
        assert refused.status_code == 422
        detail = refused.json()["detail"]
        assert detail["errors"] == 1
        assert detail["findings"][0]["field"] == "personnummer"
        assert "no population record" in detail["findings"][0]["problem"]
        cli = half_year["cli_unnamed"]
        assert cli.returncode == 1
        assert "refused" in cli.stderr
        assert not half_year["cli_unnamed_wrote"]

    def test_a_forced_export_is_recorded_as_forced(self, half_year: HalfYear) -> None:
        forced = half_year["forced"]
        assert forced.status_code == 201
        assert b"2;200803142389;2026-03-10;01\n" in forced.content
        history = half_year["history_after_forced"]
        assert [x["forced"] for x in history["exports"]] == [False, False, False, True]
        assert history["needs_resubmission"] is False

    def test_the_export_log_is_append_only(self, half_year: HalfYear) -> None:
        asyncio.run(_export_log_is_append_only(half_year["deployment"].database_url))


def test_the_audit_replay_shows_the_register_before_a_later_correction(
    register_only: Deployment,
) -> None:
    deployment = register_only
    script = Script(deployment)
    youth = uuid.uuid4()
    script.identified(youth, "2026-01-20", "GY", "200803142389", date(2008, 3, 14))
    script.occupation(youth, "work", "2026-01-10", "2026-02-03", at("2026-02-03"))
    script.measure(youth, "internship", "2026-02-20", "2026-03-02")
    script.publish()
    instant = at("2026-04-01")  # T
    # Recorded after T: the measure ended, and a correction of the occupation.
    script.events.append(
        MeasureEnded(
            **script.envelope(youth, at("2026-05-05"), "user:caseworker1"),
            measure_id=_measure_of(deployment, youth),
            ended_on=date(2026, 5, 5),
            end_reason="completed",
        )
    )
    script.occupation(youth, "internship", "2026-01-10", "2026-05-06", at("2026-05-06"))
    script.publish()

    inspector = deployment.client("register", TENANT, "inspector")
    caseworker = deployment.client("register", TENANT, "caseworker")
    try:
        today = caseworker.get(f"/v1/youths/{youth}").json()
        assert [m["state"] for m in today["measure_status"]] == ["ended"]
        assert [o["category"] for o in today["occupations"]] == ["work", "internship"]

        answer = inspector.get(f"/v1/audit/youths/{youth}", params={"as_of": instant.isoformat()})
        assert answer.status_code == 200, answer.text
        then = answer.json()["youth"]
        assert [m["state"] for m in then["measure_status"]] == ["started"]
        assert then["measure_status"][0]["ended_on"] is None
        assert [o["category"] for o in then["occupations"]] == ["work"]
        assert then["scope_episodes"][0]["school_background"] == "GY"
        assert then["scope_episodes"][0]["entered_actor"] == "system:identify"

        whole = inspector.get("/v1/audit/register", params={"as_of": instant.isoformat()}).json()
        assert whole["events_recorded_by_then"] == 5
        # The archive and the event log itself tell the same story.
        now = datetime.now(UTC)
        from_archive = asyncio.run(replay(deployment.database_url, TENANT, instant, now))
        from_topics = asyncio.run(
            replay_from_topics(
                deployment.bootstrap_servers, deployment.database_url, deployment.namespace,
                deployment.tenants, TENANT, instant, now,
            )
        )  # fmt: skip
        assert from_archive == from_topics
        assert [y["status"] for y in from_archive["youths"]] == ["in_scope"]
        future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        refused = inspector.get("/v1/audit/register", params={"as_of": future})
        assert refused.status_code == 422
        assert "future" in refused.text
        assert (
            caseworker.get("/v1/audit/register", params={"as_of": instant.isoformat()}).status_code
            == 403
        )
    finally:
        inspector.close()
        caseworker.close()


def _measure_of(deployment: Deployment, youth: uuid.UUID) -> uuid.UUID:
    async def query() -> uuid.UUID:
        conn = await asyncpg.connect(deployment.database_url)
        try:
            value = await conn.fetchval(
                "SELECT measure_id FROM register.measure_status WHERE youth_id = $1", youth
            )
            assert isinstance(value, uuid.UUID)
            return value
        finally:
            await conn.close()

    return asyncio.run(query())


async def _export_log_is_append_only(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        for statement in (
            "UPDATE register_exports.events SET actor = 'user:someone'",
            "DELETE FROM register_exports.events",
        ):
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await conn.execute(statement)
        assert await conn.fetchval("SELECT count(*) FROM register_exports.events") == 4
    finally:
        await conn.close()


def test_events_the_register_cannot_place_are_reported(register_only: Deployment) -> None:
    deployment = register_only
    script = Script(deployment)
    known, stranger = uuid.uuid4(), uuid.uuid4()
    script.identified(known, "2026-01-20", "GY", "200803142389", date(2008, 3, 14))
    script.left(known, uuid.uuid4(), "2026-03-01", "moved_out")  # an episode never opened
    script.attempt(stranger, "2026-02-01", "reached")  # a youth never identified
    script.publish()
    caseworker = deployment.client("register", TENANT, "caseworker")
    try:
        dead = caseworker.get("/v1/dead-events").json()["items"]
        assert sorted((d["event_type"], d["reason"]) for d in dead) == [
            ("ContactAttempted", EARLY),  # waits for its youth (issue 14)
            ("YouthLeftScope", "scope_episode_id: no such scope episode of this youth"),
        ]
        assert caseworker.get(f"/v1/youths/{known}").json()["status"] == "in_scope"
    finally:
        caseworker.close()
    rebuilt = kaa(deployment, "register", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    verified = kaa(deployment, "register", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "could not apply 1 events" in verified.stdout
    assert "1 casework events wait for their youth's identification" in verified.stdout
    assert "no scope episode" not in verified.stdout, "casework is not applied ahead of its youth"


def test_identity_reads_are_logged_and_protected_identities_need_a_grant(
    register_only: Deployment,
) -> None:
    deployment = register_only
    script = Script(deployment)
    open_youth, hidden = uuid.uuid4(), uuid.uuid4()
    script.identified(open_youth, "2026-01-20", "GY", "200803142389", date(2008, 3, 14))
    script.identified(hidden, "2026-01-20", "GY", "200605102417", date(2006, 5, 10), True)
    script.publish()
    caseworker = deployment.client(
        "register",
        TENANT,
        "caseworker",
    )
    granted = deployment.client("register", TENANT, "caseworker", grants=["protected-identity"])
    inspector = deployment.client("register", TENANT, "inspector")
    stranger = deployment.client("register", "0181", "caseworker")
    try:
        shown = caseworker.get(f"/v1/youths/{open_youth}/identity")
        assert shown.status_code == 200, shown.text
        assert shown.json() | {"youth_id": None} == {
            "youth_id": None, "state": "open", "personnummer": "200803142389",
            "given_name": "Test", "family_name": "Person", "protected": False,
            "address": {"street": "Storgatan 1", "postal_code": "111 22", "city": "Stockholm"},
            "email": None, "phone": None,
        }  # fmt: skip
        refused = caseworker.get(f"/v1/youths/{hidden}/identity")
        assert refused.status_code == 403
        assert "protected-identity" in refused.text
        assert "200605102417" not in refused.text
        allowed = granted.get(f"/v1/youths/{hidden}/identity", params={"purpose": "identity"})
        assert allowed.status_code == 200
        assert allowed.json()["address"] is None, "a protected address is never returned"
        assert stranger.get(f"/v1/youths/{open_youth}/identity").status_code == 404
        assert caseworker.get(f"/v1/youths/{open_youth}").status_code == 200

        log = inspector.get("/v1/access-log").json()["items"]
        seen = [(e["youth_id"], e["purpose"], e["what"], e["actor"]) for e in reversed(log)]
        assert seen == [
            (str(open_youth), "casework", "identity (open)", "user:test"),
            (str(hidden), "casework", "identity refused: protected", "user:test"),
            (str(hidden), "identity", "identity (open)", "user:test"),
            (str(open_youth), "register", "register timeline", "user:test"),
        ]
        assert "200803142389" not in str(log)
        one = inspector.get("/v1/access-log", params={"youth_id": str(hidden)}).json()["items"]
        assert len(one) == 2
        assert caseworker.get("/v1/access-log").status_code == 403
        with deployment.client("register", "0181", "inspector") as other_inspector:
            assert other_inspector.get("/v1/access-log").json()["items"] == []
    finally:
        for client in (caseworker, granted, inspector, stranger):
            client.close()

    async def tamper_with_the_log() -> None:
        conn = await asyncpg.connect(deployment.database_url)
        try:
            for statement in ("UPDATE access_log.entries SET actor = 'user:nobody'",
                              "DELETE FROM access_log.entries",
                              "TRUNCATE access_log.entries"):  # fmt: skip
                with pytest.raises(asyncpg.RaiseError, match="append-only"):
                    await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(tamper_with_the_log())


def test_retention_shreds_personal_data_and_the_audit_survives(register_only: Deployment) -> None:
    """Youth A left scope long enough ago; youth B is still in scope. After `kaa retention run`,
    no PostgreSQL table and no Kafka topic holds A's personal data in the clear or in a form that
    can be opened; the replay still shows A's record, redacted, with its dates, codes and actors."""
    deployment = register_only
    script = Script(deployment)
    gone, kept = uuid.uuid4(), uuid.uuid4()
    episode = script.identified(gone, "2023-09-01", "GY", "200402292384", date(2004, 2, 29))
    script.attempt(gone, "2023-09-05", "reached")
    script.plan(gone, "2023-09-20", "PlanmålGallrasVäck")  # free text about A, sealed
    script.left(gone, episode, "2024-02-29", "turned_20")
    script.identified(kept, "2026-01-20", "GY", "200803142389", date(2008, 3, 14))
    script.publish()
    # A's personnummer, street and plan goal, as sealed
    secrets = ("200402292384", "Storgatan 1", "PlanmålGallrasVäck")
    before = datetime.now(UTC)
    coordinator = deployment.client("register", TENANT, "caseworker", "coordinator")
    inspector = deployment.client("register", TENANT, "inspector")
    try:
        assert coordinator.get(f"/v1/youths/{gone}/identity").json()["state"] == "open"
        [plan] = coordinator.get(f"/v1/youths/{gone}").json()["plan_revisions"]
        assert (plan["text"], plan["goal"]) == ("open", "PlanmålGallrasVäck")
        ran = kaa(deployment, "retention", "run")
        assert ran.returncode == 0, ran.stderr
        assert "1 youths due, 1 data keys destroyed, 1 PersonalDataPurged published" in ran.stdout
        again = kaa(deployment, "retention", "run")
        assert again.returncode == 0
        asyncio.run(deployment.drained())
        assert "0 youths due" in kaa(deployment, "retention", "run").stdout, "idempotent"

        assert coordinator.get(f"/v1/youths/{gone}/identity").json() == {
            "youth_id": str(gone), "state": "redacted", "personnummer": None, "given_name": None,
            "family_name": None, "address": None, "email": None, "phone": None,
            "protected": False,
        }  # fmt: skip
        assert coordinator.get(f"/v1/youths/{kept}/identity").json()["state"] == "open"
        record = coordinator.get(f"/v1/youths/{gone}").json()
        assert record["personal_data"] == "purged"
        assert [(e["entered_on"], e["left_on"], e["left_reason"], e["entered_actor"])
                for e in record["scope_episodes"]] == [
            ("2023-09-01", "2024-02-29", "turned_20", "system:identify")
        ]  # fmt: skip
        assert [c["outcome"] for c in record["contacts"]] == ["reached"]
        [plan] = record["plan_revisions"]
        assert (plan["text"], plan["goal"], plan["valid_from"]) == ("redacted", None, "2023-09-20")

        # The audit replay after the purge: the record, redacted; before it: the same record.
        now = datetime.now(UTC).isoformat()
        after = inspector.get(f"/v1/audit/youths/{gone}", params={"as_of": now}).json()["youth"]
        assert after["personal_data"] == "purged"
        assert after["scope_episodes"][0]["left_reason"] == "turned_20"
        earlier = inspector.get(
            f"/v1/audit/youths/{gone}", params={"as_of": before.isoformat()}
        ).json()["youth"]
        assert earlier["personal_data"] == "held"
        assert earlier["contacts"] == after["contacts"]
        # The replay from before the purge holds the sealed words, which no longer open.
        assert [(p["text"], p["goal"]) for p in earlier["plan_revisions"]] == [("redacted", None)]
    finally:
        coordinator.close()
        inspector.close()

    # The scans see everything: A's (pseudonymous) youth id is found in both places ...
    assert asyncio.run(_scan_postgres(deployment.database_url, (str(gone),)))
    assert asyncio.run(_scan_kafka(deployment, (str(gone),)))
    # ... and nothing anywhere holds A's personal data in the clear (text, or bytes as hex) ...
    found = asyncio.run(_scan_postgres(deployment.database_url, secrets))
    assert found == [], f"plaintext personal data in PostgreSQL: {found}"
    assert asyncio.run(_scan_kafka(deployment, secrets)) == []
    # ... and the sealed copies that remain (the register's archive, the topics) cannot be opened.
    assert asyncio.run(_key_of(deployment.database_url, gone)) is None
    assert asyncio.run(_key_of(deployment.database_url, kept)) is not None


async def _scan_postgres(database_url: str, needles: tuple[str, ...]) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' "
            "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        )
        forms = [n for needle in needles for n in (needle, needle.encode().hex())]
        found = []
        for table in tables:
            name = f'"{table["table_schema"]}"."{table["table_name"]}"'
            text = await conn.fetchval(f"SELECT string_agg(t::text, E'\\n') FROM {name} t")  # noqa: S608
            found += [f"{name}: {form}" for form in forms if text and form in text]
        return found
    finally:
        await conn.close()


async def _scan_kafka(deployment: Deployment, needles: tuple[str, ...]) -> list[str]:
    from shared.contracts.topics import all_topic_specs
    from shared.messaging import read_topics

    names = [s.name for s in all_topic_specs(prefix=deployment.namespace)]
    found = []
    for record in await read_topics(deployment.bootstrap_servers, names):
        raw = (record.key or b"") + (record.value or b"")
        found += [f"{record.topic}: {n}" for n in needles if n.encode() in raw]
    return found


async def _key_of(database_url: str, youth: uuid.UUID) -> bytes | None:
    conn = await asyncpg.connect(database_url)
    try:
        value = await conn.fetchval(
            "SELECT wrapped FROM keyring.youth_keys WHERE youth_id = $1", youth
        )
        return bytes(value) if value is not None else None
    finally:
        await conn.close()


def test_tampered_ciphertext_and_injection_strings_are_refused(register_only: Deployment) -> None:
    deployment = register_only
    script = Script(deployment)
    youth, other = uuid.uuid4(), uuid.uuid4()
    script.identified(youth, "2026-01-20", "GY", "200803142389", date(2008, 3, 14))
    script.identified(other, "2026-01-20", "GY", "200605102417", date(2006, 5, 10))
    script.publish()

    async def tamper() -> None:
        conn = await asyncpg.connect(deployment.database_url)
        try:
            sealed = await conn.fetchval(
                "SELECT personal_details FROM register.identities WHERE youth_id = $1", youth
            )
            flipped = sealed[:40] + ("B" if sealed[40] != "B" else "C") + sealed[41:]
            await conn.execute(
                "UPDATE register.identities SET personal_details = $2 WHERE youth_id = $1",
                youth, flipped,
            )  # fmt: skip
        finally:
            await conn.close()

    asyncio.run(tamper())
    caseworker = deployment.client("register", TENANT, "caseworker")
    inspector = deployment.client("register", TENANT, "inspector")
    try:
        refused = caseworker.get(f"/v1/youths/{youth}/identity")
        assert refused.status_code == 409
        assert "fail authentication" in refused.json()["detail"]
        assert caseworker.get(f"/v1/youths/{other}/identity").json()["state"] == "open"
        log = inspector.get("/v1/access-log", params={"youth_id": str(youth)}).json()["items"]
        assert [e["what"] for e in log] == ["identity refused: tampered"]

        # SQL injection in every filter: refused as invalid, or taken as a value; nothing leaks.
        attack = "0180' OR '1'='1"
        for name in ("status", "in_scope_on", "occupation", "currency_days", "contacted",
                     "contacted_from", "contacted_to", "measure_type", "assignee", "sort",
                     "order", "limit", "offset"):  # fmt: skip
            response = caseworker.get("/v1/youths", params={name: attack})
            assert response.status_code in (200, 422), (name, response.status_code)
            if response.status_code == 200:
                assert response.json()["total"] == 0, name
            else:
                assert attack not in response.text, "the value is never echoed"
        for path, name in (("/v1/quality", "period"), ("/v1/access-log", "youth_id"),
                           ("/v1/access-log", "since")):  # fmt: skip
            client = inspector if path == "/v1/access-log" else caseworker
            assert client.get(path, params={name: attack}).status_code == 422, (path, name)
        assert caseworker.get("/v1/summary").json()["known"] == 2, "the tables are intact"
    finally:
        caseworker.close()
        inspector.close()
