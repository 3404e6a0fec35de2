"""SIGKILL of the main conversion process must not leave its pool workers running."""

import os
import signal
import time
from pathlib import Path

import pytest

from tests.pipeline.killable import start, tmp_tar_exists, wait_for


def children(pid: int) -> set[int]:
    """Direct children of ``pid``, from /proc (Linux)."""
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            out.add(int(stat.parent.name))
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its reaping (by init) is pending


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux) to list the process tree")
def test_pool_workers_exit_with_a_killed_parent(jsonl_raw, tmp_path):
    raw, _ = jsonl_raw
    main = start(raw, tmp_path / "c", slow=0.5, workers=2)
    try:
        wait_for(main, tmp_path / "c", tmp_tar_exists)  # a worker is mid-partition
        workers = children(main.pid)
        assert len(workers) >= 2
    finally:
        main.send_signal(signal.SIGKILL)
        main.wait()
    deadline = time.monotonic() + 60  # guards a hang only: the kernel signals the workers at once
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [pid for pid in workers if alive(pid)]
    for pid in left:  # never leak processes from the test itself
        os.kill(pid, signal.SIGKILL)
    assert not left, f"pool workers {left} outlived the killed conversion process"
