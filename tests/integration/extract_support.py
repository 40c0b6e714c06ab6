"""The youth's own extract's tests (`commands/extract.py`): one youth's events as the services
publish them (sealed with the youth's data key), applied by the projection into the register of
the shared `register` fixture (`register_support.py`), the extract produced, and each fact of its
JSON as its PDF words it."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pypdf import PdfReader

from services.register.commands.extract import as_pdf, produce_extract
from services.register.domain.extract_wording import swedish_date, swedish_instant, years_or_days
from shared import access_log
from shared.contracts.events import (
    AnyEvent,
    CaseAssigned,
    ContactAttempted,
    ContactDetails,
    ContactDetailsRecorded,
    ContactEstablished,
    Correction,
    EffortText,
    IndividualPlanRevised,
    MeasureAccepted,
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
)
from shared.contracts.topics import (
    IDENTIFY_EVENTS,
    MEASURES_EVENTS,
    OUTREACH_EVENTS,
    RETENTION_EVENTS,
)
from shared.crypto import new_data_key, seal
from tests.integration.register_support import KEYS, TENANT, Register
from tests.integration.test_register_projection import Partition

__all__ = ["KEYS", "TENANT", "Extracts", "Youth", "extract", "extracts", "facts", "pdf_text"]

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
COORDINATOR = access_log.Access(TENANT, "user:cecilia", "extract", "extract", "register")
STREET = "Åsgatan 7"


class Youth:
    """One youth's events (each a minute after the one before), sealed with their data key."""

    def __init__(self) -> None:
        self.id, self.key, self.minute = uuid.uuid4(), new_data_key(), 0

    def envelope(self, actor: str = "user:anna") -> dict[str, Any]:
        self.minute += 1
        when = START + timedelta(minutes=self.minute)
        return {"event_id": uuid.uuid4(), "tenant": TENANT, "youth_id": self.id,
                "occurred_at": when, "recorded_at": when, "actor": actor,
                "correlation_id": uuid.uuid4()}  # fmt: skip

    def sealed(self, plain: str, purpose: str) -> str:
        return seal(self.key, plain.encode(), TENANT, self.id, purpose)

    def identified(self, protected: bool = False) -> YouthIdentified:
        details = PersonalDetails(personnummer="200801012384", given_name="Vera",
                                  family_name="Ek", street=STREET, postal_code="11122",
                                  city="Stockholm", protected=protected)  # fmt: skip
        return YouthIdentified(
            **self.envelope("system:identify"), scope_episode_id=uuid.uuid4(),
            entered_on=date(2026, 1, 5), scope_ends_on=date(2028, 1, 1),
            rule_version="kaa-2018-07-01", facts={"age": "17", "enrolled_in": "none"},
            personal_details=self.sealed(details.model_dump_json(), PersonalDetails.PURPOSE),
        )  # fmt: skip

    def outreach(self) -> list[AnyEvent]:
        contact = ContactDetails(email="vera@example.se", phone="070-1234567")
        wrong = ContactAttempted(**self.envelope(), contact_attempt_id=uuid.uuid4(),
                                 channel="phone", outcome="not_reached",
                                 attempted_at=datetime(2026, 2, 3, 10, tzinfo=UTC))  # fmt: skip
        note = self.sealed("Det var den fjärde", Correction.SEALED_PURPOSE)
        return [
            ContactDetailsRecorded(**self.envelope(), contact_details=self.sealed(
                contact.model_dump_json(), ContactDetails.PURPOSE)),
            wrong,
            ContactAttempted(**self.envelope(), contact_attempt_id=wrong.contact_attempt_id,
                             channel="phone", outcome="not_reached",
                             attempted_at=datetime(2026, 2, 4, 10, tzinfo=UTC),
                             corrects=wrong.event_id,
                             correction=Correction(reason="wrong_date", sealed_note=note)),
            ContactEstablished(**self.envelope(), established_at=datetime(2026, 2, 10, 13,
                               tzinfo=UTC), channel="home_visit"),
            YouthInformed(**self.envelope(), informed_at=datetime(2026, 2, 10, 14, tzinfo=UTC),
                          channel="home_visit"),
            OccupationRecorded(**self.envelope(), occupation_id=uuid.uuid4(), category="work",
                               code_list_version="2026-1", tense="current",
                               from_date=date(2026, 2, 1), confirmed_on=date(2026, 2, 20)),
            CaseAssigned(**self.envelope("user:cecilia"), assignee_kind="caseworker",
                         assignee="anna"),
        ]  # fmt: skip

    def measures(self) -> list[AnyEvent]:
        text = PlanText(
            goal="Börja på komvux i höst",
            mapping=PlanMapping(goals=["Bli kock"]),
            efforts=[EffortText(description="Studiebesök på restaurangskolan")],
        )
        measure, day = uuid.uuid4(), date.fromisoformat
        return [
            IndividualPlanRevised(
                **self.envelope(), revision=1, valid_from=day("2026-02-12"),
                efforts=[PlanEffort(effort_id=uuid.uuid4(), responsible="youth",
                                    start_date=day("2026-02-15"))],
                follow_up_on=day("2026-04-01"),
                sealed_text=self.sealed(text.model_dump_json(), PlanText.PURPOSE)),
            MeasureOffered(**self.envelope(), measure_id=measure, measure_type="internship",
                           offered_on=day("2026-02-12"), can_start_on=day("2026-02-20"),
                           sealed_content=self.sealed("Praktik på Kafé Linden",
                                                      MeasureOffered.CONTENT_PURPOSE)),
            MeasureAccepted(**self.envelope(), measure_id=measure, accepted_on=day("2026-02-13")),
            MeasureStarted(**self.envelope(), measure_id=measure, started_on=day("2026-02-20")),
            MeasureEnded(**self.envelope(), measure_id=measure, ended_on=day("2026-03-01"),
                         end_reason="started_work", occupation_after="work"),
        ]  # fmt: skip


class Extracts:
    """The shared register with the youths' events applied as the projection applies them (their
    data keys in the keyring, removed by the `register` fixture afterwards)."""

    def __init__(self, register: Register) -> None:
        self.register, self.pool = register, register.pool
        self.topics = {t: Partition(register.pool, t) for t in (
            IDENTIFY_EVENTS, OUTREACH_EVENTS, MEASURES_EVENTS, RETENTION_EVENTS)}  # fmt: skip

    async def apply(self, youth: Youth, *events: AnyEvent) -> None:
        if youth.id not in self.register.youths:
            self.register.youths.append(youth.id)
            await self.pool.execute(
                "INSERT INTO keyring.youth_keys (tenant, youth_id, wrapped) VALUES ($1, $2, $3)",
                TENANT, youth.id, KEYS.wrap(TENANT, youth.id, youth.key),
            )  # fmt: skip
        for topic, partition in self.topics.items():
            await partition.apply([e for e in events if e.topic == topic])

    async def logged(self, youth: uuid.UUID) -> list[tuple[str, str, str]]:
        """The access log's entries about the youth, in order: actor, purpose, what."""
        return [entry[1:] for entry in await self.register.logged([youth])]


@pytest.fixture
def extracts(register: Register) -> Extracts:
    return Extracts(register)


async def extract(extracts: Extracts, youth: uuid.UUID, grant: bool = True) -> dict[str, Any]:
    return await produce_extract(extracts.pool, KEYS, COORDINATOR, youth, 730, grant,
                                 datetime(2026, 3, 5, 8, 30, tzinfo=UTC))  # fmt: skip


def pdf_text(extract: dict[str, Any]) -> str:
    reader = PdfReader(io.BytesIO(as_pdf(extract)))
    assert reader.metadata is not None
    assert reader.metadata.title == extract["title"]
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T")
STATES = {"state", "text", "personal_data", "protected", "registered_in_error"}


def facts(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """Each fact of the JSON as the PDF words it: (the field, the text the PDF must hold). A code
    is shown by its words (`<field>_text`); ids other than the youth's are not for the youth."""
    if isinstance(value, dict):
        for name, item in value.items():
            skipped = name.endswith("_id") and name != "youth_id"
            if skipped or name in STATES or f"{name}_text" in value:
                continue
            if name == "days":
                yield name, years_or_days(item)
            else:
                yield from facts(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from facts(item, key)
    elif isinstance(value, int) and not isinstance(value, bool):
        yield key, str(value)
    elif isinstance(value, str) and INSTANT.match(value):
        yield key, swedish_instant(datetime.fromisoformat(value))
    elif isinstance(value, str) and DAY.fullmatch(value):
        yield key, swedish_date(date.fromisoformat(value))
    elif isinstance(value, str):
        yield key, " ".join(value.split())
