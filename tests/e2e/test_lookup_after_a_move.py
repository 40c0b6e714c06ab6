"""A youth who entered a municipality's scope on another municipality's report of a move is found
by personnummer there (`POST /v1/youths/lookup`, was 404: identify made no data key, and so kept no
keyed hash, for a municipality whose own feed had not named the youth), and not in the other."""

from __future__ import annotations

import asyncio
import random
from datetime import date

from shared import personnummer
from tests.conftest import RunningInfra
from tests.e2e.conftest import running
from tests.e2e.test_bad_input_and_republication import population_line

RNG = random.Random(1480)


def test_a_youth_who_moved_in_on_another_municipalitys_report_is_found_by_personnummer(
    infra: RunningInfra,
) -> None:
    number = personnummer.generate(date(2008, 5, 6), RNG)
    with running(infra, tenants=("0180", "1480")) as deployment:
        asyncio.run(
            deployment.publish_feed("population", [population_line(number, kommunkod="1480")])
        )
        asyncio.run(deployment.drained())
        with (
            deployment.client("register", "1480", "caseworker") as there,
            deployment.client("register", "0180", "caseworker") as reporter,
        ):
            [row] = there.get("/v1/youths").json()["items"]
            asked = {"personnummer": number, "purpose": "casework"}
            found = there.post("/v1/youths/lookup", json=asked)
            assert found.status_code == 200, found.text
            assert found.json() == {"youth_id": row["youth_id"]}
            elsewhere = reporter.post("/v1/youths/lookup", json=asked)
            assert elsewhere.status_code == 404, "0180 reported the move; the youth is not its"
