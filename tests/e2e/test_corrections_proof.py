"""The proof of issue 16 over the running services (real Kafka and PostgreSQL, services as
processes): a caseworker records a contact attempt with the wrong date and corrects it, withdraws
an occupation and records the right one; the register, the contact clock and the worklists show
the corrected truth; the audit replay as of an instant between shows the wrong date and after it
who corrected it and why; the youth's extract lists both the original and the correction. Then a
batch of letters for ten new youths, one under skyddad folkbokföring, renders to one PDF of ten
letters, the protected one flagged for forwarding by Skatteverket and without an address. A
rebuild of the register from the topics equals the live register after all of it.

The fixture takes each step in order on one deployment and keeps what it answered; each test of
TestCorrectionsLettersAndRebuild checks one part of the proof.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from kaa.deployment import Deployment
from services.outreach.domain.letters import FORWARDING, STANDARD_FIRST_LETTER
from services.register.commands.rebuild import rebuild, verify
from tests.conftest import RunningInfra
from tests.e2e.conftest import running
from tests.e2e.test_casework import Desk
from tests.e2e.test_letters import person

Proof = dict[str, Any]

CORRECTOR = "anna.andersson"  # the caseworker who puts the mistakes right
WRONG_DAY, RIGHT_DAY = "2026-02-12", "2026-02-19"
ATTEMPT = {"channel": "phone", "outcome": "not_reached"}
NOTE = "Fel dag inskriven"
WRONG_OCCUPATION = {"category": "work", "tense": "current", "from_date": "2026-01-01",
                    "confirmed_on": "2026-02-19"}  # fmt: skip
RIGHT_OCCUPATION = {**WRONG_OCCUPATION, "category": "no_occupation"}
CASEWORK_YOUTH = 10  # person(10): the youth whose record is corrected
PROTECTED = 3  # person(3) of the ten new youths: under skyddad folkbokföring


def attempted_at(day: str) -> str:
    return f"{day}T10:00:00+01:00"


def entry_id(case: dict[str, Any], event_type: str) -> str:
    """The event id of the case's latest entry of a type, as the case view shows it."""
    ids = [e["event_id"] for e in case["entries"] if e["event_type"] == event_type]
    assert ids, f"no {event_type} entry on the case: {case['entries']}"
    return str(ids[-1])


class Corrector(Desk):
    """The caseworker's desk, plus a caseworker with a name who corrects, a coordinator's and an
    inspector's view of the register."""

    def __init__(self, deployment: Deployment) -> None:
        super().__init__(deployment)
        token = deployment.token("0180", "caseworker", subject=CORRECTOR)
        self.anna = httpx.Client(
            base_url=self.outreach.base_url, headers={"Authorization": f"Bearer {token}"},
            timeout=30.0,
        )  # fmt: skip
        self.inspector = deployment.client("register", "0180", "inspector")
        self.register_coordinator = deployment.client("register", "0180", "coordinator")

    def close(self) -> None:
        super().close()
        for client in (self.anna, self.inspector, self.register_coordinator):
            client.close()

    def ok_pdf(self, response: httpx.Response, status: int) -> bytes:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/pdf", response.headers
        return response.content

    def case(self, youth: str) -> dict[str, Any]:
        return self.ok(self.outreach.get(f"/v1/youths/{youth}/case"), 200)

    def snapshot(self, proof: Proof, name: str) -> None:
        """What the register, the case and the worklists show now, kept under `name`."""
        self.settle()
        youth = proof["youth"]
        proof[name] = {
            "at": datetime.now(UTC), "row": self.register_row(youth), "case": self.case(youth),
            "recontact": self.items("recontact"), "stale": self.items("stale_occupation"),
        }  # fmt: skip


def step_youth(desk: Corrector, proof: Proof) -> None:
    """One youth from the population feed; the municipality re-contacts after a week."""
    asyncio.run(desk.deployment.publish_feed("population", [person(CASEWORK_YOUTH, False)]))
    desk.settle()
    [row] = desk.ok(desk.register.get("/v1/youths"), 200)["items"]
    proof["youth"] = row["youth_id"]
    rules = {"rules": {"recontact_days": 7}}
    desk.ok(desk.coordinator["outreach"].put("/v1/tenant-rules", json=rules), 200)


def step_wrong_attempt(desk: Corrector, proof: Proof) -> None:
    """An attempt recorded with the wrong day; the instant after it is `between`."""
    youth = proof["youth"]
    wrong = {**ATTEMPT, "attempted_at": attempted_at(WRONG_DAY)}
    proof["attempt"] = desk.ok(
        desk.outreach.post(f"/v1/youths/{youth}/contact-attempts", json=wrong)
    )
    desk.snapshot(proof, "wrong")


def step_correct_attempt(desk: Corrector, proof: Proof) -> None:
    """Anna corrects the attempt's day, naming its event id and why."""
    youth = proof["youth"]
    proof["attempt_event"] = entry_id(proof["wrong"]["case"], "ContactAttempted")
    body = {"corrects": proof["attempt_event"], "reason": "wrong_date", "note": NOTE,
            "values": {**ATTEMPT, "attempted_at": attempted_at(RIGHT_DAY)}}  # fmt: skip
    proof["correction"] = desk.ok(desk.anna.post(f"/v1/youths/{youth}/corrections", json=body))
    desk.snapshot(proof, "corrected")


def step_occupation(desk: Corrector, proof: Proof) -> None:
    """A wrong occupation recorded, withdrawn by Anna, and the right one recorded."""
    youth = proof["youth"]
    desk.ok(desk.outreach.post(f"/v1/youths/{youth}/occupations", json=WRONG_OCCUPATION))
    desk.snapshot(proof, "wrong_occupation")
    proof["occupation_event"] = entry_id(proof["wrong_occupation"]["case"], "OccupationRecorded")
    body = {"withdraws": proof["occupation_event"], "reason": "wrong_value"}
    proof["withdrawal"] = desk.ok(desk.anna.post(f"/v1/youths/{youth}/withdrawals", json=body))
    desk.snapshot(proof, "withdrawn")
    desk.ok(desk.outreach.post(f"/v1/youths/{youth}/occupations", json=RIGHT_OCCUPATION))
    desk.snapshot(proof, "final")


def step_audit(desk: Corrector, proof: Proof) -> None:
    """An inspector replays the youth as of between the wrong recording and the correction, and
    as of after all of it."""
    youth = proof["youth"]
    for name, at in (("audit_between", proof["wrong"]["at"]), ("audit_after", datetime.now(UTC))):
        replay = desk.inspector.get(f"/v1/audit/youths/{youth}", params={"as_of": at.isoformat()})
        proof[name] = desk.ok(replay, 200)["youth"]


def step_extract(desk: Corrector, proof: Proof) -> None:
    """The youth's own extract, as JSON and as the PDF the youth gets."""
    path = f"/v1/youths/{proof['youth']}/extract"
    coordinator = desk.register_coordinator
    json_ = coordinator.get(path, params={"format": "json", "purpose": "extract"})
    proof["extract"] = desk.ok(json_, 200)
    pdf = desk.ok_pdf(coordinator.get(path, params={"format": "pdf", "purpose": "extract"}), 200)
    proof["extract_text"] = pdf_text(pdf)


def step_letters(desk: Corrector, proof: Proof) -> None:
    """Ten new youths, one protected: a batch for the first-contact list, then sent."""
    lines = [person(n, protected=n == PROTECTED) for n in range(10)]
    asyncio.run(desk.deployment.publish_feed("population", lines))
    desk.settle()
    body = {"worklist": "first_contact", "caseworker": "Anna"}
    made = desk.outreach.post("/v1/letter-batches", json=body)
    proof["batch_pdf"] = desk.ok_pdf(made, 201)
    proof["batch_headers"] = made.headers
    proof["batch"] = desk.ok(desk.outreach.get(made.headers["location"]), 200)
    sent = {"sent_at": "2026-03-02T14:00:00+01:00"}
    proof["sent"] = desk.ok(desk.outreach.post(f"{made.headers['location']}/sent", json=sent), 200)


def step_rebuild(desk: Corrector, proof: Proof) -> None:
    """The register rebuilt from the topics beside the live one, and the two compared."""
    desk.settle()
    deployment = desk.deployment
    result = asyncio.run(
        rebuild(deployment.bootstrap_servers, deployment.database_url, deployment.namespace,
                deployment.tenants)
    )  # fmt: skip
    proof["rebuild"] = result
    proof["verified"] = asyncio.run(verify(deployment.database_url, "register", result.schema))


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


@pytest.fixture(scope="class")
def proof(infra: RunningInfra) -> Iterator[Proof]:
    with running(infra) as deployment:
        desk, answers = Corrector(deployment), Proof()
        try:
            for step in (step_youth, step_wrong_attempt, step_correct_attempt, step_occupation,
                         step_audit, step_extract, step_letters, step_rebuild):  # fmt: skip
                step(desk, answers)
            yield answers
        finally:
            desk.close()


def day(instant: str | None) -> str | None:
    return instant[:10] if instant else None


def corrections_of(timeline: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [(c["kind"], c["target_event_type"], c["reason"], c["actor"])
            for c in timeline["corrections"]]  # fmt: skip


class TestCorrectionsLettersAndRebuild:
    def test_the_wrong_day_is_what_was_recorded_first(self, proof: Proof) -> None:
        wrong = proof["wrong"]
        assert [day(c["attempted_at"]) for c in wrong["row"]["contacts"]] == [WRONG_DAY]
        assert wrong["case"]["contact_clock"]["first_attempt_on"] == WRONG_DAY
        [item] = wrong["recontact"]
        assert item["reason"] == f"last attempt {WRONG_DAY} ended not_reached"

    def test_the_corrected_attempt_keeps_its_id_and_moves_its_day(self, proof: Proof) -> None:
        answer = proof["correction"]
        assert (answer["recorded"], answer["event_type"]) == (True, "ContactAttempted")
        [attempt] = proof["corrected"]["row"]["contacts"]
        assert attempt["contact_attempt_id"] == proof["attempt"]["contact_attempt_id"]
        assert (day(attempt["attempted_at"]), attempt["channel"]) == (RIGHT_DAY, "phone")

    def test_the_contact_clock_and_the_worklists_show_the_corrected_day(self, proof: Proof) -> None:
        case = proof["corrected"]["case"]
        assert case["contact_clock"]["first_attempt_on"] == RIGHT_DAY
        assert case["last_attempt_on"] == RIGHT_DAY
        [item] = proof["corrected"]["recontact"]
        assert item["reason"] == f"last attempt {RIGHT_DAY} ended not_reached"

    def test_the_case_shows_what_was_corrected_by_whom_and_why(self, proof: Proof) -> None:
        entries = {e["event_id"]: e for e in proof["corrected"]["case"]["entries"]}
        original = entries[proof["attempt_event"]]
        assert original["values"]["attempted_at"].startswith(WRONG_DAY), "kept as recorded"
        corrected = original["corrected"]
        assert (corrected["by"], corrected["actor"], corrected["reason"]) == (
            proof["correction"]["event_id"], f"user:{CORRECTOR}", "wrong_date",
        )  # fmt: skip
        assert corrected["with_note"] is True
        assert entries[proof["correction"]["event_id"]]["corrects"] == proof["attempt_event"]

    def test_the_register_lists_who_corrected_or_withdrew_what_and_why(self, proof: Proof) -> None:
        row = proof["final"]["row"]
        assert corrections_of(row) == [
            ("corrected", "ContactAttempted", "wrong_date", f"user:{CORRECTOR}"),
            ("withdrawn", "OccupationRecorded", "wrong_value", f"user:{CORRECTOR}"),
        ]
        assert [c["target_event_id"] for c in row["corrections"]] == [
            proof["attempt_event"], proof["occupation_event"],
        ]  # fmt: skip

    def test_a_withdrawn_occupation_stands_no_more_and_the_right_one_does(
        self, proof: Proof
    ) -> None:
        youth = proof["youth"]
        assert [o["category"] for o in proof["wrong_occupation"]["row"]["occupations"]] == ["work"]
        withdrawn = proof["withdrawn"]
        assert (proof["withdrawal"]["event_type"], withdrawn["row"]["occupations"]) == (
            "OccupationRecorded", [],
        )  # fmt: skip
        assert withdrawn["case"]["occupation"] == "unknown"
        assert youth in [i["youth_id"] for i in withdrawn["stale"]], "its occupation is unknown"
        final = proof["final"]
        assert [o["category"] for o in final["row"]["occupations"]] == ["no_occupation"]
        assert final["case"]["occupation"] == "no_occupation"
        assert youth not in [i["youth_id"] for i in final["stale"]]

    def test_the_replay_between_shows_the_wrong_day(self, proof: Proof) -> None:
        past = proof["audit_between"]
        assert [day(c["attempted_at"]) for c in past["contacts"]] == [WRONG_DAY]
        assert (past["corrections"], past["occupations"]) == ([], [])

    def test_the_replay_after_shows_the_right_day_who_corrected_it_and_why(
        self, proof: Proof
    ) -> None:
        after = proof["audit_after"]
        assert [day(c["attempted_at"]) for c in after["contacts"]] == [RIGHT_DAY]
        assert corrections_of(after) == [
            ("corrected", "ContactAttempted", "wrong_date", f"user:{CORRECTOR}"),
            ("withdrawn", "OccupationRecorded", "wrong_value", f"user:{CORRECTOR}"),
        ]
        assert [(c["note"], c["note_text"]) for c in after["corrections"]] == [
            (NOTE, "open"), (None, None),
        ]  # fmt: skip
        assert [o["category"] for o in after["occupations"]] == ["no_occupation"]

    def test_the_extract_lists_the_corrected_truth_and_the_correction(self, proof: Proof) -> None:
        extract = proof["extract"]
        assert [day(a["attempted_at"]) for a in extract["contact_attempts"]] == [RIGHT_DAY]
        assert [o["category"] for o in extract["occupations"]] == ["no_occupation"]
        shown = [(c["kind"], c["target_event_type"], c["reason"], c["note"])
                 for c in extract["corrections"]]  # fmt: skip
        assert shown == [("corrected", "ContactAttempted", "wrong_date", NOTE),
                         ("withdrawn", "OccupationRecorded", "wrong_value", None)]  # fmt: skip
        text = " ".join(proof["extract_text"].split())  # the PDF wraps lines anywhere
        for correction in extract["corrections"]:
            assert correction["reason_text"] in text
            assert correction["target_event_type_text"] in text

    def test_the_extract_lists_the_original_wrong_day_too(self, proof: Proof) -> None:
        # Issue 16's proof: "the youth's extract lists both" the original and the correction. The
        # original attempt's wrong day is held (the event, the archive, the case's entries), so
        # the youth's extract must show it beside the correction.
        extract = proof["extract"]
        corrected = extract["corrections"][0]
        assert WRONG_DAY in repr(extract), (
            "the extract shows the corrected attempt and that it was corrected, but not what was "
            f"recorded originally (the wrong day): {corrected}"
        )

    def test_a_batch_for_ten_new_youths_is_one_pdf_of_ten_letters(self, proof: Proof) -> None:
        headers = proof["batch_headers"]
        assert (headers["kaa-letters"], headers["kaa-forwarded"]) == ("10", "1")
        text = pdf_text(proof["batch_pdf"])
        assert text.count(STANDARD_FIRST_LETTER.subject) == 10
        assert len(proof["batch"]["letters"]) == 10
        assert str(proof["youth"]) not in [str(x["youth_id"]) for x in proof["batch"]["letters"]]

    def test_the_protected_youth_is_flagged_and_without_address(self, proof: Proof) -> None:
        assert [x["forwarding"] for x in proof["batch"]["letters"]].count(True) == 1
        pages = [p.extract_text() for p in PdfReader(io.BytesIO(proof["batch_pdf"])).pages]
        letters = {n: [p for p in pages if f"Ung{n} Brevsson" in p] for n in range(10)}
        assert all(len(found) == 1 for found in letters.values()), "each letter on its own page"
        [protected] = letters.pop(PROTECTED)
        assert FORWARDING in protected, "flagged for forwarding by Skatteverket"
        assert "Brevgatan" not in protected, "no address"
        assert "Ankeby" not in protected, "no address"
        for n, [page] in letters.items():
            assert f"Brevgatan {n}" in page
            assert FORWARDING not in page

    def test_the_sent_letters_are_recorded_as_attempts(self, proof: Proof) -> None:
        assert proof["sent"]["recorded"] == 10

    def test_a_rebuild_from_the_topics_equals_the_live_register(self, proof: Proof) -> None:
        result = proof["rebuild"]
        assert result.applied == result.events > 0
        assert proof["verified"] == {}, "the rebuilt register differs from the live one"
