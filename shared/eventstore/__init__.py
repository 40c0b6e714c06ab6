"""Wiring of the `eventsourcing` library to the platform, one module per job.

- `environment`: where a service's events live (the library's settings, the schema, the claim
  that a database belongs to one deployment namespace);
- `recorder`: the PostgreSQL recorder (batched inserts, read tables in the events' transaction,
  the relay's reads), which replaces private steps of the library's recorder;
- `leases`: one process at a time per job, by advisory locks that die with their holder;
- `application`: the Kafka-fed application, its serialised writes and its aggregate cache;
- `transcoder`, `mapper`: the library's format for stored events, written and read by orjson
  with the per-class look-ups done once.

Services import the names below from `shared.eventstore`.
"""

from shared.eventstore.application import (
    WRITE_ATTEMPTS,
    KafkaFedApplication,
    tracking_name,
)
from shared.eventstore.environment import (
    NamespaceClash,
    claim_database,
    ensure_schema,
    eventsourcing_env,
)
from shared.eventstore.leases import Lease, try_lease
from shared.eventstore.mapper import EventMapper
from shared.eventstore.recorder import BatchProcessRecorder
from shared.eventstore.transcoder import DateAsISO, OrjsonTranscoder

__all__ = [
    "WRITE_ATTEMPTS",
    "BatchProcessRecorder",
    "DateAsISO",
    "EventMapper",
    "KafkaFedApplication",
    "Lease",
    "NamespaceClash",
    "OrjsonTranscoder",
    "claim_database",
    "ensure_schema",
    "eventsourcing_env",
    "tracking_name",
    "try_lease",
]
