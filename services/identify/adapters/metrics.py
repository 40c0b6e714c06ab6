"""identify's own figure in `GET /metrics` (besides the consumer's and the relay's, which
`shared.metrics` counts): the scope schedule's backlog. No labels: a count of persons."""

from __future__ import annotations

from prometheus_client import Gauge

SCOPE_SCHEDULE_BACKLOG = Gauge(
    "kaa_scope_schedule_backlog",
    "Persons whose scheduled scope change (end of compulsory school, 20th birthday, an "
    "enrolment's end) is due and not yet evaluated, as the scope schedule last counted them.",
)
