"""Shard bytes with each image stored once per source (all its conversations in one record) against one copy
per item (the previous layout), same converter, same inputs, in the same run.

    .venv/bin/python benchmarks/bench_storage.py [--no-real]

Inputs: the real COCO subset in ../shared/realdata/coco when present, and the bundled coco_captions and
llava_mix665k samples.
"""

from __future__ import annotations

import argparse
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from onellm_data.converters import make_converter  # noqa: E402
from onellm_data.pipeline import ShardSettings, run_conversion  # noqa: E402
from onellm_data.samples import generate_sample_raw  # noqa: E402

REAL_COCO = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "coco"


def _per_item(converter):
    """The same converter with its ungrouped record stream: one stored copy of the media per item."""
    inner = converter._caption_records if hasattr(converter, "_caption_records") else converter._items
    converter.records = inner
    return converter


def _shard_bytes(corpus: Path) -> int:
    """Bytes the samples take in the shards (headers + padded data), without the per-tar end padding that
    would hide the difference on tiny inputs."""
    total = 0
    for tar in corpus.glob("*/*/*.tar"):
        with tarfile.open(tar) as tf:
            total += sum(512 + (m.size + 511) // 512 * 512 for m in tf)
    return total


def measure(name: str, source: str, raw: Path, work: Path, **options) -> tuple[str, int, int, int, int]:
    settings = ShardSettings(partition_size=5000)
    once = run_conversion(make_converter(source, raw, **options), work / f"{name}-once", settings)
    each = run_conversion(_per_item(make_converter(source, raw, **options)), work / f"{name}-each", settings)
    assert once.samples == each.samples, (once.samples, each.samples)
    media = sum(p.stat().st_size for p in raw.rglob("*") if p.suffix.lower() in (".jpg", ".png", ".jpeg"))
    return name, once.samples, media, _shard_bytes(work / f"{name}-each"), _shard_bytes(work / f"{name}-once")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-real", action="store_true", help="only the bundled samples, not the real COCO subset")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rows = []
        if REAL_COCO.exists() and not args.no_real:
            rows.append(measure("COCO real subset", "coco_captions", REAL_COCO, work))
        raws = generate_sample_raw(work / "raw", ["coco_captions", "llava_mix665k"])
        rows.append(measure("coco_captions sample", "coco_captions", raws["coco_captions"], work))
        rows.append(measure("llava_mix665k sample", "llava_mix665k", raws["llava_mix665k"], work))
    print("| input | items | image files | one copy per item | stored once | saving |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, items, media, each, once in rows:
        print(f"| {name} | {items} | {media / 1e3:,.1f} kB | {each / 1e3:,.1f} kB | {once / 1e3:,.1f} kB | "
              f"{each / once:.2f}× |")


if __name__ == "__main__":
    main()
