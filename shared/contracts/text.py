"""The one text type of every string that reaches kaa: request bodies, query parameters, tokens'
claims, feed records and the events between services.

PostgreSQL text cannot hold NUL, a control character has no place in a name, a code or an address,
and a lone surrogate is not Unicode: each is refused where it enters, naming the field and never
echoing the value. `Text` is one line; `FreeText` (a plan's goal, a measure's description) allows
tab and line breaks too; `StoredText`, for the events between services, refuses only what no store
can hold. All are `str` to the code behind them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

# C0 controls, DEL and C1 controls; lone surrogates (not Unicode); U+FFFE/U+FFFF (non-characters);
# the line and paragraph separators, which are line breaks by another name.
_NOT_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
_NOT_IN_FREE_TEXT = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]"
)


def text_problem(value: str, *, free_text: bool = False) -> str | None:
    """Why `value` cannot be taken as text (no part of the value in the answer), or None."""
    found = (_NOT_IN_FREE_TEXT if free_text else _NOT_IN_LINE).search(value)
    if found is None:
        return None
    char = ord(found.group())
    if char == 0:
        return "holds a NUL character"
    if 0xD800 <= char <= 0xDFFF:
        return "is not valid Unicode (a lone surrogate)"
    if char in (0x0A, 0x0D, 0x2028, 0x2029):
        return "holds a line break; this field is one line"
    if char == 0x09:
        return "holds a tab; this field is one line"
    return f"holds a control character (U+{char:04X})"


def _line(value: str) -> str:
    if value.isprintable():  # the common case, in C: no control, separator or surrogate
        return value
    problem = text_problem(value)
    if problem is not None:
        raise PydanticCustomError("text_control_character", problem)
    return value


def _free(value: str) -> str:
    if value.isprintable():
        return value
    problem = text_problem(value, free_text=True)
    if problem is not None:
        raise PydanticCustomError("text_control_character", problem)
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def _storable(value: str) -> str:
    if value.isprintable():
        return value
    if "\x00" in value:
        raise PydanticCustomError("text_control_character", "holds a NUL character")
    if _SURROGATE.search(value):
        raise PydanticCustomError(
            "text_control_character", "is not valid Unicode (a lone surrogate)"
        )
    return value


Text = Annotated[str, AfterValidator(_line)]
"""One line of text: no control character (tab and line breaks included), valid Unicode."""

FreeText = Annotated[str, AfterValidator(_free)]
"""Free text a person writes: tab and line breaks allowed, no other control character."""

StoredText = Annotated[str, AfterValidator(_storable)]
"""Text in the events between services: what a store can hold (no NUL, valid Unicode). The edge
(requests, feeds, tokens) refuses more with `Text` and `FreeText`; an event already recorded,
perhaps before a field became stricter, must still read: the event log is history."""


def extra_text_problems(extra: Mapping[str, Any] | None, where: str = "") -> list[str]:
    """Fields of an open schema (SS 12000 objects accept fields kaa does not use) whose strings are
    not text: `field: reason` for each, so a record is refused before anything stores it."""
    problems: list[str] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, str):
            problem = text_problem(value, free_text=True)
            if problem is not None:
                problems.append(f"{path}: {problem}")
        elif isinstance(value, Mapping):
            for key, item in value.items():
                key_problem = text_problem(str(key))
                name = "…" if key_problem else str(key)
                if key_problem:
                    problems.append(f"{path}.…: a field name {key_problem}")
                walk(item, f"{path}.{name}" if path else name)
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                walk(item, f"{path}.{index}")

    for key, value in (extra or {}).items():
        walk({key: value}, where)
    return problems
