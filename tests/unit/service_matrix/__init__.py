"""Service endpoints added for the web application's parts (issue 19), one module per part,
merged into `tests/unit/test_authorization_matrix.py`'s MATRIX."""

from tests.unit.service_matrix import coordinator, inspector, operator, scb, school

EXTRA: dict[tuple[str, str, str], set[str]] = {
    k: v for area in (coordinator, scb, inspector, school, operator) for k, v in area.MATRIX.items()
}
