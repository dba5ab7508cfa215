"""Worker processes of a runner: how many, how they start, and that they end with it.

Standard library only, like :mod:`crawler.crawl.parsing`: a worker imports this module for
its start-up function, and what it imports costs every worker its memory.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from typing import Any

# What the fork server imports once, before it forks each worker: the parser (the heavy
# imports) and nothing that needs a database.
PRELOADED = "crawler.crawl.parsing"


# glibc's mallopt parameters (malloc.h), and the values used.
_M_TRIM_THRESHOLD = -1
_M_ARENA_MAX = -8
_ARENAS = 2
_TRIM_THRESHOLD_BYTES = 128 * 1024


def keep_malloc_lean() -> None:
    """Make glibc's malloc give freed memory back: at most two arenas, and free memory above
    128 KB at the top of a heap returned to the system.

    By default each thread that allocates gets an arena of its own (up to eight per CPU),
    and the threshold for serving large blocks from the heap instead of their own mappings
    rises with the largest block freed. Parsing 300 KB pages (a page's text, its trees) in
    threads and processes left every arena at its high-water mark: on a cold crawl of real
    pages the process tree held some 45 MiB more (bench/pipeline.py --pages), for no speed.
    The MALLOC_ARENA_MAX and MALLOC_TRIM_THRESHOLD_ variables a user sets win; other C
    libraries (no ``mallopt``) are left alone."""
    if "MALLOC_ARENA_MAX" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_ARENA_MAX, _ARENAS)
    mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BYTES)


def freeze_startup_heap(collect: bool = True) -> None:
    """Leave what the process holds now (modules, classes, settings: start-up's objects, a
    few hundred thousand) out of every later cycle collection.

    Python's full collections walk every tracked object: in the crawl process one took up
    to 120 ms, on the path that hands pages to the parsers (0.30 s of 7 on a cold crawl of
    real pages; 0.12 s frozen). In a process forked from the fork server, the walks would
    also write to the inherited objects' pages, each then copied. ``collect`` first drops
    the garbage start-up left (not in a forked child: it would touch every page)."""
    if collect:
        gc.collect()
    gc.freeze()


def start_worker_process() -> None:
    """What a parser or writer process does first."""
    freeze_startup_heap(collect=False)  # the fork server's imports, shared with it
    keep_malloc_lean()
    exit_with_owner_process()


def cpu_count() -> int:
    """CPUs this process may run on (a container's share, not the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def forkserver_context() -> Any:
    """A fork server (not fork): forking a process that runs the reactor and database
    threads may copy a held lock. The server imports the parser once; each worker forks
    from it with the imports done."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([PRELOADED])
    return context


def start_fork_server() -> None:
    """Spawn the fork server now, without waiting for it: it imports the parser (some
    0.5 s of CPU, on another core) while this process goes on, so that worker processes,
    once due, fork from a ready server. A failure is left for the pool's start to report."""
    import multiprocessing.forkserver

    forkserver_context()  # its preload
    with contextlib.suppress(OSError, ValueError, RuntimeError):
        multiprocessing.forkserver.ensure_running()


def exit_with_owner_process() -> None:
    """Worker start: exit when the process that owns the pool dies, even by SIGKILL —
    an orphaned worker would wait for work forever, and keep the fork server alive.

    A Ctrl-C on a terminal reaches the whole process group; the owner decides how to stop
    (it closes the pool), so a worker ignores SIGINT instead of dying with a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    owner = multiprocessing.parent_process()
    if owner is not None:
        threading.Thread(
            target=_exit_with_owner, args=(owner.sentinel,), name="owner-watch", daemon=True
        ).start()


def _exit_with_owner(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(0)
