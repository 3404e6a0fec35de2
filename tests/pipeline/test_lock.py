"""One writer per source, checked with real processes: a second run is refused, a dead run's lock is taken over."""

import os
import re
import signal
import subprocess
import sys

import pytest

from onellm_data.converters import make_converter
from onellm_data.errors import CorpusError
from onellm_data.pipeline import ShardSettings, run_conversion
from onellm_data.pipeline.lock import source_lock
from onellm_data.shards.atomic import HOST
from onellm_data.verify import verify
from tests.pipeline.killable import ROOT, markers, start, tree_bytes, wait_for

SETTINGS = ShardSettings(max_count=4, max_bytes=1 << 20, partition_size=5)  # as tests.pipeline.killable


def cli(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "onellm_data.cli", *args], env=env, capture_output=True, text=True)


@pytest.mark.slow
def test_second_concurrent_run_is_refused_naming_the_first(jsonl_raw, tmp_path):
    raw, _ = jsonl_raw
    corpus = tmp_path / "c"
    hold = tmp_path / "hold"
    hold.touch()  # the first run commits partition 0, then waits: it holds the lock for as long as we need
    first = start(raw, corpus, hold=hold)
    try:
        wait_for(first, corpus, markers(1))
        second = cli("convert", "jsonl", "--raw", str(raw), "--out", str(corpus), "--name", "demo", "-j", "1",
                     "--max-count", "4", "--max-bytes", str(1 << 20), "--partition-size", "5")
        assert second.returncode == 2
        message = " ".join(second.stdout.split() + second.stderr.split())
        assert "already being converted" in message and f"pid {first.pid} on host {HOST}" in message
        assert first.poll() is None, "the refused run must not disturb the running one"
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    # The killed holder's lock is stale (its pid is dead): the next run takes it over and finishes the job.
    summary = run_conversion(make_converter("jsonl", raw, source="demo"), corpus, SETTINGS)
    run_conversion(make_converter("jsonl", raw, source="demo"), tmp_path / "ref", SETTINGS)
    assert summary.samples == 15 and verify(corpus).ok
    assert tree_bytes(corpus) == tree_bytes(tmp_path / "ref")


def test_lock_file_of_a_dead_process_is_taken_over(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock = tmp_path / "index/locks/demo.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text(f'{{"host": "{HOST}", "pid": {dead.pid}, "started": 0}}')
    with source_lock(tmp_path, "demo"):
        assert f'"pid": {os.getpid()}' in lock.read_text()
    assert lock.read_text() == ""


def test_partitioned_runs_share_a_source_but_exclude_a_whole_run(tmp_path):
    with source_lock(tmp_path, "demo", (0, 2)), source_lock(tmp_path, "demo", (1, 2)):
        with pytest.raises(CorpusError, match=r"already being converted .* \(partition 0/2\)"):
            with source_lock(tmp_path, "demo"):
                pass
        with pytest.raises(CorpusError, match="already being converted"):
            with source_lock(tmp_path, "demo", (1, 2)):
                pass
    with source_lock(tmp_path, "demo"):
        pass


def test_refusal_names_the_holders_pid_host_and_start_time(tmp_path):
    # flock conflicts between two open files even in one process: the held lock is this process's own.
    with source_lock(tmp_path, "demo"):
        with pytest.raises(CorpusError) as err:
            with source_lock(tmp_path, "demo"):
                pass
    message = str(err.value)
    assert re.search(rf"pid {os.getpid()} on host {re.escape(HOST)}, since \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC",
                     message), message
    assert str(tmp_path / "index/locks/demo.lock") in message
