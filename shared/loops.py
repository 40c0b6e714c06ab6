"""The background loops of a service process, kept running through the world's failures.

Every loop (consumers, outbox relays, schedules, retention, connectors) runs under a guard. A loop
that fails is started again after a pause (`Backoff`: 0.5 s doubling to 30 s, with jitter):

- for the world's reasons (`failures.is_transient`: the database or broker unreachable), forever:
  one warning when it starts failing, one line when it has run `STEADY_SECONDS` again, never a
  traceback per attempt; the positions stored with the writes make every restart safe;
- for any other reason (a bug), with the traceback each time; after `GIVE_UP_AFTER` such failures
  in a row without having run `STEADY_SECONDS` in between, the process gives up: liveness turns
  false, the reason is logged as critical, and the process stops itself and exits 1 (a fault it
  cannot recover from; the supervisor or Kubernetes starts it again).

A loop that returns has ended (it is reported as stopped, not restarted). On a clean stop each loop
that can finish its work (an object with `request_stop()`: the consumer finishes its batch and
commits, the relay stops after its acknowledged position) is asked to, and is cancelled only if it
has not ended within the grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from shared.messaging.failures import is_transient
from shared.resilience import Backoff, failure_kind, give_up

log = structlog.get_logger(__name__)

GIVE_UP_AFTER = 5
STEADY_SECONDS = 10.0
STOP_GRACE_SECONDS = 8.0
CANCEL_WAIT_SECONDS = 2.0

Loop = Callable[[], Awaitable[None]]


@dataclass
class LoopState:
    """What /health says of one loop."""

    failures: int = 0  # in a row, since it last ran steadily
    bugs: int = 0  # of those, the ones that were not the world's
    since: float | None = None  # when the failures began
    reason: str | None = None
    ended: bool = False
    gave_up: bool = False
    waiting: bool = False  # pausing before the next attempt
    backoff: Backoff = field(default_factory=Backoff)

    def recovered(self) -> None:
        self.failures = self.bugs = 0
        self.since = self.reason = None
        self.backoff.reset()


def _signal_self() -> None:
    os.kill(os.getpid(), signal.SIGTERM)


@dataclass
class BackgroundLoops:
    """The loops of one process, each restarted with backoff when it fails."""

    loops: dict[str, Loop] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # What /health asks besides: each returns the problems it sees (no personal data), or [].
    checks: list[Callable[[], Awaitable[list[str]]]] = field(default_factory=list)
    states: dict[str, LoopState] = field(default_factory=dict)
    stoppers: dict[str, Callable[[], None]] = field(default_factory=dict)
    # Called once a loop gave up: stops the process (uvicorn shuts down; `kaa run` exits 1).
    on_give_up: Callable[[], None] = _signal_self
    # Told of each failure (the dependency watch checks the dependency it names at once).
    on_failure: Callable[[Exception], None] = lambda exc: None
    clock: Callable[[], float] = time.monotonic
    # The pauses between a loop's attempts (0.5 s doubling to 30 s, with jitter).
    backoff: Callable[[], Backoff] = Backoff
    stopping: bool = False
    gave_up: str | None = None
    _woken: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, name: str, loop: Loop, stop: Callable[[], None] | None = None) -> None:
        """Run `loop` in the background; `stop()` (or the loop's object's `request_stop()`)
        asks it to finish its work and return on a clean stop."""
        self.loops[name] = loop
        owner: Any = getattr(loop, "__self__", None)
        stop = stop or getattr(owner, "request_stop", None)
        if stop is not None:
            self.stoppers[name] = stop

    def check(self, problems: Callable[[], Awaitable[list[str]]]) -> None:
        """Have /health report what `problems()` returns (the service is then degraded)."""
        self.checks.append(problems)

    def parked(self, name: str, count: Callable[[], tuple[int, str | None]]) -> None:
        """Report messages a consumer parked since the process started (count, last reason)."""

        async def problems() -> list[str]:
            parked, last = count()
            if not parked:
                return []
            return [
                f"{name}: {parked} message{'s' if parked != 1 else ''} could not be applied and "
                f"{'were' if parked != 1 else 'was'} parked in the "
                f"dead-letter topics since the start (kaa dlq list); the last: {last}"
            ]

        self.check(problems)

    def loop_problems(self) -> list[str]:
        """Loops that are not running as they should: ended, retrying, or given up."""
        found = []
        for name, state in self.states.items():
            if state.gave_up:
                found.append(f"{name}: gave up after {state.failures} failures ({state.reason})")
            elif state.ended:
                found.append(f"{name}: stopped")
            elif state.waiting:
                found.append(
                    f"{name}: retrying after {state.failures} failure"
                    f"{'s' if state.failures != 1 else ''} ({state.reason})"
                )
        return found

    async def problems(self) -> list[str]:
        """Why the process is degraded: a loop that is not running, and what the checks report."""
        found = self.loop_problems()
        for check in self.checks:
            try:
                found.extend(await check())
            except Exception as exc:
                found.append(f"a health check failed ({type(exc).__name__})")
        return found

    def wake(self) -> None:
        """End the pauses of the loops waiting to try again (a dependency is back)."""
        self._woken.set()
        self._woken = asyncio.Event()

    def live(self) -> str | None:
        """None while the process can go on; else why not (a loop gave up)."""
        return self.gave_up

    def start(self) -> None:
        for name, loop in self.loops.items():
            self.states[name] = LoopState(backoff=self.backoff())
            task = asyncio.create_task(self._guard(name, loop), name=name)
            self.tasks.append(task)

    async def _guard(self, name: str, loop: Loop) -> None:
        state = self.states[name]
        while True:
            started = self.clock()
            try:
                await self._run(name, loop, state)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if self.stopping or task is None or task.cancelling():
                    raise  # stopped, as asked
                # Cancelled from inside the loop (a library's timeout), not by us: a failure, or
                # the loop would end unseen while readiness still said every loop runs.
                if not await self._again(name, state, started, RuntimeError("cancelled within")):
                    return
                continue
            except Exception as exc:
                if self.stopping or not await self._again(name, state, started, exc):
                    return
                continue
            state.ended = True
            log.info("background loop ended", loop=name)
            return

    async def _again(self, name: str, state: LoopState, started: float, exc: Exception) -> bool:
        """After a failure: wait the pause and say to run again, or False when it gave up."""
        if self.clock() - started >= STEADY_SECONDS:
            state.recovered()
        delay = self._failed(name, state, exc)
        if delay is None:
            return False
        state.waiting = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._woken.wait(), delay)
        state.waiting = False
        return True

    async def _run(self, name: str, loop: Loop, state: LoopState) -> None:
        """Run the loop; once it has run steadily after failures, say it runs again."""
        task = asyncio.ensure_future(loop())
        try:
            if state.failures:
                done, _ = await asyncio.wait({task}, timeout=STEADY_SECONDS)
                if not done and state.since is not None:
                    log.info(
                        "background loop running again", loop=name, failures=state.failures,
                        after_s=round(self.clock() - state.since, 1),
                    )  # fmt: skip
                    state.recovered()
            await task
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    def _failed(self, name: str, state: LoopState, exc: Exception) -> float | None:
        """Count the failure and say so; the pause before the next attempt, or None (gave up)."""
        transient = is_transient(exc)
        kind = failure_kind(exc)
        with contextlib.suppress(Exception):
            self.on_failure(exc)
        state.failures += 1
        state.since = state.since if state.since is not None else self.clock()
        state.bugs = 0 if transient else state.bugs + 1
        delay = state.backoff.next()
        if not transient:
            if state.bugs >= GIVE_UP_AFTER:
                state.reason, state.gave_up = kind, True
                reason = f"background loop {name} failed {state.bugs} times in a row ({kind})"
                log.critical(
                    "background loop failed too often; the process stops", loop=name,
                    failures=state.bugs, exc_info=exc,
                )  # fmt: skip
                self.gave_up = reason
                give_up(reason)
                self.on_give_up()
                return None
            log.error(
                "background loop failed; restarting it", loop=name, failures=state.bugs,
                retrying_in_s=round(delay, 1), exc_info=exc,
            )  # fmt: skip
        elif kind != state.reason:
            log.warning(
                "background loop waiting; restarting it", loop=name, reason=kind,
                retrying_in_s=round(delay, 1),
            )  # fmt: skip
        else:
            log.debug("background loop failed again", loop=name, reason=kind)
        state.reason = kind
        return delay

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Ask the running loops that can to finish their work; cancel the others at once and
        what has not ended within `grace` seconds."""
        self.stopping = True
        finishing = [
            task for task in self.tasks
            if task.get_name() in self.stoppers and not self.states[task.get_name()].failures
        ]  # fmt: skip
        for task in finishing:
            with contextlib.suppress(Exception):
                self.stoppers[task.get_name()]()
        for task in self.tasks:
            if task not in finishing:
                task.cancel()
        if finishing:
            await asyncio.wait(finishing, timeout=grace)
        for task in self.tasks:
            task.cancel()
        # A cancelled loop may still wait in its clean-up for the database (a relay releasing its
        # lease in a thread): not for long, the teardown that follows closes the pools it waits on.
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=CANCEL_WAIT_SECONDS)
