"""The development launcher: a real Apache Kafka broker and a real PostgreSQL server, no Docker.

Tests, CI and the demo bring the infrastructure up through `kaa infra up`; production points the
services at existing clusters through `KAFKA_BOOTSTRAP_SERVERS` and `DATABASE_URL`, in which case
the launcher starts nothing.
"""

from kaa.dev.launcher.errors import InfraError
from kaa.dev.launcher.infrastructure import InfraStatus, Infrastructure
from kaa.dev.launcher.settings import InfraSettings

__all__ = ["InfraError", "InfraSettings", "InfraStatus", "Infrastructure"]
