"""Synthetic histories of youths as the services publish them (benchmarks and demos).

Each generated youth gets what a year of the activity responsibility typically leaves in the event
log: identification with sealed personal details, contact attempts, contact and information,
occupations, an owner, plan revisions, measures through their lifecycle (some declined and offered
again), and for some the end of responsibility and a re-entry. Deterministic for a seed. The data
keys the details are sealed with are returned wrapped, ready for the keyring.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from shared import personnummer
from shared.contracts.envelope import IntegrationEvent
from shared.contracts.events import (
    CaseAssigned,
    ContactAttempted,
    ContactEstablished,
    EffortText,
    IndividualPlanRevised,
    MeasureAccepted,
    MeasureDeclined,
    MeasureEnded,
    MeasureOffered,
    MeasureStarted,
    OccupationRecorded,
    PersonalDetails,
    PlanEffort,
    PlanMapping,
    PlanText,
    YouthIdentified,
    YouthInformed,
    YouthLeftScope,
)
from shared.crypto import TenantKeys, new_data_key, seal

# Kommunkoder of Stockholms län and Uppsala län: a large consortium's members.
KOMMUNKODER = (
    "0180", "0114", "0115", "0117", "0120", "0123", "0125", "0126", "0127", "0128", "0136",
    "0138", "0139", "0140", "0160", "0162", "0163", "0181", "0182", "0183", "0184", "0186",
    "0187", "0188", "0191", "0192", "0305", "0319", "0330", "0331", "0360", "0380", "0381",
    "0382", "0428", "0461", "0480", "0481", "0482", "0483",
)  # fmt: skip
OCCUPATIONS = ("work", "studies_komvux", "studies_folkhogskola", "internship",
               "labour_market_programme", "no_occupation", "parental_leave")  # fmt: skip
MEASURES = ("motivational_talks", "study_guidance", "internship", "study_visit",
            "preparatory_studies", "komvux", "folkhogskola_course")  # fmt: skip
REASONS = ("turned_20", "enrolled", "completed", "moved_out", "emigrated")
SCHOOLS = ("GY", "GY", "GR", "IM", "GYS", None)


@dataclass
class Generated:
    events: list[IntegrationEvent] = field(default_factory=list)
    wrapped_keys: list[tuple[str, uuid.UUID, bytes]] = field(default_factory=list)
    youths: dict[str, int] = field(default_factory=dict)


class _Youth:
    def __init__(self, rng: random.Random, tenant: str, start: date, days: int) -> None:
        self.rng, self.tenant = rng, tenant
        self.id = uuid.UUID(int=rng.getrandbits(128), version=4)
        self.day = start + timedelta(days=rng.randrange(days))
        self.born = date(
            self.day.year - rng.randint(16, 19), rng.randint(1, 12), rng.randint(1, 28)
        )
        self.events: list[IntegrationEvent] = []

    def uid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def later(self, most: int = 20) -> date:
        self.day += timedelta(days=self.rng.randint(1, most))
        return self.day

    def envelope(self, actor: str = "user:caseworker") -> dict[str, Any]:
        at = datetime.combine(self.day, time(9), tzinfo=UTC) + timedelta(
            minutes=self.rng.randrange(480)
        )
        return {
            "event_id": self.uid(),
            "tenant": self.tenant,
            "youth_id": self.id,
            "occurred_at": at,
            "recorded_at": at,
            "actor": actor,
            "correlation_id": self.uid(),
        }


def generate(
    events: int,
    master_key: str,
    *,
    seed: int = 2026,
    tenants: Sequence[str] = KOMMUNKODER,
    first_tenant_youths: int = 5000,
    start: date = date(2025, 1, 1),
    days: int = 540,
) -> Generated:
    """Histories until at least `events` events: the first tenant gets `first_tenant_youths`
    youths, the others share the rest in turn."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    keys = TenantKeys(master_key)
    out = Generated()
    count = 0
    while len(out.events) < events:
        tenant = (
            tenants[0] if count < first_tenant_youths else tenants[1 + count % (len(tenants) - 1)]
        )
        youth = _Youth(rng, tenant, start, days)
        data_key = new_data_key()
        out.wrapped_keys.append((tenant, youth.id, keys.wrap(tenant, youth.id, data_key)))
        out.events.extend(_history(youth, data_key))
        out.youths[tenant] = out.youths.get(tenant, 0) + 1
        count += 1
    return out


def _history(y: _Youth, data_key: bytes) -> Iterator[IntegrationEvent]:
    rng = y.rng
    details = PersonalDetails(
        personnummer=personnummer.generate(y.born, rng),
        given_name=rng.choice(("Alva", "Elias", "Maja", "Noah", "Saga", "Liam")),
        family_name=rng.choice(("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson")),
        street=f"Storgatan {rng.randint(1, 99)}",
        postal_code=f"1{rng.randint(10, 99)} {rng.randint(10, 99)}",
        city="Stockholm",
    )
    sealed = seal(
        data_key, details.model_dump_json().encode(), y.tenant, y.id, PersonalDetails.PURPOSE
    )
    episode = y.uid()
    yield _identified(y, episode, sealed)
    reached = False
    for _ in range(rng.randint(1, 4)):
        outcome = rng.choice(("reached", "not_reached", "not_reached", "wrong_contact_details"))
        reached = reached or outcome == "reached"
        y.later()
        yield ContactAttempted(**y.envelope(), contact_attempt_id=y.uid(), channel="phone",
                               outcome=outcome, attempted_at=y.envelope()["occurred_at"])  # fmt: skip
        if reached:
            break
    if reached or rng.random() < 0.5:
        y.later(5)
        yield ContactEstablished(**y.envelope(), established_at=y.envelope()["occurred_at"],
                                 channel="home_visit")  # fmt: skip
        yield YouthInformed(**y.envelope(), informed_at=y.envelope()["occurred_at"],
                            channel="letter")  # fmt: skip
        for _ in range(rng.randint(1, 2)):
            y.later()
            yield OccupationRecorded(
                **y.envelope(), occupation_id=y.uid(), category=rng.choice(OCCUPATIONS),
                code_list_version="2026-1", tense="current", from_date=y.day - timedelta(days=30),
                confirmed_on=y.day,
            )  # fmt: skip
    if rng.random() < 0.5:
        yield CaseAssigned(**y.envelope("user:coordinator"), assignee_kind="caseworker",
                           assignee=f"cw{rng.randint(1, 40)}")  # fmt: skip
    for revision in range(1, 1 + (rng.randint(1, 2) if rng.random() < 0.4 else 0)):
        y.later()
        # The caseworker's words travel only sealed with the youth's data key, as in measures.
        text = PlanText(
            goal="Börja studera", mapping=PlanMapping(goals=["studier"], needs=["vägledning"]),
            efforts=[EffortText(description="Studievägledning")],
        )  # fmt: skip
        yield IndividualPlanRevised(
            **y.envelope(), revision=revision, valid_from=y.day,
            efforts=[PlanEffort(effort_id=y.uid(), responsible="municipality", start_date=y.day)],
            follow_up_on=y.day + timedelta(days=30),
            sealed_text=seal(data_key, text.model_dump_json().encode(), y.tenant, y.id,
                             PlanText.PURPOSE),
        )  # fmt: skip
    if rng.random() < 0.5:
        yield from _measure(y)
    if rng.random() < 0.35:
        y.later(60)
        yield YouthLeftScope(**y.envelope("system:identify"), scope_episode_id=episode,
                             left_on=y.day, reason=rng.choice(REASONS), rule_version="2018-07-01")  # fmt: skip
        if rng.random() < 0.1:
            y.later(60)
            yield _identified(y, y.uid(), sealed)


def _identified(y: _Youth, episode: uuid.UUID, sealed: str) -> YouthIdentified:
    return YouthIdentified(
        **y.envelope("system:identify"), scope_episode_id=episode, entered_on=y.day, identified_on=y.day,
        scope_ends_on=date(y.born.year + 20, y.born.month, y.born.day), rule_version="2018-07-01",
        facts={"tenant": y.tenant, "on": y.day.isoformat(), "folkbokford_in_tenant": "yes",
               "age": str(y.day.year - y.born.year)},
        school_background=y.rng.choice(SCHOOLS), personal_details=sealed,
    )  # fmt: skip


def _measure(y: _Youth) -> Iterator[IntegrationEvent]:
    rng = y.rng
    measure, kind = y.uid(), rng.choice(MEASURES)
    y.later()
    yield MeasureOffered(**y.envelope(), measure_id=measure, measure_type=kind, offered_on=y.day)
    if rng.random() < 0.2:
        y.later()
        yield MeasureDeclined(**y.envelope(), measure_id=measure, declined_on=y.day)
        y.later(30)
        yield MeasureOffered(**y.envelope(), measure_id=measure, measure_type=kind,
                             offered_on=y.day)  # fmt: skip
    y.later(5)
    yield MeasureAccepted(**y.envelope(), measure_id=measure, accepted_on=y.day)
    y.later(10)
    yield MeasureStarted(**y.envelope(), measure_id=measure, started_on=y.day)
    if rng.random() < 0.6:
        y.later(60)
        yield MeasureEnded(**y.envelope(), measure_id=measure, ended_on=y.day,
                           end_reason="completed", occupation_after=rng.choice(OCCUPATIONS))  # fmt: skip
