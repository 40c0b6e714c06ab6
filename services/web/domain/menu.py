"""What each role finds in the menu, and where a role starts after signing in.

A user with several roles sees every page any of them gives, in this order, once each. The pages
themselves decide who may use them (the services, behind them, decide again).
"""

from __future__ import annotations

from collections.abc import Iterable

# (address, label, the roles it is for), in menu order.
ITEMS: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("/min-dag", "Min dag", frozenset({"caseworker", "coordinator"})),
    ("/sok", "Hitta en ungdom", frozenset({"caseworker", "coordinator"})),
    ("/samordning", "Samordning", frozenset({"coordinator"})),
    ("/samordning/regler", "Regler och insatser", frozenset({"coordinator"})),
    ("/scb", "SCB-rapport", frozenset({"coordinator"})),
    ("/datakvalitet", "Datakvalitet", frozenset({"coordinator"})),
    ("/granskning", "Registret", frozenset({"inspector"})),
    ("/granskning/atkomstlogg", "Åtkomstlogg", frozenset({"inspector"})),
    ("/skola", "Rapportera elever", frozenset({"school-reporter"})),
    ("/drift", "Drift", frozenset({"operator"})),
    ("/konsortium", "Konsortiet", frozenset({"consortium-admin"})),
)


def menu(roles: Iterable[str]) -> list[tuple[str, str]]:
    """The (address, label) of every page the roles give, in menu order."""
    held = set(roles)
    return [(href, label) for href, label, allowed in ITEMS if held & allowed]


def start_page(roles: Iterable[str]) -> str:
    """Where a user lands: the first page of the menu (Min dag for casework)."""
    found = menu(roles)
    return found[0][0] if found else "/sok"
