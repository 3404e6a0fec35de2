"""Training throughput of the tiny preset on CPU over the bundled sample corpus (all 8 modalities + text, real
codecs), and the share of step time spent waiting for data: loading in the training process (0 workers, the
baseline) against 2 loader workers, in the same run. Goal: data wait under 5 % with 2 workers.

    python benchmarks/bench_train.py [--steps 120] [--corpus out/demo/corpus]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from model.run_files import TRAIN_LOG_FILE

ROOT = Path(__file__).resolve().parents[1]


def sample_corpus(root: Path) -> Path:
    from onellm_data.pipeline import ShardSettings
    from onellm_data.commands.corpus import convert_sources
    from onellm_data.samples import generate_sample_raw

    raws = generate_sample_raw(root / "raw")
    convert_sources(sorted(raws.items()), root / "corpus", ShardSettings(max_count=64, partition_size=64), 2)
    return root / "corpus"


def train(corpus: Path, out: Path, steps: int, workers: int) -> dict[str, float]:
    from model.train import RunOptions, run

    run(ROOT / "recipes" / "demo.yaml", RunOptions(out_dir=out, corpus=corpus, max_steps=steps, workers=workers,
                                                   log_every=10), log=lambda _: None)
    log = [json.loads(line) for line in (out / TRAIN_LOG_FILE).read_text().splitlines()][1:]  # skip warm-up
    return {"samples_per_s": statistics.mean(r["samples_per_s"] for r in log),
            "tokens_per_s": statistics.mean(r["tokens_per_s"] for r in log),
            "data_wait": statistics.mean(r["data_wait_frac"] for r in log)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=120)
    p.add_argument("--corpus", type=Path, help="an existing sample corpus (default: build one in a temp dir)")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = a.corpus or sample_corpus(Path(tmp))
        rows = {w: train(corpus, Path(tmp) / f"w{w}", a.steps, w) for w in (0, 2)}
    base = rows[0]
    print(f"\ntiny preset, recipes/demo.yaml, {a.steps} steps (batch 2, video 1), first 10 steps excluded\n")
    print("| loader | samples/s | tokens/s | data wait | samples/s vs 0 workers |")
    print("|---|---:|---:|---:|---:|")
    for w, r in rows.items():
        name = "in the training process (0 workers)" if w == 0 else f"{w} workers"
        print(f"| {name} | {r['samples_per_s']:.1f} | {r['tokens_per_s']:.0f} | {100 * r['data_wait']:.1f} % | "
              f"{r['samples_per_s'] / base['samples_per_s']:.2f}× |")


if __name__ == "__main__":
    main()
