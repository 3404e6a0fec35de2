"""Peak memory and speed of streaming a mix665K-sized annotation JSON vs ``json.load``.

Generates a 665K-item ``llava_v1_5_mix665k.json`` (text items with LLaVA-like multi-turn conversations, so no
media are needed), then, each in a fresh process so peak RSS is its own:
- ours: ``LlavaMix665kConverter.records()`` (ijson stream + repeated-id tracking), every record consumed;
- baseline: ``json.load`` of the whole file, then a loop over the items.
Also runs ``iter_partitions`` (the runner's record enumeration with duplicate-id tracking) over our stream.

    python benchmarks/bench_stream_json.py [--items 665000] [--keep]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LIMIT_MB = 1536
WORDS = ("the picture shows a person riding bicycle along street near building with trees and cars parked "
         "under blue sky while dog runs across grass holding ball what color is it answer question").split()


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def generate(path: Path, items: int, seed: int = 0) -> None:
    """Written item by item (the generator itself must not hold the list)."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("[")
        for i in range(items):
            turns = []
            for t in range(2 * rng.randint(1, 4)):
                turns.append({"from": "human" if t % 2 == 0 else "gpt",
                              "value": _sentence(rng, rng.randint(6, 20) if t % 2 == 0 else rng.randint(10, 60))})
            fh.write(("," if i else "") + json.dumps({"id": f"item{i:07d}", "conversations": turns}))
        fh.write("]")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _child(mode: str, path: Path) -> dict[str, float]:
    """Runs inside a fresh interpreter; prints one JSON line."""
    start = time.perf_counter()
    count = 0
    if mode == "stream":
        from onellm_data.converters.llava_mix665k import LlavaMix665kConverter

        for _ in LlavaMix665kConverter(path.parent, json=path.name).records():
            count += 1
    elif mode == "partitions":
        from onellm_data.pipeline.runner import iter_partitions
        from onellm_data.converters.llava_mix665k import LlavaMix665kConverter

        for _, _, chunk in iter_partitions(LlavaMix665kConverter(path.parent, json=path.name), 10_000):
            count += len(chunk)
    else:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        for item in data:
            count += "image" not in item
    seconds = time.perf_counter() - start
    return {"items": count, "seconds": seconds, "peak_mb": _peak_mb()}


def run(mode: str, path: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(path)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=665_000)
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child[0], Path(args.child[1]))))
        return

    tmp = Path(tempfile.mkdtemp(prefix="bench_stream_json_"))
    path = tmp / "llava_v1_5_mix665k.json"
    t = time.perf_counter()
    generate(path, args.items)
    size_mb = path.stat().st_size / 2**20
    print(f"generated {args.items} items, {size_mb:.0f} MB in {time.perf_counter() - t:.1f}s")
    rows = {mode: run(mode, path) for mode in ("json.load", "stream", "partitions")}
    base = rows["json.load"]
    print(f"\n{'method':<34}{'items':>9}{'seconds':>9}{'items/s':>11}{'peak RSS MB':>13}{'RSS vs load':>13}{'speed vs load':>15}")
    names = {"json.load": "json.load (baseline)", "stream": "records() ijson stream",
             "partitions": "records() + runner iter_partitions"}
    for mode, r in rows.items():
        rate = r["items"] / r["seconds"]
        print(f"{names[mode]:<34}{r['items']:>9}{r['seconds']:>9.1f}{rate:>11.0f}{r['peak_mb']:>13.0f}"
              f"{r['peak_mb'] / base['peak_mb']:>12.2f}x{rate / (base['items'] / base['seconds']):>14.2f}x")
    worst = max(rows["stream"]["peak_mb"], rows["partitions"]["peak_mb"])
    verdict = "OK" if worst < LIMIT_MB else "OVER"
    print(f"\nstreaming peak RSS {worst:.0f} MB vs limit {LIMIT_MB} MB: {verdict}")
    if args.keep:
        print(f"kept {path}")
    else:
        path.unlink()
        tmp.rmdir()


if __name__ == "__main__":
    main()
