"""A feed batch's watermarks are written as one row per (tenant, source, partition): two markers
of the same source on the same partition in one batch (an organiser's deltas while identify
catches up) once made the upsert touch a row twice and the batch fall back to one message at a
time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from services.identify.adapters.pending import PendingBatch
from shared.contracts.feeds import FeedWatermark

NOW = datetime(2026, 12, 1, 8, tzinfo=UTC)


def marker(source: str, at: datetime) -> FeedWatermark:
    return FeedWatermark(watermark_id=uuid.uuid4(), tenant="0180", source=source,
                         complete_up_to=at, partitions=2)  # fmt: skip


def test_the_latest_marker_of_a_source_and_partition_is_written_once() -> None:
    batch = PendingBatch()
    early, late = marker("ss12000.city", NOW), marker("ss12000.city", NOW + timedelta(minutes=1))
    other = marker("population", NOW)
    batch.markers += [(early, 0), (early, 1), (late, 0), (other, 0)]
    [(_, [columns])] = batch.statements("identify", NOW)
    tenants, sources, partitions, _, complete, ids = columns
    rows = sorted(zip(sources, partitions, complete, ids, strict=True))
    assert rows == [
        ("population", 0, NOW, other.watermark_id),
        ("ss12000.city", 0, late.complete_up_to, late.watermark_id),
        ("ss12000.city", 1, NOW, early.watermark_id),
    ]
    assert tenants == ["0180"] * 3
