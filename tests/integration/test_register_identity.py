"""Reading who a youth is (`commands/identity.py`), on the database: the record opened from the
sealed details, the address withheld under skyddad folkbokföring and the record only with the
grant, tampered details refused; every read, and every refused one, in the access log.
"""

from __future__ import annotations

import uuid

import pytest

from services.register.commands.identity import (
    PROTECTED_GRANT,
    Address,
    NoSuchYouth,
    ProtectedIdentity,
    TamperedIdentity,
    YouthIdentity,
    read_identity,
)
from tests.integration.register_support import GRANTED, KEYS, READER, Register, person, register

__all__ = ["register"]  # the fixture


async def test_an_identity_is_opened_and_its_read_logged(register: Register) -> None:
    youth = await register.youth(person())
    found = await read_identity(register.pool, KEYS, READER, youth, "identity")
    assert found == YouthIdentity(
        youth, "open", personnummer="200801012384", given_name="Vera", family_name="Ek",
        address=Address("Storgatan 1", "11122", "Stockholm"),
    )  # fmt: skip
    assert await register.logged([youth]) == [(youth, "user:anna", "identity", "identity (open)")]


async def test_a_youth_the_register_does_not_hold_is_refused_and_nothing_logged(
    register: Register,
) -> None:
    stranger = uuid.uuid4()
    with pytest.raises(NoSuchYouth) as refused:
        await read_identity(register.pool, KEYS, READER, stranger, "casework")
    assert str(refused.value) == "youth_id: no such youth in your municipality"
    assert await register.logged([stranger]) == []


async def test_a_protected_identity_needs_the_grant_and_never_shows_the_address(
    register: Register,
) -> None:
    youth = await register.youth(person(protected=True))
    with pytest.raises(ProtectedIdentity) as refused:
        await read_identity(register.pool, KEYS, READER, youth, "casework")
    assert refused.value.field == "youth_id"
    assert PROTECTED_GRANT in refused.value.reason
    found = await read_identity(register.pool, KEYS, GRANTED, youth, "casework")
    assert (found.personnummer, found.address, found.protected) == ("200801012384", None, True)
    assert await register.logged([youth]) == [
        (youth, "user:anna", "casework", "identity refused: protected"),
        (youth, "user:berit", "casework", "identity (open)"),
    ]


async def test_details_that_fail_authentication_are_refused_and_the_incident_logged(
    register: Register,
) -> None:
    youth = await register.youth(person(), key_of=uuid.uuid4())
    with pytest.raises(TamperedIdentity) as refused:
        await read_identity(register.pool, KEYS, GRANTED, youth, "casework")
    assert refused.value.field == "personal_details"
    assert "200801012384" not in str(refused.value)
    assert "Vera" not in str(refused.value)
    assert await register.logged([youth]) == [
        (youth, "user:berit", "casework", "identity refused: tampered"),
    ]
