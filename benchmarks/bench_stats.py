"""Stats computation on a generated 2,000,000-row index: wall time and peak RSS, ours vs a naive pandas baseline.

The index (samples/shards/rejects, every column of the real schema with realistic values per modality) is
written in chunks, then each variant runs in a fresh subprocess pinned to 2 cores so its peak RSS is its own.
Goals: under 60 s and under 4 GB. Run: ``.venv/bin/python benchmarks/bench_stats.py [--rows 2000000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from onellm_data.index import SCHEMAS, index_dir

GOAL_S, GOAL_GB = 60.0, 4.0
CHUNK = 200_000
# (source, modality, share of rows)
SOURCES = [("llava_mix665k", "image", 0.20), ("laion", "image", 0.15), ("cc3m", "image", 0.10),
           ("coco_captions", "image", 0.05), ("webvid", "video", 0.10), ("msrvtt_qa", "video", 0.04),
           ("wavcaps", "audio", 0.08), ("audiocaps", "audio", 0.04), ("cap3d", "point", 0.06),
           ("pointllm_instruct", "point", 0.02), ("cc3m_depth", "depth", 0.04), ("cc3m_normal", "normal", 0.04),
           ("ego4d_imu_align", "imu", 0.03), ("ego4d_imu", "imu", 0.01), ("nsd_fmri_align", "fmri", 0.02),
           ("nsd_fmri", "fmri", 0.01), ("sharegpt", "text", 0.01)]
EXT = {"image": "jpg", "depth": "depth.png", "normal": "normal.png", "video": "mp4", "audio": "flac", "point": "npy",
       "imu": "npy", "fmri": "npy", "text": None}


def _chunk(rng: np.random.Generator, start: int, n: int) -> pa.Table:
    shares = np.array([s for _, _, s in SOURCES])
    which = rng.choice(len(SOURCES), n, p=shares / shares.sum())
    source = np.array([s for s, _, _ in SOURCES], dtype=object)[which]
    modality = np.array([m for _, m, _ in SOURCES], dtype=object)[which]
    idx = np.arange(start, start + n)
    keys = np.char.add(source.astype(str), np.char.mod("-%09d", idx)).astype(object)
    json_bytes = rng.integers(150, 2_000, n)
    media_bytes = rng.lognormal(11, 1.2, n).astype(np.int64)
    is_text = modality == "text"
    media_bytes[is_text] = 0
    members = pa.ListArray.from_arrays(
        pa.array(np.concatenate([[0], np.cumsum(np.where(is_text, 1, 2))]).astype(np.int32)),
        pa.array(np.concatenate([["json", EXT[m]] if EXT[m] else ["json"] for m in modality]).tolist()))
    sizes = np.stack([json_bytes, media_bytes], 1).ravel()[np.repeat(~is_text, 2) | np.tile([True, False], n)]
    member_bytes = pa.ListArray.from_arrays(members.offsets, pa.array(sizes, pa.int64()))
    turns = rng.choice([2, 2, 2, 4, 6, 8, 12], n)
    text_tokens = (rng.gamma(2.0, 60, n) * turns / 2).astype(np.int32) + 5
    answer_tokens = (text_tokens * rng.uniform(0.3, 0.8, n)).astype(np.int32)

    def only(mods: tuple[str, ...], values: np.ndarray, typ: pa.DataType) -> pa.Array:
        return pa.array(values, typ, mask=~np.isin(modality, mods))

    vis = ("image", "depth", "normal", "video")
    cols = {
        "key": pa.array(keys, pa.string()), "source_id": pa.array(np.char.mod("%d", idx).astype(object), pa.string()),
        "source": pa.array(source, pa.string()), "modality": pa.array(modality, pa.string()),
        "shard": pa.array((modality + "/" + source + "/" + source + np.char.mod("-%06d.tar", idx // 1000).astype(object)),
                          pa.string()),
        "partition": pa.array(idx // 10_000, pa.int32()), "tar_offset": pa.array((idx % 1000) * 40_960, pa.int64()),
        "stored_key": pa.array(keys, pa.string()), "conversation": pa.array(np.zeros(n, np.int16), pa.int16()),
        "members": members, "member_bytes": member_bytes, "bytes": pa.array(json_bytes + media_bytes, pa.int64()),
        "turns": pa.array(turns, pa.int16()), "text_chars": pa.array(text_tokens * 4, pa.int32()),
        "answer_chars": pa.array(answer_tokens * 4, pa.int32()), "text_tokens": pa.array(text_tokens, pa.int32()),
        "answer_tokens": pa.array(answer_tokens, pa.int32()),
        "width": only(vis, rng.choice([224, 320, 512, 640, 1024], n), pa.int32()),
        "height": only(vis, rng.choice([224, 240, 480, 768], n), pa.int32()),
        "duration": only(("video", "audio"), rng.gamma(2, 6, n), pa.float64()),
        "fps": only(("video",), rng.choice([24.0, 25.0, 29.97, 30.0], n), pa.float64()),
        "num_frames": only(("video",), rng.integers(50, 2000, n), pa.int32()),
        "sample_rate": only(("audio",), rng.choice([16000, 32000, 44100, 48000], n), pa.int32()),
        "channels": only(("audio",), rng.choice([1, 2], n), pa.int16()),
        "num_points": only(("point",), rng.integers(2_000, 200_000, n), pa.int32()),
        "has_color": only(("point",), rng.random(n) < 0.7, pa.bool_()),
        "imu_rate": only(("imu",), np.full(n, 200.0), pa.float64()),
        "imu_span": only(("imu",), np.minimum(2.0, rng.uniform(1.0, 2.4, n)), pa.float64()),
        "window_start": only(("imu",), rng.uniform(0, 300, n), pa.float64()),
        "fmri_reps": only(("fmri",), rng.choice([1, 2, 3], n), pa.int16()),
        "fmri_voxels": only(("fmri",), np.full(n, 15724), pa.int32()),
        "map_resized": only(("depth", "normal"), rng.random(n) < 0.1, pa.bool_()),
        "meta_json": pa.array(np.where(rng.random(n) < 0.3, '{"task":"caption","url":"https://x/y.jpg"}', None),
                              pa.string()),
    }
    cols["window_end"] = pa.array(np.asarray(cols["window_start"].to_numpy(zero_copy_only=False)) + 2.0,
                                  pa.float64(), mask=~np.isin(modality, ("imu",)))
    schema = SCHEMAS["samples"]
    return pa.Table.from_arrays([cols[f.name] for f in schema], schema=schema)


def generate(corpus: Path, rows: int) -> None:
    rng = np.random.default_rng(0)
    out = index_dir(corpus)
    out.mkdir(parents=True, exist_ok=True)
    shard_counts: dict[tuple[str, str, str], list[int]] = {}
    with pq.ParquetWriter(out / "samples.parquet", SCHEMAS["samples"], compression="zstd") as writer:
        for start in range(0, rows, CHUNK):
            table = _chunk(rng, start, min(CHUNK, rows - start))
            writer.write_table(table)
            grouped = table.group_by(["shard", "source", "modality"]).aggregate([("bytes", "sum"), ("key", "count")])
            for s, src, m, b, c in zip(*(grouped.column(i).to_pylist() for i in range(5))):
                acc = shard_counts.setdefault((s, src, m), [0, 0])
                acc[0] += c
                acc[1] += b + 1024 * c
    keys = sorted(shard_counts)
    shards = pa.table({"shard": [k[0] for k in keys], "source": [k[1] for k in keys], "modality": [k[2] for k in keys],
                       "partition": pa.array([0] * len(keys), pa.int32()),
                       "count": pa.array([shard_counts[k][0] for k in keys], pa.int64()),
                       "bytes": pa.array([shard_counts[k][1] for k in keys], pa.int64()),
                       "sha256": ["0" * 64] * len(keys)}, schema=SCHEMAS["shards"])
    pq.write_table(shards, out / "shards.parquet")
    n_rej = rows // 100
    reasons = np.array(["corrupt media", "missing media file", "too short", "roles out of order", "placeholder count"])
    rejects = pa.table({"source": rng.choice([s for s, _, _ in SOURCES], n_rej), "source_id": np.char.mod("r%d", np.arange(n_rej)),
                        "partition": pa.array(np.zeros(n_rej, np.int32)), "reason": rng.choice(reasons, n_rej),
                        "detail": [""] * n_rej}, schema=SCHEMAS["rejects"])
    pq.write_table(rejects, out / "rejects.parquet")


# Each variant runs as `python bench_stats.py --run VARIANT CORPUS` in a fresh process pinned to 2 cores.
def _run_ours(corpus: Path) -> None:
    from onellm_data.stats import compute_stats, validate
    stats = compute_stats(corpus)
    assert not validate(stats), "invalid stats"


def _run_naive(corpus: Path) -> None:
    """The obvious pandas approach: read every column of every table, then groupby/describe per modality."""
    import pandas as pd
    samples = pd.read_parquet(index_dir(corpus) / "samples.parquet")
    shards = pd.read_parquet(index_dir(corpus) / "shards.parquet")
    rejects = pd.read_parquet(index_dir(corpus) / "rejects.parquet")
    samples.groupby(["modality", "source"]).agg(items=("key", "size"), bytes=("bytes", "sum"),
                                                tokens=("text_tokens", "sum"))
    shards.groupby(["modality", "source"]).agg(shards=("shard", "size"), bytes=("bytes", "sum"))
    rejects.groupby(["source", "reason"]).size()
    fields = ["turns", "text_chars", "answer_chars", "text_tokens", "answer_tokens", "width", "height", "duration",
              "fps", "num_frames", "sample_rate", "channels", "num_points", "imu_rate", "imu_span", "fmri_reps"]
    samples.groupby("modality")[fields].describe(percentiles=[0.05, 0.25, 0.5, 0.75, 0.95])
    for field in fields:
        samples.groupby("modality")[field].apply(lambda s: np.histogram(s.dropna(), bins=24) if s.notna().any() else None)


def _child(variant: str, corpus: Path) -> None:
    import resource
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:2]))
    pa.set_cpu_count(2)
    pa.set_io_thread_count(2)
    t0 = time.perf_counter()
    {"ours": _run_ours, "naive": _run_naive}[variant](corpus)
    wall = time.perf_counter() - t0
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"wall_s": wall, "peak_rss_gb": rss_kb / 1024**2}))


def measure(variant: str, corpus: Path) -> dict[str, float]:
    env = {**os.environ, "OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2"}
    res = subprocess.run([sys.executable, __file__, "--run", variant, str(corpus)], capture_output=True, text=True,
                         env=env, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--run", nargs=2, metavar=("VARIANT", "CORPUS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        _child(args.run[0], Path(args.run[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp)
        t0 = time.perf_counter()
        generate(corpus, args.rows)
        size = (index_dir(corpus) / "samples.parquet").stat().st_size
        print(f"generated {args.rows:,} rows ({size / 1024**2:.0f} MiB samples.parquet) in "
              f"{time.perf_counter() - t0:.1f} s\n")
        ours, naive = measure("ours", corpus), measure("naive", corpus)
    print("| variant | wall (s) | peak RSS (GB) | time vs naive | memory vs naive | goal (<60 s, <4 GB) |")
    print("|---|---:|---:|---:|---:|---|")
    for name, r in (("onellm-data stats (needed columns)", ours), ("naive pandas (all columns)", naive)):
        ok = r["wall_s"] < GOAL_S and r["peak_rss_gb"] < GOAL_GB
        print(f"| {name} | {r['wall_s']:.1f} | {r['peak_rss_gb']:.2f} | {naive['wall_s'] / r['wall_s']:.2f}x faster "
              f"| {naive['peak_rss_gb'] / r['peak_rss_gb']:.2f}x less | {'met' if ok else 'MISSED'} |")


if __name__ == "__main__":
    main()
