"""Tokens, and how raw Kafka bytes become a message or a rejection."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from fastapi import HTTPException
from pydantic import TypeAdapter

from shared.auth import issue_token, verify_token
from shared.contracts.feeds import PopulationFeedMessage
from shared.messaging.consumer import Delivery, Rejected
from shared.messaging.parsing import parser

SECRET = "unit-test-secret-with-enough-entropy"


def test_a_token_carries_tenant_roles_and_actor() -> None:
    principal = verify_token(
        SECRET, issue_token(SECRET, subject="anna", tenant="0180", roles=["caseworker"])
    )
    assert principal.tenant == "0180"
    assert principal.roles == {"caseworker"}
    assert principal.actor == "user:anna"


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = issue_token(
        "another-secret-of-sufficient-length", subject="x", tenant="0180", roles=["caseworker"]
    )
    with pytest.raises(HTTPException) as caught:
        verify_token(SECRET, token)
    assert caught.value.status_code == 401


def test_an_expired_token_is_refused() -> None:
    token = issue_token(
        SECRET, subject="x", tenant="0180", roles=["caseworker"], lifetime=timedelta(minutes=-5)
    )
    with pytest.raises(HTTPException, match="expired"):
        verify_token(SECRET, token)


def test_tokens_are_only_issued_for_known_roles_and_valid_tenants() -> None:
    with pytest.raises(ValueError, match="unknown role"):
        issue_token(SECRET, subject="x", tenant="0180", roles=["admin"])
    with pytest.raises(ValueError, match="4-digit"):
        issue_token(SECRET, subject="x", tenant="180", roles=["caseworker"])


def _delivery(value: bytes | None) -> Delivery:
    return Delivery("kaa.feeds.population.v1", 0, 7, None, value)


def _record(tenant: str = "0180", number: str = "200801011230") -> bytes:
    return json.dumps(
        {
            "record_id": str(uuid.uuid4()),
            "tenant": tenant,
            "observed_at": "2026-01-01T00:00:00Z",
            "record": {
                "personnummer": number,
                "given_name": "A",
                "family_name": "B",
                "kommunkod": "0180",
                "birth_date": "2008-01-01",
                "change_type": "baseline",
                "effective_date": "2026-01-01",
            },
        }
    ).encode()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "message: empty value"),
        (b"\xff\xfe not text", "message: not JSON"),
        (b"{not json", "message: not JSON"),
        (b'{"tenant": "0180"}', "record_id: Field required"),
        (_record(number="200801011231"), "record.personnummer: check digit does not match"),
        (_record(tenant="9999"), "tenant: 9999 is not a municipality served by this deployment"),
    ],
)
def test_bad_messages_are_rejected_with_the_field_and_the_reason(
    value: bytes | None, reason: str
) -> None:
    parse = parser(TypeAdapter(PopulationFeedMessage), ["0180"])
    outcome = parse(_delivery(value))
    assert isinstance(outcome, Rejected)
    assert outcome.reason.startswith(reason)
    assert "200801011231" not in outcome.reason


def test_a_good_message_is_parsed() -> None:
    parse = parser(TypeAdapter(PopulationFeedMessage), ["0180"])
    outcome = parse(_delivery(_record()))
    assert isinstance(outcome, PopulationFeedMessage)
    assert outcome.record.personnummer == "200801011230"
