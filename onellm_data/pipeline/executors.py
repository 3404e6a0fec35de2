"""Where partitions run: in this process, in a local process pool, or (see ``ray_executor``) on a Ray cluster.

An executor maps ``convert_partition`` over a stream of tasks and yields results as they finish; it keeps a
bounded number of tasks in flight so memory stays flat however long the record stream is.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Protocol

from onellm_data.pipeline.partition import PartitionResult, PartitionTask
from onellm_data.progress import DirectSink, Progress, QueueDrain, set_worker_sink

PartitionFn = Callable[[PartitionTask], PartitionResult]


class Executor(Protocol):
    def map(self, fn: PartitionFn, tasks: Iterable[PartitionTask], progress: Progress | None = None
            ) -> Iterator[PartitionResult]:
        """Results as partitions finish; workers report their running counts to ``progress`` as they go."""
        ...


class InProcessExecutor:
    """Runs partitions one after another in the calling process (tests, debugging, one core)."""

    def map(self, fn: PartitionFn, tasks: Iterable[PartitionTask], progress: Progress | None = None
            ) -> Iterator[PartitionResult]:
        previous = set_worker_sink(DirectSink(progress) if progress is not None else None)
        try:
            for task in tasks:
                yield fn(task)
        finally:
            set_worker_sink(previous)


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:  # reparented: the parent is gone
            os._exit(1)


def die_with_parent(parent: int, pdeathsig: bool) -> None:
    """Pool-worker initializer: never outlive the conversion process, even when it is SIGKILLed (no cleanup runs).

    On Linux the kernel sends SIGKILL when the parent dies (PR_SET_PDEATHSIG; only requested when the pool is
    created from the main thread, since the signal fires when the creating *thread* exits). Everywhere, a daemon
    thread also exits the worker as soon as it is reparented. A killed worker leaves only temporary files, which
    the next run removes.
    """
    if pdeathsig and sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request above took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), name="parent-watchdog", daemon=True).start()


def _init_worker(parent: int, pdeathsig: bool, sink: object | None) -> None:
    die_with_parent(parent, pdeathsig)
    set_worker_sink(sink)


class ProcessPoolExecutorBackend:
    """A local pool of spawned worker processes (spawn: safe beside threads and torch)."""

    def __init__(self, workers: int, max_in_flight: int | None = None) -> None:
        self.workers = workers
        self.max_in_flight = max_in_flight or 2 * workers

    def map(self, fn: PartitionFn, tasks: Iterable[PartitionTask], progress: Progress | None = None
            ) -> Iterator[PartitionResult]:
        ctx = multiprocessing.get_context("spawn")
        on_main = threading.current_thread() is threading.main_thread()
        queue = ctx.Queue() if progress is not None else None  # inherited by the workers at start
        drain = QueueDrain(queue, progress) if progress is not None else contextlib.nullcontext()
        with drain, ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker,
                                        initargs=(os.getpid(), on_main, queue)) as pool:
            pending: set[Future[PartitionResult]] = set()
            for task in tasks:
                pending.add(pool.submit(fn, task))
                if len(pending) >= self.max_in_flight:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        yield fut.result()
            for fut in pending:
                yield fut.result()


def make_executor(name: str, workers: int, address: str | None = None) -> Executor:
    """``local`` (a process pool, or in-process for one worker) or ``ray``."""
    if name == "local":
        return InProcessExecutor() if workers <= 1 else ProcessPoolExecutorBackend(workers)
    if name == "ray":
        from onellm_data.pipeline.ray_executor import RayExecutor

        return RayExecutor(address=address, workers=workers)
    raise ValueError(f"unknown executor {name!r} (choose local or ray)")
