"""Duplicate grouping over a 2M-sample hashes table: ``quality.dedup.find_duplicates`` against a naive baseline.

The table has the layout of ``CORPUS/quality/hashes.parquet`` (generated: no media is decoded): per sample a
32-byte exact digest and a 64-bit perceptual hash, spread over 8 sources and 3 modalities; 2% of the rows are
byte copies of another row and 2% near copies (1-3 bits flipped). Each method runs in its own subprocess, reading
the Parquet file, so its time and peak RSS (above the interpreter's after imports) are its own:

- ``ours``: numpy sorted-prefix exact groups, multi-index hashing over 4 bands for distance <= 3, connected
  components, pandas exclusion rule (the command's code path);
- ``naive``: a Python dict of digests for exact copies, and for near copies the usual band buckets (dict of
  lists per 16-bit band) with a Python popcount per candidate pair, then a Python union-find.

Both must find the same near pairs; the table shows rows, seconds, peak MB and the ratios.

    python benchmarks/bench_quality_dedup.py [--rows 2000000] [--baseline-rows 2000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_table(rows: int, path: Path, seed: int = 0) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    exact = rng.integers(0, 256, (rows, 32), dtype=np.uint8)
    near = rng.integers(0, 2**63, rows, dtype=np.int64).astype(np.uint64) * np.uint64(2) + rng.integers(0, 2, rows
                                                                                                       ).astype(np.uint64)
    k = rows // 50
    src, dst = rng.choice(rows, k, replace=False), rng.choice(rows, k, replace=False)
    exact[dst], near[dst] = exact[src], near[src]  # byte copies
    src2, dst2 = rng.choice(rows, k, replace=False), rng.choice(rows, k, replace=False)
    flips = np.zeros(k, np.uint64)
    for b in range(3):
        bit = rng.integers(0, 64, k).astype(np.uint64)
        flips |= np.where(rng.random(k) < (0.9 if b == 0 else 0.5), np.uint64(1) << bit, np.uint64(0))
    near[dst2] = near[src2] ^ flips  # near copies (recompressed / resized media)
    exact[dst2, 0] ^= 0xFF
    modality = np.array(["image", "video", "audio"])[rng.integers(0, 3, rows)]
    modality[dst], modality[dst2] = modality[src], modality[src2]  # a copy has its original's modality
    table = pa.table({
        "key": pa.array([f"s{i % 8}-{i:09d}" for i in range(rows)]),
        "source": pa.array([f"source{i % 8}" for i in range(rows)]).dictionary_encode(),
        "source_id": pa.array([f"{i:09d}" for i in range(rows)]),
        "modality": pa.array(modality).dictionary_encode(),
        "task": pa.array(np.where(rng.random(rows) < 0.5, "caption", "instruct")).dictionary_encode(),
        "exact": pa.FixedSizeBinaryArray.from_buffers(pa.binary(32), rows, [None, pa.py_buffer(exact.tobytes())]),
        "near": pa.array(near, pa.uint64()),
        "conversation": pa.array(rng.integers(-2**63, 2**63 - 1, rows, dtype=np.int64)),
    })
    pq.write_table(table, path, compression="zstd")


def run_ours(path: Path, max_distance: int) -> dict:
    import pyarrow.parquet as pq

    from onellm_data.quality.dedup import find_duplicates

    result = find_duplicates(pq.read_table(path), max_distance)
    m = result.members
    return {"groups": result.groups, "grouped": len(m), "excluded": len(result.excluded)}


def run_naive(path: Path, max_distance: int) -> dict:
    import pyarrow.parquet as pq

    t = pq.read_table(path, columns=["modality", "exact", "near"]).to_pydict()
    parent = list(range(len(t["near"])))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    seen: dict[tuple[str, bytes], int] = {}
    for i, (m, d) in enumerate(zip(t["modality"], t["exact"])):
        j = seen.setdefault((m, d), i)
        if j != i:
            union(i, j)
    width = 64 // (max_distance + 1)
    for band in range(max_distance + 1):
        shift, mask = band * width, (1 << width) - 1
        buckets: dict[tuple[str, int], list[int]] = {}
        for i, (m, h) in enumerate(zip(t["modality"], t["near"])):
            buckets.setdefault((m, (h >> shift) & mask), []).append(i)
        for members in buckets.values():
            for a in range(len(members)):
                ha = t["near"][members[a]]
                for b in range(a + 1, len(members)):
                    if (ha ^ t["near"][members[b]]).bit_count() <= max_distance:
                        union(members[a], members[b])
    roots: dict[int, int] = {}
    for i in range(len(parent)):
        r = find(i)
        roots[r] = roots.get(r, 0) + 1
    grouped = sum(n for n in roots.values() if n > 1)
    return {"groups": sum(1 for n in roots.values() if n > 1), "grouped": grouped, "excluded": None}


def child(method: str, path: Path, max_distance: int) -> None:
    import pandas  # noqa: F401 - imported before the baseline RSS, as both methods use pyarrow/pandas
    import pyarrow.parquet  # noqa: F401
    import scipy.sparse  # noqa: F401

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    out = (run_ours if method == "ours" else run_naive)(path, max_distance)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({**out, "seconds": seconds, "peak_mb": (peak - base) / 1024}))


def measure(method: str, path: Path, max_distance: int) -> dict:
    run = subprocess.run([sys.executable, __file__, "--child", method, str(path), str(max_distance)],
                         capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[1])
    return json.loads(run.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--baseline-rows", type=int, default=None, help="rows for the naive baseline (default: --rows)")
    ap.add_argument("--max-distance", type=int, default=3)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        child(args.child[0], Path(args.child[1]), int(args.child[2]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        results = []
        for method, rows in (("ours", args.rows), ("naive", args.baseline_rows or args.rows)):
            path = Path(tmp) / f"hashes_{rows}.parquet"
            if not path.exists():
                make_table(rows, path)
            results.append((method, rows, measure(method, path, args.max_distance)))
    print(f"| method | rows | groups | grouped rows | seconds | peak MB |\n|---|---:|---:|---:|---:|---:|")
    for method, rows, r in results:
        print(f"| {method} | {rows:,} | {r['groups']:,} | {r['grouped']:,} | {r['seconds']:.1f} | {r['peak_mb']:.0f} |")
    (_, rows_a, a), (_, rows_b, b) = results
    if rows_a == rows_b:
        print(f"\nnaive/ours: {b['seconds'] / a['seconds']:.1f}× time, {b['peak_mb'] / a['peak_mb']:.1f}× memory; "
              f"same grouped rows: {a['grouped'] == b['grouped']}")


if __name__ == "__main__":
    main()
