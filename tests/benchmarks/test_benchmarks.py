"""Every benchmark is runnable alone (``make bench`` runs them all): each answers ``--help``, and the quick ones
run end to end at a tiny size and print their comparison against the baseline measured in the same run.

The numbers are not checked (they are measurements, on a noisy machine); what is checked is that a benchmark has
not rotted: a schema change that a benchmark's generator missed, an import that moved, a renamed function.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = sorted((ROOT / "benchmarks").glob("bench_*.py"))

# Each at a size that runs in seconds. Left out (minutes even at their smallest: they build the whole sample
# corpus, or time a deliberately slow baseline): bench_train, bench_verify_decode, bench_codecs,
# bench_alignment_scale.
TINY = {
    "bench_storage.py": ["--no-real"],
    "bench_writer.py": ["--samples", "200", "--per-shard", "50", "--repeats", "1"],
    "bench_codec_sides.py": ["--repeats", "1", "--only", "imu,fmri"],
    "bench_resume_check.py": ["--samples", "20"],
    "bench_stream_json.py": ["--items", "2000"],
    "bench_stats.py": ["--rows", "5000"],
    "bench_quality_dedup.py": ["--rows", "2000"],
    "bench_loader.py": ["--images", "20", "--batches", "4", "--workers", "1"],
    "bench_model.py": ["--batch", "1", "--seq", "8", "--repeats", "1"],
    "bench_point_fps.py": ["--repeats", "1"],
    "bench_executors.py": ["--images", "16", "--cores", "1"],
}
# Every benchmark compares with its baseline: "1.23x" / "1.23×" figures, or a "÷" (ours ÷ baseline) column.
RATIO = re.compile(r"\d\s*[x×]|÷")


def _run(script: Path, args: list[str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(script), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_there_are_benchmarks_and_the_tiny_list_names_real_ones():
    names = {p.name for p in BENCHMARKS}
    assert len(names) >= 10 and set(TINY) <= names


# One child process asks every benchmark for --help (one torch import, not one per script).
HELP_ALL = """
import contextlib, io, json, runpy, sys
out = {}
for path in sys.argv[1:]:
    sys.argv = [path, "--help"]
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            runpy.run_path(path, run_name="__main__")
        code = "ran without --help"
    except SystemExit as exc:
        code = exc.code or 0
    except Exception as exc:
        code = f"{type(exc).__name__}: {exc}"
    out[path] = [code, buf.getvalue()[:200]]
print(json.dumps(out))
"""


def test_each_benchmark_answers_help():
    import json

    done = subprocess.run([sys.executable, "-c", HELP_ALL, *map(str, BENCHMARKS)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    answers = json.loads(done.stdout.splitlines()[-1])
    bad = {Path(p).name: a for p, a in answers.items() if a[0] != 0 or not a[1].startswith("usage:")}
    assert not bad and len(answers) == len(BENCHMARKS)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TINY))
def test_quick_benchmarks_run_at_a_tiny_size(name: str):
    done = _run(ROOT / "benchmarks" / name, TINY[name], timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert RATIO.search(done.stdout), done.stdout[-2000:]
