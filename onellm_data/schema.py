"""The Sample record: one instruction item, its media members and metadata, plus validation.

A sample becomes one group of tar members: ``{key}.json`` (this record without the media bytes) and one
member per media file, named by extension (``{key}.jpg``, ``{key}.depth.png`` ...). Keys never contain a dot
because WebDataset splits member names at the first dot.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

MODALITIES: tuple[str, ...] = ("image", "video", "audio", "point", "depth", "normal", "imu", "fmri", "text")
# The modalities that carry a media file (all but text-only samples); depth and normal pair a map with an RGB image.
MEDIA_MODALITIES: tuple[str, ...] = tuple(m for m in MODALITIES if m != "text")
MAP_MODALITIES: tuple[str, ...] = ("depth", "normal")

# The placeholder a human turn carries for the sample's media (LLaVA's convention, one per modality).
PLACEHOLDERS: dict[str, str] = {
    "image": "<image>",
    "video": "<video>",
    "audio": "<audio>",
    "point": "<point>",
    "depth": "<depth>",
    "normal": "<normal>",
    "imu": "<imu>",
    "fmri": "<fmri>",
}

IMAGE_EXTS = ("jpg", "png", "webp")
VIDEO_EXTS = ("mp4", "avi", "mkv", "webm", "mov")
AUDIO_EXTS = ("flac", "wav", "mp3", "ogg")

# For each modality: the member slots a sample must fill; each slot lists the extensions that may fill it.
MEMBER_SLOTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "image": (IMAGE_EXTS,),
    "video": (VIDEO_EXTS,),
    "audio": (AUDIO_EXTS,),
    "point": (("npy",),),
    "depth": (IMAGE_EXTS, ("depth.png",)),
    "normal": (IMAGE_EXTS, ("normal.png",)),
    "imu": (("npy",),),
    "fmri": (("npy",),),
    "text": (),
}

_ALL_PLACEHOLDERS = tuple(PLACEHOLDERS.values())
ROLES = ("human", "gpt")
SOURCE_NAME = re.compile(r"^[a-z0-9_]+$")
_CLEAN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
MAX_KEY_LEN = 88  # leaves room for ".normal.png" inside ustar's 100-byte name field


def make_key(source: str, source_id: str) -> str:
    """Deterministic, dot-free key: ``{source}-{id}``; ids with other characters get a hash suffix."""
    if not SOURCE_NAME.match(source):
        raise ValueError(f"source name {source!r} must match {SOURCE_NAME.pattern}")
    if _CLEAN_ID.match(source_id):
        key = f"{source}-{source_id}"
    else:
        digest = hashlib.sha1(source_id.encode("utf-8")).hexdigest()[:12]
        slug = _UNSAFE.sub("_", source_id).strip("_")[:40]
        key = f"{source}-{slug}~{digest}" if slug else f"{source}-~{digest}"
    if len(key) > MAX_KEY_LEN:
        digest = hashlib.sha1(source_id.encode("utf-8")).hexdigest()[:12]
        key = f"{key[: MAX_KEY_LEN - 13]}~{digest}"
    return key


@dataclass
class Sample:
    """One instruction item. ``media`` maps member extension (``"jpg"``, ``"depth.png"``) to encoded bytes."""

    key: str
    source: str
    modality: str
    conversations: list[dict[str, str]]
    source_id: str
    media: dict[str, bytes] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    # Further items over the same media, stored once: ``{"key", "source_id", "conversations"}`` each. Every one
    # is an index row of its own (the loader visits the stored sample once per conversation).
    more_conversations: list[dict[str, Any]] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        """The ``.json`` member: everything but the media bytes."""
        record = {
            "key": self.key,
            "source": self.source,
            "modality": self.modality,
            "source_id": self.source_id,
            "conversations": self.conversations,
            "members": sorted(self.media),
            "meta": self.meta,
        }
        if self.more_conversations:  # absent otherwise: single-item records keep their bytes
            record["more_conversations"] = self.more_conversations
        return record

    def items(self) -> list["Sample"]:
        """One view per conversation (the first is this sample itself), sharing media and meta."""
        return [self, *(Sample(m["key"], self.source, self.modality, m["conversations"], m["source_id"],
                               self.media, self.meta) for m in self.more_conversations)]

    def json_bytes(self) -> bytes:
        """Canonical JSON (sorted keys, compact) so identical samples give identical bytes."""
        return json.dumps(self.record(), sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_members(cls, record: dict[str, Any], media: dict[str, bytes]) -> "Sample":
        return cls(
            key=record["key"],
            source=record["source"],
            modality=record["modality"],
            conversations=record["conversations"],
            source_id=record["source_id"],
            media=media,
            meta=record.get("meta", {}),
            more_conversations=record.get("more_conversations", []),
        )


def validate(sample: Sample, meta_types: Mapping[str, pa.DataType] | None = None) -> str | None:
    """Return ``None`` for a valid sample, else the reason it is invalid (a short, stable string).

    ``meta_types``: the meta keys the index stores as typed columns, with their types.
    """
    if not sample.key or "." in sample.key or "/" in sample.key:
        return "invalid key"
    if len(sample.key) > MAX_KEY_LEN:
        return "key too long"
    if not SOURCE_NAME.match(sample.source or ""):
        return "invalid source name"
    if sample.modality not in MODALITIES:
        return "unknown modality"
    reason = validate_conversations(sample.conversations, sample.modality)
    if reason:
        return reason
    reason = validate_members(sample.media, sample.modality)
    if reason:
        return reason
    reason = validate_meta(sample.meta, meta_types or {})
    if reason:
        return reason
    try:
        sample.json_bytes()
    except (TypeError, ValueError, UnicodeEncodeError):
        return "record is not JSON text"  # e.g. a lone surrogate from a "\udc80" escape in the annotations
    return None


def validate_meta(meta: Any, types: Mapping[str, pa.DataType]) -> str | None:
    """``meta`` is an object whose typed keys hold values of their column's type (or null)."""
    if not isinstance(meta, dict):
        return "malformed meta"
    for key, value in meta.items():
        if not isinstance(key, str):
            return "malformed meta"
        kind = types.get(key)
        if kind is None or value is None:
            continue
        if pa.types.is_boolean(kind):
            ok = isinstance(value, bool)
        elif pa.types.is_integer(kind):
            bound = 1 << (kind.bit_width - 1)
            ok = isinstance(value, int) and not isinstance(value, bool) and -bound <= value < bound
        elif pa.types.is_floating(kind):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        else:
            ok = isinstance(value, str)
        if not ok:
            return f"meta field {key} is not {kind}"
    return None


def validate_conversations(conversations: Any, modality: str) -> str | None:
    """Roles alternate human/gpt starting with human; no empty turn; placeholder once, in the first turn."""
    if not isinstance(conversations, list) or not conversations:
        return "no conversation"
    if len(conversations) % 2:
        return "conversation does not end with an answer"
    for i, turn in enumerate(conversations):
        if not isinstance(turn, dict) or set(turn) != {"from", "value"}:
            return "malformed turn"
        if turn["from"] != ROLES[i % 2]:
            return "roles out of order"
        if not isinstance(turn["value"], str) or not turn["value"].strip():
            return "empty turn"
    placeholder = PLACEHOLDERS.get(modality)
    for i, turn in enumerate(conversations):
        if "<" not in turn["value"]:
            if i == 0 and placeholder is not None:
                return "media placeholder missing from first turn"
            continue
        found = [p for p in _ALL_PLACEHOLDERS if p in turn["value"]]
        if i == 0 and placeholder is not None:
            if turn["value"].count(placeholder) != 1:
                return "media placeholder missing from first turn"
            found.remove(placeholder)
        if found:
            return "unexpected media placeholder"
    return None


def validate_members(media: dict[str, bytes], modality: str) -> str | None:
    """Exactly the member slots of the modality are filled, each with non-empty bytes."""
    slots = MEMBER_SLOTS[modality]
    remaining = dict(media)
    for allowed in slots:
        hits = [ext for ext in allowed if ext in remaining]
        if len(hits) != 1:
            return f"expected one media member of {'/'.join(allowed)}"
        if not remaining.pop(hits[0]):
            return "empty media member"
    if remaining:
        return f"unexpected media members: {', '.join(sorted(remaining))}"
    return None
