"""Corrections and withdrawals over HTTP before anything is read: a bad event id, reason code or
note is 422 naming the field, never echoing what was sent."""

from __future__ import annotations

import uuid

import pytest

from tests.unit.apps import bearer, service_clients

YOUTH = uuid.uuid4()
EVENT = str(uuid.uuid4())


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("corrections", {"corrects": EVENT, "reason": "oops-Åsa", "values": {}}, "reason"),
        ("corrections", {"corrects": "Åsa-1", "reason": "other", "values": {}}, "corrects"),
        (
            "corrections",
            {"corrects": EVENT, "reason": "other", "note": "Åsa" * 101, "values": {}},
            "note",
        ),
        ("corrections", {"corrects": EVENT, "reason": "other"}, "values"),
        ("withdrawals", {"withdraws": EVENT, "reason": "Åsa"}, "reason"),
        ("withdrawals", {"withdraws": EVENT, "reason": "other", "note": "Åsa" * 101}, "note"),
        ("withdrawals", {"withdraws": EVENT, "reason": "other", "values": {}}, "values"),
    ],
)
def test_a_bad_correction_or_withdrawal_is_422_naming_the_field_not_the_value(
    path: str, body: dict[str, object], field: str
) -> None:
    with service_clients(services=("outreach",)) as clients:
        answer = clients["outreach"].post(
            f"/v1/youths/{YOUTH}/{path}", headers=bearer("caseworker"), json=body
        )
    assert answer.status_code == 422, answer.text
    assert field in {error["field"].rsplit(".", 1)[-1] for error in answer.json()["errors"]}
    assert "Åsa" not in answer.text
