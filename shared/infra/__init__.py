"""The development launcher: a real Apache Kafka broker and a real PostgreSQL server, no Docker.

Tests, CI and the demo bring the infrastructure up through `kaa infra up`; production points the
services at existing clusters through `KAFKA_BOOTSTRAP_SERVERS` and `DATABASE_URL`, in which case
the launcher starts nothing.
"""

from shared.infra.errors import InfraError
from shared.infra.launcher import InfraStatus, Infrastructure
from shared.infra.settings import InfraSettings

__all__ = ["InfraError", "InfraSettings", "InfraStatus", "Infrastructure"]
