"""The caseworker's daily work through the running services (real Kafka and PostgreSQL).

One youth is walked from identification through three contact attempts, contact, occupation,
plan, a measure offered, declined, re-offered, started and ended; the register and the worklists
are checked at every step. Then bad input, roles, and a youth whose items close on leaving scope.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from kaa.deployment import Deployment
from services.register.commands.rebuild import rebuild, verify
from shared.contracts.events import MeasureStarted
from shared.contracts.topics import MEASURES_EVENTS
from tests.conftest import RunningInfra
from tests.e2e.conftest import TODAY, running
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


# The walkthrough: one youth on one deployment. The fixture takes each step in order and keeps what
# it answered; the tests of TestAYouthWalkedThroughContactPlanAndMeasures each check one behaviour.
Walk = dict[str, Any]

ATTEMPTS = [("2026-02-10", "phone", "not_reached"), ("2026-02-20", "sms", "not_reached"),
            ("2026-02-26", "letter", "reached")]  # fmt: skip
PLAN = {
    "valid_from": "2026-02-27", "goal": "Börja på komvux hösten 2026",
    "mapping": {"goals": ["komvux"], "needs": ["studievägledning"], "expectations": ["kvällstid"]},
    "efforts": [
        {"description": "Träffa SYV", "responsible": "municipality", "start_date": "2026-03-02"},
        {"description": "Söka komvux", "responsible": "youth"},
        {"description": "Inskrivning", "responsible": "other_actor",
         "other_actor": "Arbetsförmedlingen"},
    ],
    "follow_up_on": "2026-03-01", "evaluation_on": "2026-06-01",
}  # fmt: skip
SENSITIVE_GOAL_WARNING = (
    "goal: may contain sensitive personal data (health); documentation under the "
    "activity responsibility must not hold it"
)


def walk_identification(desk: Desk, walk: Walk) -> None:
    """The youth moved in on 2026-01-15 (the episode's legal entry date); identified TODAY."""
    asyncio.run(
        desk.deployment.publish_feed("population", [population(YOUTH_NUMBER, change="moved_in")])
    )
    desk.settle()
    [row] = desk.ok(desk.register.get("/v1/youths"), 200)["items"]
    walk["youth"] = youth = row["youth_id"]
    walk["case"] = desk.ok(desk.outreach.get(f"/v1/youths/{youth}/case"), 200)
    walk["counts"] = desk.counts()
    walk["first_contact"] = desk.items("first_contact")
    walk["stale_occupation"] = desk.items("stale_occupation")


def walk_tenant_rules(desk: Desk, walk: Walk) -> None:
    """The municipality's own rules: re-contact after a week, re-offer a day after a decline."""
    walk["outreach_rules"] = desk.ok(
        desk.coordinator["outreach"].put("/v1/tenant-rules", json={"rules": {"recontact_days": 7}}),
        200,
    )  # fmt: skip
    reoffer = {"rules": {"reoffer_after_days": 1}}
    desk.ok(desk.coordinator["measures"].put("/v1/tenant-rules", json=reoffer), 200)


def walk_contact_attempts(desk: Desk, walk: Walk) -> None:
    """Three contact attempts, two not reached, the third reached: what each one left behind."""
    youth, after = walk["youth"], []
    for day, channel, outcome in ATTEMPTS:
        attempt = {"channel": channel, "outcome": outcome, "attempted_at": f"{day}T10:00:00+01:00"}
        desk.ok(desk.outreach.post(f"/v1/youths/{youth}/contact-attempts", json=attempt))
        desk.settle()
        contacts = len(desk.register_row(youth)["contacts"])
        after.append({
            "contacts": contacts, "at": datetime.now(UTC),  # the instant an inspector asks about
            "counts": desk.counts(), "recontact": desk.items("recontact"),
        })  # fmt: skip
    walk["after_attempt"] = after
    walk["contact_clock"] = desk.ok(desk.outreach.get(f"/v1/youths/{youth}/case"), 200)[
        "contact_clock"
    ]


def walk_contact_and_occupation(desk: Desk, walk: Walk) -> None:
    youth = walk["youth"]
    contact = {"at": "2026-02-26T11:00:00+01:00", "channel": "letter"}
    desk.ok(desk.outreach.post(f"/v1/youths/{youth}/contacts", json=contact))
    desk.ok(desk.outreach.post(f"/v1/youths/{youth}/information", json=contact))
    occupation = {"category": "no_occupation", "tense": "current", "from_date": "2026-01-01",
                  "confirmed_on": "2026-02-26"}  # fmt: skip
    walk["occupation"] = desk.ok(
        desk.outreach.post(f"/v1/youths/{youth}/occupations", json=occupation)
    )
    desk.settle()
    walk["stale_after_occupation"] = desk.counts()["stale_occupation"]
    walk["row_after_occupation"] = desk.register_row(youth)
    walk["case_after_occupation"] = desk.ok(desk.outreach.get(f"/v1/youths/{youth}/case"), 200)


def walk_plan(desk: Desk, walk: Walk) -> None:
    """The individual plan, with a follow-up that is due today."""
    youth = walk["youth"]
    walk["plan"] = desk.ok(desk.measures.put(f"/v1/youths/{youth}/plan", json=PLAN))
    desk.settle()
    walk["plan_revisions"] = desk.register_row(youth)["plan_revisions"]
    walk["follow_ups_after_plan"] = desk.items("follow_up")


def walk_declined_measure(desk: Desk, walk: Walk) -> None:
    """A measure offered, then declined (a re-offer is due a day later), then asked to start."""
    youth = walk["youth"]
    walk["measure"] = measure = str(uuid.uuid4())
    walk["offer"] = offer = {
        "measure_type": "internship", "offered_on": "2026-02-27", "measure_id": measure,
    }  # fmt: skip
    desk.ok(desk.measures.post(f"/v1/youths/{youth}/measure-offers", json=offer))
    desk.settle()
    walk["measures_after_offer"] = len(desk.register_row(youth)["measures"])
    base = f"/v1/youths/{youth}/measures/{measure}"
    desk.ok(desk.measures.post(f"{base}/decline", json={"on": "2026-02-28"}))
    desk.settle()
    walk["status_after_decline"] = desk.register_row(youth)["measure_status"]
    walk["follow_ups_after_decline"] = desk.items("follow_up")
    walk["start_after_decline"] = desk.measures.post(f"{base}/start", json={"on": "2026-03-01"})


def walk_measure_reoffered(desk: Desk, walk: Walk) -> None:
    """Offered again, accepted, started and ended; then the plan's follow-up is completed."""
    youth, base = walk["youth"], f"/v1/youths/{walk['youth']}/measures/{walk['measure']}"
    again = {**walk["offer"], "offered_on": "2026-03-01"}
    desk.ok(desk.measures.post(f"/v1/youths/{youth}/measure-offers", json=again))
    desk.ok(desk.measures.post(f"{base}/acceptance", json={"on": "2026-03-01"}))
    desk.ok(desk.measures.post(f"{base}/start", json={"on": "2026-03-02"}))
    desk.settle()
    walk["follow_ups_after_start"] = desk.items("follow_up")
    walk["measures_after_start"] = len(desk.register_row(youth)["measures"])
    ended = {"on": "2026-03-02", "end_reason": "started_work", "occupation_after": "work"}
    desk.ok(desk.measures.post(f"{base}/end", json=ended))
    walk["measures"] = desk.ok(desk.measures.get(f"/v1/youths/{youth}/measures"), 200)
    plan_follow_up = next(
        f["follow_up_id"]
        for f in walk["measures"]["follow_ups"]
        if f["subject"] == "plan_follow_up"
    )
    desk.ok(desk.measures.post(
        f"/v1/youths/{youth}/follow-ups/{plan_follow_up}/completion", json={"on": "2026-03-02"}
    ))  # fmt: skip


def walk_second_plan(desk: Desk, walk: Walk) -> None:
    """A second revision, with a sensitive word; and the plan of an earlier day."""
    plan = f"/v1/youths/{walk['youth']}/plan"
    second = {"valid_from": "2026-03-02", "goal": "Jobb först; har en ADHD-diagnos", "efforts": []}
    walk["second_plan"] = desk.ok(desk.measures.put(plan, json=second))
    walk["plan_as_of_earlier"] = desk.ok(desk.measures.get(f"{plan}?as_of=2026-02-28"), 200)
    walk["plan_now"] = desk.ok(desk.measures.get(plan), 200)
    walk["plan_revision_list"] = desk.ok(desk.measures.get(f"{plan}/revisions"), 200)


def walk_objection(desk: Desk, walk: Walk) -> None:
    """An objection is recorded (förordning 2006:39 § 1)."""
    youth = walk["youth"]
    desk.ok(desk.measures.post(f"/v1/youths/{youth}/objections", json={"on": "2026-03-02"}))
    desk.settle()
    walk["follow_up_after_objection"] = desk.counts()["follow_up"]
    walk["row"] = desk.register_row(youth)


def walk_quality(desk: Desk, walk: Walk) -> None:
    """The data-quality figures of the half-year, and of periods that have not begun."""
    quality = "/v1/quality"
    walk["quality"] = desk.ok(desk.register.get(quality, params={"period": "2026H1"}), 200)
    walk["quality_2026H2"] = desk.register.get(quality, params={"period": "2026H2"})
    walk["quality_2026H3"] = desk.register.get(quality, params={"period": "2026H3"})


def walk_rebuild(desk: Desk, walk: Walk) -> None:
    """Rebuilt from the topics beside the live register, verified, then the copy tampered with."""
    deployment, progress = desk.deployment, []
    result = asyncio.run(
        rebuild(
            deployment.bootstrap_servers, deployment.database_url, deployment.namespace,
            deployment.tenants, progress=lambda done, total: progress.append(done),
        )
    )  # fmt: skip
    walk["rebuild"], walk["rebuild_progress"] = result, progress
    walk["verified"] = asyncio.run(verify(deployment.database_url, "register", result.schema))
    asyncio.run(tamper(deployment.database_url, result.schema))
    walk["verified_tampered"] = asyncio.run(
        verify(deployment.database_url, "register", result.schema)
    )


def walk_audit(desk: Desk, walk: Walk) -> None:
    """An inspector replays the register as it stood after the first contact attempt."""
    youth, as_of = walk["youth"], {"as_of": walk["after_attempt"][0]["at"].isoformat()}
    with desk.deployment.client("register", "0180", "inspector") as inspector:
        walk["audit"] = desk.ok(inspector.get("/v1/audit/register", params=as_of), 200)
        walk["audit_youth"] = desk.ok(
            inspector.get(f"/v1/audit/youths/{youth}", params=as_of), 200
        )["youth"]
        future = {"as_of": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}
        walk["audit_future"] = inspector.get("/v1/audit/register", params=future)
    walk["audit_by_caseworker"] = desk.register.get("/v1/audit/register", params=as_of)
    walk["row_after_replay"] = desk.register_row(youth)  # the live register, after the replay


@pytest.fixture(scope="class")
def walk(infra: RunningInfra) -> Iterator[Walk]:
    with running(infra) as deployment:
        desk, answers = Desk(deployment), Walk()
        try:
            for step in (walk_identification, walk_tenant_rules, walk_contact_attempts,
                         walk_contact_and_occupation, walk_plan, walk_declined_measure,
                         walk_measure_reoffered, walk_second_plan, walk_objection, walk_quality,
                         walk_rebuild, walk_audit):  # fmt: skip
                step(desk, answers)
            yield answers
        finally:
            desk.close()


class TestAYouthWalkedThroughContactPlanAndMeasures:
    def test_the_episode_begins_on_the_move_and_is_identified_today(self, walk: Walk) -> None:
        case = walk["case"]
        assert (case["entered_on"], case["identified_on"]) == ("2026-01-15", TODAY.isoformat())
        assert case["in_scope"]
        assert case["occupation"] == "unknown"

    def test_an_identified_youth_is_due_a_first_contact_and_an_occupation(self, walk: Walk) -> None:
        assert walk["counts"] == {"first_contact": 1, "recontact": 0, "stale_occupation": 1,
                                  "turning_20": 0, "follow_up": 0}  # fmt: skip
        [item] = walk["first_contact"]
        assert (item["youth_id"], item["since"], item["entered_on"]) == (
            walk["youth"], TODAY.isoformat(), "2026-01-15",
        )  # fmt: skip
        assert item["reason"] == "in scope; no contact attempt yet"
        [stale] = walk["stale_occupation"]
        assert stale["reason"] == "occupation never recorded: unknown"

    def test_the_response_clock_starts_when_the_municipality_could_know(self, walk: Walk) -> None:
        [item] = walk["first_contact"]
        assert item["clock"]["limit_working_days"] == 10
        assert (item["clock"]["started_on"], item["clock"]["event_on"]) == (
            TODAY.isoformat(), "2026-01-15",
        )  # fmt: skip
        assert item["clock"]["working_days_waiting"] == 0

    def test_a_municipality_sets_its_own_rule_and_keeps_the_others(self, walk: Walk) -> None:
        rules = walk["outreach_rules"]["rules"]
        assert rules["recontact_days"] == 7
        assert rules["first_contact_working_days"] == 10

    def test_each_attempt_reaches_the_register_and_answers_the_first_contact(
        self, walk: Walk
    ) -> None:
        assert [a["contacts"] for a in walk["after_attempt"]] == [1, 2, 3]
        assert [a["counts"]["first_contact"] for a in walk["after_attempt"]] == [0, 0, 0]

    def test_an_unreached_attempt_asks_for_a_recontact_a_reached_one_not(self, walk: Walk) -> None:
        first, second, third = walk["after_attempt"]
        for (day, _, _), after in zip(ATTEMPTS[:2], (first, second), strict=True):
            [again] = after["recontact"]
            assert again["reason"] == f"last attempt {day} ended not_reached"
        assert third["counts"]["recontact"] == 0

    def test_attempts_made_before_the_identification_took_no_time(self, walk: Walk) -> None:
        clock = walk["contact_clock"]
        assert (clock["first_attempt_on"], clock["first_contact_on"]) == (
            "2026-02-10",
            "2026-02-26",
        )
        assert clock["working_days_to_first_attempt"] == 0

    def test_contact_information_and_occupation_are_recorded(self, walk: Walk) -> None:
        assert walk["occupation"]["code_list_version"] == "2026-1"
        assert walk["stale_after_occupation"] == 0
        row = walk["row_after_occupation"]
        assert [c["kind"] for c in row["contact_log"]] == ["established", "informed"]
        assert [(o["category"], o["tense"]) for o in row["occupations"]] == [
            ("no_occupation", "current")
        ]
        assert walk["case_after_occupation"]["occupation"] == "no_occupation"

    def test_the_plan_is_recorded_with_its_efforts_and_a_follow_up_due(self, walk: Walk) -> None:
        assert (walk["plan"]["revision"], walk["plan"]["warnings"]) == (1, [])
        [revision] = walk["plan_revisions"]
        assert (revision["revision"], revision["goal"]) == (1, "Börja på komvux hösten 2026")
        assert [e["responsible"] for e in revision["efforts"]] == [
            "municipality", "youth", "other_actor",
        ]  # fmt: skip
        [follow_up] = walk["follow_ups_after_plan"]
        assert follow_up["reason"] == "follow-up due (plan_follow_up)"

    def test_a_declined_measure_is_due_a_reoffer_and_cannot_start(self, walk: Walk) -> None:
        assert walk["measures_after_offer"] == 1
        [status] = walk["status_after_decline"]
        assert (status["state"], status["declined_on"]) == ("declined", "2026-02-28")
        reasons = sorted(i["reason"] for i in walk["follow_ups_after_decline"])
        assert reasons == ["follow-up due (measure_reoffer)", "follow-up due (plan_follow_up)"]
        assert refusal(walk["start_after_decline"], 409) == "measure_id"

    def test_a_measure_offered_again_starts_and_ends(self, walk: Walk) -> None:
        reasons = [i["reason"] for i in walk["follow_ups_after_start"]]
        assert reasons == ["follow-up due (plan_follow_up)"], "the re-offer is no longer due"
        assert walk["measures_after_start"] == 2, "two offers"
        [only] = walk["measures"]["measures"]
        assert (only["state"], only["offers"], only["end_reason"]) == ("ended", 2, "started_work")

    def test_a_second_revision_warns_and_an_earlier_day_keeps_the_first(self, walk: Walk) -> None:
        assert walk["second_plan"]["revision"] == 2
        assert walk["second_plan"]["warnings"] == [SENSITIVE_GOAL_WARNING]
        assert walk["plan_as_of_earlier"]["plan"]["revision"] == 1
        assert walk["plan_now"]["plan"]["revision"] == 2
        assert [r["revision"] for r in walk["plan_revision_list"]["revisions"]] == [1, 2]

    def test_after_an_objection_the_youth_stays_in_the_register(self, walk: Walk) -> None:
        assert walk["follow_up_after_objection"] == 0
        row = walk["row"]
        assert (row["status"], len(row["contacts"]), len(row["measures"])) == ("in_scope", 3, 2)
        [status] = row["measure_status"]
        assert (status["state"], status["offers"], status["end_reason"]) == (
            "ended", 2, "started_work",
        )  # fmt: skip
        assert (status["started_on"], status["ended_on"]) == ("2026-03-02", "2026-03-02")
        assert [r["revision"] for r in row["plan_revisions"]] == [1, 2]
        assert [o["objected_on"] for o in row["objections"]] == ["2026-03-02"]

    def test_the_half_years_quality_figures_follow_from_the_walk(self, walk: Walk) -> None:
        figures = walk["quality"]
        assert {k: figures[k] for k in (
            "youths_in_scope", "known_occupation_share", "contacted_share", "measure_share",
            "stale_records", "never_contacted", "episodes_begun_without_attempt", "to",
        )} == {
            "youths_in_scope": 1, "known_occupation_share": 1.0, "contacted_share": 1.0,
            "measure_share": 1.0, "stale_records": 0, "never_contacted": 0,
            "episodes_begun_without_attempt": 0, "to": "2026-03-02",
        }  # fmt: skip

    def test_the_median_wait_counts_from_the_identification(self, walk: Walk) -> None:
        # Identified today, after the entry: the attempts recorded afterwards for earlier days took
        # no time of the municipality's response.
        [episode] = walk["row"]["scope_episodes"]
        assert (episode["entered_on"], episode["identified_on"]) == (
            "2026-01-15",
            TODAY.isoformat(),
        )
        assert walk["quality"]["median_working_days_to_first_attempt"] == 0

    def test_quality_of_a_period_not_begun_or_not_a_half_year_is_refused(self, walk: Walk) -> None:
        assert walk["quality_2026H2"].status_code == 422
        assert "has not begun" in walk["quality_2026H2"].text
        assert walk["quality_2026H3"].status_code == 422

    def test_a_rebuild_from_the_topics_equals_the_live_register(self, walk: Walk) -> None:
        result = walk["rebuild"]
        assert result.applied == result.events > 0
        assert walk["rebuild_progress"][-1] == result.events
        assert walk["verified"] == {}

    def test_verify_names_the_table_that_differs(self, walk: Walk) -> None:
        assert list(walk["verified_tampered"]) == ["occupations"]

    def test_an_inspector_replays_the_register_after_the_first_attempt(self, walk: Walk) -> None:
        summary = walk["audit"]["summary"]
        assert (summary["contact_attempts"], summary["measure_offers"]) == (1, 0)
        assert [y["youth_id"] for y in walk["audit"]["youths"]] == [walk["youth"]]
        past = walk["audit_youth"]
        assert (len(past["contacts"]), past["occupations"], past["plan_revisions"]) == (1, [], [])

    def test_the_replayed_episode_shows_the_rule_the_actor_and_the_facts(self, walk: Walk) -> None:
        [episode] = walk["audit_youth"]["scope_episodes"]
        assert episode["entered_rule_version"] == "kaa-2018-07-01"
        assert episode["entered_actor"] == "feed:population"
        assert episode["entered_facts"], "the facts the scope decision used"

    def test_the_replay_refuses_the_future_and_anyone_but_an_inspector(self, walk: Walk) -> None:
        assert walk["audit_future"].status_code == 422
        assert walk["audit_by_caseworker"].status_code == 403

    def test_the_replay_leaves_the_live_register_alone(self, walk: Walk) -> None:
        row = walk["row_after_replay"]
        assert (len(row["contacts"]), len(row["plan_revisions"])) == (3, 2)


# Bad input, roles and a youth leaving scope: two youths on one deployment. The fixture makes each
# request in order and keeps its answer; the tests of TestBadInputRolesAndLeavingScope check them.
Office = dict[str, Any]

ATTEMPT_TOMORROW = {
    "channel": "phone", "outcome": "reached", "attempted_at": "2026-03-03T10:00:00+01:00",
}  # fmt: skip
ASSIGNMENT = {"assignee_kind": "caseworker", "assignee": "user:test"}


def office_two_youths(desk: Desk, office: Office) -> None:
    known: list[str] = []
    for number in (YOUTH_NUMBER, MOVER_NUMBER):
        asyncio.run(desk.deployment.publish_feed("population", [population(number)]))
        desk.settle()
        rows = desk.ok(desk.register.get("/v1/youths"), 200)["items"]
        known += [r["youth_id"] for r in rows if r["youth_id"] not in known]
    office["youth"], office["mover"] = known


def office_bad_input(desk: Desk, office: Office) -> None:
    """Each wrong value, by the field it is wrong in; and a started measure ended before it began."""
    youth, refused = office["youth"], {}
    refused["attempted_at"] = desk.outreach.post(
        f"/v1/youths/{youth}/contact-attempts", json=ATTEMPT_TOMORROW
    )
    occupation = {"category": "astronaut", "tense": "current", "from_date": "2026-01-01"}
    refused["category"] = desk.outreach.post(f"/v1/youths/{youth}/occupations", json=occupation)
    offer = {"measure_type": "space_camp", "offered_on": "2026-02-27"}
    refused["measure_type"] = desk.measures.post(f"/v1/youths/{youth}/measure-offers", json=offer)
    measure = str(uuid.uuid4())
    base = f"/v1/youths/{youth}/measures/{measure}"
    good = {"measure_type": "study_visit", "offered_on": "2026-02-20", "measure_id": measure}
    desk.ok(desk.measures.post(f"/v1/youths/{youth}/measure-offers", json=good))
    desk.ok(desk.measures.post(f"{base}/acceptance", json={"on": "2026-02-21"}))
    desk.ok(desk.measures.post(f"{base}/start", json={"on": "2026-02-23"}))
    ended_early = {"on": "2026-02-22", "end_reason": "completed"}
    refused["ended_on"] = desk.measures.post(f"{base}/end", json=ended_early)
    bad_rule = {"rules": {"recontact_days": 1}}
    refused["recontact_days"] = desk.coordinator["outreach"].put("/v1/tenant-rules", json=bad_rule)
    office["refused"] = refused


def office_caseworker_overreach(desk: Desk, office: Office) -> None:
    """A caseworker tries what only a coordinator may: set the rules, assign a case to someone
    else (taking an unassigned case for oneself is a caseworker's own)."""
    youth = office["youth"]
    office["caseworker_rules"] = desk.outreach.put("/v1/tenant-rules", json={"rules": {}})
    office["caseworker_assigns"] = desk.outreach.put(
        f"/v1/youths/{youth}/assignment",
        json={"assignee_kind": "caseworker", "assignee": "user:someone-else"},
    )
    desk.settle()
    office["row_after_refusals"] = desk.register_row(youth)
    office["measures_after_refusals"] = desk.ok(
        desk.measures.get(f"/v1/youths/{youth}/measures"), 200
    )["measures"]


def office_assignment(desk: Desk, office: Office) -> None:
    """Case ownership: a coordinator assigns; the caseworker sees it on "mine"."""
    youth = office["youth"]
    desk.ok(
        desk.coordinator["outreach"].put(f"/v1/youths/{youth}/assignment", json=ASSIGNMENT), 200
    )
    desk.settle()
    office["mine"] = desk.items("first_contact", mine=True)
    office["assigned_row"] = desk.register_row(youth)
    office["first_contact_before_move"] = desk.items("first_contact")


def office_mover_leaves(desk: Desk, office: Office) -> None:
    """The mover leaves scope: their open items close with the reason."""
    moved = population(MOVER_NUMBER, kommunkod="2480", change="moved_out", effective="2026-03-01")
    asyncio.run(desk.deployment.publish_feed("population", [moved]))
    desk.settle()
    office["first_contact_after_move"] = desk.items("first_contact")
    office["closed"] = desk.items("first_contact", state="closed")


def office_impossible_event(desk: Desk, office: Office) -> None:
    """A step of a measure the register never saw offered (the measures service would have
    refused it), then an objection behind it."""
    youth, deployment = office["youth"], desk.deployment
    office["impossible"] = impossible = MeasureStarted(
        event_id=uuid.uuid4(), tenant="0180", youth_id=uuid.UUID(youth),
        occurred_at=datetime.now(UTC), recorded_at=datetime.now(UTC), actor="user:test",
        correlation_id=uuid.uuid4(), measure_id=uuid.uuid4(), started_on=TODAY,
    )  # fmt: skip
    topic = f"{deployment.namespace}{MEASURES_EVENTS}"
    asyncio.run(produce(deployment.bootstrap_servers, topic, [impossible.to_bytes()]))
    desk.ok(desk.measures.post(f"/v1/youths/{youth}/objections", json={"on": "2026-03-02"}))
    desk.settle()
    office["dead"] = desk.ok(desk.register.get("/v1/dead-events"), 200)["items"]
    office["objections"] = desk.register_row(youth)["objections"]


def office_attempt_out_of_scope(desk: Desk, office: Office) -> None:
    office["mover_attempt"] = desk.outreach.post(
        f"/v1/youths/{office['mover']}/contact-attempts",
        json={**ATTEMPT_TOMORROW, "attempted_at": "2026-03-02T09:00:00+01:00"},
    )


@pytest.fixture(scope="class")
def office(infra: RunningInfra) -> Iterator[Office]:
    with running(infra) as deployment:
        desk = Desk(deployment)
        answers = Office(desk=desk)  # the tests that only read use its clients
        try:
            for step in (office_two_youths, office_bad_input, office_caseworker_overreach,
                         office_assignment, office_mover_leaves, office_impossible_event,
                         office_attempt_out_of_scope):  # fmt: skip
                step(desk, answers)
            yield answers
        finally:
            desk.close()


class TestBadInputRolesAndLeavingScope:
    @pytest.mark.parametrize(
        "field", ["attempted_at", "category", "measure_type", "ended_on", "recontact_days"]
    )
    def test_a_bad_value_is_refused_naming_its_field(self, office: Office, field: str) -> None:
        assert refusal(office["refused"][field], 422) == field

    def test_a_caseworker_may_not_set_the_rules_or_assign_a_case(self, office: Office) -> None:
        assert office["caseworker_rules"].status_code == 403
        assert office["caseworker_assigns"].status_code == 403

    def test_what_was_refused_recorded_nothing(self, office: Office) -> None:
        row = office["row_after_refusals"]
        assert (len(row["contacts"]), len(row["measures"])) == (0, 1), "refused: nothing recorded"
        [measure_row] = office["measures_after_refusals"]
        assert measure_row["state"] == "started"

    def test_an_assigned_case_is_on_the_caseworkers_own_list(self, office: Office) -> None:
        youth = office["youth"]
        assert [i["youth_id"] for i in office["mine"]] == [youth]
        assert office["assigned_row"]["assignment"]["assignee"] == "user:test"
        assert {i["youth_id"] for i in office["first_contact_before_move"]} == {
            youth, office["mover"],
        }  # fmt: skip

    def test_another_municipalitys_caseworker_finds_nothing(self, office: Office) -> None:
        with office["desk"].deployment.client("outreach", "1480", "caseworker") as stranger:
            case = stranger.get(f"/v1/youths/{office['youth']}/case")
        assert case.status_code in (401, 403, 404)

    def test_leaving_scope_closes_the_open_items_with_the_reason(self, office: Office) -> None:
        assert [i["youth_id"] for i in office["first_contact_after_move"]] == [office["youth"]]
        assert [(i["youth_id"], i["closed_reason"], i["closed_on"]) for i in office["closed"]] == [
            (office["mover"], "moved_out", "2026-03-01")
        ]

    def test_no_contact_attempt_for_a_youth_out_of_scope(self, office: Office) -> None:
        assert refusal(office["mover_attempt"], 409) == "youth_id"

    def test_the_register_lists_by_each_filter(self, office: Office) -> None:
        desk, youth = office["desk"], office["youth"]

        def listed(**params: Any) -> list[str]:
            page = desk.ok(desk.register.get("/v1/youths", params=params), 200)
            return [y["youth_id"] for y in page["items"]]

        both = sorted([youth, office["mover"]])
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

    def test_the_register_refuses_a_bad_filter(self, office: Office) -> None:
        register = office["desk"].register
        bad_period = {"contacted": "true", "contacted_from": "2026-03-01",
                      "contacted_to": "2026-02-01"}  # fmt: skip
        assert register.get("/v1/youths", params=bad_period).status_code == 422
        assert register.get("/v1/youths", params={"measure_type": "x;DROP"}).status_code == 422

    def test_a_step_of_a_measure_never_offered_is_kept_dead_and_the_rest_goes_on(
        self, office: Office
    ) -> None:
        # The measures domain decides a measure's steps (tests/unit/measures/test_case.py); the
        # register applies them in order and only checks that the measure exists.
        [dead] = office["dead"]
        assert (dead["event_id"], dead["reason"]) == (
            str(office["impossible"].event_id),
            "measure_id: no such measure offered to this youth",
        )
        assert len(office["objections"]) == 1, "applied after the dead one"


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
