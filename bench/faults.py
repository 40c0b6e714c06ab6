"""Benchmark: the pipeline at full rate on a three-node Kafka cluster, one node SIGKILLed and
restarted, then PostgreSQL SIGKILLed and restarted; throughput before, during and after each fault,
seconds to recover, and what was lost or applied twice.

`./run bench faults [YOUTHS] [both|broker|postgres|none]` (default 260000 both) starts infrastructure of
its own (never the shared servers): a KRaft cluster of three nodes (`KAA_KAFKA_BROKERS=3`: topics
with three replicas, min.insync.replicas 2, producers acks=all) and a private PostgreSQL, both by
the development launcher in a home of their own on free ports. Then:
1. the five services start on them; the school data (SS 12000) is published and processed;
2. identify is stopped, the whole population feed is published (sealed at intake), identify starts
   again: a backlog the pipeline works through at its full rate, with no publisher competing for
   the CPU (feed → identify → relay → register, outreach, measures);
3. once a second, the records identify has consumed (its group's committed offsets on the
   population topic) and the events the register has applied (its group's offsets on identify's
   topic) are read; services that stop are started again after a pause, as `kaa up` does;
4. after a warm-up and a window measured before, the node leading most partitions is SIGKILLed,
   left down BROKER_DOWN_S, and started again; after a window measured after, the whole PostgreSQL
   server (postmaster and backends) is SIGKILLed, left down POSTGRES_DOWN_S, and started again;
5. when the backlog has drained, the register is compared with an independent count of the feeds
   (tests/e2e/expected.py): `lost` are youths missing, `duplicated` youths or episodes too many.

Recovery is the time from the fault's start to the end of the first full 5-second window after it
whose rate is back at 80 % of the rate before (for a broker this may come while the node is still
down: its partitions get new leaders), or to the moment the backlog is gone if that comes first.
Benchmarks report, they do not assert. Writes bench/results/faults.json.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aiokafka.admin import AIOKafkaAdminClient

from bench.pipeline import write_result
from kaa.deployment import Deployment
from kaa.dev.launcher import InfraSettings, Infrastructure, processes
from kaa.dev.launcher.postgres import PostgresServer
from kaa.dev.synthetic_feeds import generate
from kaa.supervisor import Supervision
from shared.contracts.topics import IDENTIFY_EVENTS, POPULATION_FEED, all_topic_specs
from shared.infra.kafka_admin import partition_states
from tests.e2e.conftest import TODAY
from tests.e2e.expected import expected_register
from tests.support.kafka_cluster import free_port_block

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "faults.json"
TENANT = "0180"
WARMUP_S = 5.0
WINDOW_S = 15.0
BROKER_DOWN_S = 20.0
POSTGRES_DOWN_S = 10.0
RECOVERED = 0.8
ROLLING_S = 5.0
RECOVERY_LIMIT_S = 120.0


Which = Literal["identify", "register"]


@dataclass
class Sample:
    at: float
    identify: int | None  # population records identify has committed
    register: int | None  # identify's events the register has committed


class Sampler(threading.Thread):
    """Reads the two groups' committed offsets once a second and supervises the services."""

    def __init__(self, deployment: Deployment) -> None:
        super().__init__(daemon=True)
        self.deployment = deployment
        self.samples: list[Sample] = []
        self.said: list[str] = []
        self.halt = threading.Event()

    def run(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        ns = self.deployment.namespace
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.deployment.bootstrap_servers, request_timeout_ms=3000
        )
        await admin.start()
        supervision: dict[str, Supervision] = {}
        try:
            while not self.halt.is_set():
                started = time.monotonic()
                identify = await _committed(admin, f"{ns}kaa.identify", f"{ns}{POPULATION_FEED}")
                register = await _committed(admin, f"{ns}kaa.register", f"{ns}{IDENTIFY_EVENTS}")
                self.samples.append(Sample(started, identify, register))
                platform = self.deployment.platform
                if platform is not None:
                    for line in platform.supervise(supervision, time.monotonic()):
                        self.said.append(f"{time.strftime('%H:%M:%S')} {line}")
                        print(f"  .. {line}", flush=True)
                await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
        finally:
            await admin.close()

    def rate(self, start: float, end: float, which: Which = "identify") -> float | None:
        """Records a second between `start` and `end` (monotonic times), from the samples."""
        points = [(at, n) for at, n in self.series(which) if start <= at <= end]
        if len(points) < 2 or points[-1][0] - points[0][0] < 1.0:
            return None
        return (points[-1][1] - points[0][1]) / (points[-1][0] - points[0][0])

    def latest(self, which: Which = "identify") -> int | None:
        values = self.series(which)
        return values[-1][1] if values else None

    def series(self, which: Which) -> list[tuple[float, int]]:
        return [
            (s.at, value)
            for s in list(self.samples)
            if (value := s.identify if which == "identify" else s.register) is not None
        ]


async def _committed(admin: AIOKafkaAdminClient, group: str, topic: str) -> int | None:
    """The sum of a group's committed offsets on `topic`; None while that cannot be read."""
    try:
        offsets = await asyncio.wait_for(admin.list_consumer_group_offsets(group), 3.0)
    except Exception:  # a coordinator that just died: no figure for this second
        return None
    return sum(
        int(meta.offset) for tp, meta in offsets.items() if tp.topic == topic and meta.offset >= 0
    )


@dataclass
class Fault:
    """What one fault did to the pipeline's throughput (records/s consumed by identify)."""

    name: str
    started: float = 0.0
    back: float = 0.0  # the failed server runs again
    recovered_s: float | None = None
    figures: dict[str, Any] = field(default_factory=dict)


class Run:
    """The infrastructure, the deployment and the sampler of one benchmark run."""

    def __init__(self, home: Path, youths: int, workdir: Path) -> None:
        kafka = free_port_block(6)
        self.settings = InfraSettings(
            home=home,
            kafka_brokers=3,
            kafka_port=kafka,
            kafka_controller_port=kafka + 3,
            postgres_port=free_port_block(1, start=40000),
            kafka_bootstrap_servers=None,
            database_url=None,
        )
        self.infra = Infrastructure(self.settings)
        self.youths = youths
        self.workdir = workdir
        # The day the independent count's rule is written for (tests/e2e/expected.py: "under
        # 20", "past 30 June of the year they turn 16"), as the end-to-end tests use it.
        self.today = TODAY
        self.deployment: Deployment | None = None
        self.population_records = 0

    def start(self) -> Deployment:
        started = time.monotonic()
        self.infra.up()
        print(f"infrastructure up in {time.monotonic() - started:.1f} s", flush=True)
        self.deployment = Deployment(
            name="bench-faults",
            bootstrap_servers=self.infra.bootstrap_servers(),
            admin_database_url=self.infra.database_url(),
            # The services' logs outlive the run's home (removed afterwards), for a post-mortem.
            logs_dir=InfraSettings().logs_dir / "bench-faults",
            tenants=(TENANT,),
            today=self.today,
            batch_size=500,
            feed_sources=(),  # each record decided as read: a steady stream, not one release
        )
        asyncio.run(self.deployment.reset())
        self.deployment.start(dict(os.environ))
        return self.deployment

    def load_backlog(self) -> None:
        """School data published and processed; the population published while identify is
        stopped, so the pipeline then runs from a backlog at its full rate."""
        deployment = self.deployment
        assert deployment is not None
        assert deployment.platform is not None
        feeds = generate(self.youths, TENANT, seed=20000, out=self.workdir, today=self.today)
        self.population_records = feeds.population_records
        asyncio.run(deployment.load("ss12000", feeds.ss12000))
        asyncio.run(deployment.drained(max_wait=600))
        deployment.platform.processes["identify"].stop()
        started = time.monotonic()
        asyncio.run(deployment.load("population", feeds.population))
        print(
            f"published {feeds.population_records} population records in "
            f"{time.monotonic() - started:.1f} s; identify starts on the backlog",
            flush=True,
        )
        deployment.platform.restart("identify")

    def kill_leading_node(self) -> str:
        assert self.deployment is not None
        topics = [s.name for s in all_topic_specs(prefix=self.deployment.namespace)]
        states = asyncio.run(partition_states(self.infra.bootstrap_servers(), topics))
        leaders = [s.leader for s in states]
        victim = max(set(leaders), key=leaders.count)
        node = self.infra.kafka.nodes[victim - 1]
        pid = self.infra.kafka_pids()[self.infra.kafka.key(node)]
        processes.stop(pid, first_signal=signal.SIGKILL, timeout=10)
        return f"node {victim} (leading {leaders.count(victim)} of {len(leaders)} partitions) SIGKILLed"

    def kill_postgres(self) -> str:
        """SIGKILL to the whole server (postmaster and backends), as an OOM kill of its
        container would; the next start runs crash recovery."""
        pid = self.infra.status().postgres.pid
        assert pid is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        processes.wait_gone(pid, 10)
        return "postmaster and backends SIGKILLed"

    def cleanup(self) -> None:
        if self.deployment is not None:
            self.deployment.stop()
        with contextlib.suppress(Exception):
            self.infra.down()
        marker = str(self.settings.home)
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and processes.is_ours(int(entry.name), marker):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(entry.name), signal.SIGKILL)
        data = PostgresServer(self.settings).data_dir.parent
        shutil.rmtree(self.settings.home, ignore_errors=True)
        shutil.rmtree(data, ignore_errors=True)


def recovered(sampler: Sampler, fault: Fault, before: float, total: int) -> bool:
    """Whether the last full ROLLING_S window after the fault's start ran at RECOVERED × before
    (recorded as the recovery time: the window's end), or the backlog is gone."""
    now = time.monotonic()
    if fault.recovered_s is not None:
        return True
    rolling = sampler.rate(now - ROLLING_S, now) if now - ROLLING_S >= fault.started else None
    done = sampler.latest()
    if (rolling is not None and rolling >= RECOVERED * before) or (
        done is not None and done >= total
    ):
        fault.recovered_s = round(now - fault.started, 1)
        return True
    return False


def measure_fault(
    sampler: Sampler,
    fault: Fault,
    before: float,
    total: int,
    act: Callable[[], str],
    restore: Callable[[], object],
    down_s: float,
) -> None:
    """Cause the fault, leave it `down_s` (the pipeline may recover meanwhile: a broker's
    partitions get new leaders), restore, and measure until WINDOW_S after both recovery and
    restore."""
    fault.started = time.monotonic()
    detail = act()
    fault.figures["detail"] = detail
    print(f"{fault.name}: {detail}", flush=True)
    while time.monotonic() - fault.started < down_s:
        recovered(sampler, fault, before, total)
        time.sleep(0.5)
    restore()
    fault.back = time.monotonic()
    print(f"{fault.name}: back after {fault.back - fault.started:.1f} s", flush=True)
    while time.monotonic() - fault.started < RECOVERY_LIMIT_S:
        if recovered(sampler, fault, before, total):
            break
        time.sleep(0.5)
    recovered_at = fault.started + (fault.recovered_s or RECOVERY_LIMIT_S)
    after_from = max(recovered_at, fault.back)
    time.sleep(max(0.0, after_from + WINDOW_S - time.monotonic()))
    fault.figures.update(
        down_s=round(fault.back - fault.started, 1),
        recovery_s=fault.recovered_s,
        during_records_per_s=_round(sampler.rate(fault.started, fault.back)),
        after_records_per_s=_round(sampler.rate(after_from, after_from + WINDOW_S)),
        register_during_events_per_s=_round(sampler.rate(fault.started, fault.back, "register")),
        register_after_events_per_s=_round(
            sampler.rate(after_from, after_from + WINDOW_S, "register")
        ),
        backlog_left_at_end=total - (sampler.latest() or 0),
    )
    print(f"{fault.name}: {fault.figures}", flush=True)


def kafka_memory(run: Run) -> dict[str, float]:
    """Each Kafka node's peak resident memory (VmHWM, MiB) over its life (the killed node's
    since its restart)."""
    peaks: dict[str, float] = {}
    for key, pid in run.infra.kafka_pids().items():
        with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    peaks[key] = round(int(line.split()[1]) / 1024, 1)
    return peaks


def series_5s(sampler: Sampler, t0: float) -> list[str]:
    """The run's rates in 5-second steps, one line each: seconds since the measured start,
    population records identify consumed a second, identify's events the register applied."""
    end = max((s.at for s in sampler.samples), default=t0)
    lines = []
    for start in range(0, int(end - t0), 5):
        a, b = t0 + start, t0 + start + 5
        identify, register = sampler.rate(a, b), sampler.rate(a, b, "register")
        lines.append(f"{start:>4} s: identify {_figure(identify)}, register {_figure(register)}")
    return lines


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}/s"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def compare(run: Run) -> dict[str, Any]:
    """The register against the independent count of the feeds."""
    deployment = run.deployment
    assert deployment is not None
    expected = expected_register(
        run.workdir / "population.jsonl", run.workdir / "ss12000.jsonl", TENANT, run.today
    )
    with deployment.client("register", TENANT, "caseworker") as register:
        summary = register.get("/v1/summary").json()
    known, episodes = int(summary["known"]), int(summary["scope_episodes"])
    return {
        "expected_youths": expected.identified,
        "register_youths": known,
        "expected_in_scope": expected.in_scope,
        "register_in_scope": int(summary["in_scope"]),
        "lost": max(0, expected.identified - known),
        "duplicated": max(0, known - expected.identified) + max(0, episodes - expected.identified),
    }


def main() -> None:
    # The sampler's own client would log every refused connection to the killed node.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    youths = int(sys.argv[1]) if len(sys.argv) > 1 else 260000
    which = sys.argv[2] if len(sys.argv) > 2 else "both"
    home = InfraSettings().home / f"bench-faults-{os.getpid()}"
    with tempfile.TemporaryDirectory() as tmp:
        run = Run(home, youths, Path(tmp))
        try:
            figures = measured(run, which)
        finally:
            run.cleanup()
    write_result(RESULTS, "faults", figures)


def measured(run: Run, which: str) -> dict[str, Any]:
    deployment = run.start()
    run.load_backlog()
    total = run.population_records
    sampler = Sampler(deployment)
    sampler.start()
    t0 = time.monotonic()
    time.sleep(WARMUP_S + WINDOW_S)
    before = sampler.rate(t0 + WARMUP_S, t0 + WARMUP_S + WINDOW_S) or 0.0
    print(f"before: {before:.0f} records/s", flush=True)
    faults: list[Fault] = []
    if which in ("both", "broker"):
        broker = Fault("broker")
        measure_fault(
            sampler, broker, before, total, run.kill_leading_node, run.infra.up, BROKER_DOWN_S
        )
        faults.append(broker)
    if which in ("both", "postgres"):
        postgres = Fault("postgres")
        measure_fault(
            sampler, postgres, before, total, run.kill_postgres, run.infra.up, POSTGRES_DOWN_S
        )
        faults.append(postgres)
    drained = asyncio.run(deployment.drained(max_wait=900))
    memory = kafka_memory(run)
    sampler.halt.set()
    sampler.join(timeout=10)
    result = compare(run)
    by_name = {f.name: f for f in faults}
    return {
        "lost": result["lost"],
        "duplicated": result["duplicated"],
        "broker_recovery_s": by_name["broker"].recovered_s if "broker" in by_name else None,
        "postgres_recovery_s": by_name["postgres"].recovered_s if "postgres" in by_name else None,
        "before_records_per_s": round(before, 1),
        "register_before_events_per_s": _round(
            sampler.rate(t0 + WARMUP_S, t0 + WARMUP_S + WINDOW_S, "register")
        ),
        "faults": {f.name: f.figures for f in faults},
        "drained_s_after_start": round(drained - t0, 1),
        "youths": run.youths,
        "population_records": total,
        "register": result,
        "service_stops": sampler.said,
        "settings": {
            "brokers": 3,
            "replication": "3 replicas, min.insync.replicas 2, acks=all",
            "broker_down_s": BROKER_DOWN_S,
            "postgres_down_s": POSTGRES_DOWN_S,
            "window_s": WINDOW_S,
            "recovered_at": f"{RECOVERED:.0%} of before over {ROLLING_S:.0f} s",
        },
        "machine": f"{os.cpu_count()} cores, shared with other sessions' tests; three Kafka "
        "nodes (768m heap each), PostgreSQL and five service processes on the same machine",
        "kafka_node_peak_rss_mb": memory,
        "every_5_s": series_5s(sampler, t0),
    }


if __name__ == "__main__":
    main()
