"""The school pages' row of the web's page matrix (issue 19): who may use each page, a form each
POST page accepts, and what the fake services answer the endpoints these pages call."""

from typing import Any

PAGES: dict[tuple[str, str], frozenset[str] | None] = {}
FORMS: dict[str, list[dict[str, str]]] = {}
ANSWERS: dict[tuple[str, str, str], Any] = {}
