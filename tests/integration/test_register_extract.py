"""The youth's own extract (`commands/extract.py`), on the database: register rows built by the
projection from the events the services publish; the JSON holds everything the register holds
about the youth (the sealed words opened), the PDF's text holds each fact the JSON holds, a
protected address is in neither, producing it is in the access log, a purged youth's extract is
the skeleton retention left, and another municipality's youth is not found. What it shows of
corrections: test_register_extract_corrections.py.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import httpx
import pytest
from fastapi import FastAPI

from services.register.commands.extract import NoSuchYouth, ProtectedIdentity, produce_extract
from services.register.entrypoints.http.extract import extract_routes
from shared import access_log
from shared.auth import Principal
from shared.contracts.events import PersonalDataPurged
from tests.integration.extract_support import (
    KEYS,
    STREET,
    TENANT,
    Extracts,
    Youth,
    extract,
    extracts,
    facts,
    pdf_text,
)
from tests.integration.register_support import register

__all__ = ["extracts", "register"]  # the fixtures


async def test_the_extract_holds_everything_and_the_pdf_each_fact_of_it(
    extracts: Extracts,
) -> None:
    youth, other = Youth(), Youth()
    await extracts.apply(youth, youth.identified(), *youth.outreach(), *youth.measures())
    await extracts.apply(other, other.identified())
    earlier = access_log.Access(TENANT, "user:anna", "identity", "identity (open)", "register")
    await access_log.record(extracts.pool, earlier, [youth.id, other.id])
    found = await extract(extracts, youth.id)
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
    assert await extracts.logged(youth.id) == [
        ("user:anna", "identity", "identity (open)"),
        ("user:cecilia", "extract", "extract (open)"),
    ]
    assert await extracts.logged(other.id) == [("user:anna", "identity", "identity (open)")]


async def test_a_protected_address_is_never_in_the_extract(extracts: Extracts) -> None:
    youth = Youth()
    await extracts.apply(youth, youth.identified(protected=True))
    with pytest.raises(ProtectedIdentity):
        await extract(extracts, youth.id, grant=False)
    found = await extract(extracts, youth.id)
    assert found["identity"]["address"] is None
    assert found["identity"]["address_text"] == "skyddad adress"
    assert STREET not in str(found)
    assert "11122" not in str(found)
    text = pdf_text(found)
    assert "skyddad adress" in text
    assert STREET not in text
    assert "11122" not in text
    assert "Vera" in text
    assert await extracts.logged(youth.id) == [
        ("user:cecilia", "extract", "extract refused: protected"),
        ("user:cecilia", "extract", "extract (open)"),
    ]


async def test_a_purged_youth_gets_the_skeleton_stated_as_such(extracts: Extracts) -> None:
    youth = Youth()
    await extracts.apply(youth, youth.identified(), *youth.outreach(), *youth.measures())
    await extracts.apply(
        youth,
        PersonalDataPurged(
            **youth.envelope("system:retention"), left_on=date(2026, 3, 1), retention_days=730
        ),
    )
    await extracts.pool.execute("DELETE FROM keyring.youth_keys WHERE youth_id = $1", youth.id)
    found = await extract(extracts, youth.id)
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
    extracts: Extracts,
) -> None:
    youth = Youth()
    await extracts.apply(youth, youth.identified())
    elsewhere = access_log.Access("0181", "user:cecilia", "extract", "extract", "register")
    with pytest.raises(NoSuchYouth):
        await produce_extract(extracts.pool, KEYS, elsewhere, youth.id, 730, True,
                              datetime(2026, 3, 5, tzinfo=UTC))  # fmt: skip
    with pytest.raises(NoSuchYouth):
        await extract(extracts, uuid.uuid4())
    assert await extracts.logged(youth.id) == []


async def test_the_route_answers_json_or_a_pdf_and_404_for_another_municipality(
    extracts: Extracts,
) -> None:
    youth = Youth()
    await extracts.apply(youth, youth.identified(), *youth.outreach())
    caller = {"tenant": TENANT}

    async def coordinator() -> Principal:
        return Principal(subject="cecilia", tenant=caller["tenant"],
                         roles=frozenset({"coordinator"}))  # fmt: skip

    app = FastAPI()
    app.state.reader = extracts.pool
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
    purposes = [purpose for _, purpose, _ in await extracts.logged(youth.id)]
    assert purposes == ["extract", "extract"]
