"""A rebuild in several processes (`topics.project_topics` with `processes` above 1): each phase's
partitions dealt out to the processes (`_shares`), each process reading its share with the same code
as a rebuild in one process (`topics.read_partitions`), the identifications first in all of them,
then the casework. A process's failure fails the rebuild at once and ends the others; a process
ends when the rebuild that started it is killed.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
import threading
import types
from collections.abc import Callable, Coroutine
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.context import BaseContext
from typing import Any, TypeVar

from aiokafka import TopicPartition

from services.register.adapters.collector import young_collections_less_often
from services.register.adapters.topics import Part, read_partitions

T = TypeVar("T")

_read_so_far: Any = None  # a process's count of the events it read (`in_processes`)
_IMPORTED_IN = os.getpid()  # the fork server's, in a reading process (`reading_context`)
_NOT_PRELOADED = frozenset({"__main__", "__mp_main__", "builtins"})


def reading_context() -> BaseContext:
    """How the reading processes start: forked from a server process that imported this module
    and the program's main module's own modules once (`forkserver`), rather than each a fresh
    interpreter (`spawn`) that imports them all: about a second each, on both cores at once, at
    the start of every rebuild (the main module, `kaa.cli`, brings the web framework too). A
    forked process still runs the main module again (CPython's `spawn.prepare`), and finds its
    imports done. The server has run nothing and holds no connection when it forks; it stays for
    the next rebuild of a long-lived process and ends with the process. Every process forked
    from it holds the pipe the server watches for that end, so a reading process watches the
    rebuild itself (`_end_with_the_rebuild`)."""
    context = multiprocessing.get_context("forkserver")
    # Taken when the server starts; one that fails to import is skipped there, silently (the
    # test checks that this module comes from the server).
    context.set_forkserver_preload([__name__, *_main_modules()])
    return context


def _main_modules() -> list[str]:
    """The modules the program's main module takes its names from (`kaa.cli` for the `kaa`
    command), and its own when it was run by name (`python -m bench.register`)."""
    main = sys.modules.get("__main__")
    if main is None:
        return []
    spec = getattr(main, "__spec__", None)
    named = getattr(spec, "name", None)
    names = {named} if isinstance(named, str) and not named.endswith("__main__") else set()
    for value in vars(main).values():
        module = (
            value.__name__ if isinstance(value, types.ModuleType)
            else getattr(value, "__module__", None)
        )  # fmt: skip
        if isinstance(module, str) and module in sys.modules and module not in _NOT_PRELOADED:
            names.add(module)
    return sorted(names)


def _share_count(count: Any) -> None:
    """A reading process's start: the shared count, and its end with the rebuild that started it
    (`_end_with_the_rebuild`; `_while_the_parent_lives` is the check besides, between batches)."""
    global _read_so_far
    _read_so_far = count
    threading.Thread(target=_end_with_the_rebuild, name="rebuild-watch", daemon=True).start()


def _end_with_the_rebuild() -> None:
    """End this process when the rebuild that started it ends (killed), whether it reads a share
    or waits for the next one. The kernel's death signal cannot say it: a forked reading process's
    parent is the fork server, which lives on while its children hold its pipe."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        parent.join()  # until the rebuild's end of the pipe closes
        os._exit(3)


def _read_in_a_process(
    part: Part, ends: dict[TopicPartition, int], after_identifications: bool
) -> tuple[int, int, int]:
    counted = [0]

    def count(done: int, _total: int) -> None:
        with _read_so_far.get_lock():
            _read_so_far.value += done - counted[0]
        counted[0] = done

    with young_collections_less_often():
        return asyncio.run(
            _while_the_parent_lives(read_partitions(part, ends, after_identifications, count))
        )


async def _while_the_parent_lives(work: Coroutine[Any, Any, T]) -> T:
    """`work`, unless the rebuild that started this process ends first (killed): then this
    process ends too, its transactions rolled back, rather than write on into a schema a rebuild
    started again may have made anew under the same name."""
    parent = multiprocessing.parent_process()
    task = asyncio.ensure_future(work)
    while not task.done():
        await asyncio.wait({task}, timeout=1.0)
        if not task.done() and parent is not None and not parent.is_alive():
            os._exit(3)
    return task.result()


def _shares(ends: dict[TopicPartition, int], processes: int) -> list[dict[TopicPartition, int]]:
    """The partitions dealt out so that each process reads about as many events: the largest
    first, each to the process that has the fewest."""
    shares: list[dict[TopicPartition, int]] = [{} for _ in range(processes)]
    sizes = [0] * processes
    for tp, end in sorted(ends.items(), key=lambda item: -item[1]):
        least = sizes.index(min(sizes))
        shares[least][tp] = end
        sizes[least] += end
    return [share for share in shares if share]


async def in_processes(
    part: Part,
    phases: tuple[dict[TopicPartition, int], ...],
    processes: int,
    total: int,
    progress: Callable[[int, int], None] | None,
) -> tuple[int, int, int]:
    """Each phase's partitions read by `processes` processes at once; the next phase starts when
    all of them are done (the casework after every identification)."""
    context = reading_context()
    read = context.Value("q", 0)
    loop = asyncio.get_running_loop()
    counts = (0, 0, 0)
    executor = ProcessPoolExecutor(processes, mp_context=context, initializer=_share_count,
                                   initargs=(read,))  # fmt: skip
    try:
        for known, phase in enumerate(phases):
            running = [
                loop.run_in_executor(executor, _read_in_a_process, part, share, bool(known))
                for share in _shares(phase, processes)
            ]
            pending = set(running)
            while pending:
                done, pending = await asyncio.wait(
                    pending, timeout=0.5, return_when=asyncio.FIRST_EXCEPTION
                )
                for task in done:
                    task.result()  # a process's failure fails the rebuild at once
                if progress is not None:
                    progress(read.value, total)
            for task in running:
                found = task.result()
                counts = (counts[0] + found[0], counts[1] + found[1], counts[2] + found[2])
    except BaseException:
        _stop_now(executor)  # the others' open transactions roll back with their connections
        raise
    executor.shutdown(wait=True)  # all idle by now
    return counts


def _stop_now(executor: ProcessPoolExecutor) -> None:
    """End the reading processes without waiting for their shares (shutting the pool down waits
    for every share to be read, on the event loop's thread)."""
    workers = list(getattr(executor, "_processes", {}).values())  # no public way before 3.14
    executor.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        if worker.is_alive():
            worker.kill()
    for worker in workers:
        worker.join(5)
