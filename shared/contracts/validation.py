"""Readable validation errors that name the field and the reason, never the (possibly personal) value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


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


def load_document(path: Path, model: type[M], setting: str) -> M:
    """A JSON configuration document read into `model`, or a ValueError that names the setting,
    the field and the problem (never a value from the file)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{setting}: cannot read {path} ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{setting}: {path} is not JSON ({exc.msg}, line {exc.lineno})") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"{setting}: {describe(exc)}") from None
