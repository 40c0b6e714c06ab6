"""A store from before outreach kept names and addresses, over the running services: with the kept
details gone, a letter is refused naming why (409, "address not known"), never a 500 nor a letter
without an address; the outreach service started again fills them from identify's events by
itself, and the letter is written with the youth's address."""

from __future__ import annotations

import asyncio
import io
import os
import time

import httpx
from pypdf import PdfReader

from kaa.deployment import Deployment
from tests.e2e.conftest import sql
from tests.e2e.test_letters import person

WAIT = 90.0


def letter(outreach: httpx.Client, youth_id: str) -> httpx.Response:
    return outreach.post(f"/v1/youths/{youth_id}/letters", json={"caseworker": "Anna"})


def test_a_store_from_before_letters_fills_names_and_addresses_when_started(
    deployment: Deployment,
) -> None:
    asyncio.run(deployment.publish_feed("population", [person(n, False) for n in range(3)]))
    asyncio.run(deployment.drained())
    # As a store from before outreach kept them: no details kept, no backfill run.
    asyncio.run(sql(deployment, "DELETE FROM outreach.letter_identities;"
                                " DROP TABLE outreach.identities_backfill"))  # fmt: skip
    outreach = deployment.client("outreach", "0180", "caseworker")
    try:
        items = outreach.get("/v1/worklists/first_contact").json()["items"]
        youth = items[0]["youth_id"]
        refused = letter(outreach, youth)
        assert refused.status_code == 409, refused.text
        [error] = refused.json()["errors"]
        assert error["field"] == "youth_id"
        assert error["problem"].startswith("address not known")
    finally:
        outreach.close()
    deployment.stop()
    deployment.start(dict(os.environ))
    outreach = deployment.client("outreach", "0180", "caseworker")
    try:
        deadline = time.monotonic() + WAIT
        answer = letter(outreach, youth)
        while answer.status_code == 409 and time.monotonic() < deadline:
            time.sleep(0.5)
            answer = letter(outreach, youth)
        assert answer.status_code == 201, answer.text
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(answer.content)).pages)
        assert "Brevgatan" in text
    finally:
        outreach.close()
    log = (deployment.logs_dir / "outreach.log").read_text()
    assert '"still_without": 0' in log
