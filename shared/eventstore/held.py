"""The aggregates a process keeps in memory between batches: bounded, and not emptied by a pass
over more aggregates than it holds.

A plain least-recently-used cache fails the way identify works at national scale: a load, the
next feed and the release each go through every person in about the same order, so once a
country has more persons than the cache holds, every person a pass needs has just been pushed
out by the ones before it, and is read again from the store (measured: 3,000 persons through a
cache of 1,000, 8,290 persons read from the store, against 3,000 with room for all).

`HeldAggregates` is a segmented LRU. Aggregates enter the main part while it has room; once it is
full, a new one waits in a small probation part (first in, first out). One needed again while on
probation moves to the main part, whose least recently used one moves to probation. So a pass
over more aggregates than fit leaves the main part as it was, and the next pass finds those
(most of the cache) instead of none, while aggregates used again and again still find their way
in.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from typing import Any

PROBATION_SHARE = 0.1  # of the cache, the part a new aggregate waits in once the main part is full


class HeldAggregates:
    """At most `size` aggregates by id (0: none)."""

    def __init__(self, size: int) -> None:
        self.size = max(0, size)
        self._probation_size = int(self.size * PROBATION_SHARE)
        self._main_size = self.size - self._probation_size
        self._main: OrderedDict[uuid.UUID, Any] = OrderedDict()
        self._probation: OrderedDict[uuid.UUID, Any] = OrderedDict()

    def __contains__(self, aggregate_id: object) -> bool:
        return aggregate_id in self._main or aggregate_id in self._probation

    def __len__(self) -> int:
        return len(self._main) + len(self._probation)

    def get(self, aggregate_id: uuid.UUID) -> Any:
        """The aggregate held (None: not held). Where it stands changes only when it is kept
        again (`keep`), which a save does."""
        found = self._main.get(aggregate_id)
        return found if found is not None else self._probation.get(aggregate_id)

    def keep(self, aggregate_id: uuid.UUID, aggregate: Any) -> None:
        """Hold `aggregate` as the most recently used (saved or read for a batch)."""
        if self.size == 0:
            return
        if aggregate_id in self._main:
            self._main[aggregate_id] = aggregate
            self._main.move_to_end(aggregate_id)
            return
        again = self._probation.pop(aggregate_id, None) is not None
        if again or len(self._main) < self._main_size:
            self._main[aggregate_id] = aggregate
            while len(self._main) > self._main_size:  # the least recently used waits on probation
                demoted, held = self._main.popitem(last=False)
                self._probation[demoted] = held
        else:
            self._probation[aggregate_id] = aggregate
        while len(self._probation) > self._probation_size:
            self._probation.popitem(last=False)

    def pop(self, aggregate_id: uuid.UUID) -> None:
        """Drop one (it holds changes that will not be saved)."""
        self._main.pop(aggregate_id, None)
        self._probation.pop(aggregate_id, None)

    def clear(self) -> None:
        self._main.clear()
        self._probation.clear()
