"""The master key's check value: tells keys apart, tells nothing of the key, and a refusal names
the variable and never the key."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from shared.key_backup import KeyCheck, check_value

KEY = "correct horse battery staple, a master key"
OTHER = "correct horse battery staple, a master kez"


def test_the_check_value_is_16_hex_digits_the_same_for_one_key_and_different_for_another() -> None:
    value = check_value(KEY)
    assert re.fullmatch(r"[0-9a-f]{16}", value)
    assert check_value(KEY) == value, "the same key has the same check value on every machine"
    assert check_value(OTHER) != value, "a key one character off has another"
    assert value not in KEY.encode().hex(), "not a piece of the key itself"


def test_a_refusal_names_the_variable_and_the_reason_and_never_the_key() -> None:
    found = KeyCheck(check_value(OTHER), check_value(KEY), datetime(2026, 3, 2, tzinfo=UTC))
    assert not found.matches
    said = found.refusal()
    assert said.startswith(
        "KAA_MASTER_KEY: does not match the key this database's keyring was made with"
    )
    assert check_value(KEY) in said
    assert "2026-03-02" in said
    assert KEY not in said
    assert OTHER not in said
    assert KeyCheck(check_value(KEY), check_value(KEY), None).matches
    assert not KeyCheck(check_value(KEY), None, None).matches, "nothing recorded is no match"
