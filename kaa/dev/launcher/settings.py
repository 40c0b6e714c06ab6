"""Launcher settings, read from the environment (prefix `KAA_`), with defaults for a developer machine.

`KAFKA_BOOTSTRAP_SERVERS` and `DATABASE_URL` are the two variables every service reads; when they are
set the launcher uses those servers and starts nothing.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.infra.settings import kaa_home


def _default_home() -> Path:
    return kaa_home()


def _default_cache() -> Path:
    return Path.home() / ".cache" / "kaa"


class InfraSettings(BaseSettings):
    """Where the launcher keeps its state and which ports and versions it uses."""

    model_config = SettingsConfigDict(env_prefix="KAA_", extra="ignore", populate_by_name=True)

    home: Path = Field(
        default_factory=_default_home,
        description="State of the launched infrastructure: pids, data, logs, infra.env.",
    )
    cache_dir: Path = Field(
        default_factory=_default_cache,
        description="Downloaded Kafka jars, reused across checkouts; never inside git.",
    )
    kafka_version: str = Field(default="4.1.1", pattern=r"^4\.\d+\.\d+$")
    kafka_host: str = "127.0.0.1"
    kafka_port: int = Field(default=19092, ge=1, le=65535)
    kafka_controller_port: int = Field(default=19093, ge=1, le=65535)
    kafka_brokers: int = Field(
        default=1,
        ge=1,
        le=9,
        description="Kafka nodes (broker and controller each) on loopback; 3 gives replicated "
        "topics (factor 3, min.insync.replicas 2). Ports: KAA_KAFKA_PORT and the next ones.",
    )
    kafka_heap: str = Field(default="768m", pattern=r"^\d+[mg]$", description="Per node.")
    kafka_ready_timeout: float = Field(default=120.0, gt=0)
    kafka_partitions: int = Field(default=6, ge=1, description="Default partitions of a new topic.")
    postgres_host: str = "127.0.0.1"
    postgres_port: int = Field(default=15432, ge=1, le=65535)
    postgres_ready_timeout: float = Field(default=60.0, gt=0)
    postgres_user: str = Field(default="kaa", pattern=r"^[a-z_][a-z0-9_]*$")
    database_name: str = Field(default="kaa", pattern=r"^[a-z_][a-z0-9_]*$")
    postgres_bindir: Path | None = Field(
        default=None,
        description="Directory with initdb and postgres; found on the machine if unset.",
    )
    stop_timeout: float = Field(default=30.0, gt=0)
    install_missing: bool = Field(
        default=True,
        description="Install missing Java, Maven and PostgreSQL from Debian packages when running as root.",
    )

    kafka_bootstrap_servers: str | None = Field(
        default=None, validation_alias="KAFKA_BOOTSTRAP_SERVERS"
    )
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def env_file(self) -> Path:
        return self.home / "infra.env"

    @property
    def state_file(self) -> Path:
        return self.home / "infra.json"
