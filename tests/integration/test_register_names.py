"""Names on a list (`commands/names.py`) on the database: one page of youths' names and ages, one
access log entry per youth shown, a protected name only with the grant, a purged youth as purged,
another municipality's youth the same "not found" as an unknown one and nothing logged for either;
more than a page refused before anything is read or logged.
"""

from __future__ import annotations

import re
import uuid
from datetime import date

import pytest

from services.register.commands.names import PAGE_SIZE, Name, NamesRefused, read_names
from tests.integration.register_support import GRANTED, KEYS, READER, Register, person, register

__all__ = ["register"]  # the fixture

OTHER = "0181"
TODAY = date(2026, 3, 2)


async def test_a_page_of_names_logs_one_entry_per_youth_shown(register: Register) -> None:
    vera = await register.youth(person("Vera", "200803022384"))
    olle = await register.youth(person("Olle", "200803032383"))
    hidden = await register.youth(person("Hemlig", "200801012384", protected=True))
    gone = await register.youth(person("Borta", "200801012384"))
    await register.purge(gone)
    elsewhere = await register.youth(person("Annan", "200801012384"), tenant=OTHER)
    unknown = uuid.uuid4()
    asked = [olle, unknown, vera, hidden, elsewhere, gone, vera]
    found = await read_names(register.pool, KEYS, READER, asked, "casework", TODAY)
    assert found.items == [
        Name(olle, "open", "Olle", "Ek", 17),
        Name(vera, "open", "Vera", "Ek", 18),
        Name(hidden, "protected", protected=True),
        Name(gone, "purged"),
    ]
    assert found.not_found == [unknown, elsewhere]  # another municipality's: as unknown
    # Without the ids, whose hex digits may hold "2008" (a CI run's random UUID did).
    shown = re.sub(r"UUID\('[0-9a-f-]+'\)", "UUID(…)", repr(found))
    assert "2008" not in shown
    assert "Storgatan" not in shown
    assert await register.logged(asked) == [
        (olle, "user:anna", "casework", "names (open)"),
        (vera, "user:anna", "casework", "names (open)"),
        (hidden, "user:anna", "casework", "names (protected)"),
        (gone, "user:anna", "casework", "names (purged)"),
    ]


async def test_a_protected_name_is_opened_with_the_grant_and_its_read_logged(
    register: Register,
) -> None:
    hidden = await register.youth(person("Hemlig", "200803022384", protected=True))
    found = await read_names(register.pool, KEYS, GRANTED, [hidden], "register", TODAY)
    assert found.items == [Name(hidden, "open", "Hemlig", "Ek", 18, protected=True)]
    assert await register.logged([hidden]) == [(hidden, "user:berit", "register", "names (open)")]


async def test_more_than_a_page_is_refused_before_anything_is_read_or_logged(
    register: Register,
) -> None:
    vera = await register.youth(person("Vera", "200803022384"))
    page = [vera, *(uuid.uuid4() for _ in range(PAGE_SIZE))]
    with pytest.raises(NamesRefused) as refused:
        await read_names(register.pool, KEYS, READER, page, "casework", TODAY)
    assert refused.value.field == "youth_ids"
    with pytest.raises(NamesRefused) as refused:
        await read_names(register.pool, KEYS, READER, [vera], "worklist-x", TODAY)
    assert refused.value.field == "purpose"
    assert await register.logged([vera]) == []
    full = await read_names(register.pool, KEYS, READER, page[:PAGE_SIZE], "casework", TODAY)
    assert [item.youth_id for item in full.items] == [vera]
    assert len(full.not_found) == PAGE_SIZE - 1
    assert await register.logged([vera]) == [(vera, "user:anna", "casework", "names (open)")]
