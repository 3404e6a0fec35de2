"""Cost of ``verify --decode`` per modality (samples/s on one core) on the bundled sample corpus, against the bare
load-side decode (``codecs.decode`` in eval mode on members already in memory) in the same run. The difference is
what verification adds: reading each sample from its shard at the indexed offset, parsing its record, the shape
and finiteness checks.

    python benchmarks/bench_verify_decode.py [--repeats 5] [--corpus DIR]

The bundled sample corpus holds 5-15 samples per modality: enough for per-sample costs (best of the repeats), not
for disk throughput.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from onellm_data import codecs
from onellm_data.converters import make_converter
from onellm_data.loader.streams import ShardReader
from onellm_data.index import read_table
from onellm_data.pipeline import ShardSettings, run_conversion
from onellm_data.samples import generate_sample_raw
from onellm_data.verify_decode import plan_chunks, verify_decode

torch.set_num_threads(1)


def sample_corpus(root: Path) -> Path:
    corpus = root / "corpus"
    for name, raw in generate_sample_raw(root / "raw").items():
        run_conversion(make_converter(name, raw), corpus, ShardSettings())
    return corpus


def bare_rate(corpus: Path, modality: str, repeats: int) -> tuple[int, float]:
    """Samples/s of ``codecs.decode`` alone over the modality's samples, members read beforehand."""
    chunks, _ = plan_chunks(corpus, {modality})
    reader = ShardReader(corpus)
    members = []
    for chunk in chunks:
        for _, key, shard, offset, span in chunk.rows:
            m = reader.read(shard, offset, span, key)
            m.pop("json")
            members.append(m)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        for m in members:
            codecs.decode(modality, m, train=False)
        best = min(best, time.process_time() - t0)
    return len(members), len(members) / best


def verify_rate(corpus: Path, modality: str, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        report = verify_decode(corpus, workers=1, modalities={modality})
        assert report.ok, report.problems
        best = min(best, report.seconds[modality])
    return report.checked[modality] / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--corpus", type=Path, help="an existing corpus (default: build the bundled sample corpus)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = args.corpus or sample_corpus(Path(tmp))
        modalities = sorted(set(read_table(corpus, "samples", columns=["modality"]).column("modality").to_pylist())
                            - {"text"})
        print("| modality | samples | verify --decode samples/s/core | bare decode samples/s/core | ratio |")
        print("|---|---:|---:|---:|---:|")
        for modality in modalities:
            n, bare = bare_rate(corpus, modality, args.repeats)
            ours = verify_rate(corpus, modality, args.repeats)
            print(f"| {modality} | {n} | {ours:,.1f} | {bare:,.1f} | {ours / bare:.2f} |", flush=True)


if __name__ == "__main__":
    main()
