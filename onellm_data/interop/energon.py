"""Megatron-Energon: the ``.nv-meta/`` of each modality's shards, and the sample loader that decodes them.

``write_energon_meta(corpus)`` makes ``corpus/<modality>/`` an Energon dataset per modality (one modality per
batch, as OneLLM trains): Energon's own preparation indexes the shards (``index.sqlite``, ``.info.yaml``, every
shard in the ``train`` split), and ``dataset.yaml`` names ``OnellmSample`` with the sample loader below, which
turns a sample's raw members into OneLLM's model tensor through this package's codecs. Energon's default decoder
would turn a 16-bit ``depth.png`` into saturated 8-bit RGB, so the loader needs the raw bytes: load with
``auto_decode=False`` (or ``task_encoder=OnellmTaskEncoder()``), and it refuses decoded members with that advice.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import torch
import yaml
from megatron.energon import DefaultTaskEncoder, Sample

from onellm_data.errors import CorpusError
from onellm_data.index import read_table
from onellm_data.schema import MEMBER_SLOTS
from onellm_data.shards.atomic import write_bytes_atomic

META_DIR = ".nv-meta"
_PARTS = sorted({"json", *(ext for slots in MEMBER_SLOTS.values() for slot in slots for ext in slot)})
# The loader module Energon imports from the dataset's .nv-meta (it only forwards to this package).
LOADER_FILE = "sample_loader.py"
_LOADER_SOURCE = '''"""Written by onellm-data: Energon's entry points into onellm_data.interop.energon."""
from onellm_data.interop.energon import part_filter, sample_loader  # noqa: F401
'''


@dataclasses.dataclass
class OnellmSample(Sample):
    """One item: OneLLM's model tensor for its modality (None for text) and its conversation(s)."""

    modality: str
    media: torch.Tensor | None
    conversations: list[dict[str, str]]
    source: str
    #: further conversations stored with the same media (one image, all its captions)
    more_conversations: list[list[dict[str, str]]]


class OnellmTaskEncoder(DefaultTaskEncoder):
    """The default task encoder with Energon's decoder off: the sample loader decodes raw members itself."""

    decoder = None


def part_filter(part: str) -> bool:
    return part in _PARTS


def sample_loader(raw: dict[str, Any]) -> dict[str, Any]:
    """Energon ``sample_loader``: raw members → the fields of ``OnellmSample``."""
    from onellm_data.codecs import decode

    members = {k: v for k, v in raw.items() if not k.startswith("__") and v is not None}
    undecoded = [k for k, v in members.items() if not isinstance(v, (bytes, bytearray, memoryview))]
    if undecoded:
        raise TypeError(f"members {undecoded} of {raw.get('__key__')} arrive decoded by Energon, which turns 16-bit "
                        "maps into 8-bit RGB: load with auto_decode=False or task_encoder=OnellmTaskEncoder()")
    record = json.loads(bytes(members.pop("json")))
    media = None if record["modality"] == "text" else decode(record["modality"], {k: bytes(v) for k, v in members.items()})
    return {"modality": record["modality"], "media": media, "conversations": record["conversations"],
            "source": record["source"],
            "more_conversations": [m["conversations"] for m in record.get("more_conversations", [])]}


def _dataset_yaml() -> dict[str, Any]:
    return {"sample_type": {"__module__": __name__, "__class__": OnellmSample.__name__},
            "sample_loader": f"{LOADER_FILE}:sample_loader", "part_filter": f"{LOADER_FILE}:part_filter"}


def write_energon_meta(corpus: Path | str, modalities: list[str] | None = None, workers: int = 1) -> dict[str, int]:
    """Write ``corpus/<modality>/.nv-meta/`` for each modality in the index (or the ones given); returns the
    shard count per modality. Rerunning rewrites the metadata (e.g. after more sources were converted)."""
    from megatron.energon.flavors import BaseWebdatasetFactory

    corpus = Path(corpus)
    shards = read_table(corpus, "shards", columns=["shard", "modality"]).to_pylist()
    by_modality: dict[str, list[str]] = {}
    for row in shards:
        by_modality.setdefault(row["modality"], []).append(row["shard"])
    wanted = modalities or sorted(by_modality)
    done = {}
    for modality in wanted:
        if modality not in by_modality:
            raise CorpusError(f"{corpus} has no {modality} shards")
        root = corpus / modality
        meta = root / META_DIR
        meta.mkdir(exist_ok=True)
        for stale in ("index.sqlite", "index.uuid", ".info.yaml", ".info.json", "split.yaml"):
            (meta / stale).unlink(missing_ok=True)
        rel = sorted(str(Path(s).relative_to(modality)) for s in by_modality[modality])
        BaseWebdatasetFactory.prepare_dataset(root, rel, split_parts_ratio=[("train", 1.0)], shuffle_seed=None,
                                              workers=workers)
        write_bytes_atomic(meta / "dataset.yaml", yaml.safe_dump(_dataset_yaml(), sort_keys=False).encode())
        write_bytes_atomic(meta / LOADER_FILE, _LOADER_SOURCE.encode())
        done[modality] = len(rel)
    return done
