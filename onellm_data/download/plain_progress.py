"""Download progress as plain log lines, for when stderr is not a terminal (CI logs, ``nohup``, ``| tee``).

rich's bars draw nothing until the end off a terminal, so an hour-long download would look hung. This has the
subset of ``rich.progress.Progress`` that the fetcher uses (``add_task``, ``update``, context manager) and writes,
per file: a line when it starts, one at most every ``interval`` seconds while bytes arrive, and its outcome.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field

from rich.console import Console
from rich.filesize import decimal

INTERVAL_S = 10.0
_MARKUP = re.compile(r"\[/?[a-z ]+\]")  # the colour tags of the outcome descriptions


@dataclass
class _Task:
    description: str
    total: int | None
    completed: int = 0
    started: float = field(default_factory=time.monotonic)
    shown: float = float("-inf")  # when its last line was written: the first bytes always give one


class PlainProgress:
    """Thread-safe: the fetcher's worker threads update their own tasks."""

    def __init__(self, console: Console, interval: float | None = None) -> None:
        self.console, self.interval = console, INTERVAL_S if interval is None else interval
        self.tasks: dict[int, _Task] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, description: str, total: int | None = None) -> int:
        with self._lock:
            task_id = len(self.tasks)
            self.tasks[task_id] = _Task(description, total)
        return task_id

    def update(self, task_id: int, *, completed: int | None = None, total: int | None = None,
               description: str | None = None) -> None:
        with self._lock:
            task = self.tasks[task_id]
            if total is not None:
                task.total = total
            if description is not None:  # an outcome (✓, ✗, ?): always written
                task.description = description
                self._write(f"{_MARKUP.sub('', description)}: {self._amount(task)}")
                return
            if completed is None:
                return
            task.completed = completed
            now = time.monotonic()
            if now - task.shown >= self.interval:
                task.shown = now
                self._write(f"{task.description}: {self._amount(task)}")

    def _amount(self, task: _Task) -> str:
        share = f" ({task.completed / task.total:.0%})" if task.total else ""
        of = f" of {decimal(task.total)}{share}" if task.total else ""
        rate = task.completed / max(time.monotonic() - task.started, 1e-9)
        return f"{decimal(task.completed)}{of}, {decimal(int(rate))}/s"

    def _write(self, line: str) -> None:
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)
