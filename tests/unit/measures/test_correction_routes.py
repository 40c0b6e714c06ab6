"""The measures correction routes before a handler touches a database: a reason not in the code
list, a note over the cap, a step's, a completion's or an objection's correction without its day, each refused 422 naming the field
and never echoing the value."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared.auth import issue_token
from tests.unit.apps import SECRET, service_clients

YOUTH, MEASURE, ENTRY = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
SECRETLY = "Hemlig-anteckning-"


@pytest.fixture(scope="module")
def measures() -> Iterator[TestClient]:
    with service_clients(services=("measures",)) as built:
        yield built["measures"]


def post(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    token = issue_token(SECRET, subject="anna", tenant="0180", roles=["caseworker"])
    return client.post(
        f"/v1/youths/{YOUTH}/{path}", json=body, headers={"Authorization": f"Bearer {token}"}
    )


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (f"measures/{MEASURE}/corrections",
         {"corrects": str(ENTRY), "reason": SECRETLY, "on": "2026-03-04"}, "body.reason"),
        (f"measures/{MEASURE}/corrections",
         {"corrects": str(ENTRY), "reason": "other", "on": "2026-03-04",
          "note": SECRETLY * 20}, "body.note"),
        (f"measures/{MEASURE}/corrections", {"corrects": str(ENTRY), "reason": "other"}, "on"),
        (f"measures/{MEASURE}/withdrawals", {"withdraws": SECRETLY, "reason": "other"},
         "body.withdraws"),
        ("plan/withdrawals", {"withdraws": str(ENTRY), "reason": "other",
                              "note": SECRETLY * 20}, "body.note"),
        ("plan/corrections", {"corrects": str(ENTRY), "reason": "nope", "goal": "Komvux"},
         "body.reason"),
        (f"follow-ups/{MEASURE}/corrections",
         {"corrects": str(ENTRY), "reason": SECRETLY, "on": "2026-03-04"}, "body.reason"),
        (f"follow-ups/{MEASURE}/corrections", {"corrects": str(ENTRY), "reason": "other"},
         "body.on"),
        (f"follow-ups/{MEASURE}/withdrawals", {"withdraws": str(ENTRY), "reason": "other",
                                              "note": SECRETLY * 20}, "body.note"),
        ("objections/corrections", {"corrects": SECRETLY, "reason": "other", "on": "2026-03-04"},
         "body.corrects"),
        ("objections/withdrawals", {"withdraws": str(ENTRY), "reason": SECRETLY},
         "body.reason"),
    ],
)  # fmt: skip
def test_a_bad_reason_note_or_missing_day_is_named_never_echoed(
    measures: TestClient, path: str, body: dict[str, Any], field: str
) -> None:
    response = post(measures, path, body)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert SECRETLY not in response.text
