"""Riding out the world's failures in-process: backoff, and which dependency a failure names.

A service's database or broker restarting is not a reason for the process to end: every background
loop and the start-up wait and try again, with a pause that doubles from half a second up to 30
seconds (with a little jitter, so replicas do not knock in step). A failure that is not the world's
(a bug) is retried the same way, but a loop that keeps failing for such a reason without making
progress gives up, and then so does the process (`BackgroundLoops` in shared/loops.py).

The process-wide `give_up` record is what `kaa run` reads when uvicorn has stopped: a process that
gave up exits non-zero, a process stopped by a signal exits 0.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import structlog
from aiokafka.errors import KafkaError

from shared.messaging.failures import POSTGRES_ERRORS, causes, is_transient

log = structlog.get_logger(__name__)

T = TypeVar("T")

FIRST_DELAY = 0.5
MAX_DELAY = 30.0
JITTER = 0.2  # each pause is up to 20 % shorter or longer


@dataclass
class Backoff:
    """Pauses between attempts: `first` doubling up to `cap`, each with ± `jitter` of itself."""

    first: float = FIRST_DELAY
    cap: float = MAX_DELAY
    jitter: float = JITTER
    attempts: int = 0

    def next(self) -> float:
        base = min(self.cap, self.first * 2 ** min(self.attempts, 30))
        self.attempts += 1
        spread = base * self.jitter
        jittered = base + random.uniform(-spread, spread)  # noqa: S311 (a pause, no secret)
        return float(max(0.0, jittered))

    def reset(self) -> None:
        self.attempts = 0


def dependency_of(exc: BaseException) -> str | None:
    """`PostgreSQL` or `Kafka` when the failure comes from that client, else None."""
    for error in causes(exc):
        if isinstance(error, POSTGRES_ERRORS) or getattr(error, "sqlstate", None):
            return "PostgreSQL"
        if isinstance(error, KafkaError):
            return "Kafka"
    return None


def failure_kind(exc: BaseException) -> str:
    """A failure in words without its message (which may quote a value): what and which kind."""
    dependency = dependency_of(exc)
    kind = type(exc).__name__
    if dependency is not None and is_transient(exc):
        return f"{dependency} unavailable ({kind})"
    if is_transient(exc):
        return f"a connection failed ({kind})"
    return kind


class Interrupted(Exception):
    """The process was asked to stop while it waited (`kaa run` on SIGTERM or Ctrl-C)."""


class _Stop:
    requested = False
    nudges = 0  # how often a waiting step was told to try again at once


def nudge() -> None:
    """End the current pauses early (a dependency is back): the step is tried again at once."""
    _Stop.nudges += 1


def request_stop() -> None:
    """Called from the signal handler: waits end at once (a start-up waiting for its database
    stops cleanly instead of ignoring the signal until the database is back)."""
    _Stop.requested = True


def stop_requested() -> bool:
    return _Stop.requested


async def pause(seconds: float) -> None:
    """Sleep `seconds`, in steps of at most a quarter second, or until `nudge()`; raise
    `Interrupted` as soon as the process is asked to stop."""
    ends, nudges = time.monotonic() + seconds, _Stop.nudges
    while not _Stop.requested:
        left = ends - time.monotonic()
        if left <= 0 or _Stop.nudges != nudges:
            return
        await asyncio.sleep(min(left, 0.25))
    raise Interrupted


class GiveUp:
    """Why this process gave up (a loop that kept failing), or None: `kaa run` exits 1 then."""

    reason: str | None = None


def give_up(reason: str) -> None:
    GiveUp.reason = GiveUp.reason or reason


def given_up() -> str | None:
    return GiveUp.reason


async def until_done(
    step: Callable[[], Awaitable[T]],
    what: str,
    *,
    backoff: Backoff | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Run `step` until it succeeds, waiting between attempts while it fails for the world's
    reasons; one line when it starts waiting and one when it succeeded after waiting, never a
    traceback per attempt. A failure that is not the world's is raised at once; `Interrupted`
    when the process is asked to stop while it waits."""
    pauses = backoff or Backoff()
    since: float | None = None
    said: str | None = None
    while True:
        try:
            result = await step()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not is_transient(exc):
                raise
            kind, delay = failure_kind(exc), pauses.next()
            if kind != said:
                log.warning(f"{what}: waiting; {kind}", retrying_in_s=round(delay, 1))
                said = kind
            since = since if since is not None else clock()
            await pause(delay)
            continue
        if since is not None:
            log.info(f"{what}: done after waiting {clock() - since:.1f} s")
        return result
