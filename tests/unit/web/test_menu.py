"""The menu each role sees and where it starts (services/web/domain/menu.py)."""

from __future__ import annotations

import pytest

from services.web.domain.menu import menu, start_page
from shared.auth import ROLES


def test_a_caseworker_sees_the_casework_pages_and_a_coordinator_more() -> None:
    assert menu(["caseworker"]) == [("/min-dag", "Min dag"), ("/sok", "Hitta en ungdom")]
    assert [h for h, _ in menu(["coordinator"])][:4] == [
        "/min-dag", "/sok", "/samordning", "/samordning/regler"
    ]  # fmt: skip
    assert menu(["caseworker", "coordinator"]) == menu(["coordinator"]), "each page once"


@pytest.mark.parametrize("role", ROLES)
def test_every_role_has_a_start_page_of_its_own_in_its_menu(role: str) -> None:
    assert menu([role]), role
    assert start_page([role]) == menu([role])[0][0]


def test_each_role_starts_where_its_work_is() -> None:
    assert start_page(["school-reporter"]) == "/skola"
    assert start_page(["inspector"]) == "/granskning"
    assert start_page(["operator"]) == "/drift"
    assert start_page(["consortium-admin"]) == "/konsortium"
    assert start_page([]) == "/sok"
