"""Loader throughput vs a plain webdataset pipeline, resume cost, and worker memory.

Same machine, same run, same shards, same image decoder and tokenization for both sides:
- ours: ``make_loader`` (weighted mix, one modality per batch, exact-resume state);
- baseline: ``webdataset`` per-source pipelines (resampled shards, 1000-sample shuffle buffer) combined with
  ``RandomMix`` and ``batched``, as a webdataset user would write it (no resume, mixed batches).

    python benchmarks/bench_loader.py [--images 600] [--batches 60] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model.text_tokenizer import DEMO_TOKENIZER, Tokenizer  # noqa: E402
from onellm_data.pipeline import ShardSettings, run_conversion  # noqa: E402
from onellm_data.converters.jsonl import JsonlConverter  # noqa: E402
from onellm_data.loader.dataset import make_loader  # noqa: E402
from onellm_data.loader.schedule import Schedule  # noqa: E402
from onellm_data.loader.template import encode_conversation, pad  # noqa: E402
from onellm_data.recipes import load_recipe  # noqa: E402

SOURCES = ("src_a", "src_b", "src_c")
WEIGHTS = (0.5, 0.3, 0.2)
BATCH, SEQ_LEN = 16, 128


def decode(modality: str, members: dict[str, bytes], *, train: bool = False,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """The project's image decoder (codecs.decode when it exists)."""
    try:
        from onellm_data.codecs import decode as codecs_decode
    except ImportError:
        from onellm_data.codecs.image import decode_image

        ext = next(e for e in ("jpg", "png", "webp") if e in members)
        return decode_image(members[ext], train=train, generator=generator)
    return codecs_decode(modality, members, train=train, generator=generator)


def make_corpus(root: Path, images: int) -> Path:
    from PIL import Image

    corpus = root / "corpus"
    rng = np.random.default_rng(0)
    for s, name in enumerate(SOURCES):
        raw = root / "raw" / name
        (raw / "media").mkdir(parents=True)
        lines = []
        for i in range(images):
            arr = (rng.random((32, 32, 3)) * 255).astype(np.uint8)
            Image.fromarray(arr).resize((320, 240)).save(raw / "media" / f"{i}.jpg", quality=90)
            conv = [{"from": "human", "value": "<image>\nDescribe the image in detail."},
                    {"from": "gpt", "value": f"A red dog sitting on a chair number {i} in source {s}."}]
            lines.append({"id": f"i{i}", "modality": "image", "media": {"jpg": f"media/{i}.jpg"},
                          "conversations": conv})
        (raw / "samples.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
        run_conversion(JsonlConverter(raw, source=name), corpus, ShardSettings(max_count=100, partition_size=400))
    return corpus


def write_recipe(path: Path, corpus: Path) -> Path:
    mix = "\n".join(f"    - source: {s}\n      weight: {w}" for s, w in zip(SOURCES, WEIGHTS))
    path.write_text(f"""name: bench
model: {{preset: tiny}}
trainable: [llm]
data:
  corpus: {corpus}
  seq_len: {SEQ_LEN}
  batch_size: {BATCH}
  mix:
{mix}
optim: {{lr: 1.0e-4}}
schedule: {{max_steps: 1}}
""")
    return path


class _WdsSample:
    """Picklable map function for the baseline: same decoder, template and padding as ours."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer

    def __call__(self, sample: dict) -> dict:
        record = json.loads(sample["json"])
        ids, labels = encode_conversation(record["conversations"], self.tokenizer, SEQ_LEN)
        ids, labels = pad(ids, labels, SEQ_LEN, self.tokenizer.pad_id)
        return {"media": decode("image", {"jpg": sample["jpg"]}, train=True),
                "input_ids": torch.tensor(ids), "labels": torch.tensor(labels), "key": sample["__key__"]}


def _collate(samples: list[dict]) -> dict:
    return {"media": torch.stack([s["media"] for s in samples]),
            "input_ids": torch.stack([s["input_ids"] for s in samples]),
            "labels": torch.stack([s["labels"] for s in samples]), "keys": [s["key"] for s in samples]}


def webdataset_loader(corpus: Path, tokenizer: Tokenizer, workers: int):
    import webdataset as wds

    per_source = []
    for name in SOURCES:
        urls = sorted(str(p) for p in (corpus / "image" / name).glob("*.tar"))
        per_source.append(wds.DataPipeline(wds.ResampledShards(urls), wds.tarfile_to_samples(), wds.shuffle(1000),
                                           wds.map(_WdsSample(tokenizer))))
    mixed = wds.DataPipeline(wds.RandomMix(per_source, list(WEIGHTS)), wds.batched(BATCH, collation_fn=_collate))
    return torch.utils.data.DataLoader(mixed, batch_size=None, num_workers=workers)


def throughput(loader, batches: int, warmup: int = 3) -> float:
    it = iter(loader)
    for _ in range(warmup):
        next(it)
    start, samples = time.perf_counter(), 0
    for _ in range(batches):
        samples += len(next(it)["keys"])
    return samples / (time.perf_counter() - start)


def restore_cost(recipe, tokenizer: Tokenizer, step: int, workers: int) -> tuple[int, float]:
    """(state bytes, seconds from load_state_dict to the first batch) for a loader at ``step``."""
    loader = make_loader(recipe, None, tokenizer, num_workers=workers, decoder=decode)
    schedule = Schedule(loader.dataset.specs, "weighted", 1, 0)
    for _ in range(step):  # where a run at `step` would be (the schedule alone, no data)
        schedule.next()
    state = loader.state_dict()
    state["schedule"] = schedule.state.to_dict()
    blob = json.dumps(state)
    fresh = make_loader(recipe, None, tokenizer, num_workers=workers, decoder=decode)
    start = time.perf_counter()
    fresh.load_state_dict(json.loads(blob))
    next(iter(fresh))
    return len(blob), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=600, help="images per source (3 sources)")
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    tokenizer = Tokenizer(DEMO_TOKENIZER)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        corpus = make_corpus(Path(tmp), args.images)
        print(f"corpus: {3 * args.images} images 320x240 in {time.perf_counter() - t0:.1f} s; "
              f"batch {BATCH}, {args.workers} workers, {args.batches} batches after 3 warm-up")
        recipe = load_recipe(write_recipe(Path(tmp) / "bench.yaml", corpus))
        base = throughput(webdataset_loader(corpus, tokenizer, args.workers), args.batches)
        ours = throughput(make_loader(recipe, None, tokenizer, num_workers=args.workers, decoder=decode), args.batches)
        rows = [("webdataset RandomMix (baseline)", base, 1.0), ("onellm-data make_loader", ours, ours / base)]
        print(f"\n{'loader':34s} {'samples/s':>10s} {'ratio':>7s}")
        for name, rate, ratio in rows:
            print(f"{name:34s} {rate:10.1f} {ratio:6.2f}x")
        print(f"\n{'resume at step':>14s} {'state bytes':>12s} {'restore→first batch s':>22s}")
        for step in (10, 10_000):
            size, seconds = restore_cost(recipe, tokenizer, step, args.workers)
            print(f"{step:14d} {size:12d} {seconds:22.3f}")
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(f"\npeak RSS of the largest worker process: {peak_kib / 1024:.0f} MiB "
              f"(main process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)")


if __name__ == "__main__":
    main()
