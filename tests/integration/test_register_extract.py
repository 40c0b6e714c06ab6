"""The youth's own extract (`commands/extract.py`), on the database: register rows built by the
projection from the events the services publish; the JSON holds everything the register holds
about the youth (the sealed words opened), the PDF's text holds each fact the JSON holds, a
protected address is in neither, producing it is in the access log, a purged youth's extract is
the skeleton retention left, and another municipality's youth is not found.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from pypdf import PdfReader

from services.register.adapters.database import create_pool, create_tables
from services.register.commands.extract import (
    NoSuchYouth,
    ProtectedIdentity,
    as_pdf,
    produce_extract,
)
from services.register.domain.extract_wording import swedish_date, swedish_instant, years_or_days
from services.register.entrypoints.http.extract import extract_routes
from shared import access_log
from shared.auth import Principal
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
    OutreachEntryWithdrawn,
    PersonalDataPurged,
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
from shared.crypto import TenantKeys, new_data_key, seal
from tests.conftest import RunningInfra
from tests.integration.test_register_projection import Partition

TENANT = "0180"
KEYS = TenantKeys("extract-test-master-key-0123456789")
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


class Register:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool, self.youths = pool, list[uuid.UUID]()
        self.topics = {t: Partition(pool, t) for t in (IDENTIFY_EVENTS, OUTREACH_EVENTS,
                                                        MEASURES_EVENTS, RETENTION_EVENTS)}  # fmt: skip

    async def apply(self, youth: Youth, *events: AnyEvent) -> None:
        if youth.id not in self.youths:
            self.youths.append(youth.id)
            await self.pool.execute(
                "INSERT INTO keyring.youth_keys (tenant, youth_id, wrapped) VALUES ($1, $2, $3)",
                TENANT, youth.id, KEYS.wrap(TENANT, youth.id, youth.key),
            )  # fmt: skip
        for topic, partition in self.topics.items():
            await partition.apply([e for e in events if e.topic == topic])

    async def logged(self, youth: uuid.UUID) -> list[tuple[str, str, str]]:
        rows = await self.pool.fetch(
            "SELECT actor, purpose, what FROM access_log.entries WHERE youth_id = $1 "
            "ORDER BY position",
            youth,
        )
        return [(row["actor"], row["purpose"], row["what"]) for row in rows]


@pytest.fixture
async def register(infra: RunningInfra, db_schema: str) -> AsyncIterator[Register]:
    pool = await create_pool(infra.database_url, db_schema, min_size=1, max_size=2)
    await create_tables(pool, db_schema)
    await access_log.create(pool)
    made = Register(pool)
    try:
        yield made
    finally:
        await pool.execute("DELETE FROM keyring.youth_keys WHERE youth_id = ANY($1)", made.youths)
        await pool.close()


async def extract(register: Register, youth: uuid.UUID, grant: bool = True) -> dict[str, Any]:
    return await produce_extract(register.pool, KEYS, COORDINATOR, youth, 730, grant,
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


async def test_the_extract_holds_everything_and_the_pdf_each_fact_of_it(
    register: Register,
) -> None:
    youth, other = Youth(), Youth()
    await register.apply(youth, youth.identified(), *youth.outreach(), *youth.measures())
    await register.apply(other, other.identified())
    earlier = access_log.Access(TENANT, "user:anna", "identity", "identity (open)", "register")
    await access_log.record(register.pool, earlier, [youth.id, other.id])
    found = await extract(register, youth.id)
    assert found["identity"]["address"] == {"street": STREET, "postal_code": "11122",
                                            "city": "Stockholm"}  # fmt: skip
    assert (found["identity"]["email"], found["identity"]["phone"]) == (
        "vera@example.se", "070-1234567")  # fmt: skip
    assert [a["attempted_at"][:10] for a in found["contact_attempts"]] == ["2026-02-04"]
    assert [c["kind"] for c in found["contacts"]] == ["established", "informed"]
    assert found["occupations"][0]["category_text"] == "Arbete"
    assert found["plans"][0]["goal"] == "Börja på komvux i höst"
    assert found["plans"][0]["efforts"][0]["description"] == "Studiebesök på restaurangskolan"
    (measure,) = found["measures"]
    assert (measure["content"], measure["state"], measure["end_reason_text"]) == (
        "Praktik på Kafé Linden", "ended", "Började arbeta")  # fmt: skip
    (fixed,) = found["corrections"]
    assert (fixed["reason"], fixed["note"]) == ("wrong_date", "Det var den fjärde")
    assert found["assignment"]["assignee"] == "anna"
    assert [a["purpose"] for a in found["access_log"]] == ["identity", "extract"]
    assert "2 år" in found["retention"]["rule_text"]
    text = pdf_text(found)
    missing = [(field, words) for field, words in facts(found) if words not in text]
    assert missing == []
    assert "Vera" in text
    assert "Kafé Linden" in text
    assert "skyddad adress" not in text
    assert await register.logged(youth.id) == [
        ("user:anna", "identity", "identity (open)"),
        ("user:cecilia", "extract", "extract (open)"),
    ]
    assert await register.logged(other.id) == [("user:anna", "identity", "identity (open)")]


async def test_a_protected_address_is_never_in_the_extract(register: Register) -> None:
    youth = Youth()
    await register.apply(youth, youth.identified(protected=True))
    with pytest.raises(ProtectedIdentity):
        await extract(register, youth.id, grant=False)
    found = await extract(register, youth.id)
    assert found["identity"]["address"] is None
    assert found["identity"]["address_text"] == "skyddad adress"
    assert STREET not in str(found)
    assert "11122" not in str(found)
    text = pdf_text(found)
    assert "skyddad adress" in text
    assert STREET not in text
    assert "11122" not in text
    assert "Vera" in text
    assert await register.logged(youth.id) == [
        ("user:cecilia", "extract", "extract refused: protected"),
        ("user:cecilia", "extract", "extract (open)"),
    ]


async def test_a_purged_youth_gets_the_skeleton_stated_as_such(register: Register) -> None:
    youth = Youth()
    await register.apply(youth, youth.identified(), *youth.outreach(), *youth.measures())
    await register.apply(
        youth,
        PersonalDataPurged(
            **youth.envelope("system:retention"), left_on=date(2026, 3, 1), retention_days=730
        ),
    )
    await register.pool.execute("DELETE FROM keyring.youth_keys WHERE youth_id = $1", youth.id)
    found = await extract(register, youth.id)
    assert found["personal_data"] == "purged"
    assert found["purged_text"].startswith("Personuppgifterna är gallrade")
    assert found["identity"]["state"] == "redacted"
    assert found["identity"]["personnummer"] is None
    assert found["identity"]["email"] is None
    assert found["plans"][0]["goal"] is None
    assert found["measures"][0]["content"] is None
    assert [a["outcome"] for a in found["contact_attempts"]] == ["not_reached"]
    text = pdf_text(found)
    assert "Personuppgifterna är gallrade" in text
    assert "Vera" not in text
    assert [(f, w) for f, w in facts(found) if w not in text] == []


async def test_another_municipalitys_youth_is_not_found_and_nothing_logged(
    register: Register,
) -> None:
    youth = Youth()
    await register.apply(youth, youth.identified())
    elsewhere = access_log.Access("0181", "user:cecilia", "extract", "extract", "register")
    with pytest.raises(NoSuchYouth):
        await produce_extract(register.pool, KEYS, elsewhere, youth.id, 730, True,
                              datetime(2026, 3, 5, tzinfo=UTC))  # fmt: skip
    with pytest.raises(NoSuchYouth):
        await extract(register, uuid.uuid4())
    assert await register.logged(youth.id) == []


async def test_the_route_answers_json_or_a_pdf_and_404_for_another_municipality(
    register: Register,
) -> None:
    youth = Youth()
    await register.apply(youth, youth.identified(), *youth.outreach())
    caller = {"tenant": TENANT}

    async def coordinator() -> Principal:
        return Principal(subject="cecilia", tenant=caller["tenant"],
                         roles=frozenset({"coordinator"}))  # fmt: skip

    app = FastAPI()
    app.state.reader = register.pool
    app.include_router(extract_routes(coordinator, KEYS, {TENANT: 365}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://register") as client:
        url = f"/v1/youths/{youth.id}/extract"
        answer = await client.get(url)
        assert answer.status_code == 200, answer.text
        assert answer.json()["youth_id"] == str(youth.id)
        assert answer.json()["retention"]["days"] == 365
        pdf = await client.get(url, params={"format": "pdf"})
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.headers["content-disposition"].endswith(f'"registerutdrag-{youth.id}.pdf"')
        assert pdf.content.startswith(b"%PDF")
        assert (await client.get(url, params={"format": "xml"})).status_code == 422
        assert (await client.get(url, params={"purpose": "casework"})).status_code == 422
        caller["tenant"] = "0181"
        elsewhere = await client.get(url)
        assert elsewhere.status_code == 404
        assert elsewhere.json()["detail"] == "youth_id: no such youth in your municipality"
    purposes = [purpose for _, purpose, _ in await register.logged(youth.id)]
    assert purposes == ["extract", "extract"]


async def test_a_correction_shows_the_values_before_and_after_and_a_withdrawal_those_taken_away(
    register: Register,
) -> None:
    """GDPR art. 15: the data processed, so the values a correction put right too (the register
    keeps them in its archive); sealed ones (contact details) are stated as kept on request."""
    youth = Youth()
    outreach = youth.outreach()
    await register.apply(youth, youth.identified(), *outreach)
    details, wrong, fixed, work = outreach[0], outreach[1], outreach[2], outreach[5]
    assert isinstance(details, ContactDetailsRecorded)
    assert isinstance(wrong, ContactAttempted)
    assert isinstance(fixed, ContactAttempted)
    withdrawn = OutreachEntryWithdrawn(
        **youth.envelope("user:bertil"), withdraws=work.event_id,
        withdrawn_event_type=work.event_type, correction=Correction(reason="did_not_happen"),
    )  # fmt: skip
    newer = ContactDetailsRecorded(
        **youth.envelope(), contact_details=details.contact_details, corrects=details.event_id,
        correction=Correction(reason="wrong_value"),
    )  # fmt: skip
    await register.apply(youth, withdrawn, newer)
    found = await extract(register, youth.id)
    by_target = {c["target_event_type"] + c["kind"]: c for c in found["corrections"]}
    attempt = by_target["ContactAttemptedcorrected"]
    assert attempt["role_text"] == "en medarbetare"
    shown = {v["field"]: v["value_text"] for v in attempt["earlier_values"]}
    assert shown["attempted_at"] == swedish_instant(wrong.attempted_at)
    assert shown["outcome"] == "vi nådde dig inte"
    now = {v["field"]: v["value_text"] for v in attempt["new_values"]}
    assert now["attempted_at"] == swedish_instant(fixed.attempted_at)
    assert attempt["earlier_values_text"] is None, "everything it held is shown"
    taken = by_target["OccupationRecordedwithdrawn"]
    assert taken["new_values"] is None
    assert [v["field_text"] for v in taken["earlier_values"]][:2] == ["sysselsättning", "tid"]
    sealed = by_target["ContactDetailsRecordedcorrected"]
    assert sealed["earlier_values"] == []
    assert "lämnas ut till dig om du ber om det" in sealed["earlier_values_text"]
    assert "vera@example.se" not in str(sealed)
    text = pdf_text(found)
    assert [(f, w) for f, w in facts(found) if w not in text] == []
    assert "Tidigare uppgifter: när 3 februari 2026 kl. 11.00" in text
    assert "Nya uppgifter: när 4 februari 2026 kl. 11.00" in text
