"""A rebuild's reading process ends when the rebuild that started it is killed, rather than write on
into a schema a rebuild started again may have made anew under the same name
(`rebuild_processes._while_the_parent_lives`); a rebuild that fails ends its other processes at
once, without waiting for them to read their shares (`rebuild_processes._stop_now`)."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, wait
from pathlib import Path

from services.register.adapters.rebuild_processes import (
    _share_count,
    _stop_now,
    _while_the_parent_lives,
    reading_context,
)


def _reads_for_a_minute(pid_file: str) -> None:  # the rebuild's reading process
    Path(pid_file).write_text(str(os.getpid()))
    asyncio.run(_while_the_parent_lives(asyncio.sleep(60)))


def _rebuild(pid_file: str) -> None:  # the rebuild, killed while its process reads
    with ProcessPoolExecutor(1, mp_context=reading_context()) as executor:
        executor.submit(_reads_for_a_minute, pid_file).result()


def ended(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"  # ended, not yet reaped by whoever adopted it


def outlives_its_killed_rebuild(rebuild_target: Callable[[str], None], tmp_path: Path) -> bool:
    """Start a rebuild (`rebuild_target`, given the file its reading process writes its pid to),
    kill it once its reading process has run a moment, and tell whether that process was still
    there 10 s later (it is killed then)."""
    pid_file = tmp_path / "reader.pid"
    rebuild = multiprocessing.get_context("spawn").Process(
        target=rebuild_target, args=(str(pid_file),)
    )
    rebuild.start()
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the reading process did not start"
        time.sleep(0.05)
    reader = int(pid_file.read_text())
    time.sleep(1.5)
    assert not ended(reader), "it runs while the rebuild lives"
    os.kill(rebuild.pid or 0, signal.SIGKILL)
    rebuild.join()
    deadline = time.monotonic() + 10
    while not ended(reader) and time.monotonic() < deadline:
        time.sleep(0.1)
    if ended(reader):
        return False
    os.kill(reader, signal.SIGKILL)
    return True


def test_the_reading_process_ends_when_the_rebuild_is_killed(tmp_path: Path) -> None:
    assert not outlives_its_killed_rebuild(_rebuild, tmp_path)


def _writes_its_pid(pid_file: str) -> None:  # a share read, after which the process waits
    Path(pid_file).write_text(str(os.getpid()))


def _rebuild_between_shares(pid_file: str) -> None:  # killed while its process waits
    context = reading_context()
    with ProcessPoolExecutor(1, mp_context=context, initializer=_share_count,
                             initargs=(context.Value("q", 0),)) as executor:  # fmt: skip
        executor.submit(_writes_its_pid, pid_file).result()
        time.sleep(60)


def test_a_reading_process_waiting_for_its_next_share_ends_when_the_rebuild_is_killed(
    tmp_path: Path,
) -> None:
    """Between two shares no `_while_the_parent_lives` runs, and a process forked from the fork
    server is not the rebuild's child for the kernel (its death signal would wait for the server,
    which lives on while its children hold its pipe): the process's own watch ends it."""
    assert not outlives_its_killed_rebuild(_rebuild_between_shares, tmp_path)


def _where_imported() -> tuple[int, int]:
    from services.register.adapters import rebuild_processes

    return os.getpid(), rebuild_processes._IMPORTED_IN


def test_a_reading_process_takes_the_rebuild_code_from_the_fork_server() -> None:
    """It imports nothing at its start: the server preloaded the rebuild module (a preload that
    fails is skipped by CPython without a word, and every process would import it again)."""
    with ProcessPoolExecutor(1, mp_context=reading_context()) as executor:
        reader, imported_in = executor.submit(_where_imported).result(timeout=60)
    assert imported_in != reader, "the reading process imported the rebuild module itself"


def _reads_long() -> None:  # a share that would take long to read
    time.sleep(60)


def test_a_failed_rebuild_ends_its_other_processes_without_waiting_for_their_shares() -> None:
    executor = ProcessPoolExecutor(2, mp_context=reading_context())
    reading = [executor.submit(_reads_long) for _ in range(2)]
    deadline = time.monotonic() + 60
    while len(getattr(executor, "_processes", {})) < 2 or not all(
        p.is_alive() for p in executor._processes.values()
    ):
        assert time.monotonic() < deadline, "the processes did not start"
        time.sleep(0.05)
    workers = [worker.pid or 0 for worker in executor._processes.values()]
    started = time.monotonic()
    _stop_now(executor)
    # the pool's own thread reaps the killed processes and fails their shares beside _stop_now, so
    # both are awaited, but for far less than a share would take to read
    _, pending = wait(reading, timeout=10)
    while not all(ended(pid) for pid in workers) and time.monotonic() - started < 10:
        time.sleep(0.05)
    assert all(ended(pid) for pid in workers), "a reading process outlived the failed rebuild"
    assert not pending, "a share was left waiting for a process that was killed"
    assert time.monotonic() - started < 10, "not waited for the shares"
