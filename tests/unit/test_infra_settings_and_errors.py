"""Fast checks of the launcher's settings, its messages and its checks for missing tools."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from kaa.dev.launcher import InfraError, InfraSettings, system
from kaa.dev.launcher.blocking import run_blocking
from kaa.dev.launcher.infrastructure import _redact
from kaa.dev.launcher.processes import port_is_free, require_free_port
from shared.eventstore import eventsourcing_env


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
        "POSTGRES_CONNECT_TIMEOUT": "5",
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
    from kaa.dev.launcher.kafka import new_cluster_id

    ids = [new_cluster_id() for _ in range(2000)]
    assert not any(i.startswith("-") for i in ids)
    assert all(len(i) == 22 for i in ids)
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    ("command", "says"),
    [
        (["feed", "load", "population"], "cannot reach Kafka"),
        (["retention", "run"], "cannot connect"),
        # identify's store (psycopg through the event library), the personnummer asked for.
        (["scope", "explain", "--tenant", "0180"], "cannot connect to PostgreSQL"),
    ],
)
def test_infrastructure_that_cannot_be_reached_is_one_line_not_a_traceback(
    tmp_path: Path, command: list[str], says: str
) -> None:
    """A feed load where no Kafka listens, a retention run or an explanation where no PostgreSQL
    listens."""
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
        [sys.executable, "-m", "kaa", *args], input="200801011234\n",
        env=env, capture_output=True, text=True, timeout=90, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert f"kaa: error: {says}" in done.stderr
    assert done.stderr.count("kaa: error:") == 1
    assert "Traceback" not in done.stderr
    assert "secret-pw" not in done.stderr + done.stdout
    assert "200801011234" not in done.stderr + done.stdout, "the personnummer asked for"


def _failing(exc: BaseException) -> Callable[..., None]:
    def app(prog_name: str) -> None:
        raise exc

    return app


def test_a_store_that_cannot_connect_is_one_line_without_what_the_driver_quoted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A DATABASE_URL with an unencoded '@' in its password: psycopg quotes part of it back."""
    import psycopg
    from eventsourcing.persistence import OperationalError as StoreError

    from kaa import cli

    refused = psycopg.OperationalError("failed to resolve host 'pw-part@127.0.0.1': unknown")
    wrapped = StoreError(str(refused))
    wrapped.__cause__ = refused
    for failure in (refused, wrapped):
        monkeypatch.setattr(cli, "app", _failing(failure))
        with pytest.raises(SystemExit) as ended:
            cli.main()
        assert ended.value.code == 1
        said = capsys.readouterr().err
        assert said.startswith("kaa: error: cannot connect to PostgreSQL (")
        assert "failed to resolve host" in said
        assert "pw-part" not in said


def test_a_statement_that_fails_is_not_called_a_failure_to_connect(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A statement time-out is an OperationalError too (SQLSTATE 57014), and the event library
    raises its own for a store set up wrong: their tracebacks stay."""
    import psycopg
    from eventsourcing.persistence import OperationalError as StoreError

    from kaa import cli

    timed_out = psycopg.errors.QueryCanceled("canceling statement due to statement timeout")
    wrapped = StoreError(str(timed_out))
    wrapped.__cause__ = timed_out
    own = StoreError("Can't do multi-row tracking with single-row tracking table")
    for failure in (timed_out, wrapped, own):
        monkeypatch.setattr(cli, "app", _failing(failure))
        with pytest.raises(type(failure)):
            cli.main()
        assert "cannot connect" not in capsys.readouterr().err


# -- KAA_HOME, the namespace and infra.env --------------------------------------------------------

SERVICE_VARIABLES = (
    "KAFKA_BOOTSTRAP_SERVERS",
    "DATABASE_URL",
    "KAA_TOKEN_SECRET",
    "KAA_PSEUDONYM_KEY",
    "KAA_MASTER_KEY",
    "KAA_NAMESPACE",
)


def test_services_read_infra_env_and_secrets_from_kaa_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """They read `<repo>/.kaa` whatever `KAA_HOME` said."""
    from shared.settings import ServiceSettings, ensure_dev_secrets

    for name in SERVICE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KAA_HOME", str(tmp_path))
    (tmp_path / "infra.env").write_text(
        "KAFKA_BOOTSTRAP_SERVERS=broker-of-this-home:9092\n"
        "DATABASE_URL=postgresql://kaa:pw@db-of-this-home:5432/kaa\n"
    )
    assert ensure_dev_secrets() == tmp_path / "secrets.env"
    secrets = dict(line.split("=", 1) for line in (tmp_path / "secrets.env").read_text().split())
    assert set(secrets) == {"KAA_TOKEN_SECRET", "KAA_PSEUDONYM_KEY", "KAA_MASTER_KEY"}
    settings = ServiceSettings()
    assert settings.kafka_bootstrap_servers == "broker-of-this-home:9092"
    assert settings.database_url.get_secret_value().endswith("@db-of-this-home:5432/kaa")
    assert settings.token_secret.get_secret_value() == secrets["KAA_TOKEN_SECRET"]
    assert settings.master_key.get_secret_value() == secrets["KAA_MASTER_KEY"]
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "from-the-environment:9092")
    assert ServiceSettings().kafka_bootstrap_servers == "from-the-environment:9092"


@pytest.mark.parametrize(
    ("namespace", "prefix"),
    [
        ("", ""),
        ("probe", "probe."),
        ("probe.", "probe."),
        ("kaa-demo.", "kaa-demo."),
        ("bench-x.", "bench-x."),
        ("team-a.test", "team-a.test."),
    ],
)
def test_a_namespace_is_separated_from_the_topic_names(namespace: str, prefix: str) -> None:
    """`KAA_NAMESPACE=probe` gave topics named `probekaa.*`."""
    from shared.contracts.topics import IDENTIFY_EVENTS, all_topic_specs
    from shared.settings import ServiceSettings

    settings = ServiceSettings.model_validate(SERVICE_VALUES | {"namespace": namespace})
    assert settings.namespace == prefix
    assert settings.topic(IDENTIFY_EVENTS) == f"{prefix}kaa.identify.events.v1"
    assert all(
        s.name.startswith(f"{prefix}kaa.") for s in all_topic_specs(prefix=settings.namespace)
    )


@pytest.mark.parametrize("namespace", [".probe", "probe..x", "Probe", "probe_x", "probe kaa."])
def test_a_namespace_that_cannot_separate_names_is_refused(namespace: str) -> None:
    from pydantic import ValidationError

    from shared.settings import ServiceSettings

    with pytest.raises(ValidationError, match="namespace") as caught:
        ServiceSettings.model_validate(SERVICE_VALUES | {"namespace": namespace})
    assert namespace not in str(caught.value).split("input_value")[0]


SERVICE_VALUES = {
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
    "DATABASE_URL": "postgresql://nobody:nothing@127.0.0.1:9/none",
    "token_secret": "s" * 32,
    "pseudonym_key": "p" * 32,
    "master_key": "m" * 32,
}


def test_up_with_external_servers_never_rewrites_infra_env(tmp_path: Path) -> None:
    """`kaa up` with `DATABASE_URL` set rewrote `.kaa/infra.env` with the external address."""
    from kaa.dev.launcher.infrastructure import Infrastructure

    home = tmp_path / "home"
    home.mkdir()
    env_file = home / "infra.env"
    mine = (
        "# my own note\nKAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092\nDATABASE_URL=postgresql://local\n"
    )
    env_file.write_text(mine)
    os.utime(env_file, (1_000_000, 1_000_000))
    external = Infrastructure(
        InfraSettings(
            home=home,
            kafka_bootstrap_servers="ext:9092",
            database_url="postgresql://u:p@ext:5432/kaa",
        )
    )
    assert external.launched_env() == {}
    assert external._write_env() == {
        "KAFKA_BOOTSTRAP_SERVERS": "ext:9092",
        "DATABASE_URL": "postgresql://u:p@ext:5432/kaa",
    }
    assert env_file.read_text() == mine
    assert env_file.stat().st_mtime == 1_000_000, "not even written with the same content"
    env_file.unlink()
    external._write_env()
    assert not env_file.exists(), "nothing launched: no file"

    # Kafka external, PostgreSQL launched: only the launched server's line changes.
    env_file.write_text(mine + "KAA_TODAY=2026-03-01\n")
    half = Infrastructure(
        InfraSettings(
            home=home, kafka_bootstrap_servers="ext:9092", database_url=None, postgres_port=25432
        )
    )
    half._write_env()
    lines = env_file.read_text().splitlines()
    assert lines[:2] == ["# my own note", "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092"]
    assert lines[2].startswith("DATABASE_URL=postgresql://kaa:")
    assert lines[2].endswith("@127.0.0.1:25432/kaa")
    assert lines[3:] == ["KAA_TODAY=2026-03-01"]
    stamp = env_file.stat().st_mtime_ns
    half._write_env()
    assert env_file.stat().st_mtime_ns == stamp, "unchanged content is not written again"


def test_infra_env_lines_are_set_and_dropped_one_by_one() -> None:
    from kaa.dev.launcher.infrastructure import env_file_text

    assert env_file_text(None) is None
    assert env_file_text(None, values={"A": "1"}) == "A=1\n"
    assert env_file_text("# note\nA=0\nB=2\n", values={"A": "1", "C": "3"}) == (
        "# note\nA=1\nB=2\nC=3\n"
    )
    assert env_file_text("A=1\nB=2\n", drop={"A"}) == "B=2\n"
    assert env_file_text("A=1\n\n", drop={"A", "B"}) is None


def test_secrets_set_in_the_environment_are_never_written(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A container with its secrets from the secret store writes no secrets file (its root file
    system is read-only); a development checkout makes only the ones not set."""
    from shared.settings import ensure_dev_secrets

    monkeypatch.setenv("KAA_HOME", str(tmp_path / "home"))
    for name in ("KAA_TOKEN_SECRET", "KAA_PSEUDONYM_KEY", "KAA_MASTER_KEY"):
        monkeypatch.setenv(name, "set-by-the-secret-store-" + name.lower())
    path = ensure_dev_secrets()
    assert not path.exists()
    assert not (tmp_path / "home").exists()
    monkeypatch.delenv("KAA_MASTER_KEY")
    made = dict(line.split("=", 1) for line in ensure_dev_secrets().read_text().split())
    assert set(made) == {"KAA_MASTER_KEY"}


def test_an_installed_platform_never_makes_up_a_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without the development launcher (the wheel), a missing key is an error naming it."""
    import importlib.util

    from shared import settings

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "kaa.dev" else real(name, *a),
    )
    monkeypatch.setenv("KAA_HOME", str(tmp_path))
    monkeypatch.setenv("KAA_TOKEN_SECRET", "t" * 40)
    monkeypatch.setenv("KAA_PSEUDONYM_KEY", "p" * 40)
    monkeypatch.delenv("KAA_MASTER_KEY", raising=False)
    with pytest.raises(settings.MissingSecretError, match=r"^KAA_MASTER_KEY: not set"):
        settings.ensure_dev_secrets()
    assert not (tmp_path / "secrets.env").exists()
