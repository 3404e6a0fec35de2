"""A real conversion in a child process, slowed per record, that a test can SIGKILL at a chosen point."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

KILLABLE = textwrap.dedent(
    """
    import os, sys, time
    from onellm_data.pipeline import ShardSettings, run_conversion
    from onellm_data.pipeline.executors import make_executor
    from onellm_data.converters import make_converter
    from onellm_data.converters.jsonl import JsonlConverter

    slow, hold = float(sys.argv[3]), sys.argv[5]
    original = JsonlConverter.convert
    calls = [0]
    def convert(self, record):
        time.sleep(slow)
        calls[0] += 1
        while calls[0] > 5 and hold and os.path.exists(hold):  # past partition 0: wait while told to
            time.sleep(0.05)
        return original(self, record)
    JsonlConverter.convert = convert
    run_conversion(make_converter("jsonl", sys.argv[1], source="demo"), sys.argv[2],
                   ShardSettings(max_count=4, max_bytes=1 << 20, partition_size=5),
                   make_executor("local", int(sys.argv[4])))
    """
)


def start(raw: Path, corpus: Path, slow: float = 0.05, workers: int = 1, hold: Path | None = None
          ) -> subprocess.Popen:
    """``hold``: in-process runs stop before their 6th record (partition 1) for as long as that file exists."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", KILLABLE, str(raw), str(corpus), str(slow), str(workers),
                             str(hold or "")], env=env)


def wait_for(proc: subprocess.Popen, corpus: Path, condition: Callable[[Path], bool], timeout: float = 120.0) -> None:
    """Poll until ``condition(corpus)`` holds while ``proc`` still runs (the timeout only guards a hang)."""
    deadline = time.monotonic() + timeout
    while not condition(corpus):
        assert proc.poll() is None, "conversion finished before the kill point"
        assert time.monotonic() < deadline, "kill point never reached"
        time.sleep(0.005)


def run_until(raw: Path, corpus: Path, condition: Callable[[Path], bool], workers: int = 1) -> None:
    """Start a conversion and SIGKILL it as soon as ``condition(corpus)`` holds."""
    proc = start(raw, corpus, workers=workers)
    try:
        wait_for(proc, corpus, condition)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def markers(n: int) -> Callable[[Path], bool]:
    # Committed markers only: the temporary file written before the rename starts with a dot.
    return lambda corpus: len(list(corpus.glob("index/parts/demo/[0-9]*.commit.json"))) >= n


def tmp_tar_exists(corpus: Path) -> bool:
    return any(corpus.glob("*/demo/.tmp-*"))


def uncommitted_tar_exists(corpus: Path) -> bool:
    """A shard under its final name whose partition has no commit marker yet (a half-done partition)."""
    for tar in corpus.glob("*/demo/demo-*.tar"):
        partition = tar.name.split("-")[1]
        if not (corpus / f"index/parts/demo/{partition}.commit.json").exists():
            return True
    return False


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
