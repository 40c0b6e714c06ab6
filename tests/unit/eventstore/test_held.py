"""The aggregates a process keeps between batches (`shared/eventstore/held.py`): bounded, and a
pass over more aggregates than it holds does not leave it empty for the next pass."""

from __future__ import annotations

import uuid

from shared.eventstore.held import HeldAggregates


def _ids(count: int) -> list[uuid.UUID]:
    return [uuid.UUID(int=n + 1) for n in range(count)]


def _pass(held: HeldAggregates, ids: list[uuid.UUID]) -> int:
    """Go through `ids` as a batch does (found or read, then kept): how many were held."""
    found = 0
    for aggregate_id in ids:
        if held.get(aggregate_id) is not None:
            found += 1
        held.keep(aggregate_id, f"aggregate {aggregate_id.int}")
    return found


def test_passes_over_three_times_what_it_holds_find_most_of_what_it_holds() -> None:
    # identify at national scale: a load, the next feed and the release each go through every
    # person in the same order. A plain least-recently-used cache found none of them.
    held = HeldAggregates(1_000)
    ids = _ids(3_000)
    assert _pass(held, ids) == 0
    assert _pass(held, ids) == 900  # the main part, as the first pass left it
    assert _pass(held, ids) == 900
    assert len(held) == 1_000


def test_an_aggregate_needed_again_while_on_probation_joins_the_main_part() -> None:
    held = HeldAggregates(10)  # 9 in the main part, 1 on probation
    ids = _ids(11)
    _pass(held, ids[:9])
    held.keep(ids[9], "new")  # the main part is full: it waits on probation
    assert held.get(ids[9]) == "new"
    held.keep(ids[9], "again")  # needed again: it joins, the least recently used waits instead
    assert held.get(ids[9]) == "again"
    held.keep(ids[10], "newer")  # the next new one pushes out the one waiting
    assert held.get(ids[0]) is None
    assert [held.get(i) is not None for i in ids[1:11]] == [True] * 10


def test_the_most_recently_kept_stays_and_the_least_recently_kept_goes() -> None:
    held = HeldAggregates(10)
    ids = _ids(12)
    _pass(held, ids[:9])
    held.keep(ids[0], "used again")  # now the most recently used of the main part
    held.keep(ids[9], "x")
    held.keep(ids[9], "x")  # joins: ids[1] is the least recently used, and waits
    held.keep(ids[10], "y")  # pushes ids[1] out
    assert held.get(ids[0]) == "used again"
    assert held.get(ids[1]) is None
    assert len(held) == 10


def test_it_holds_at_most_its_size_and_nothing_with_size_zero() -> None:
    held = HeldAggregates(100)
    _pass(held, _ids(1_000))
    assert len(held) == 100
    none = HeldAggregates(0)
    _pass(none, _ids(10))
    assert len(none) == 0
    assert none.get(_ids(1)[0]) is None


def test_an_aggregate_dropped_or_cleared_is_not_held() -> None:
    held = HeldAggregates(10)
    ids = _ids(10)
    _pass(held, ids)
    held.pop(ids[0])  # in the main part
    held.pop(ids[9])  # on probation
    assert ids[0] not in held
    assert ids[9] not in held
    assert len(held) == 8
    held.clear()
    assert len(held) == 0
