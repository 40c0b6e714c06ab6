"""Readable validation errors that name the field and the reason, never the (possibly personal) value."""

from __future__ import annotations

from pydantic import ValidationError


def describe(exc: ValidationError, limit: int = 5) -> str:
    """E.g. 'person.civicNo.value: check digit does not match; tenant: String should match…'."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False, include_context=False)[:limit]:
        where = ".".join(str(p) for p in error["loc"]) or "message"
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    more = exc.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)
