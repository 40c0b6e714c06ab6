"""Fast checks of the launcher's settings, its messages and its checks for missing tools."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import pytest

from shared.eventstore import eventsourcing_env
from shared.infra import InfraError, InfraSettings, system
from shared.infra.blocking import run_blocking
from shared.infra.launcher import _redact
from shared.infra.processes import port_is_free, require_free_port


def test_environment_variables_configure_the_launcher(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KAA_HOME", str(tmp_path))
    monkeypatch.setenv("KAA_KAFKA_PORT", "29092")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker-1:9092")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db:5432/kaa")
    settings = InfraSettings()
    assert settings.home == tmp_path
    assert settings.kafka_port == 29092
    assert settings.kafka_bootstrap_servers == "broker-1:9092"
    assert settings.database_url == "postgresql://u:p@db:5432/kaa"
    assert settings.env_file == tmp_path / "infra.env"


def test_a_bad_setting_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAA_KAFKA_PORT", "70000")
    with pytest.raises(ValueError, match="kafka_port"):
        InfraSettings()


def test_database_password_is_redacted_for_display() -> None:
    assert (
        _redact("postgresql://kaa:s3cret@127.0.0.1:5432/kaa")
        == "postgresql://kaa:***@127.0.0.1:5432/kaa"
    )
    assert _redact("postgresql://127.0.0.1/kaa") == "postgresql://127.0.0.1/kaa"


def test_eventsourcing_env_from_database_url() -> None:
    env = eventsourcing_env("postgresql://kaa:p%40ss@127.0.0.1:15432/kaa", "identify")
    assert env == {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_HOST": "127.0.0.1",
        "POSTGRES_PORT": "15432",
        "POSTGRES_DBNAME": "kaa",
        "POSTGRES_USER": "kaa",
        "POSTGRES_PASSWORD": "p@ss",
        "POSTGRES_SCHEMA": "identify",
        "CREATE_TABLE": "y",
    }
    with pytest.raises(ValueError, match="DATABASE_URL must start with postgresql://"):
        eventsourcing_env("mysql://x@y/z", "identify")
    with pytest.raises(ValueError, match="must name a host and a database"):
        eventsourcing_env("postgresql://kaa@127.0.0.1", "identify")


def test_a_listening_port_is_reported_taken_with_the_variable_to_change() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert not port_is_free("127.0.0.1", port)
        with pytest.raises(
            InfraError, match=rf"port 127.0.0.1:{port} is already taken.*KAA_X_PORT"
        ):
            require_free_port("127.0.0.1", port, "X", "KAA_X_PORT")
    assert port_is_free("127.0.0.1", port)


@pytest.fixture
def bare_machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> InfraSettings:
    """A machine without Java, Maven or PostgreSQL, where the launcher may not install them."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(system, "DEBIAN_POSTGRES_ROOT", tmp_path / "no-postgres")
    return InfraSettings(home=tmp_path / "home", install_missing=False)


def test_missing_java_says_what_to_install(bare_machine: InfraSettings) -> None:
    with pytest.raises(
        InfraError, match=r"Java 17\+ is needed.*apt-get install openjdk-17-jre-headless"
    ):
        system.ensure_java(bare_machine)


def test_missing_maven_says_what_to_install(bare_machine: InfraSettings) -> None:
    with pytest.raises(InfraError, match=r"Maven is needed.*apt-get install maven"):
        system.ensure_maven(bare_machine)


def test_missing_postgres_says_what_to_install(bare_machine: InfraSettings) -> None:
    with pytest.raises(
        InfraError, match=r"PostgreSQL server .* was not found.*apt-get install postgresql"
    ):
        system.ensure_postgres(bare_machine)


def test_old_java_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    java_home = tmp_path / "jdk8"
    (java_home / "bin").mkdir(parents=True)
    fake = java_home / "bin" / "java"
    fake.write_text("#!/bin/sh\necho 'openjdk version \"1.8.0_392\"' >&2\n")
    fake.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(java_home))
    with pytest.raises(InfraError, match=r"Kafka 4 needs Java 17\+, but .* is Java 8"):
        system.ensure_java(InfraSettings(home=tmp_path, install_missing=False))


async def test_launcher_refuses_to_block_an_event_loop() -> None:
    async def nothing() -> None:
        await asyncio.sleep(0)

    with pytest.raises(RuntimeError, match=r"asyncio.to_thread"):
        run_blocking(nothing())


def test_a_kraft_cluster_id_never_looks_like_an_option() -> None:
    from shared.infra.kafka import new_cluster_id

    ids = [new_cluster_id() for _ in range(2000)]
    assert not any(i.startswith("-") for i in ids)
    assert all(len(i) == 22 for i in ids)
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    ("command", "says"),
    [
        (["feed", "load", "population"], "cannot reach Kafka"),
        (["retention", "run"], "cannot connect"),
    ],
)
def test_infrastructure_that_cannot_be_reached_is_one_line_not_a_traceback(
    tmp_path: Path, command: list[str], says: str
) -> None:
    """A feed load where no Kafka listens, a retention run where no PostgreSQL listens."""
    import subprocess
    import sys

    def closed_port() -> int:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])

    feed = tmp_path / "population.jsonl"
    feed.write_text('{"feed": "population"}\n')
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{closed_port()}",
        "DATABASE_URL": f"postgresql://kaa:secret-pw@127.0.0.1:{closed_port()}/kaa",
    }
    args = [*command, str(feed)] if command[0] == "feed" else command
    done = subprocess.run(
        [sys.executable, "-m", "shared", *args],
        env=env, capture_output=True, text=True, timeout=90, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert f"kaa: error: {says}" in done.stderr
    assert "Traceback" not in done.stderr
    assert "secret-pw" not in done.stderr + done.stdout
