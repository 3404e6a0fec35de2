"""Progress: counts from inside partitions on every executor, plain log lines off a terminal, rate and ETA."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from onellm_data.converters.jsonl import JsonlConverter
from onellm_data.pipeline import ShardSettings, run_conversion
from onellm_data.pipeline.executors import InProcessExecutor, ProcessPoolExecutorBackend
from onellm_data.progress import Counts, Progress
from onellm_data.verify import verify
from tests.conftest import write_jsonl_source
from tests.pipeline.slow_converter import SlowJsonlConverter

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = ShardSettings(max_count=4, partition_size=3)


class RecordingProgress(Progress):
    """Keeps every delta it receives (and draws nothing)."""

    def __init__(self) -> None:
        super().__init__("test", plain=True, stream=io.StringIO())
        self.deltas: list[tuple[int, int, int]] = []

    def advance(self, records: int = 0, samples: int = 0, rejects: int = 0) -> None:
        self.deltas.append((records, samples, rejects))
        super().advance(records, samples, rejects)


@pytest.fixture
def small_raw(tmp_path: Path) -> Path:
    write_jsonl_source(tmp_path / "raw", n_images=3, n_text=2, bad=False)
    return tmp_path / "raw"


def _convert(raw: Path, corpus: Path, executor) -> tuple[RecordingProgress, object]:
    progress = RecordingProgress()
    with progress:
        summary = run_conversion(SlowJsonlConverter(raw, source="demo"), corpus, SETTINGS, executor, progress=progress)
    return progress, summary


@pytest.mark.parametrize("executor", ["in_process", "pool"])
def test_workers_report_counts_within_a_partition(small_raw: Path, tmp_path: Path, executor: str) -> None:
    backend = InProcessExecutor() if executor == "in_process" else ProcessPoolExecutorBackend(2)
    progress, summary = _convert(small_raw, tmp_path / "c", backend)
    assert progress.counts == Counts(summary.records, summary.samples, sum(summary.rejects.values()))
    # Each record takes longer than the report interval, so single-record deltas arrive before partitions end.
    assert sum(1 for d in progress.deltas if d[0] == 1) >= 2


@pytest.mark.slow
def test_ray_tasks_report_counts_within_a_partition(small_raw: Path, tmp_path: Path) -> None:
    import ray  # heavy: imported by this slow test only
    from onellm_data.pipeline.ray_executor import RayExecutor

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        progress, summary = _convert(small_raw, tmp_path / "c", RayExecutor(workers=2))
    finally:
        ray.shutdown()
    assert progress.counts == Counts(summary.records, summary.samples, 0)
    assert sum(1 for d in progress.deltas if d[0] == 1) >= 2


def test_resumed_partitions_count_too(small_raw: Path, tmp_path: Path) -> None:
    _convert(small_raw, tmp_path / "c", InProcessExecutor())
    progress, summary = _convert(small_raw, tmp_path / "c", InProcessExecutor())
    assert summary.partitions_done == 0 and progress.counts == Counts(5, 5, 0)


def test_plain_line_has_counts_rate_and_eta() -> None:
    stream = io.StringIO()
    with Progress("verify", total=100, unit="samples", stream=stream, plain=True) as progress:
        progress.advance(25, 20, 5)
    last = stream.getvalue().strip().splitlines()[-1]
    assert last.startswith("verify: 25/100 samples, 20 samples, 5 rejects, ") and "samples/s" in last
    assert "ETA" in last
    unknown = Progress("convert", plain=True, stream=io.StringIO())
    unknown.set_total(30, final=False)
    unknown.advance(10)
    assert "10/30+ records" in unknown.line() and "ETA" not in unknown.line()


def test_cli_writes_plain_log_lines_when_not_a_terminal(small_raw: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "onellm_data.cli", "convert", "jsonl", "--raw", str(small_raw),
                             "--out", str(tmp_path / "c"), "--name", "demo", "-j", "1"],
                            env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("convert demo: ")]
    assert lines and "5/5 records, 5 samples, 0 rejects" in lines[-1]
    assert "\x1b[" not in result.stderr  # no terminal control codes in a log


def test_verify_reports_its_total_and_every_sample(small_raw: Path, tmp_path: Path) -> None:
    run_conversion(JsonlConverter(small_raw, source="demo"), tmp_path / "c", SETTINGS)
    progress = RecordingProgress()
    with progress:
        report = verify(tmp_path / "c", progress=progress)
    assert report.ok and progress.total == 5 and progress.counts == Counts(5, 5, 0)


@pytest.mark.slow  # three CLI processes: ~12 s
def test_cli_verify_rebuild_decode_and_build_write_plain_lines(small_raw: Path, tmp_path: Path) -> None:
    """Off a terminal every job of `verify --rebuild-index --decode` and of `build` logs its exact final counts."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def cli(*args: str) -> str:
        result = subprocess.run([sys.executable, "-m", "onellm_data.cli", *args], env=env, capture_output=True,
                                text=True, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "\x1b[" not in result.stderr
        return result.stderr

    run_conversion(JsonlConverter(small_raw, source="demo"), tmp_path / "c", SETTINGS)
    log = cli("verify", str(tmp_path / "c"), "--rebuild-index", "--decode", "-j", "1").splitlines()
    last = {label: [line for line in log if line.startswith(f"{label}: ")][-1] for label in ("rebuild", "verify",
                                                                                            "decode")}
    assert last["rebuild"].startswith("rebuild: 2/2 partitions, 5 samples, 0 problems, ")  # the total is known
    assert last["verify"].startswith("verify: 5/5 samples, 5 checked, 0 problems, ")
    assert last["decode"].startswith("decode: 5/5 samples, 5 decoded, 0 failures, ")
    log = cli("build", "--sources", "image_folder", "--sample", "--raw-root", "raw", "--out", "c2", "-j", "1")
    lines = [line for line in log.splitlines() if line.startswith("convert image_folder: ")]
    assert lines and lines[-1].startswith("convert image_folder: 6/6 records, 3 samples, 3 rejects, ")
