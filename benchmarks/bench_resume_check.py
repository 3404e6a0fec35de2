"""What checking committed shards' sha256 on resume costs, against converting them in the first place (same run).

A rerun over a finished corpus enumerates the records again (dedup needs the whole stream), finds every partition
committed and hashes each committed shard before trusting it. Image captions from local 320×240 JPEGs.

    python benchmarks/bench_resume_check.py [--samples 1000]
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from onellm_data.converters import make_converter
from onellm_data.pipeline import ShardSettings, run_conversion
from onellm_data.shards.atomic import file_sha256

SETTINGS = ShardSettings(max_count=1000, partition_size=1000)


def write_raw(raw: Path, n: int) -> None:
    (raw / "media").mkdir(parents=True)
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    lines = []
    for i in range(n):
        buf = io.BytesIO()
        Image.fromarray(np.roll(base, i, axis=1)).save(buf, format="JPEG", quality=90)
        (raw / "media" / f"{i}.jpg").write_bytes(buf.getvalue())
        lines.append({"id": f"i{i}", "modality": "image", "media": {"jpg": f"media/{i}.jpg"},
                      "conversations": [{"from": "human", "value": "<image>\nWhat is shown?"},
                                        {"from": "gpt", "value": f"pattern {i}"}]})
    (raw / "samples.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        raw, corpus = Path(tmp) / "raw", Path(tmp) / "corpus"
        write_raw(raw, args.samples)
        convert = timed(lambda: run_conversion(make_converter("jsonl", raw, source="bench"), corpus, SETTINGS))
        resume = timed(lambda: run_conversion(make_converter("jsonl", raw, source="bench"), corpus, SETTINGS))
        shards = sorted(corpus.glob("*/bench/*.tar"))
        size = sum(p.stat().st_size for p in shards)
        hashing = timed(lambda: [file_sha256(p) for p in shards])
    mb = size / 1e6
    print(f"{args.samples} samples, {len(shards)} shards, {mb:.0f} MB")
    print("| step | seconds | MB/s | ÷ conversion |")
    print("|---|---:|---:|---:|")
    for name, seconds in (("first conversion", convert), ("rerun, all committed (sha256 checked)", resume),
                          ("of which: sha256 of every committed shard", hashing)):
        print(f"| {name} | {seconds:.2f} | {mb / seconds:,.1f} | {seconds / convert:.3f} |")


if __name__ == "__main__":
    main()
