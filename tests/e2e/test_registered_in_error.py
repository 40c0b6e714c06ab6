"""A scope episode registered in error, over the real services (issue 16).

Two youths of 0180 are identified from the population feed; a coordinator marks the first one's
episode registered in error in identify (`POST /v1/youths/{id}/scope-episodes/{episode}/
registered-in-error`). The register's lists, figures and SCB check no longer hold the episode; the
audit replay as of before the mark shows the youth, as of after it shows the episode registered in
error and by whom; outreach and measures close the youth's case. The same facts again (the same
population record, a record that changes only the personal details, a school's absence notice) open
no episode; a changed fact (a move) is decided afresh. Refusals name the field, never a value.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from kaa.deployment import Deployment
from services.register.commands.rebuild import rebuild, verify
from shared import personnummer
from tests.conftest import RunningInfra
from tests.e2e.conftest import TODAY, running
from tests.e2e.test_bad_input_and_republication import population_line
from tests.e2e.test_identify import identify_events

RNG = random.Random(16)
MARKED, KEPT = (personnummer.generate(date(2008, 9, 14), RNG) for _ in range(2))
NOTE = "Förväxlad med en annan elev"
H1 = {"period": "2026H1"}

# One deployment: the fixture takes each step in order and keeps what it answered; each test checks
# one behaviour.
Found = dict[str, Any]


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def the_register(found: Found) -> dict[str, Any]:
    """What today's register, outreach and the SCB check say of the youths."""
    c, marked = found["clients"], found["youth"]
    return {
        "listed": {r["youth_id"] for r in ok(c["register"].get("/v1/youths"))["items"]},
        "lookup": ok(c["register"].get(f"/v1/youths/{marked}")),
        "summary": ok(c["register"].get("/v1/summary")),
        "quality": ok(c["register"].get("/v1/quality", params=H1)),
        "scb": ok(c["scb"].get("/v1/scb/report", params=H1)),
        "case": ok(c["outreach"].get(f"/v1/youths/{marked}/case")),
        "first_contact": {i["youth_id"] for i in
                          ok(c["outreach"].get("/v1/worklists/first_contact"))["items"]},
    }  # fmt: skip


def identify_two(deployment: Deployment, found: Found) -> None:
    lines = [population_line(MARKED), population_line(KEPT)]
    asyncio.run(deployment.publish_feed("population", lines))
    asyncio.run(deployment.drained())
    register = found["clients"]["register"]
    rows = ok(register.get("/v1/youths"))["items"]
    assert len(rows) == 2, rows
    by_number = {}
    for row in rows:
        identity = register.get(f"/v1/youths/{row['youth_id']}/identity")
        by_number[ok(identity)["personnummer"]] = row
    found["youth"], found["other"] = by_number[MARKED]["youth_id"], by_number[KEPT]["youth_id"]
    found["episode"] = by_number[MARKED]["scope_episode_id"]
    found["other_episode"] = by_number[KEPT]["scope_episode_id"]
    found["before"] = the_register(found)
    found["instant_before"] = datetime.now(UTC)


def refuse(found: Found) -> None:
    """Every refusal, before the mark (nothing they send may change anything)."""
    c, youth, episode = found["clients"], found["youth"], found["episode"]
    path = f"/v1/youths/{youth}/scope-episodes/{episode}/registered-in-error"
    body = {"reason": "wrong_youth", "note": NOTE}
    found["refused"] = {
        "caseworker": c["caseworker"].post(path, json=body),
        "other_municipality": c["other_coordinator"].post(path, json=body),
        "unknown_episode": c["coordinator"].post(
            f"/v1/youths/{youth}/scope-episodes/{uuid.uuid4()}/registered-in-error", json=body
        ),
        "another_youths_episode": c["coordinator"].post(
            f"/v1/youths/{youth}/scope-episodes/{found['other_episode']}/registered-in-error",
            json=body,
        ),
        "unknown_reason": c["coordinator"].post(path, json={"reason": "mistaken_identity"}),
    }


def mark(deployment: Deployment, found: Found) -> None:
    c, youth, episode = found["clients"], found["youth"], found["episode"]
    path = f"/v1/youths/{youth}/scope-episodes/{episode}/registered-in-error"
    found["marked"] = c["coordinator"].post(path, json={"reason": "wrong_youth", "note": NOTE})
    found["marked_again"] = c["coordinator"].post(path, json={"reason": "recorded_twice"})
    asyncio.run(deployment.drained())
    found["instant_after"] = datetime.now(UTC)
    found["after"] = the_register(found)
    offer = {"measure_type": "internship", "offered_on": TODAY.isoformat()}
    found["offer_after"] = c["measures"].post(f"/v1/youths/{youth}/measure-offers", json=offer)
    found["events_after_mark"] = identify_events(deployment)


def replay(found: Found) -> None:
    inspector, youth = found["clients"]["inspector"], found["youth"]
    for when in ("before", "after"):
        as_of = {"as_of": found[f"instant_{when}"].isoformat()}
        found[f"replay_{when}"] = ok(inspector.get(f"/v1/audit/youths/{youth}", params=as_of))
        found[f"whole_{when}"] = ok(inspector.get("/v1/audit/register", params=as_of))


def same_facts_again(deployment: Deployment, found: Found) -> None:
    """The same population record, one that changes only the personal details, and a school's
    absence notice (re-evaluated at once): the facts the episode was marked on, so no episode."""
    renamed = population_line(MARKED).replace(b'"Testsson"', b'"Karlsson"')
    asyncio.run(deployment.publish_feed("population", [population_line(MARKED), renamed]))
    absence = {"personnummer": MARKED, "kind": "absence", "on": TODAY.isoformat(),
               "school_type": "GY", "school_unit": "unit-1"}  # fmt: skip
    found["absence"] = found["clients"]["reporter"].post("/v1/school-notifications", json=absence)
    asyncio.run(deployment.drained())
    found["events_same_facts"] = identify_events(deployment)
    found["same_facts"] = the_register(found)


def a_changed_fact(deployment: Deployment, found: Found) -> None:
    """A move within the municipality recorded after the mark: a new fact, decided afresh."""
    moved = population_line(MARKED, change="moved_in", effective=TODAY.isoformat())
    asyncio.run(deployment.publish_feed("population", [moved]))
    asyncio.run(deployment.drained())
    found["events_changed"] = identify_events(deployment)
    found["changed"] = ok(found["clients"]["register"].get(f"/v1/youths/{found['youth']}"))


def rebuilt(deployment: Deployment, found: Found) -> None:
    """The register rebuilt from the topics beside the live one, after all of it."""
    result = asyncio.run(
        rebuild(deployment.bootstrap_servers, deployment.database_url, deployment.namespace,
                deployment.tenants)
    )  # fmt: skip
    found["rebuild"] = result
    found["verified"] = asyncio.run(verify(deployment.database_url, "register", result.schema))


@pytest.fixture(scope="class")
def found(infra: RunningInfra) -> Iterator[Found]:
    with running(infra, tenants=("0180", "1480")) as deployment:
        clients = {
            "coordinator": deployment.client("identify", "0180", "coordinator"),
            "caseworker": deployment.client("identify", "0180", "caseworker"),
            "other_coordinator": deployment.client("identify", "1480", "coordinator"),
            "reporter": deployment.client("identify", "0180", "school-reporter"),
            "register": deployment.client("register", "0180", "caseworker"),
            "scb": deployment.client("register", "0180", "coordinator"),
            "inspector": deployment.client("register", "0180", "inspector"),
            "outreach": deployment.client("outreach", "0180", "caseworker"),
            "measures": deployment.client("measures", "0180", "caseworker"),
        }
        found: Found = {"deployment": deployment, "clients": clients}
        try:
            identify_two(deployment, found)
            refuse(found)
            mark(deployment, found)
            replay(found)
            same_facts_again(deployment, found)
            a_changed_fact(deployment, found)
            rebuilt(deployment, found)
            yield found
        finally:
            for client in clients.values():
                client.close()


SCOPE_EVENTS = ("YouthIdentified", "YouthLeftScope")


def scope_events(events: list[dict[str, Any]], youth: str) -> list[dict[str, Any]]:
    """The youth's scope events on identify's topic, in order."""
    return [e for e in events if e["youth_id"] == youth and e["event_type"] in SCOPE_EVENTS]


class TestAnEpisodeRegisteredInError:
    def test_the_mark_answers_the_episode_as_marked(self, found: Found) -> None:
        marked = ok(found["marked"], 202)
        assert marked["scope_episode_id"] == found["episode"]
        assert marked["youth_id"] == found["youth"]
        assert marked["left_reason"] == "registered_in_error"
        assert marked["left_on"] == marked["entered_on"]

    def test_identify_publishes_the_episode_left_registered_in_error(self, found: Found) -> None:
        events = scope_events(found["events_after_mark"], found["youth"])
        assert [e["event_type"] for e in events] == ["YouthIdentified", "YouthLeftScope"]
        identified, left = events
        assert left["scope_episode_id"] == found["episode"]
        assert (left["reason"], left["left_on"]) == (
            "registered_in_error",
            identified["entered_on"],
        )
        assert left["actor"] == "user:test"
        assert left["correction"]["reason"] == "wrong_youth"
        assert left["correction"]["sealed_note"].startswith("kaa1."), "the note, sealed"
        raw = str(found["events_after_mark"])
        assert NOTE not in raw, "the note is sealed, never on a topic"

    def test_today_the_register_no_longer_holds_the_episode(self, found: Found) -> None:
        before, after = found["before"], found["after"]
        youth, other = found["youth"], found["other"]
        assert before["listed"] == {youth, other}
        assert after["listed"] == {other}
        assert after["lookup"]["registered_in_error"] is True
        assert after["lookup"]["status"] != "in_scope"
        [episode] = after["lookup"]["scope_episodes"]
        assert episode["registered_in_error"] is True
        assert (episode["in_error_reason"], episode["in_error_note"]) == ("wrong_youth", NOTE)
        for count in ("known", "in_scope", "scope_episodes"):
            assert (before["summary"][count], after["summary"][count]) == (2, 1), count

    def test_the_quality_figures_and_the_scb_check_leave_it_out(self, found: Found) -> None:
        before, after = found["before"], found["after"]
        assert before["quality"]["youths_in_scope"] == 2
        assert after["quality"]["youths_in_scope"] == 1
        assert before["quality"]["episodes_begun"] - after["quality"]["episodes_begun"] == 1
        assert (before["scb"]["youths"], after["scb"]["youths"]) == (2, 1)

    def test_the_audit_replay_shows_it_before_the_mark_and_marked_after(self, found: Found) -> None:
        youth = found["youth"]
        then = found["replay_before"]["youth"]
        assert then["status"] == "in_scope"
        assert then["registered_in_error"] is False
        assert [e["in_error_reason"] for e in then["scope_episodes"]] == [None]
        assert youth in {r["youth_id"] for r in found["whole_before"]["youths"]}
        assert found["whole_before"]["registered_in_error"] == []

        now = found["replay_after"]["youth"]
        assert now["registered_in_error"] is True
        [episode] = now["scope_episodes"]
        assert episode["registered_in_error"] is True
        assert episode["in_error_actor"] == "user:test"
        assert episode["left_reason"] == "registered_in_error"
        # Why: the reason code, and the coordinator's note opened for the inspector.
        assert (episode["in_error_reason"], episode["in_error_note"]) == ("wrong_youth", NOTE)
        assert episode["in_error_note_text"] == "open"
        assert youth not in {r["youth_id"] for r in found["whole_after"]["youths"]}
        [listed] = found["whole_after"]["registered_in_error"]
        assert (listed["youth_id"], listed["scope_episode_id"]) == (youth, found["episode"])
        assert listed["in_error_actor"] == "user:test"
        assert (listed["in_error_reason"], listed["has_note"]) == ("wrong_youth", True)
        assert NOTE not in str(found["whole_after"]), "the list names the reason, not the note"

    def test_outreach_and_measures_close_the_youths_case(self, found: Found) -> None:
        youth = found["youth"]
        assert found["before"]["case"]["in_scope"] is True
        assert youth in found["before"]["first_contact"]
        case = found["after"]["case"]
        assert case["in_scope"] is False
        assert case["left_reason"] == "registered_in_error"
        assert youth not in found["after"]["first_contact"]
        assert found["other"] in found["after"]["first_contact"]
        offer = found["offer_after"]
        assert offer.status_code == 409, offer.text
        assert [e["field"] for e in offer.json()["errors"]] == ["youth_id"]

    def test_the_same_facts_again_open_no_episode(self, found: Found) -> None:
        assert found["absence"].status_code == 202, found["absence"].text
        events = scope_events(found["events_same_facts"], found["youth"])
        assert [e["event_type"] for e in events] == ["YouthIdentified", "YouthLeftScope"]
        again = found["same_facts"]
        assert again["listed"] == {found["other"]}
        assert again["lookup"]["registered_in_error"] is True
        assert again["summary"]["in_scope"] == 1
        assert again["case"]["in_scope"] is False

    def test_a_changed_fact_is_decided_afresh(self, found: Found) -> None:
        events = scope_events(found["events_changed"], found["youth"])
        kinds = [e["event_type"] for e in events]
        assert kinds == ["YouthIdentified", "YouthLeftScope", "YouthIdentified"]
        assert events[-1]["scope_episode_id"] != found["episode"]
        record = found["changed"]
        assert record["status"] == "in_scope"
        assert record["registered_in_error"] is False
        marked = [e for e in record["scope_episodes"] if e["registered_in_error"]]
        assert [e["scope_episode_id"] for e in marked] == [found["episode"]]

    def test_a_rebuild_from_the_topics_equals_the_live_register(self, found: Found) -> None:
        assert found["rebuild"].applied == found["rebuild"].events > 0
        assert found["verified"] == {}


class TestRefusals:
    def test_a_caseworker_may_not_mark(self, found: Found) -> None:
        assert found["refused"]["caseworker"].status_code == 403

    def test_another_municipality_is_told_no_such_youth(self, found: Found) -> None:
        refused = found["refused"]["other_municipality"]
        assert refused.status_code == 404, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == ["youth_id"]

    def test_an_unknown_episode_of_the_youth_is_not_found(self, found: Found) -> None:
        for name in ("unknown_episode", "another_youths_episode"):
            refused = found["refused"][name]
            assert refused.status_code == 404, refused.text
            assert [e["field"] for e in refused.json()["errors"]] == ["scope_episode_id"], name

    def test_marking_twice_is_a_conflict(self, found: Found) -> None:
        again = found["marked_again"]
        assert again.status_code == 409, again.text
        assert [e["field"] for e in again.json()["errors"]] == ["scope_episode_id"]

    def test_an_unknown_reason_code_is_refused_naming_reason(self, found: Found) -> None:
        refused = found["refused"]["unknown_reason"]
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == ["body.reason"]

    def test_no_refusal_echoes_what_it_was_given(self, found: Found) -> None:
        given = (found["youth"], found["episode"], found["other_episode"], NOTE)
        for name, refused in [*found["refused"].items(), ("twice", found["marked_again"])]:
            for value in given:
                assert value not in refused.text, (name, "echoes a value it was given")
        assert "mistaken_identity" not in found["refused"]["unknown_reason"].text


def test_a_youth_known_from_another_municipalitys_report_of_a_move_can_be_marked(
    infra: RunningInfra,
) -> None:
    """0180's population feed reports a youth moved to 1480: 1480's register has them, though no
    record of 1480's own feed named them yet (no data key of theirs in 1480). 1480's coordinator
    can still mark the episode registered in error (it was 404 `youth_id`: the youth was looked
    up by their data key alone)."""
    number = personnummer.generate(date(2008, 2, 3), RNG)
    moved = population_line(number, kommunkod="1480")
    with running(infra, tenants=("0180", "1480")) as deployment:
        asyncio.run(deployment.publish_feed("population", [moved]))
        asyncio.run(deployment.drained())
        with (
            deployment.client("register", "1480", "caseworker") as register,
            deployment.client("identify", "1480", "coordinator") as coordinator,
        ):
            [row] = ok(register.get("/v1/youths"))["items"]
            youth, episode = row["youth_id"], row["scope_episode_id"]
            marked = coordinator.post(
                f"/v1/youths/{youth}/scope-episodes/{episode}/registered-in-error",
                json={"reason": "wrong_youth", "note": NOTE},  # sealed with a key made for it
            )
            assert marked.status_code == 202, marked.text
            asyncio.run(deployment.drained())
            assert ok(register.get("/v1/youths"))["items"] == []
