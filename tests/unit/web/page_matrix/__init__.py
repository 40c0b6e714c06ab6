"""The web's page matrix, one module per part of the application (each engineer keeps their own),
merged here for `tests/unit/web/test_page_authorization.py`."""

from typing import Any

from tests.unit.web.page_matrix import coordinator, inspector, operator, scb, school

AREAS = (coordinator, scb, inspector, school, operator)
PAGES: dict[tuple[str, str], frozenset[str] | None] = {
    k: v for a in AREAS for k, v in a.PAGES.items()
}
FORMS: dict[str, list[dict[str, str]]] = {k: v for a in AREAS for k, v in a.FORMS.items()}
ANSWERS: dict[tuple[str, str, str], Any] = {k: v for a in AREAS for k, v in a.ANSWERS.items()}
