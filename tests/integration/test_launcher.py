"""`kaa infra up | down | status` on instances of their own (own home, own ports).

These never touch the session's infrastructure, except to use it as an "external" server.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kaa.dev.launcher import InfraError, InfraSettings, Infrastructure, processes
from kaa.dev.launcher.blocking import run_blocking
from kaa.dev.launcher.kafka import probe_topic_creation
from kaa.dev.launcher.postgres import PostgresServer
from tests.conftest import RunningInfra

pytestmark = pytest.mark.launcher

KAA = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "kaa"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def processes_matching(markers: list[str]) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(marker in line for marker in markers):
            found.append(int(entry.name))
    return found


def children_of(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[-1].split()[1]) == pid:
                kids.append(int(entry.name))
    return kids


class Instance:
    """A launcher instance with its own home directory and ports."""

    def __init__(self, base: Path, **overrides: object) -> None:
        self.home = base / f"instance-{uuid.uuid4().hex[:8]}"
        values: dict[str, object] = {
            "home": self.home,
            "kafka_port": free_port(),
            "kafka_controller_port": free_port(),
            "postgres_port": free_port(),
            "kafka_heap": "384m",
            "kafka_bootstrap_servers": None,
            "database_url": None,
        }
        values.update(overrides)
        self.settings = InfraSettings(**values)  # type: ignore[arg-type]
        self.infra = Infrastructure(self.settings)

    @property
    def markers(self) -> list[str]:
        return [self.infra.kafka.marker, self.infra.postgres.marker]

    def env(self) -> dict[str, str]:
        s = self.settings
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")
        }
        env.update(
            KAA_HOME=str(s.home),
            KAA_KAFKA_PORT=str(s.kafka_port),
            KAA_KAFKA_CONTROLLER_PORT=str(s.kafka_controller_port),
            KAA_POSTGRES_PORT=str(s.postgres_port),
            KAA_KAFKA_HEAP=s.kafka_heap,
        )
        return env

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(KAA), *args], env=self.env(), capture_output=True, text=True, timeout=300
        )

    def cleanup(self) -> None:
        self.infra.down()
        for pid in processes_matching(self.markers):
            os.kill(pid, 9)
        data_root = PostgresServer(self.settings).data_dir.parent
        shutil.rmtree(self.home, ignore_errors=True)
        shutil.rmtree(data_root, ignore_errors=True)


@pytest.fixture
def instances(infra: RunningInfra) -> Iterator[list[Instance]]:
    made: list[Instance] = []
    yield made
    for instance in made:
        instance.cleanup()


@pytest.fixture
def new_instance(infra: RunningInfra, instances: list[Instance]) -> Instance:
    # Under the session's home, which the postgres system user can reach when we run as root.
    instance = Instance(infra.infrastructure.settings.home / "test-instances")
    instances.append(instance)
    return instance


def test_up_twice_is_a_no_op_and_down_leaves_no_process(new_instance: Instance) -> None:
    first = new_instance.cli("infra", "up")
    assert first.returncode == 0, first.stderr
    assert "started" in first.stdout
    env_file = new_instance.settings.env_file.read_text().splitlines()
    assert env_file[0] == f"KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:{new_instance.settings.kafka_port}"
    assert env_file[1].startswith("DATABASE_URL=postgresql://kaa:")
    assert env_file[1].endswith(f"@127.0.0.1:{new_instance.settings.postgres_port}/kaa")
    status = new_instance.infra.status()
    kafka_pid, postgres_pid = status.kafka.pid, status.postgres.pid
    assert kafka_pid
    assert postgres_pid
    before = sorted(processes_matching(new_instance.markers))

    second = new_instance.cli("infra", "up")
    assert second.returncode == 0, second.stderr
    assert "started" not in second.stdout
    assert second.stdout.count("running") == 2
    again = new_instance.infra.status()
    assert (again.kafka.pid, again.postgres.pid) == (kafka_pid, postgres_pid)
    assert sorted(processes_matching(new_instance.markers)) == before
    run_blocking(probe_topic_creation(new_instance.infra.bootstrap_servers()))
    assert new_instance.cli("infra", "status").returncode == 0

    postgres_children = children_of(postgres_pid)
    assert postgres_children, "a running postgres has background workers"
    down = new_instance.cli("infra", "down")
    assert down.returncode == 0, down.stderr
    assert down.stdout.count("stopped") == 2
    assert processes_matching(new_instance.markers) == []
    assert not any(
        processes.is_running(pid) for pid in [kafka_pid, postgres_pid, *postgres_children]
    )
    assert not new_instance.settings.env_file.exists()
    assert new_instance.cli("infra", "status").returncode == 3


def test_port_taken_is_one_clear_line_and_starts_nothing(new_instance: Instance) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", new_instance.settings.postgres_port))
        squatter.listen()
        result = new_instance.cli("infra", "up")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("kaa: error: PostgreSQL cannot start: port 127.0.0.1:")
    assert "KAA_POSTGRES_PORT" in lines[0]
    assert processes_matching(new_instance.markers) == []


def test_kafka_port_taken_is_found_before_postgres_starts(new_instance: Instance) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", new_instance.settings.kafka_port))
        squatter.listen()
        with pytest.raises(InfraError, match="KAA_KAFKA_PORT"):
            new_instance.infra.up()
    assert processes_matching(new_instance.markers) == []


def test_broker_not_ready_in_time_stops_everything_it_started(
    infra: RunningInfra, instances: list[Instance]
) -> None:
    instance = Instance(
        infra.infrastructure.settings.home / "test-instances", kafka_ready_timeout=0.5
    )
    instances.append(instance)
    with pytest.raises(
        InfraError, match=r"did not become ready within 0 s.*KAA_KAFKA_READY_TIMEOUT"
    ):
        instance.infra.up()
    assert processes_matching(instance.markers) == [], (
        "PostgreSQL, started first, was stopped again"
    )
    assert instance.infra.status().postgres.outcome == "not running"


def test_external_servers_are_used_and_nothing_is_started(
    infra: RunningInfra, instances: list[Instance]
) -> None:
    instance = Instance(
        infra.infrastructure.settings.home / "test-instances",
        kafka_bootstrap_servers=infra.bootstrap_servers,
        database_url=infra.database_url,
    )
    instances.append(instance)
    # What an earlier `kaa infra up` wrote: servers given by the environment never replace it.
    instance.home.mkdir(parents=True)
    earlier = (
        "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:1\nDATABASE_URL=postgresql://kaa:x@127.0.0.1:1/kaa\n"
    )
    instance.settings.env_file.write_text(earlier)
    status = instance.infra.up()
    assert (status.kafka.outcome, status.postgres.outcome) == ("external", "external")
    assert status.kafka.pid is None
    assert status.postgres.pid is None
    assert "***" in status.postgres.address, "the password is never printed"
    assert status.env == {"KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap_servers,
                          "DATABASE_URL": infra.database_url}  # fmt: skip
    assert instance.settings.env_file.read_text() == earlier, "the user's file is left alone"
    assert processes_matching(instance.markers) == []
    down = instance.infra.down()
    assert (down.kafka.outcome, down.postgres.outcome) == ("not running", "not running")
    assert instance.settings.env_file.read_text() == earlier, "down stopped nothing of it"
    assert infra.infrastructure.status().healthy, "the external servers were left alone"


def test_unreachable_external_database_names_the_variable(
    infra: RunningInfra, instances: list[Instance]
) -> None:
    instance = Instance(
        infra.infrastructure.settings.home / "test-instances",
        kafka_bootstrap_servers=infra.bootstrap_servers,
        database_url=f"postgresql://kaa:wrong@127.0.0.1:{free_port()}/kaa",
    )
    instances.append(instance)
    with pytest.raises(
        InfraError, match="PostgreSQL given by DATABASE_URL is not reachable"
    ) as caught:
        instance.infra.up()
    assert "wrong" not in str(caught.value), "the password never appears in an error"
