"""Corrections and withdrawals over HTTP before anything is read: a bad event id, reason code or
note is 422 naming the field, never echoing what was sent; an assignment is put right only by whom
may assign (a coordinator), anyone else 403 naming the field and why."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from fastapi import Response
from fastapi.responses import JSONResponse

from services.outreach.commands.corrections import Done, NotAllowedToAssign, check_who
from services.outreach.entrypoints.corrections import answered
from shared.casework.commands import Actor
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


class _Caller:
    def __init__(self, *roles: str) -> None:
        self.tenant, self.actor, self.roles = "0180", "user:unit", frozenset(roles)


@pytest.mark.parametrize(
    ("roles", "kind", "allowed"),
    [
        (("coordinator",), "CaseAssigned", True),
        (("caseworker", "coordinator"), "CaseAssigned", True),
        (("caseworker",), "CaseAssigned", False),
        ((), "CaseAssigned", False),
        (("caseworker",), "ContactAttempted", True),
        (("caseworker",), "OccupationRecorded", True),
    ],
)
def test_an_assignment_is_put_right_only_by_whom_may_assign(
    roles: tuple[str, ...], kind: str, allowed: bool
) -> None:
    if allowed:
        check_who(_Caller(*roles), kind, "corrects")
        return
    with pytest.raises(NotAllowedToAssign) as refused:
        check_who(_Caller(*roles), kind, "withdraws")
    assert refused.value.field == "withdraws"
    assert "coordinator" in refused.value.reason


def test_a_caller_without_roles_may_not_put_an_assignment_right() -> None:
    with pytest.raises(NotAllowedToAssign):
        check_who(Actor("0180", "user:script"), "CaseAssigned", "corrects")


def test_an_assignment_put_right_by_a_caseworker_is_403_naming_the_field_and_why() -> None:
    async def refused() -> Done:
        raise NotAllowedToAssign("corrects")

    answer = asyncio.run(answered("corrects", Response(), refused()))
    assert isinstance(answer, JSONResponse)
    assert answer.status_code == 403
    [error] = json.loads(bytes(answer.body))["errors"]
    assert error["field"] == "corrects"
    assert "coordinator" in error["problem"]
