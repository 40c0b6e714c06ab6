"""The launcher is blocking code (it waits for servers); it must not run on an event loop's thread."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def ensure_blocking_allowed() -> None:
    """Raise when called on an event loop's thread, where blocking would stall every task."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        "the kaa launcher blocks while servers start; call it from a worker thread "
        "(await asyncio.to_thread(...)), not on the event loop"
    )


def run_blocking(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous launcher code."""
    try:
        ensure_blocking_allowed()
    except RuntimeError:
        coroutine.close()
        raise
    return asyncio.run(coroutine)
