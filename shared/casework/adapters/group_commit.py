"""The group-commit writer: one thread takes the case commands waiting and hands them over as a
batch, so one transaction's fixed cost is paid once per batch (`CaseApplication.run_commands`)."""

from __future__ import annotations

import concurrent.futures
import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

log = structlog.get_logger(__name__)
MAX_GROUP = 200


@dataclass
class Command:
    youth_id: uuid.UUID
    tenant: str
    action: Callable[[Any], Any]
    future: concurrent.futures.Future[Any] = field(default_factory=concurrent.futures.Future)
    # False: the case may be out of scope (putting right what was recorded while it was in).
    in_scope_only: bool = True


class CommandQueue:
    """One writer thread takes the commands waiting and hands them over as a batch."""

    def __init__(self, run: Callable[[list[Command]], None]) -> None:
        self._run = run
        self._queue: queue.SimpleQueue[Command | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(
        self,
        youth_id: uuid.UUID,
        tenant: str,
        action: Callable[[Any], Any],
        *,
        in_scope_only: bool = True,
    ) -> concurrent.futures.Future[Any]:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="case-commands", daemon=True
                )
                self._thread.start()
        command = Command(youth_id, tenant, action, in_scope_only=in_scope_only)
        self._queue.put(command)
        return command.future

    def stop(self) -> None:
        """Finish the batch being written, then answer whatever still waits with an error."""
        with self._start_lock:
            if self._thread is not None:
                self._queue.put(None)
                self._thread.join(timeout=10)
                self._thread = None
            self._refuse_waiting()

    def _refuse_waiting(self) -> None:
        while True:
            try:
                waiting = self._queue.get_nowait()
            except queue.Empty:
                return
            if waiting is not None and not waiting.future.done():
                waiting.future.set_exception(RuntimeError("the service is stopping; try again"))

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < MAX_GROUP:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            try:
                self._run(batch)
            except BaseException as exc:  # the writer must outlive a bad batch
                log.exception("a batch of case commands failed", commands=len(batch))
                for command in batch:
                    if not command.future.done():
                        command.future.set_exception(exc)
            if stop:
                return
