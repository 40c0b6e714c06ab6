"""The register's own figures in `GET /metrics` (besides the projection consumer's, which
`shared.metrics` counts): its retention runs. Labels: the kommunkod only."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from prometheus_client import Counter, Gauge

RETENTION_RUNS = Counter(
    "kaa_retention_runs_total",
    "Retention runs that completed, per municipality served.",
    ["kommun"],
)
RETENTION_PURGED = Counter(
    "kaa_retention_purged_total",
    "Youths whose personal data retention purged (keys destroyed, PersonalDataPurged published).",
    ["kommun"],
)
RETENTION_LAST_RUN = Gauge(
    "kaa_retention_last_run_timestamp_seconds",
    "When the last retention run completed (Unix time); 0 before the first in this process.",
)


def retention_ran(tenants: Iterable[str], purged: Mapping[str, int]) -> None:
    """A completed run: counted for every municipality served, with its purged youths (0 too, so
    each municipality's series exists from the first run)."""
    for tenant in tenants:
        RETENTION_RUNS.labels(tenant).inc()
        RETENTION_PURGED.labels(tenant).inc(purged.get(tenant, 0))
    RETENTION_LAST_RUN.set(time.time())
