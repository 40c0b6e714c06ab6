"""Names on a list (`commands/names.py`, `POST /v1/identities/batch`) without a database: one page
at most, a purpose from the access log's, the age from the personnummer's birth date on today's
date and never the personnummer, a protected name only with the grant, a purged youth as purged;
refusals name the field and never echo a value."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient

from services.register.adapters.identity import Identity
from services.register.commands.identity import PROTECTED_GRANT
from services.register.commands.names import (
    PAGE_SIZE,
    Name,
    NamesRefused,
    age_of,
    checked_batch,
    shown,
)
from shared.auth import Principal
from shared.contracts.events import PersonalDetails
from tests.unit.apps import bearer, service_clients

TODAY = date(2026, 3, 2)
READER = Principal(subject="anna", tenant="0180", roles=frozenset({"caseworker"}))
GRANTED = Principal(subject="berit", tenant="0180", roles=frozenset({"caseworker"}),
                    grants=frozenset({PROTECTED_GRANT}))  # fmt: skip
YOUTH = uuid.UUID(int=7)


def details(protected: bool = False, pnr: str = "200803022384") -> PersonalDetails:
    return PersonalDetails(personnummer=pnr, given_name="Vera", family_name="Ek",
                           street="Storgatan 1", postal_code="11122", city="Stockholm",
                           protected=protected)  # fmt: skip


def test_a_batch_is_one_page_of_distinct_youths_in_the_order_asked() -> None:
    first, second = uuid.UUID(int=1), uuid.UUID(int=2)
    assert checked_batch([second, first, second], "casework") == ([second, first], "casework")
    page = [uuid.UUID(int=n) for n in range(PAGE_SIZE)]
    assert checked_batch(page, "register") == (page, "register")


@pytest.mark.parametrize(
    ("ids", "purpose", "field"),
    [
        ([], "casework", "youth_ids"),
        ([uuid.UUID(int=n) for n in range(PAGE_SIZE + 1)], "casework", "youth_ids"),
        ([YOUTH], "curiosity", "purpose"),
        ([YOUTH], "retention", "purpose"),
    ],
)
def test_a_bad_batch_is_refused_naming_the_field(
    ids: list[uuid.UUID], purpose: str, field: str
) -> None:
    with pytest.raises(NamesRefused) as refused:
        checked_batch(ids, purpose)
    assert refused.value.field == field
    assert "curiosity" not in str(refused.value)


def test_the_age_is_whole_years_on_today_from_the_birth_date() -> None:
    assert PAGE_SIZE == 100
    assert age_of("200803022384", TODAY) == 18  # the birthday itself
    assert age_of("200803032383", TODAY) == 17  # the day before it
    assert age_of("200803622384", TODAY) == 18  # a samordningsnummer: the day plus 60
    assert age_of("200813022384", TODAY) is None  # no calendar date


def test_a_list_shows_a_name_and_an_age_never_the_personnummer_or_the_address() -> None:
    name = shown(YOUTH, Identity("open", details()), READER, TODAY)
    assert name == Name(YOUTH, "open", "Vera", "Ek", 18)
    assert "200803022384" not in repr(name)
    assert "Storgatan" not in repr(name)


def test_a_protected_name_is_shown_only_with_the_grant() -> None:
    found = Identity("open", details(protected=True))
    assert shown(YOUTH, found, READER, TODAY) == Name(YOUTH, "protected", protected=True)
    assert shown(YOUTH, found, GRANTED, TODAY) == Name(YOUTH, "open", "Vera", "Ek", 18, True)


def test_purged_missing_and_tampered_identities_show_no_name() -> None:
    assert shown(YOUTH, Identity("redacted"), GRANTED, TODAY) == Name(YOUTH, "purged")
    assert shown(YOUTH, Identity("missing"), GRANTED, TODAY) == Name(YOUTH, "missing")
    assert shown(YOUTH, Identity("tampered"), GRANTED, TODAY) == Name(YOUTH, "tampered")


@pytest.fixture(scope="module")
def register() -> Iterator[TestClient]:
    with service_clients(services=("register",)) as clients:
        yield clients["register"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"youth_ids": [], "purpose": "casework"}, "youth_ids"),
        (
            {"youth_ids": [str(uuid.uuid4()) for _ in range(101)], "purpose": "casework"},
            "youth_ids",
        ),
        ({"youth_ids": [str(YOUTH)], "purpose": "curiosity-x"}, "purpose"),
        ({"youth_ids": ["200803022384"], "purpose": "casework"}, "body.youth_ids.0"),
        ({"youth_ids": [str(YOUTH)]}, "body.purpose"),
    ],
)
def test_the_route_refuses_a_bad_batch_naming_the_field_never_the_value(
    register: TestClient, body: dict[str, object], field: str
) -> None:
    answer = register.post("/v1/identities/batch", headers=bearer("caseworker"), json=body)
    assert answer.status_code == 422, answer.text
    assert [error["field"] for error in answer.json()["errors"]] == [field]
    assert "curiosity-x" not in answer.text
    assert "200803022384" not in answer.text
