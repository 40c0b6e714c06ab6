"""Letters over the running services (issue 16, proof): ten new youths from the population feed,
one under skyddad folkbokföring, a batch for the first-contact worklist renders to one PDF of ten
letters with the protected one flagged and without an address; confirming it as posted records
each letter as a contact attempt once, which the register shows."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from datetime import date

import httpx
from pypdf import PdfReader

from kaa.deployment import Deployment
from services.outreach.domain.letters import FORWARDING, STANDARD_FIRST_LETTER
from shared.personnummer import luhn_check_digit

ADDRESS = {"street": "Brevgatan {n}", "postal_code": "123 45", "city": "Ankeby"}


def person(n: int, protected: bool) -> bytes:
    nine = f"080{301 + n:03d}{n:02d}1"[-9:]
    number = f"20{nine[:6]}{nine[6:]}{luhn_check_digit(nine)}"
    record = {
        "personnummer": number, "given_name": f"Ung{n}", "family_name": "Brevsson",
        "address": {k: v.format(n=n) for k, v in ADDRESS.items()}, "kommunkod": "0180",
        "birth_date": f"20{nine[:2]}-{nine[2:4]}-{nine[4:6]}", "protection_marking": protected,
        "change_type": "baseline", "effective_date": "2026-01-15",
    }  # fmt: skip
    return json.dumps({
        "feed": "population", "schema_version": 1, "record_id": str(uuid.uuid4()),
        "tenant": "0180", "observed_at": "2026-01-15T08:00:00Z", "record": record,
    }).encode()  # fmt: skip


def ok(response: httpx.Response, status: int = 200) -> httpx.Response:
    assert response.status_code == status, response.text
    return response


def test_a_batch_for_ten_new_youths_one_protected_prints_and_is_recorded_once(
    deployment: Deployment,
) -> None:
    lines = [person(n, protected=n == 3) for n in range(10)]
    asyncio.run(deployment.publish_feed("population", lines))
    asyncio.run(deployment.drained())
    outreach = deployment.client("outreach", "0180", "caseworker")
    register = deployment.client("register", "0180", "caseworker")
    try:
        made = ok(outreach.post("/v1/letter-batches", json={"worklist": "first_contact",
                                                             "caseworker": "Anna"}), 201)  # fmt: skip
        assert made.headers["content-type"] == "application/pdf"
        assert made.headers["cache-control"] == "no-store"
        assert (made.headers["kaa-letters"], made.headers["kaa-forwarded"]) == ("10", "1")
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(made.content)).pages)
        assert text.count(STANDARD_FIRST_LETTER.subject) == 10
        assert "Brevgatan 3" not in text
        assert FORWARDING in text
        assert all(f"Brevgatan {n}" in text for n in range(10) if n != 3)
        batch = ok(outreach.get(made.headers["location"])).json()
        assert [letter["forwarding"] for letter in batch["letters"]].count(True) == 1
        sent = {"sent_at": "2026-03-02T14:00:00+01:00"}
        path = f"{made.headers['location']}/sent"
        first = ok(outreach.post(path, json=sent)).json()
        again = ok(outreach.post(path, json={})).json()
        assert (first["recorded"], again["recorded"], again["already_recorded"]) == (10, 0, 10)
        asyncio.run(deployment.drained())
        for letter in batch["letters"]:
            row = ok(register.get(f"/v1/youths/{letter['youth_id']}")).json()
            attempts = [a for a in row["contacts"] if a.get("channel") == "letter"]
            assert len(attempts) == 1, row["contacts"]
        assert ok(outreach.get("/v1/worklists/first_contact")).json()["items"] == []
        assert date.fromisoformat(batch["made_on"]) == date(2026, 3, 2)
    finally:
        outreach.close()
        register.close()
