"""Service endpoints added for the scb pages of the web application (issue 19): who may call
each, merged into `tests/unit/test_authorization_matrix.py`'s MATRIX."""

MATRIX: dict[tuple[str, str, str], set[str]] = {}
