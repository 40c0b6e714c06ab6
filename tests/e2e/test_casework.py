"""The caseworker's daily work through the running services (real Kafka and PostgreSQL).

One youth is walked from identification through three contact attempts, contact, occupation,
plan, a measure offered, declined, re-offered, started and ended; the register and the worklists
are checked at every step. Then bad input, roles, and a youth whose items close on leaving scope.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from services.register.rebuild import rebuild, verify
from shared.contracts.events import MeasureStarted
from shared.contracts.topics import MEASURES_EVENTS
from shared.deployment import Deployment
from tests.e2e.conftest import TODAY
from tests.e2e.test_bad_input_and_republication import population_line, produce

YOUTH_NUMBER = "200801011230"  # 18 on TODAY (2026-03-02), not enrolled: in scope
MOVER_NUMBER = "200705051233"


def population(number: str, **fields: str) -> bytes:
    """A population record effective 2026-01-15 unless said otherwise."""
    return population_line(number, **{"effective": "2026-01-15", **fields})


class Desk:
    """A caseworker's view of the running deployment."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.outreach = deployment.client("outreach", "0180", "caseworker")
        self.measures = deployment.client("measures", "0180", "caseworker")
        self.register = deployment.client("register", "0180", "caseworker")
        self.coordinator = {
            name: deployment.client(name, "0180", "coordinator")
            for name in ("outreach", "measures")
        }

    def close(self) -> None:
        for client in (self.outreach, self.measures, self.register, *self.coordinator.values()):
            client.close()

    def settle(self) -> None:
        asyncio.run(self.deployment.drained())

    def ok(self, response: httpx.Response, status: int = 201) -> dict[str, Any]:
        assert response.status_code == status, response.text
        body: dict[str, Any] = response.json()
        return body

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = self.ok(self.outreach.get("/v1/worklists"), 200)["open"]
        return counts

    def items(self, name: str, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.ok(
            self.outreach.get(f"/v1/worklists/{name}", params=params), 200
        )["items"]
        return items

    def register_row(self, youth_id: str) -> dict[str, Any]:
        return self.ok(self.register.get(f"/v1/youths/{youth_id}"), 200)


async def tamper(database_url: str, schema: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f"UPDATE {schema}.occupations SET category = 'work'")  # noqa: S608
    finally:
        await conn.close()


def refusal(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    [error] = response.json()["errors"]
    field: str = error["field"]
    return field


def test_a_youth_walked_through_contact_plan_and_measures(deployment: Deployment) -> None:
    # The youth moved in on 2026-01-15: the episode's legal entry date; identified TODAY.
    asyncio.run(
        deployment.publish_feed("population", [population(YOUTH_NUMBER, change="moved_in")])
    )
    desk = Desk(deployment)
    try:
        desk.settle()
        [row] = desk.ok(desk.register.get("/v1/youths"), 200)["items"]
        youth = row["youth_id"]
        case = desk.ok(desk.outreach.get(f"/v1/youths/{youth}/case"), 200)
        entered = case["entered_on"]
        assert (entered, case["identified_on"]) == ("2026-01-15", TODAY.isoformat())
        assert case["in_scope"]
        assert case["occupation"] == "unknown"

        # Identified: a first contact attempt is due, and the occupation is unknown. The clock of
        # the municipality's response starts when it could know: the identification, today.
        assert desk.counts() == {"first_contact": 1, "recontact": 0, "stale_occupation": 1,
                                 "turning_20": 0, "follow_up": 0}  # fmt: skip
        [item] = desk.items("first_contact")
        assert (item["youth_id"], item["since"], item["entered_on"]) == (
            youth, TODAY.isoformat(), entered,
        )  # fmt: skip
        assert item["reason"] == "in scope; no contact attempt yet"
        assert item["clock"]["limit_working_days"] == 10
        assert (item["clock"]["started_on"], item["clock"]["event_on"]) == (
            TODAY.isoformat(), entered,
        )  # fmt: skip
        assert item["clock"]["working_days_waiting"] == 0
        [stale] = desk.items("stale_occupation")
        assert stale["reason"] == "occupation never recorded: unknown"

        # The municipality's own rules: re-contact after a week, re-offer a day after a decline.
        rules = desk.ok(
            desk.coordinator["outreach"].put("/v1/tenant-rules", json={"rules": {"recontact_days": 7}}),
            200,
        )  # fmt: skip
        assert rules["rules"]["recontact_days"] == 7
        assert rules["rules"]["first_contact_working_days"] == 10
        desk.ok(
            desk.coordinator["measures"].put(
                "/v1/tenant-rules", json={"rules": {"reoffer_after_days": 1}}
            ),
            200,
        )

        # Three contact attempts: two not reached, the third reached.
        attempts = [("2026-02-10", "phone", "not_reached"), ("2026-02-20", "sms", "not_reached"),
                    ("2026-02-26", "letter", "reached")]  # fmt: skip
        for n, (day, channel, outcome) in enumerate(attempts, start=1):
            desk.ok(
                desk.outreach.post(
                    f"/v1/youths/{youth}/contact-attempts",
                    json={
                        "channel": channel,
                        "outcome": outcome,
                        "attempted_at": f"{day}T10:00:00+01:00",
                    },
                )
            )
            desk.settle()
            assert len(desk.register_row(youth)["contacts"]) == n
            if n == 1:
                after_first_attempt = datetime.now(UTC)  # the instant an inspector asks about
            counts = desk.counts()
            assert counts["first_contact"] == 0
            if outcome == "not_reached":
                [again] = desk.items("recontact")
                assert again["reason"] == f"last attempt {day} ended not_reached"
            else:
                assert counts["recontact"] == 0

        case = desk.ok(desk.outreach.get(f"/v1/youths/{youth}/case"), 200)
        clock = case["contact_clock"]
        assert (clock["first_attempt_on"], clock["first_contact_on"]) == (
            "2026-02-10",
            "2026-02-26",
        )
        # Attempts the caseworker made before the identification still answer it: no wait.
        assert clock["working_days_to_first_attempt"] == 0

        contact = {"at": "2026-02-26T11:00:00+01:00", "channel": "letter"}
        desk.ok(desk.outreach.post(f"/v1/youths/{youth}/contacts", json=contact))
        desk.ok(desk.outreach.post(f"/v1/youths/{youth}/information", json=contact))
        occupation = desk.ok(
            desk.outreach.post(
                f"/v1/youths/{youth}/occupations",
                json={
                    "category": "no_occupation",
                    "tense": "current",
                    "from_date": "2026-01-01",
                    "confirmed_on": "2026-02-26",
                },
            )
        )
        assert occupation["code_list_version"] == "2026-1"
        desk.settle()
        assert desk.counts()["stale_occupation"] == 0
        row = desk.register_row(youth)
        assert [c["kind"] for c in row["contact_log"]] == ["established", "informed"]
        assert [(o["category"], o["tense"]) for o in row["occupations"]] == [
            ("no_occupation", "current")
        ]
        assert desk.ok(desk.outreach.get(f"/v1/youths/{youth}/case"), 200)["occupation"] == (
            "no_occupation"
        )

        # The individual plan, with a follow-up that is due today.
        plan = desk.ok(
            desk.measures.put(
                f"/v1/youths/{youth}/plan",
                json={
                    "valid_from": "2026-02-27",
                    "goal": "Börja på komvux hösten 2026",
                    "mapping": {
                        "goals": ["komvux"],
                        "needs": ["studievägledning"],
                        "expectations": ["kvällstid"],
                    },
                    "efforts": [
                        {
                            "description": "Träffa SYV",
                            "responsible": "municipality",
                            "start_date": "2026-03-02",
                        },
                        {"description": "Söka komvux", "responsible": "youth"},
                        {
                            "description": "Inskrivning",
                            "responsible": "other_actor",
                            "other_actor": "Arbetsförmedlingen",
                        },
                    ],
                    "follow_up_on": "2026-03-01",
                    "evaluation_on": "2026-06-01",
                },
            )
        )
        assert (plan["revision"], plan["warnings"]) == (1, [])
        desk.settle()
        [revision] = desk.register_row(youth)["plan_revisions"]
        assert (revision["revision"], revision["goal"]) == (1, "Börja på komvux hösten 2026")
        assert [e["responsible"] for e in revision["efforts"]] == [
            "municipality",
            "youth",
            "other_actor",
        ]
        [follow_up] = desk.items("follow_up")
        assert follow_up["reason"] == "follow-up due (plan_follow_up)"

        # A measure offered, declined (a re-offer is due a day later), offered again, started, ended.
        measure = str(uuid.uuid4())
        offer = {"measure_type": "internship", "offered_on": "2026-02-27", "measure_id": measure}
        desk.ok(desk.measures.post(f"/v1/youths/{youth}/measure-offers", json=offer))
        desk.settle()
        assert len(desk.register_row(youth)["measures"]) == 1
        base = f"/v1/youths/{youth}/measures/{measure}"
        desk.ok(desk.measures.post(f"{base}/decline", json={"on": "2026-02-28"}))
        desk.settle()
        [status] = desk.register_row(youth)["measure_status"]
        assert (status["state"], status["declined_on"]) == ("declined", "2026-02-28")
        reasons = sorted(i["reason"] for i in desk.items("follow_up"))
        assert reasons == ["follow-up due (measure_reoffer)", "follow-up due (plan_follow_up)"]
        assert refusal(desk.measures.post(f"{base}/start", json={"on": "2026-03-01"}), 409) == (
            "measure_id"
        )  # a declined measure cannot start

        desk.ok(
            desk.measures.post(
                f"/v1/youths/{youth}/measure-offers", json={**offer, "offered_on": "2026-03-01"}
            )
        )
        desk.ok(desk.measures.post(f"{base}/acceptance", json={"on": "2026-03-01"}))
        desk.ok(desk.measures.post(f"{base}/start", json={"on": "2026-03-02"}))
        desk.settle()
        assert [i["reason"] for i in desk.items("follow_up")] == ["follow-up due (plan_follow_up)"]
        assert len(desk.register_row(youth)["measures"]) == 2  # two offers
        desk.ok(
            desk.measures.post(
                f"{base}/end",
                json={"on": "2026-03-02", "end_reason": "started_work", "occupation_after": "work"},
            )
        )
        measures = desk.ok(desk.measures.get(f"/v1/youths/{youth}/measures"), 200)
        [only] = measures["measures"]
        assert (only["state"], only["offers"], only["end_reason"]) == ("ended", 2, "started_work")
        plan_follow_up = next(
            f["follow_up_id"] for f in measures["follow_ups"] if f["subject"] == "plan_follow_up"
        )
        desk.ok(
            desk.measures.post(
                f"/v1/youths/{youth}/follow-ups/{plan_follow_up}/completion",
                json={"on": "2026-03-02"},
            )
        )

        # A second revision; the plan of an earlier day is still the first. A sensitive word warns.
        second = desk.ok(
            desk.measures.put(
                f"/v1/youths/{youth}/plan",
                json={
                    "valid_from": "2026-03-02",
                    "goal": "Jobb först; har en ADHD-diagnos",
                    "efforts": [],
                },
            )
        )
        assert second["revision"] == 2
        assert second["warnings"] == [
            "goal: may contain sensitive personal data (health); documentation under the "
            "activity responsibility must not hold it"
        ]
        earlier = desk.ok(desk.measures.get(f"/v1/youths/{youth}/plan?as_of=2026-02-28"), 200)
        assert earlier["plan"]["revision"] == 1
        assert desk.ok(desk.measures.get(f"/v1/youths/{youth}/plan"), 200)["plan"]["revision"] == 2
        revisions = desk.ok(desk.measures.get(f"/v1/youths/{youth}/plan/revisions"), 200)
        assert [r["revision"] for r in revisions["revisions"]] == [1, 2]

        # An objection is recorded; the youth stays in the register (förordning 2006:39 § 1).
        desk.ok(desk.measures.post(f"/v1/youths/{youth}/objections", json={"on": "2026-03-02"}))
        desk.settle()
        assert desk.counts()["follow_up"] == 0
        row = desk.register_row(youth)
        assert (row["status"], len(row["contacts"]), len(row["measures"])) == ("in_scope", 3, 2)
        [status] = row["measure_status"]
        assert (status["state"], status["offers"], status["end_reason"]) == (
            "ended",
            2,
            "started_work",
        )
        assert (status["started_on"], status["ended_on"]) == ("2026-03-02", "2026-03-02")
        assert [r["revision"] for r in row["plan_revisions"]] == [1, 2]
        assert [o["objected_on"] for o in row["objections"]] == ["2026-03-02"]

        # The half-year's data-quality figures follow from all of it.
        figures = desk.ok(desk.register.get("/v1/quality", params={"period": "2026H1"}), 200)
        assert {k: figures[k] for k in (
            "youths_in_scope", "known_occupation_share", "contacted_share", "measure_share",
            "stale_records", "never_contacted", "episodes_begun_without_attempt", "to",
        )} == {
            "youths_in_scope": 1, "known_occupation_share": 1.0, "contacted_share": 1.0,
            "measure_share": 1.0, "stale_records": 0, "never_contacted": 0,
            "episodes_begun_without_attempt": 0, "to": "2026-03-02",
        }  # fmt: skip
        # Counted from when the municipality could know (identified today, after the entry):
        # the attempts recorded afterwards for earlier days took no time of its response.
        [episode] = row["scope_episodes"]
        assert (episode["entered_on"], episode["identified_on"]) == (entered, TODAY.isoformat())
        assert figures["median_working_days_to_first_attempt"] == 0
        later = desk.register.get("/v1/quality", params={"period": "2026H2"})
        assert later.status_code == 422
        assert "has not begun" in later.text
        assert desk.register.get("/v1/quality", params={"period": "2026H3"}).status_code == 422

        # Rebuilt from the topics beside the live register: the same content, table by table.
        seen: list[int] = []
        result = asyncio.run(
            rebuild(
                deployment.bootstrap_servers, deployment.database_url, deployment.namespace,
                deployment.tenants, progress=lambda done, total: seen.append(done),
            )
        )  # fmt: skip
        assert result.applied == result.events > 0
        assert seen[-1] == result.events
        assert asyncio.run(verify(deployment.database_url, "register", result.schema)) == {}
        asyncio.run(tamper(deployment.database_url, result.schema))
        assert list(asyncio.run(verify(deployment.database_url, "register", result.schema))) == [
            "occupations"
        ]

        # An inspector replays the register as it stood after the first contact attempt.
        with deployment.client("register", "0180", "inspector") as inspector:
            as_of = {"as_of": after_first_attempt.isoformat()}
            then = desk.ok(inspector.get("/v1/audit/register", params=as_of), 200)
            assert (then["summary"]["contact_attempts"], then["summary"]["measure_offers"]) == (
                1,
                0,
            )
            assert [y["youth_id"] for y in then["youths"]] == [youth]
            timeline = desk.ok(inspector.get(f"/v1/audit/youths/{youth}", params=as_of), 200)
            past = timeline["youth"]
            assert (len(past["contacts"]), past["occupations"], past["plan_revisions"]) == (
                1,
                [],
                [],
            )
            [episode] = past["scope_episodes"]
            assert episode["entered_rule_version"] == "kaa-2018-07-01"
            assert episode["entered_actor"] == "feed:population"
            assert episode["entered_facts"], "the facts the scope decision used"
            future = {"as_of": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}
            assert inspector.get("/v1/audit/register", params=future).status_code == 422
        assert desk.register.get("/v1/audit/register", params=as_of).status_code == 403
        today_row = desk.register_row(youth)  # the live register was not touched by the replay
        assert (len(today_row["contacts"]), len(today_row["plan_revisions"])) == (3, 2)
    finally:
        desk.close()


def test_bad_casework_input_is_refused_naming_the_field_and_records_nothing(
    deployment: Deployment,
) -> None:
    desk = Desk(deployment)
    try:
        known: list[str] = []
        for number in (YOUTH_NUMBER, MOVER_NUMBER):
            asyncio.run(deployment.publish_feed("population", [population(number)]))
            desk.settle()
            rows = desk.ok(desk.register.get("/v1/youths"), 200)["items"]
            known += [r["youth_id"] for r in rows if r["youth_id"] not in known]
        youth, mover = known
        attempts = f"/v1/youths/{youth}/contact-attempts"
        tomorrow = {
            "channel": "phone",
            "outcome": "reached",
            "attempted_at": "2026-03-03T10:00:00+01:00",
        }
        assert refusal(desk.outreach.post(attempts, json=tomorrow), 422) == "attempted_at"
        occupation = {"category": "astronaut", "tense": "current", "from_date": "2026-01-01"}
        assert (
            refusal(desk.outreach.post(f"/v1/youths/{youth}/occupations", json=occupation), 422)
            == "category"
        )
        offer = {"measure_type": "space_camp", "offered_on": "2026-02-27"}
        assert (
            refusal(desk.measures.post(f"/v1/youths/{youth}/measure-offers", json=offer), 422)
            == "measure_type"
        )
        measure = str(uuid.uuid4())
        base = f"/v1/youths/{youth}/measures/{measure}"
        good_offer = {
            "measure_type": "study_visit",
            "offered_on": "2026-02-20",
            "measure_id": measure,
        }
        desk.ok(desk.measures.post(f"/v1/youths/{youth}/measure-offers", json=good_offer))
        desk.ok(desk.measures.post(f"{base}/acceptance", json={"on": "2026-02-21"}))
        desk.ok(desk.measures.post(f"{base}/start", json={"on": "2026-02-23"}))
        ended_early = {"on": "2026-02-22", "end_reason": "completed"}
        assert refusal(desk.measures.post(f"{base}/end", json=ended_early), 422) == "ended_on"
        bad_rule = {"rules": {"recontact_days": 1}}
        assert (
            refusal(desk.coordinator["outreach"].put("/v1/tenant-rules", json=bad_rule), 422)
            == "recontact_days"
        )
        assert desk.outreach.put("/v1/tenant-rules", json={"rules": {}}).status_code == 403
        assignment = {"assignee_kind": "caseworker", "assignee": "user:test"}
        assert (
            desk.outreach.put(f"/v1/youths/{youth}/assignment", json=assignment).status_code == 403
        )

        desk.settle()
        row = desk.register_row(youth)
        assert (len(row["contacts"]), len(row["measures"])) == (0, 1), "refused: nothing recorded"
        [measure_row] = desk.ok(desk.measures.get(f"/v1/youths/{youth}/measures"), 200)["measures"]
        assert measure_row["state"] == "started"

        # Case ownership: a coordinator assigns; the caseworker sees it on "mine".
        desk.ok(
            desk.coordinator["outreach"].put(f"/v1/youths/{youth}/assignment", json=assignment), 200
        )
        desk.settle()
        assert [i["youth_id"] for i in desk.items("first_contact", mine=True)] == [youth]
        assert desk.register_row(youth)["assignment"]["assignee"] == "user:test"
        assert {i["youth_id"] for i in desk.items("first_contact")} == {youth, mover}

        # Another municipality's caseworker: not found, whatever they try.
        with deployment.client("outreach", "1480", "caseworker") as stranger:
            assert stranger.get(f"/v1/youths/{youth}/case").status_code in (401, 403, 404)

        # The mover leaves scope: their open items close with the reason.
        asyncio.run(
            deployment.publish_feed(
                "population",
                [
                    population(
                        MOVER_NUMBER, kommunkod="2480", change="moved_out", effective="2026-03-01"
                    )
                ],
            )
        )
        desk.settle()
        assert [i["youth_id"] for i in desk.items("first_contact")] == [youth]
        closed = desk.items("first_contact", state="closed")
        assert [(i["youth_id"], i["closed_reason"], i["closed_on"]) for i in closed] == [
            (mover, "moved_out", "2026-03-01")
        ]

        # The register's list filters.
        def listed(**params: Any) -> list[str]:
            page = desk.ok(desk.register.get("/v1/youths", params=params), 200)
            return [y["youth_id"] for y in page["items"]]

        both = sorted([youth, mover])
        assert listed(status="in_scope") == [youth]
        assert sorted(listed(in_scope_on="2026-02-15")) == both
        assert listed(in_scope_on="2026-03-02") == [youth]
        assert listed(measure_type="study_visit") == [youth]
        assert listed(measure_type="internship") == []
        assert listed(assignee="user:test") == [youth]
        assert listed(assignee="x' OR 1=1 --") == [], "a filter value is a parameter, not SQL"
        assert sorted(listed(contacted="false")) == both
        assert listed(contacted="true", contacted_from="2026-01-01") == []
        assert sorted(listed(occupation="unknown")) == both
        assert listed(sort="youth_id", order="desc") == sorted(both, reverse=True)
        bad_period = {
            "contacted": "true",
            "contacted_from": "2026-03-01",
            "contacted_to": "2026-02-01",
        }
        assert desk.register.get("/v1/youths", params=bad_period).status_code == 422
        assert desk.register.get("/v1/youths", params={"measure_type": "x;DROP"}).status_code == 422

        # An event the register cannot apply is kept with its reason; the projection goes on.
        impossible = MeasureStarted(
            event_id=uuid.uuid4(), tenant="0180", youth_id=uuid.UUID(youth),
            occurred_at=datetime.now(UTC), recorded_at=datetime.now(UTC), actor="user:test",
            correlation_id=uuid.uuid4(), measure_id=uuid.uuid4(), started_on=TODAY,
        )  # fmt: skip
        asyncio.run(
            produce(
                deployment.bootstrap_servers,
                f"{deployment.namespace}{MEASURES_EVENTS}",
                [impossible.to_bytes()],
            )
        )
        desk.ok(desk.measures.post(f"/v1/youths/{youth}/objections", json={"on": "2026-03-02"}))
        desk.settle()
        [dead] = desk.ok(desk.register.get("/v1/dead-events"), 200)["items"]
        assert (dead["event_id"], dead["reason"]) == (
            str(impossible.event_id),
            "measure_id: no such measure offered to this youth",
        )
        assert len(desk.register_row(youth)["objections"]) == 1, "applied after the dead one"

        moved_attempt = desk.outreach.post(
            f"/v1/youths/{mover}/contact-attempts",
            json={**tomorrow, "attempted_at": "2026-03-02T09:00:00+01:00"},
        )
        assert refusal(moved_attempt, 409) == "youth_id"
    finally:
        desk.close()


def test_client_ids_record_once_and_an_assignee_has_one_form(deployment: Deployment) -> None:
    """Issue 13 sections 5 and 6: the same contact attempt id with another body is a conflict
    (409), a retried contact or information with its client id records once, a caseworker
    assigned by their bare subject finds the case on their own `mine=true` list, and an offset no
    list reaches is refused naming it."""
    asyncio.run(deployment.publish_feed("population", [population(YOUTH_NUMBER)]))
    desk = Desk(deployment)
    anna = httpx.Client(
        base_url=desk.outreach.base_url,
        headers={"Authorization": "Bearer "
                 + deployment.token("0180", "caseworker", subject="anna.andersson")},
        timeout=30.0,
    )  # fmt: skip
    try:
        desk.settle()
        [row] = desk.ok(desk.register.get("/v1/youths"), 200)["items"]
        youth = row["youth_id"]
        case = desk.ok(desk.outreach.get(f"/v1/youths/{youth}/case"), 200)
        # Found in a baseline extract without a move date: in scope since compulsory school ended,
        # not since the extract's date; the clock starts today.
        assert (case["entered_on"], case["identified_on"]) == ("2024-07-01", TODAY.isoformat())
        assert case["contact_clock"]["started_on"] == TODAY.isoformat()

        attempt = {"channel": "phone", "outcome": "not_reached",
                   "attempted_at": "2026-02-10T10:00:00+01:00",
                   "contact_attempt_id": str(uuid.uuid4())}  # fmt: skip
        path = f"/v1/youths/{youth}/contact-attempts"
        desk.ok(desk.outreach.post(path, json=attempt))
        assert desk.ok(desk.outreach.post(path, json=attempt), 200)["recorded"] is False
        assert refusal(desk.outreach.post(path, json={**attempt, "outcome": "reached"}), 409) == (
            "contact_attempt_id"
        )

        for fact, id_field in (("contacts", "contact_id"), ("information", "information_id")):
            body = {"at": "2026-02-26T11:00:00+01:00", "channel": "letter",
                    id_field: str(uuid.uuid4())}  # fmt: skip
            desk.ok(desk.outreach.post(f"/v1/youths/{youth}/{fact}", json=body))
            again = desk.ok(desk.outreach.post(f"/v1/youths/{youth}/{fact}", json=body), 200)
            assert again["recorded"] is False, "a retried POST records once"
            other = {**body, "channel": "phone"}
            assert refusal(desk.outreach.post(f"/v1/youths/{youth}/{fact}", json=other), 409) == (
                id_field
            )

        assigned = desk.ok(
            desk.coordinator["outreach"].put(
                f"/v1/youths/{youth}/assignment",
                json={"assignee_kind": "caseworker", "assignee": "anna.andersson"},
            ),
            200,
        )
        assert assigned["assignee"] == "user:anna.andersson"
        desk.settle()
        mine = desk.ok(anna.get("/v1/worklists/stale_occupation", params={"mine": "true"}), 200)
        assert [i["youth_id"] for i in mine["items"]] == [youth]
        assert desk.items("stale_occupation", mine=True) == [], "not the other caseworker's"
        assert [i["youth_id"] for i in desk.items(
            "stale_occupation", assignee="user:anna.andersson"
        )] == [youth]  # fmt: skip

        huge = desk.outreach.get(
            "/v1/worklists/first_contact", params={"offset": "99999999999999999999"}
        )
        assert refusal(huge, 422) == "query.offset"

        desk.settle()
        row = desk.register_row(youth)
        assert len(row["contacts"]) == 1
        assert [c["kind"] for c in row["contact_log"]] == ["established", "informed"]
        assert row["assignment"]["assignee"] == "user:anna.andersson"
    finally:
        anna.close()
        desk.close()
