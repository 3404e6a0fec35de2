"""One progress display for long jobs (convert, verify, verify --decode, rebuild): counts, rate and ETA.

Workers anywhere (this process, a process pool, Ray tasks) send count deltas; a background thread redraws at
least every second. On a terminal it is one live line (rich); otherwise it writes a plain log line each second
the counts change, and a final line, so CI logs and ``nohup`` files stay readable.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from typing import TextIO


@dataclass
class Counts:
    records: int = 0  # inputs read (records for convert, shards or samples for verify)
    samples: int = 0  # outputs written / checked
    rejects: int = 0  # rejected inputs / problems found


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


class Progress:
    """Thread-safe counters with a periodic display. Use as a context manager; ``advance`` from any thread."""

    def __init__(self, label: str, total: int | None = None, unit: str = "records", *, stream: TextIO | None = None,
                 interval: float = 1.0, plain: bool | None = None, words: tuple[str, str] = ("samples", "rejects")):
        self.label, self.total, self.unit, self.words = label, total, unit, words
        self.stream = stream or sys.stderr
        self.interval = interval
        self.plain = (not sys.stdout.isatty()) if plain is None else plain
        self.counts = Counts()
        self.final = True  # False while ``total`` only counts what has been read so far
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._live = None
        self._last_line: str | None = None
        self._start = time.monotonic()

    # -- counting -----------------------------------------------------------------------------------------------
    def advance(self, records: int = 0, samples: int = 0, rejects: int = 0) -> None:
        with self._lock:
            self.counts.records += records
            self.counts.samples += samples
            self.counts.rejects += rejects

    def set_total(self, total: int | None, final: bool = True) -> None:
        """``final=False``: inputs read so far (shown as ``n+``, no ETA) while the input's length is unknown."""
        self.total, self.final = total, final

    # -- display ------------------------------------------------------------------------------------------------
    def line(self) -> str:
        """``label: 1,200/5,000 records, 1,150 samples, 50 rejects, 812.3 records/s, ETA 00:05``."""
        with self._lock:
            c = Counts(self.counts.records, self.counts.samples, self.counts.rejects)
        elapsed = max(time.monotonic() - self._start, 1e-9)
        rate = c.records / elapsed
        done = f"{c.records:,}/{self.total:,}{'' if self.final else '+'}" if self.total else f"{c.records:,}"
        eta = ""
        if self.total and self.final and rate > 0 and c.records < self.total:
            eta = f", ETA {_duration((self.total - c.records) / rate)}"
        return (f"{self.label}: {done} {self.unit}, {c.samples:,} {self.words[0]}, {c.rejects:,} {self.words[1]}, "
                f"{rate:,.1f} {self.unit}/s, {_duration(elapsed)} elapsed{eta}")

    def _draw(self, final: bool = False) -> None:
        text = self.line()
        if self._live is not None:
            self._live.update(text)
            return
        # Plain mode: one line per interval when something changed (the rate alone changing is not news).
        key = text.split(", ")[:3]
        if final or key != self._last_line:
            print(text, file=self.stream, flush=True)
            self._last_line = key

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._draw()

    def __enter__(self) -> Progress:
        self._start = time.monotonic()
        if not self.plain:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(self.line(), console=Console(file=self.stream), refresh_per_second=4, transient=False)
            self._live.start()
        self._thread = threading.Thread(target=self._run, name=f"progress-{self.label}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._live is not None:
            self._live.update(self.line())
            self._live.stop()
        else:
            self._draw(final=True)


class NullProgress(Progress):
    """Counts without displaying anything (library calls, tests)."""

    def __init__(self) -> None:
        super().__init__("", plain=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class DirectSink:
    """A sink for work running in this process: deltas go straight to the display."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def put(self, delta: tuple[int, int, int]) -> None:
        self.progress.advance(*delta)


class QueueDrain:
    """Feeds ``progress`` from a queue that workers in other processes (or Ray tasks) put deltas into."""

    def __init__(self, queue: object, progress: Progress) -> None:
        self.queue, self.progress = queue, progress
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="progress-drain", daemon=True)

    def _run(self) -> None:
        # get_nowait + sleep, not get(timeout): Ray's queue actor cancels a timed-out get with asyncio.wait_for,
        # which can drop an item that arrives just then. Final counts never travel here (``Reporter.close``
        # returns them with the result), so a delta still in flight at stop only delays the display.
        while True:
            stopping = self._stop.is_set()  # read before the poll: a delta put before stop is still drained
            try:
                delta = self.queue.get_nowait()  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001 - queue.Empty (stdlib) or ray.util.queue.Empty: nothing yet
                if stopping:
                    return
                time.sleep(0.1)
                continue
            self.progress.advance(*delta)

    def __enter__(self) -> QueueDrain:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()  # the thread exits once the queue is empty: every delta put before is counted
        self._thread.join()


class Reporter:
    """Used inside a unit of work (a partition): takes running totals, sends deltas to ``sink`` at most every
    ``interval`` seconds and the rest on ``close``, so the display moves within a partition, not per partition."""

    def __init__(self, sink: object | None, interval: float = 0.5) -> None:
        self.sink, self.interval = sink, interval
        self.sent = (0, 0, 0)
        self._last = time.monotonic()

    def update(self, records: int, samples: int, rejects: int, force: bool = False) -> None:
        if self.sink is None:
            return
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        delta = (records - self.sent[0], samples - self.sent[1], rejects - self.sent[2])
        if any(delta):
            self.sink.put(delta)  # type: ignore[attr-defined]
            self.sent = (records, samples, rejects)
        self._last = now

    def close(self, records: int, samples: int, rejects: int) -> tuple[int, int, int]:
        """The counts not yet sent, marked sent: the caller returns them with its result (no sink to flush)."""
        delta = (records - self.sent[0], samples - self.sent[1], rejects - self.sent[2])
        self.sent = (records, samples, rejects)
        return delta


_WORKER_SINK: object | None = None  # where this process's units of work report (set per executor)


def set_worker_sink(sink: object | None) -> object | None:
    """Set this process's sink (an executor does it for its workers); returns the previous one."""
    global _WORKER_SINK
    previous, _WORKER_SINK = _WORKER_SINK, sink
    return previous


def worker_sink() -> object | None:
    return _WORKER_SINK
