"""A stats test corpus: a real ``jsonl`` conversion (tars + index, tokens counted) plus index parts with known
media figures for every other modality, merged by the index's own ``finalize``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from onellm_data.pipeline import ShardSettings, run_conversion
from onellm_data.converters.jsonl import JsonlConverter
from onellm_data.pipeline.partition import marker_path
from onellm_data.index import finalize, part_path, to_table, write_table
from tests.conftest import write_jsonl_source

TOKENIZER = Path(__file__).resolve().parents[2] / "model" / "assets" / "demo_tokenizer.model"


@dataclass
class Synthetic:
    """What the constructed index parts hold, kept as plain arrays for the tests' own arithmetic."""

    columns: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # source -> column -> values
    modality: dict[str, str] = field(default_factory=dict)
    shard_bytes: dict[str, list[int]] = field(default_factory=dict)
    rejects: dict[str, list[str]] = field(default_factory=dict)


def _media_columns(rng: np.random.Generator) -> dict[str, tuple[str, dict[str, np.ndarray]]]:
    n_video, n_audio, n_point, n_imu, n_fmri = 20, 11, 8, 6, 5
    return {
        "synth_video": ("video", {"duration": np.round(rng.uniform(1, 30, n_video), 3),
                                  "fps": np.array([25.0, 30.0, 30.0, 29.97] * 5),
                                  "width": np.array([320, 640] * 10), "height": np.array([240, 480] * 10),
                                  "num_frames": rng.integers(20, 900, n_video)}),
        "synth_audio": ("audio", {"duration": np.round(rng.uniform(0.5, 10, n_audio), 3),
                                  "sample_rate": np.array([16000] * 7 + [44100] * 4),
                                  "channels": np.array([1] * 9 + [2] * 2)}),
        "synth_point": ("point", {"num_points": (np.arange(n_point) + 1) * 1000,
                                  "has_color": np.array([True, False, True, True, False, True, True, False])}),
        "synth_imu": ("imu", {"imu_rate": np.full(n_imu, 200.0), "window_start": np.arange(n_imu) * 3.0,
                              "window_end": np.arange(n_imu) * 3.0 + 2.0,
                              "imu_span": np.array([2.0, 2.0, 1.5, 1.0, 2.0, 0.5])}),
        "synth_fmri": ("fmri", {"fmri_reps": np.array([3, 3, 1, 3, 2]), "fmri_voxels": np.full(n_fmri, 15724)}),
        "synth_depth": ("depth", {"width": np.array([640, 480, 512, 640]), "height": np.array([480, 640, 512, 427]),
                                  "map_resized": np.array([False, True, False, False])}),
        # A manifest source name, so coverage against the manifests' expected items is exercised.
        "coco_captions": ("image", {"width": np.array([640, 500, 640]), "height": np.array([480, 375, 480])}),
    }


def add_synthetic_parts(corpus: Path, seed: int = 0) -> Synthetic:
    rng = np.random.default_rng(seed)
    synth = Synthetic()
    for source, (modality, media) in _media_columns(rng).items():
        n = len(next(iter(media.values())))
        cols = {
            "bytes": rng.integers(1_000, 2_000_000, n), "turns": rng.choice([2, 4, 6], n),
            "text_chars": rng.integers(10, 400, n), "answer_chars": rng.integers(5, 200, n),
            "text_tokens": rng.integers(5, 120, n), "answer_tokens": rng.integers(1, 60, n), **media,
        }
        synth.columns[source] = cols
        synth.modality[source] = modality
        shards = [f"{modality}/{source}/{source}-000000-{k:03d}.tar" for k in range(2)]
        rows = []
        for i in range(n):
            row = {k: (v[i].item() if hasattr(v[i], "item") else v[i]) for k, v in cols.items()}
            row.update(key=f"{source}-{i}", source_id=str(i), source=source, modality=modality,
                       shard=shards[i % 2], partition=0, tar_offset=i * 1024, members=["json", "npy"],
                       member_bytes=[100, row["bytes"] - 100])
            rows.append(row)
        write_table(to_table(rows, "samples"), part_path(corpus, source, 0, "samples"))
        synth.shard_bytes[source] = [int(rng.integers(10_000, 90_000_000)) for _ in shards]
        shard_rows = [{"shard": s, "source": source, "modality": modality, "partition": 0,
                       "count": sum(1 for r in rows if r["shard"] == s), "bytes": b, "sha256": "0" * 64}
                      for s, b in zip(shards, synth.shard_bytes[source])]
        write_table(to_table(shard_rows, "shards"), part_path(corpus, source, 0, "shards"))
        reasons = ["corrupt media"] * (n % 3) + ["too short"] * (1 if modality in ("video", "audio") else 0)
        synth.rejects[source] = reasons
        write_table(to_table([{"source": source, "source_id": f"bad{j}", "partition": 0, "reason": r, "detail": ""}
                              for j, r in enumerate(reasons)], "rejects"), part_path(corpus, source, 0, "rejects"))
        # the commit marker: finalize merges committed partitions only
        marker_path(corpus, source, 0).write_text(json.dumps({"source": source, "partition": 0, "samples": n}))
    return synth


def build_stats_corpus(root: Path, with_synthetic: bool = True) -> tuple[Path, Path, Synthetic | None]:
    """(corpus, jsonl raw dir, synthetic figures): jsonl converted with the demo tokenizer into shards of 5."""
    raw = root / "raw"
    write_jsonl_source(raw)
    corpus = root / "corpus"
    run_conversion(JsonlConverter(raw), corpus, ShardSettings(max_count=5, tokenizer=str(TOKENIZER)))
    synth = add_synthetic_parts(corpus) if with_synthetic else None
    finalize(corpus)
    return corpus, raw, synth


def accepted_jsonl_lines(raw: Path) -> list[dict]:
    """The jsonl source's lines the converter accepts (the fixture's rejects are the known bad ids)."""
    out, seen = [], set()
    for line in (raw / "samples.jsonl").read_text().splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if rec["id"] in seen or rec["id"] in ("missing", "order"):
            continue
        seen.add(rec["id"])
        out.append(rec)
    return out
