"""Valid requests for the operations generated bodies rarely get past validation with (the
generated-requests test, `test_no_server_errors.py`): a correction names a real event id of the
youth's case, a withdrawal one nothing depends on, a letter a youth with a name and address, a
batch a real batch, a measure step a measure in the state it needs.

Each seed sets up what its request needs just before its operation is exercised (so the generated
requests of the operations before it cannot spoil it) and returns the request; the test's sweep
starts from it, so the request reaches the handler and each field's extremes are tried next to
valid values. The seeds work on youths of their own, which the generated requests never draw.
"""

from __future__ import annotations

import contextlib
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiosmtpd.controller import Controller

from kaa.deployment import Deployment
from tests.e2e.test_letters import person

RESERVED = [person(n, protected=False) for n in (20, 21, 22, 23)]
"""Youths with a name and address, for the seeds only (the generated requests never draw them)."""

OCCUPATION = {"category": "work", "tense": "current", "from_date": "2026-02-02"}
ATTEMPT = {
    "channel": "phone",
    "outcome": "not_reached",
    "attempted_at": "2026-02-26T10:00:00+01:00",
}


@dataclass(frozen=True)
class Seed:
    """An ordinary request known to pass validation: path parameters, a JSON body, a query."""

    path: dict[str, str] = field(default_factory=dict)
    body: Any = None
    query: tuple[tuple[str, str], ...] = ()


Key = tuple[str, str, str]  # service, method, path template


class Seeds:
    """The seeds of one deployment: `youth` (outreach and measures seeds), `in_error` (a youth and
    its scope episode, marked registered in error), `batch` (a letter batch of `youth`)."""

    def __init__(
        self,
        deployment: Deployment,
        tenant: str,
        youth: str,
        in_error: tuple[str, str],
        batch: str,
        pooled: list[str],
    ) -> None:
        self.deployment = deployment
        self.tenant = tenant
        self.youth = youth
        self.in_error = in_error
        self.batch = batch
        self.pooled = pooled

    def by_operation(self) -> dict[Key, Callable[[], Seed]]:
        y = "/v1/youths/{youth_id}"
        m = f"{y}/measures/{{measure_id}}"
        on = {"on": "2026-02-27"}
        return {
            ("identify", "POST", f"{y}/scope-episodes/{{scope_episode_id}}/registered-in-error"):
                self.registered_in_error,
            ("outreach", "POST", "/v1/letter-batches"):
                lambda: Seed(body={"worklist": "first_contact", "limit": 1}),
            ("outreach", "POST", "/v1/letter-batches/{batch_id}/sent"):
                lambda: Seed({"batch_id": self.batch}, {"sent_at": "2026-03-02T09:00:00+01:00"}),
            ("outreach", "PUT", f"{y}/contact-details"):
                lambda: self.on_youth({"email": "ung@example.se", "phone": "+46701234567"}),
            ("outreach", "POST", f"{y}/corrections"): self.outreach_correction,
            ("outreach", "POST", f"{y}/letters"): lambda: self.on_youth({"caseworker": "Anna"}),
            ("outreach", "POST", f"{y}/occupations"): lambda: self.on_youth(OCCUPATION),
            ("outreach", "POST", f"{y}/withdrawals"): self.outreach_withdrawal,
            ("measures", "DELETE", "/v1/catalogue/{code}"): self.catalogue_entry,
            ("measures", "POST", f"{m}/acceptance"): lambda: self.step("offer", on),
            ("measures", "POST", f"{m}/corrections"): self.step_correction,
            ("measures", "POST", f"{m}/decline"): lambda: self.step("offer", on),
            ("measures", "POST", f"{m}/end"):
                lambda: self.step("start", {**on, "end_reason": "completed"}),
            ("measures", "POST", f"{m}/start"): lambda: self.step("acceptance", on),
            ("measures", "POST", f"{m}/withdrawals"): self.step_withdrawal,
            ("measures", "POST", f"{y}/follow-ups/{{follow_up_id}}/corrections"):
                lambda: self.completion("corrects"),
            ("measures", "POST", f"{y}/follow-ups/{{follow_up_id}}/withdrawals"):
                lambda: self.completion("withdraws"),
            ("measures", "POST", f"{y}/objections/corrections"): lambda: self.objection("corrects"),
            ("measures", "POST", f"{y}/objections/withdrawals"): lambda: self.objection("withdraws"),
            ("measures", "POST", f"{y}/plan/corrections"): self.plan_correction,
            ("measures", "POST", f"{y}/plan/withdrawals"): self.plan_withdrawal,
            ("register", "GET", "/v1/audit/youths/{youth_id}"):
                lambda: Seed({"youth_id": self.pooled[0]}, query=(("as_of", _now()),)),
            ("register", "POST", "/v1/identities/batch"):
                lambda: Seed(body={"youth_ids": self.pooled, "purpose": "casework"}),
        }  # fmt: skip

    def call(
        self, service: str, method: str, path: str, body: Any = None, role: str = "caseworker"
    ) -> Any:
        """A request the seed needs answered below 300; its JSON (None for none)."""
        with self.deployment.client(service, self.tenant, role) as client:
            response = client.request(method, path, json=body)
        assert response.status_code < 300, (method, path, response.status_code, response.text)
        return response.json() if response.content else None

    def on_youth(self, body: Any) -> Seed:
        return Seed({"youth_id": self.youth}, body)

    def registered_in_error(self) -> Seed:
        youth, episode = self.in_error
        return Seed({"youth_id": youth, "scope_episode_id": episode}, {"reason": "recorded_twice"})

    def outreach_entry(self, path: str, body: dict[str, Any], id_field: str) -> str:
        """Record a fact on the youth's case; the event id the case view shows for it."""
        made = self.call("outreach", "POST", f"/v1/youths/{self.youth}/{path}", body)
        case = self.call("outreach", "GET", f"/v1/youths/{self.youth}/case")
        return next(
            str(e["event_id"])
            for e in case["entries"]
            if e["values"].get(id_field) == made[id_field]
        )

    def outreach_correction(self) -> Seed:
        entry = self.outreach_entry("contact-attempts", ATTEMPT, "contact_attempt_id")
        values = {**ATTEMPT, "attempted_at": "2026-02-25T10:00:00+01:00"}
        return self.on_youth({"corrects": entry, "reason": "wrong_date", "values": values})

    def outreach_withdrawal(self) -> Seed:
        entry = self.outreach_entry("occupations", OCCUPATION, "occupation_id")
        return self.on_youth({"withdraws": entry, "reason": "did_not_happen"})

    def measure(self, through: str) -> tuple[str, str]:
        """A measure offered (and accepted, and started, up to `through`); its id and the event
        id of its latest step."""
        measure = str(uuid.uuid4())
        youth = f"/v1/youths/{self.youth}"
        offer = {"measure_type": "internship", "offered_on": "2026-02-20", "measure_id": measure}
        self.call("measures", "POST", f"{youth}/measure-offers", offer)
        for step, on in (("acceptance", "2026-02-21"), ("start", "2026-02-23")):
            if through == "offer":
                break
            self.call("measures", "POST", f"{youth}/measures/{measure}/{step}", {"on": on})
            if through == step:
                break
        view = self.call("measures", "GET", f"{youth}/measures")
        entries = next(m["entries"] for m in view["measures"] if m["measure_id"] == measure)
        return measure, entries[-1]["event_id"]

    def step(self, through: str, body: dict[str, Any]) -> Seed:
        measure, _ = self.measure(through)
        return Seed({"youth_id": self.youth, "measure_id": measure}, body)

    def step_correction(self) -> Seed:
        measure, offer = self.measure("offer")
        body = {"corrects": offer, "reason": "wrong_date", "offered_on": "2026-02-19",
                "measure_type": "internship"}  # fmt: skip
        return Seed({"youth_id": self.youth, "measure_id": measure}, body)

    def step_withdrawal(self) -> Seed:
        measure, offer = self.measure("offer")
        body = {"withdraws": offer, "reason": "recorded_twice"}
        return Seed({"youth_id": self.youth, "measure_id": measure}, body)

    def completion(self, field: str) -> Seed:
        """A follow-up completed (a declined measure's re-offer), to correct or withdraw."""
        measure, _ = self.measure("offer")
        youth = f"/v1/youths/{self.youth}"
        self.call("measures", "POST", f"{youth}/measures/{measure}/decline", {"on": "2026-02-27"})
        view = self.call("measures", "GET", f"{youth}/measures")
        follow_up = next(f for f in view["follow_ups"] if f["measure_id"] == measure)
        path = f"{youth}/follow-ups/{follow_up['follow_up_id']}"
        self.call("measures", "POST", f"{path}/completion", {"on": "2026-02-28"})
        view = self.call("measures", "GET", f"{youth}/measures")
        done = next(f for f in view["follow_ups"] if f["measure_id"] == measure)["entries"][-1]
        return Seed(
            {"youth_id": self.youth, "follow_up_id": follow_up["follow_up_id"]},
            self.named(field, done["event_id"]),
        )

    def objection(self, field: str) -> Seed:
        """An objection recorded, to correct or withdraw."""
        youth = f"/v1/youths/{self.youth}"
        body = {"on": "2026-02-26", "objection_id": str(uuid.uuid4())}
        self.call("measures", "POST", f"{youth}/objections", body)
        entries = self.call("measures", "GET", f"{youth}/measures")["objection_entries"]
        return self.on_youth(self.named(field, entries[-1]["event_id"]))

    @staticmethod
    def named(field: str, event_id: str) -> dict[str, Any]:
        """A correction (to the day before) or a withdrawal of the entry."""
        if field == "corrects":
            return {"corrects": event_id, "reason": "wrong_date", "on": "2026-02-25"}
        return {"withdraws": event_id, "reason": "did_not_happen"}

    def plan_revision(self) -> str:
        """A new revision of the youth's plan; its event id."""
        plan = f"/v1/youths/{self.youth}/plan"
        self.call("measures", "PUT", plan, {"goal": "Börja på komvux"})
        revisions = self.call("measures", "GET", f"{plan}/revisions")["revisions"]
        return str(revisions[-1]["event_id"])

    def plan_correction(self) -> Seed:
        revision = self.plan_revision()
        return self.on_youth({"corrects": revision, "reason": "wrong_value", "goal": "Praktik"})

    def plan_withdrawal(self) -> Seed:
        return self.on_youth({"withdraws": self.plan_revision(), "reason": "recorded_twice"})

    def catalogue_entry(self) -> Seed:
        """An entry of the municipality's own catalogue, to retire."""
        entry = {"name": "Mentorskap"}
        self.call("measures", "PUT", "/v1/catalogue/own_mentoring", entry, role="coordinator")
        return Seed({"code": "own_mentoring"})


def _now() -> str:
    """Now (the audit replay shows what was recorded by then: the wall clock's instant)."""
    return datetime.now(UTC).isoformat()


class Sink:
    """An SMTP server that accepts every message (the letters e-mailed by the seeds)."""

    def __init__(self) -> None:
        self.messages = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages += 1
        return "250 OK"


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[Sink, int]]:
    """A local SMTP server for the deployment's letters: the sink and its port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()
