"""The garbage collector while the register is projected in bulk (a rebuild, an audit replay)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from shared.gc_tuning import GC_YOUNG_THRESHOLD

BULK_YOUNG_THRESHOLD = 4 * GC_YOUNG_THRESHOLD
"""Allocations between two collections of the young generation while the register is projected
in bulk: 200,000, four times what the services use all the time."""


@contextmanager
def young_collections_less_often() -> Iterator[None]:
    """Collect the young generation every `BULK_YOUNG_THRESHOLD` allocations while the block
    runs (the services: every `GC_YOUNG_THRESHOLD`, `shared.gc_tuning.tune_garbage_collector`); the
    thresholds are put back after it. A bulk projection holds a few batches of parsed events
    (thousands of objects each) and allocates far more: with the default threshold (700) the
    collector walked them so often that it took a third of the rebuild's own CPU (1,000,000
    events, the rebuild's CPU ms per 1,000: 49.5 at 700, 28.5 at 50,000, 24.9 at 200,000; each
    pair back to back). `kaa register rebuild` and `kaa audit replay` run in a process of their
    own, whose collector nobody tuned. Nothing here relies on prompt collection of reference
    cycles."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], BULK_YOUNG_THRESHOLD), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
