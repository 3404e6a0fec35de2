"""The demo's before/after captioning evaluation, read from the corpus it built.

Held-in items are the media of sources the demo trains on (their captions were training targets: a memorisation
check that shows the whole path learns); held-out items come from sources it never trains on (generalisation,
expected near zero for a 4.5M-parameter model trained for a minute). Each set is scored with the same metrics
as ``onellm-data eval``, once with the run's starting weights and once with the trained ones.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from model.evaluate import DecodeSettings, EvalItem, ModelAnswerer, run_eval
from model.media import MediaInput
from onellm_data.index import read_table
from onellm_data.prompts import CAPTION_PROMPTS

MEDIA_EXTS = {"image": ("jpg", "png"), "audio": ("flac", "wav", "mp3")}
SPLITS = ("held_in", "held_out")
REPORTED = ("BLEU-1", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr")
EXPLANATION = ("held-in: captions of training samples (memorisation: must rise); held-out: sources never trained "
               "on (generalisation: near zero is the honest result for a 4.5M-parameter model after a minute)")


@dataclass(frozen=True)
class CaptionSet:
    split: str  # held_in or held_out
    modality: str
    source: str
    items: list[EvalItem]
    references: dict[str, list[str]]


def _captions(record: dict[str, Any]) -> list[str]:
    """The record's captions: the answer of its conversation and of each grouped one (same media)."""
    conversations = [record["conversations"], *(c["conversations"] for c in record.get("more_conversations", []))]
    return [turns[1]["value"] for turns in conversations if len(turns) > 1]


def corpus_caption_set(corpus: Path, source: str, split: str, media_dir: Path) -> CaptionSet:
    """One item per distinct medium of ``source`` (all its captions are the references), its file written to
    ``media_dir`` so eval reads it through the same codec path as ``onellm-data chat``."""
    rows = read_table(corpus, "samples", columns=["source", "modality", "shard"]).to_pylist()
    rows = [r for r in rows if r["source"] == source]
    if not rows:
        raise ValueError(f"source {source} is not in the corpus {corpus}")
    modality = rows[0]["modality"]
    media_dir.mkdir(parents=True, exist_ok=True)
    records: dict[str, dict[str, Any]] = {}
    blobs: dict[str, tuple[str, bytes]] = {}
    for shard in sorted({r["shard"] for r in rows}):
        with tarfile.open(corpus / shard) as tar:
            for member in tar.getmembers():
                key, _, ext = member.name.partition(".")
                data = tar.extractfile(member).read()
                if ext == "json":
                    records[key] = json.loads(data)
                elif ext in MEDIA_EXTS[modality]:
                    blobs[key] = (ext, data)
    items: dict[str, EvalItem] = {}
    references: dict[str, list[str]] = {}
    for key in sorted(records):
        ext, data = blobs[key]
        digest = hashlib.sha256(data).hexdigest()[:16]  # one item per medium; every caption of it is a reference
        if digest not in items:
            path = media_dir / f"{digest}.{ext}"
            path.write_bytes(data)
            items[digest] = EvalItem(digest, MediaInput(modality, path), CAPTION_PROMPTS[modality])
            references[digest] = []
        references[digest] += _captions(records[key])
    return CaptionSet(split, modality, source, list(items.values()), references)


def score(model: torch.nn.Module, tokenizer: Any, fmt: str, sets: list[CaptionSet], out: Path
          ) -> dict[tuple[str, str], dict[str, float]]:
    """Caption metrics of ``model`` on each set, by (modality, split); predictions written under ``out``."""
    answerer = ModelAnswerer(model.eval(), tokenizer, DecodeSettings(max_new_tokens=24), batch_size=8, fmt=fmt)
    results = {}
    for s in sets:
        where = out / f"{s.modality}_{s.split}"
        metrics = run_eval("caption", s.items, answerer, s.references, where, info={"source": s.source})
        results[(s.modality, s.split)] = {name: float(metrics[name]) for name in REPORTED}
    return results


def metrics_document(sets: list[CaptionSet], before: dict, after: dict, primary: str = "image") -> dict[str, Any]:
    """``{"held_in": {"before": {...}, "after": {...}}, "held_out": {...}}`` for the primary (image) sets, the
    same for every other modality under its name, and which sources and how many items each set holds."""

    def block(modality: str) -> dict[str, Any]:
        return {split: {"before": before[(modality, split)], "after": after[(modality, split)]} for split in SPLITS
                if (modality, split) in before}

    doc: dict[str, Any] = {**block(primary), "about": EXPLANATION}
    for modality in sorted({s.modality for s in sets} - {primary}):
        doc[modality] = block(modality)
    doc["sets"] = [{"modality": s.modality, "split": s.split, "source": s.source, "items": len(s.items)}
                   for s in sets]
    return doc


def side_by_side(sets: list[CaptionSet], before: dict, after: dict, add_row: Callable[..., None]) -> None:
    """One table row per (modality, split, metric): before → after."""
    for s in sets:
        for name in ("BLEU-4", "CIDEr"):
            b, a = before[(s.modality, s.split)][name], after[(s.modality, s.split)][name]
            add_row(f"{s.modality} {s.split.replace('_', '-')} ({s.source}, {len(s.items)} items)", name,
                    f"{b:.3f}", f"{a:.3f}")
