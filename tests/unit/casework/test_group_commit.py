"""The group-commit writer: every caller gets an answer, when a batch fails and when the service
stops."""

from __future__ import annotations

import threading
import time

import pytest

from shared.casework.adapters.group_commit import Command, CommandQueue
from tests.unit.casework.events import YOUTH


def test_the_command_writer_answers_every_caller_even_when_a_batch_fails() -> None:
    calls: list[int] = []

    def run(batch: list[Command]) -> None:
        calls.append(len(batch))
        if len(calls) == 1:
            raise OSError("database went away")
        for command in batch:
            command.future.set_result(True)

    commands = CommandQueue(run)
    failed = commands.submit(YOUTH, "0180", lambda case: True)
    with pytest.raises(OSError, match="database went away"):
        failed.result(timeout=5)
    assert commands.submit(YOUTH, "0180", lambda case: True).result(timeout=5) is True
    commands.stop()


def test_commands_waiting_when_the_service_stops_are_still_answered() -> None:
    release = threading.Event()

    def run(batch: list[Command]) -> None:
        release.wait(5)
        for command in batch:
            command.future.set_result(True)

    commands = CommandQueue(run)
    first = commands.submit(YOUTH, "0180", lambda case: True)
    time.sleep(0.05)  # the writer is busy with the first
    waiting = commands.submit(YOUTH, "0180", lambda case: True)
    stopper = threading.Thread(target=commands.stop)
    stopper.start()
    release.set()
    stopper.join(10)
    assert first.result(timeout=5) is True
    assert waiting.result(timeout=5) is True  # written before the writer stopped
