"""The garbage collector while the register is projected in bulk (`adapters/collector.py`)."""

from __future__ import annotations

import gc

import pytest

from services.register.adapters.collector import BULK_YOUNG_THRESHOLD, young_collections_less_often


def test_a_bulk_projection_collects_less_often_and_puts_the_thresholds_back() -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        with young_collections_less_often():
            assert gc.get_threshold() == (BULK_YOUNG_THRESHOLD, 10, 10)
        assert gc.get_threshold() == (700, 10, 10), "an untuned process is left as it was"
        gc.set_threshold(BULK_YOUNG_THRESHOLD * 2, 10, 10)
        with young_collections_less_often():
            assert gc.get_threshold()[0] == BULK_YOUNG_THRESHOLD * 2, "never collects more often"
        with pytest.raises(RuntimeError), young_collections_less_often():
            raise RuntimeError("a failed rebuild")
        assert gc.get_threshold() == (BULK_YOUNG_THRESHOLD * 2, 10, 10), "put back after a failure"
    finally:
        gc.set_threshold(*before)
