"""Two municipalities of one consortium on one deployment: a youth who moves between them.

The move ends the first municipality's episode and starts the second's under a new youth id; the
second municipality gets no access to the first one's episode, casework or identity read (DOMAIN.md
section 7: no hand-over of documentation without consent). Runs the four services end to end, so
the personal details also travel sealed from the population feed to the register.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest

from kaa.deployment import Deployment
from shared.isolation import reader_password, reader_role, reader_url
from tests.conftest import RunningInfra
from tests.e2e.conftest import running
from tests.e2e.test_bad_input_and_republication import population_line

NUMBER = "200801011230"  # 18 on the tests' TODAY, not enrolled: in scope where folkbokförd


@pytest.fixture
def consortium(infra: RunningInfra) -> Iterator[Deployment]:
    with running(infra, tenants=("0180", "0181")) as made:
        yield made


def publish(deployment: Deployment, *lines: bytes) -> None:
    asyncio.run(deployment.publish_feed("population", lines))
    asyncio.run(deployment.drained())


def test_a_move_gives_the_new_municipality_no_access_to_the_old_episode(
    consortium: Deployment,
) -> None:
    deployment = consortium
    publish(deployment, population_line(NUMBER, effective="2026-01-15"))
    with deployment.client("register", "0180", "caseworker") as stockholm:
        [first] = stockholm.get("/v1/youths").json()["items"]
        old = first["youth_id"]
        who = stockholm.get(f"/v1/youths/{old}/identity").json()
        assert (who["state"], who["personnummer"], who["family_name"]) == (
            "open", NUMBER, "Testsson",
        ), "the details reached the register sealed, and open for the municipality"  # fmt: skip
    with deployment.client("outreach", "0180", "caseworker") as outreach:
        attempt = {"channel": "phone", "outcome": "reached",
                   "attempted_at": "2026-01-20T10:00:00+01:00"}  # fmt: skip
        assert outreach.post(f"/v1/youths/{old}/contact-attempts", json=attempt).status_code == 201
        assert outreach.get(f"/v1/youths/{old}/case").status_code == 200
        reach = {"email": "alva@example.se", "phone": "+46 70 123 45 67"}
        bad = outreach.put(f"/v1/youths/{old}/contact-details", json={"email": "not an address"})
        assert bad.status_code == 422
        assert "not an address" not in bad.text
        put = outreach.put(f"/v1/youths/{old}/contact-details", json=reach)
        assert put.status_code == 200, put.text
        assert put.json()["recorded"] is True
        again = outreach.put(f"/v1/youths/{old}/contact-details", json=reach)
        assert again.json()["recorded"] is False, "the same details again: nothing new"
    with deployment.client("measures", "0180", "caseworker") as measures:
        assert measures.get(f"/v1/youths/{old}/plan").status_code == 200
    asyncio.run(deployment.drained())
    with deployment.client("register", "0180", "caseworker") as stockholm:
        who = stockholm.get(f"/v1/youths/{old}/identity").json()
        assert (who["email"], who["phone"]) == (reach["email"], reach["phone"])
    with deployment.client("register", "0180", "inspector") as inspector:
        log = inspector.get("/v1/access-log").json()["items"]
        assert [(e["service"], e["purpose"], e["what"]) for e in reversed(log)] == [
            ("register", "casework", "identity (open)"),
            ("outreach", "casework", "outreach case"),
            ("measures", "casework", "individual plan as of 2026-03-02"),
            ("register", "casework", "identity (open)"),
        ]

    publish(
        deployment,
        population_line(NUMBER, tenant="0180", kommunkod="0181", change="moved_out",
                        effective="2026-02-01"),
        population_line(NUMBER, tenant="0181", kommunkod="0181", change="moved_in",
                        effective="2026-02-01"),
    )  # fmt: skip
    with deployment.client("register", "0180", "caseworker") as stockholm:
        before = stockholm.get(f"/v1/youths/{old}").json()
        assert (before["status"], before["scope_episodes"][0]["left_reason"]) == (
            "out_of_scope", "moved_out",
        )  # fmt: skip
    with (
        deployment.client("register", "0181", "caseworker", "coordinator") as register,
        deployment.client("outreach", "0181", "caseworker") as outreach,
        deployment.client("measures", "0181", "caseworker") as measures,
    ):
        [second] = register.get("/v1/youths").json()["items"]
        new = second["youth_id"]
        assert new != old, "a municipality's youth id is its own"
        for response in (
            register.get(f"/v1/youths/{old}"),
            register.get(f"/v1/youths/{old}/identity"),
            outreach.get(f"/v1/youths/{old}/case"),
            outreach.post(f"/v1/youths/{old}/contact-attempts", json=attempt),
            outreach.put(f"/v1/youths/{old}/contact-details", json=reach),
            measures.get(f"/v1/youths/{old}/measures"),
        ):
            assert response.status_code == 404, response.text
        mine = register.get(f"/v1/youths/{new}").json()
        assert mine["contacts"] == [], "the first municipality's casework does not follow"
        assert [e["left_on"] for e in mine["scope_episodes"]] == [None]
        mine_now = register.get(f"/v1/youths/{new}/identity").json()
        assert mine_now["personnummer"] == NUMBER
        assert mine_now["email"] is None, "the first municipality's contact details stay there"
    with deployment.client("register", "0181", "inspector") as inspector:
        log = inspector.get("/v1/access-log").json()["items"]
        assert {e["youth_id"] for e in log} == {new}, "the other municipality's reads stay there"


def test_outreach_worklists_are_read_under_row_level_security(consortium: Deployment) -> None:
    deployment = consortium
    publish(
        deployment,
        population_line(NUMBER, effective="2026-01-15"),
        population_line("200802021238", tenant="0181", kommunkod="0181", effective="2026-01-15"),
    )
    firsts = {}
    for tenant in ("0180", "0181"):
        with deployment.client("outreach", tenant, "caseworker") as outreach:
            items = outreach.get("/v1/worklists/first_contact").json()["items"]
            firsts[tenant] = {i["youth_id"] for i in items}
    assert len(firsts["0180"]) == len(firsts["0181"]) == 1
    assert firsts["0180"].isdisjoint(firsts["0181"])

    async def raw(tenant: str | None) -> list[str]:
        role = reader_role(deployment.database_url, "outreach")
        url = reader_url(
            deployment.database_url, role, reader_password(deployment.master_key, role)
        )
        conn = await asyncpg.connect(url)
        try:
            if tenant is not None:
                await conn.execute("SELECT set_config('kaa.tenant', $1, false)", tenant)
            return [r["tenant"] for r in await conn.fetch("SELECT * FROM outreach.cases")]
        finally:
            await conn.close()

    assert asyncio.run(raw("0181")) == ["0181"]
    assert asyncio.run(raw("0180")) == ["0180"]
    assert asyncio.run(raw(None)) == []
