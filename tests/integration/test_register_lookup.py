"""Find a youth by personnummer (`commands/lookup.py`) on the database: the keyed hash found in
the keyring gives the municipality's youth, the look-up is in the access log with its purpose;
another municipality's, a purged and an unknown person are the same "not found", nothing logged;
an invalid number is refused naming the field, never echoing it."""

from __future__ import annotations

import uuid

import pytest

from services.register.commands.lookup import LookupRefused, find_youth
from shared.pseudonym import person_key
from tests.integration.register_support import READER, Register, person, register

__all__ = ["register"]  # the fixture

SECRET = "lookup-test-pseudonym-key"
VERA = "200803022383"


async def keyed(register: Register, number: str, tenant: str = "0180") -> uuid.UUID:
    youth = await register.youth(person("Vera", number), tenant=tenant)
    await register.pool.execute(
        "UPDATE keyring.youth_keys SET subject = $1 WHERE youth_id = $2",
        person_key(number, SECRET), youth,
    )  # fmt: skip
    return youth


async def test_a_personnummer_finds_the_municipalitys_youth_and_the_lookup_is_logged(
    register: Register,
) -> None:
    vera = await keyed(register, VERA)
    found = await find_youth(register.pool, READER, "20080302-2383", "casework", SECRET)
    assert found == vera
    assert await register.logged([vera]) == [
        (vera, "user:anna", "casework", "lookup by personnummer")
    ]


async def test_another_municipalitys_a_purged_and_an_unknown_person_are_not_found(
    register: Register,
) -> None:
    elsewhere = await keyed(register, VERA, tenant="0181")
    gone = await keyed(register, "200803032382")
    await register.purge(gone)
    for number in (VERA, "200803032382", "200801012386"):
        assert await find_youth(register.pool, READER, number, "identity", SECRET) is None
    assert await register.logged([elsewhere, gone]) == []


async def test_an_invalid_personnummer_is_refused_naming_the_field_not_the_value(
    register: Register,
) -> None:
    for number in ("200803022384", "0803022383", "abc"):
        with pytest.raises(LookupRefused) as refused:
            await find_youth(register.pool, READER, number, "casework", SECRET)
        assert refused.value.field == "personnummer"
        assert number not in str(refused.value)
