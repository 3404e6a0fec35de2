"""Shard-writer throughput: our writer (atomic commit, sha256, Parquet index) vs tarfile vs webdataset.ShardWriter.

Packs N samples of ~20 KB JPEG + JSON with each writer in the same run and prints a markdown table with
ratios to the baselines. Run: ``.venv/bin/python benchmarks/bench_writer.py [--samples 20000]``.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import webdataset as wds
from PIL import Image

from onellm_data.pipeline import ShardSettings, run_conversion
from onellm_data.converters.base import Converter
from onellm_data.schema import Sample, make_key


def make_jpegs(n: int = 64, target: int = 20_000) -> list[bytes]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        base = rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)
        img = Image.fromarray(base).resize((224, 168), Image.BICUBIC)
        arr = np.asarray(img).astype(np.int16) + rng.integers(-40, 40, (168, 224, 3))
        buf = io.BytesIO()
        Image.fromarray(arr.clip(0, 255).astype(np.uint8)).save(buf, format="JPEG", quality=80)
        out.append(buf.getvalue())
    return out


class MemoryConverter(Converter):
    """Samples from memory, so the benchmark measures packing, not media decoding."""

    name: ClassVar[str] = "bench"
    modalities: ClassVar[tuple[str, ...]] = ("image",)

    def __init__(self, n: int, jpegs: list[bytes]) -> None:
        super().__init__(".")
        self.n, self.jpegs = n, jpegs

    def records(self) -> Iterator[dict[str, Any]]:
        for i in range(self.n):
            yield {"source_id": str(i)}

    def convert(self, record: dict[str, Any]) -> Sample:
        i = int(record["source_id"])
        conv = [{"from": "human", "value": "<image>\nDescribe the image."}, {"from": "gpt", "value": f"image {i}"}]
        return Sample(make_key("bench", record["source_id"]), "bench", "image", conv, record["source_id"],
                      {"jpg": self.jpegs[i % len(self.jpegs)]}, {"width": 160, "height": 120})


def samples(n: int, jpegs: list[bytes]) -> list[tuple[str, bytes, bytes]]:
    conv = MemoryConverter(n, jpegs)
    return [(s.key, s.json_bytes(), s.media["jpg"]) for s in (conv.convert(r) for r in conv.records())]


def bench_ours(out: Path, n: int, jpegs: list[bytes], per_shard: int) -> None:
    run_conversion(MemoryConverter(n, jpegs), out, ShardSettings(max_count=per_shard, partition_size=per_shard))


def bench_tarfile(out: Path, items: list[tuple[str, bytes, bytes]], per_shard: int) -> None:
    out.mkdir(parents=True)
    for start in range(0, len(items), per_shard):
        with tarfile.open(out / f"{start // per_shard:06d}.tar", "w") as tf:
            for key, js, jpg in items[start : start + per_shard]:
                for name, data in ((f"{key}.json", js), (f"{key}.jpg", jpg)):
                    info = tarfile.TarInfo(name)
                    info.size = len(data)
                    tf.addfile(info, io.BytesIO(data))


def bench_shardwriter(out: Path, items: list[tuple[str, bytes, bytes]], per_shard: int) -> None:
    out.mkdir(parents=True)
    with wds.ShardWriter(str(out / "%06d.tar"), maxcount=per_shard, verbose=0) as sink:
        for key, js, jpg in items:
            sink.write({"__key__": key, "json": js, "jpg": jpg})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--per-shard", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    jpegs = make_jpegs()
    items = samples(args.samples, jpegs)
    total_mb = sum(len(j) + len(p) for _, j, p in items) / 1e6
    runs = {
        "onellm-data writer (atomic, sha256, index)": lambda d: bench_ours(d, args.samples, jpegs, args.per_shard),
        "tarfile": lambda d: bench_tarfile(d, items, args.per_shard),
        "webdataset.ShardWriter": lambda d: bench_shardwriter(d, items, args.per_shard),
    }
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        for rep in range(args.repeats):  # interleaved repeats: fair under machine noise
            for name, fn in runs.items():
                out = Path(tmp) / f"{rep}-{len(best)}-{name.split()[0]}"
                t0 = time.perf_counter()
                fn(out)
                best[name] = min(best.get(name, float("inf")), time.perf_counter() - t0)
                shutil.rmtree(out)
    ours = best["onellm-data writer (atomic, sha256, index)"]
    print(f"\n{args.samples} samples, {total_mb / args.samples * 1000:.1f} KB each, {total_mb:.0f} MB; best of {args.repeats}\n")
    print("| writer | samples/s | MB/s | ours ÷ this |")
    print("|---|---:|---:|---:|")
    for name, sec in best.items():
        print(f"| {name} | {args.samples / sec:,.0f} | {total_mb / sec:,.0f} | {sec / ours:.2f}× |")
    print(json.dumps({k: round(v, 3) for k, v in best.items()}))


if __name__ == "__main__":
    main()
