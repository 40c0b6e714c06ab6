"""The whole platform, four processes, real Kafka and PostgreSQL: feeds in, register out."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from kaa.deployment import Deployment
from kaa.dev.synthetic_feeds import generate
from tests.conftest import RunningInfra
from tests.e2e.conftest import TODAY, running
from tests.e2e.expected import expected_register


def load_municipality(
    deployment: Deployment, out: Path, youths: int, seed: int
) -> tuple[Path, Path]:
    feeds = generate(youths, "0180", seed=seed, out=out, today=TODAY)
    asyncio.run(deployment.load("population", feeds.population))
    asyncio.run(deployment.load("ss12000", feeds.ss12000))
    asyncio.run(deployment.drained())
    return feeds.population, feeds.ss12000


@pytest.fixture
def deployment(infra: RunningInfra) -> Iterator[Deployment]:
    """The production default for the feeds: each person decided once population and SS 12000
    are both complete, loaded in their natural order (population first)."""
    with running(infra, feed_sources=None) as made:
        yield made


def test_two_thousand_youths_reach_the_register_as_the_input_implies(
    deployment: Deployment, tmp_path: Path
) -> None:
    population, ss12000 = load_municipality(deployment, tmp_path, 2000, seed=7)
    expected = expected_register(population, ss12000, "0180", TODAY, as_read=False)
    assert expected.in_scope > 200, "the generated municipality has a realistic share in scope"

    register = deployment.client("register", "0180", "caseworker")
    summary = register.get("/v1/summary").json()
    assert summary["known"] == expected.identified
    assert summary["in_scope"] == expected.in_scope
    assert summary["left_scope"] == expected.left_scope
    assert summary["scope_episodes"] == expected.identified, "no youth identified twice"

    # Caseworkers act on youths the register shows in scope.
    youths = register.get("/v1/youths", params={"status": "in_scope", "limit": 20}).json()["items"]
    outreach = deployment.client("outreach", "0180", "caseworker")
    measures = deployment.client("measures", "0180", "caseworker")
    for youth in youths:
        response = outreach.post(
            f"/v1/youths/{youth['youth_id']}/contact-attempts",
            json={
                "channel": "phone",
                "outcome": "reached",
                "attempted_at": f"{TODAY.isoformat()}T10:00:00+01:00",
            },
        )
        assert response.status_code == 201, response.text
    for youth in youths[:5]:
        response = measures.post(
            f"/v1/youths/{youth['youth_id']}/measure-offers",
            json={"measure_type": "internship", "offered_on": TODAY.isoformat()},
        )
        assert response.status_code == 201, response.text
    asyncio.run(deployment.drained())
    summary = register.get("/v1/summary").json()
    assert (summary["contacted"], summary["contact_attempts"]) == (20, 20)
    assert (summary["offered"], summary["measure_offers"]) == (5, 5)

    timeline = register.get(f"/v1/youths/{youths[0]['youth_id']}").json()
    assert timeline["status"] == "in_scope"
    assert len(timeline["scope_episodes"]) == 1
    assert timeline["scope_episodes"][0]["entered_rule_version"] == "kaa-2018-07-01"
    assert [c["channel"] for c in timeline["contacts"]] == ["phone"]
    assert [m["measure_type"] for m in timeline["measures"]] == ["internship"]
    assert timeline["contacts"][0]["actor"] == "user:test"

    # Another municipality's caseworker sees none of it.
    other = deployment.client("register", "1480", "caseworker")
    assert other.get("/v1/summary").status_code == 403, "1480 is not served by this deployment"
