"""Normalised caption text and comparable id tokens, shared by the training-side scan and the eval sets.

Text: NFKC, lower case, modality placeholders and OneLLM's fixed prompt suffixes removed, punctuation dropped,
whitespace collapsed; then a 64-bit BLAKE2b digest. Texts under ``MIN_WORDS`` words are not hashed: "a dog." or
"yes" would match everywhere and say nothing about contamination.

Ids: every id-like value (the source id, ``image_id``, ``video_id``, ``object_id``, media paths' stems...) becomes
``namespace:value``. Numeric ids (COCO, Flickr30K, NoCaps are all small integers) only mean something inside their
dataset, so they carry the dataset as namespace ("coco:391895"); other ids (YouTube ids, Objaverse uids, Clotho
file names) are globally distinctive and use the empty namespace.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import PurePosixPath
from typing import Any

MIN_WORDS = 4
PLACEHOLDERS = re.compile(r"<(image|video|audio|point|depth|normal|imu|fmri)>")
# Instruction boilerplate added around questions (paper Table 11), removed before comparing questions.
SUFFIXES = ("answer the question using a single word or phrase",
            "answer with the options letter from the given choices directly")
_NON_WORD = re.compile(r"[^\w\s]+")
_SPACE = re.compile(r"\s+")
_TRAILING_INT = re.compile(r"(\d+)$")
# Sources whose numeric ids are COCO image ids (LLaVA's COCO part is recognised by its image path).
COCO_ID_SOURCES = frozenset({"coco_captions", "llava_depth", "llava_normal"})
ID_META_FIELDS = ("image_id", "image", "id", "video_id", "youtube_id", "object_id", "file_name", "video_uid")


def normalise_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = PLACEHOLDERS.sub(" ", text)
    text = _NON_WORD.sub(" ", text.replace("'", ""))
    text = _SPACE.sub(" ", text).strip()
    for suffix in SUFFIXES:
        if text.endswith(suffix):
            text = text[: -len(suffix)].rstrip()
    return text


def text_hash(text: str, min_words: int = MIN_WORDS) -> int | None:
    """Signed 64-bit digest of the normalised text (Parquet-friendly); None for texts too short to count."""
    norm = normalise_text(text)
    if len(norm.split()) < min_words:
        return None
    return int.from_bytes(hashlib.blake2b(norm.encode("utf-8"), digest_size=8).digest(), "little", signed=True)


def id_token(value: Any, namespace: str) -> str | None:
    """``namespace:value`` for a numeric id (leading zeros and prefixes like ``COCO_val2014_`` dropped), ``:value``
    for a distinctive one; None for values too short to identify anything."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    if not text:
        return None
    stem = PurePosixPath(text.replace("\\", "/")).stem if ("/" in text or "." in text) else text
    if stem.isdigit() or (_TRAILING_INT.search(stem) and re.fullmatch(r"[A-Za-z]+_[A-Za-z]*\d*_?\d+", stem)):
        return f"{namespace}:{int(_TRAILING_INT.search(stem).group(1))}"
    if len(stem) < 6:
        return None
    return f":{stem.lower()}"


def sample_namespace(source: str, meta: dict[str, Any]) -> str:
    """The dataset a training sample's numeric ids belong to."""
    dataset = str(meta.get("dataset") or "").lower()
    image = str(meta.get("image") or meta.get("file_name") or "").lower()
    if source in COCO_ID_SOURCES or dataset == "coco" or "coco" in image.split("/")[0:1]:
        return "coco"
    return dataset or source


def sample_id_tokens(source: str, source_id: str, meta: dict[str, Any]) -> list[str]:
    """Every id token of a training sample (source id, id-like meta fields, the IMU window)."""
    namespace = sample_namespace(source, meta)
    # A numeric source id is the dataset's own id only where it names the image (else e.g. a caption's id).
    own = namespace if source in COCO_ID_SOURCES - {"coco_captions"} or source == "llava_mix665k" else source
    tokens = {t for t in [id_token(source_id, own), *(id_token(meta.get(f), namespace) for f in ID_META_FIELDS)]
              if t}
    if source == "wavcaps" and str(source_id).startswith("as-Y"):  # WavCaps' AudioSet part: as-Y<youtube id>
        tokens.add(f":{str(source_id)[4:].lower()}")
    window = imu_window_token(meta.get("video_uid"), meta.get("window_start"), meta.get("window_end"))
    if window:
        tokens.add(window)
    return sorted(tokens)


def imu_window_token(uid: Any, start: Any, end: Any) -> str | None:
    """An Ego4D window: the recording's uid and its start/end to 0.1 s."""
    if not uid or start is None or end is None:
        return None
    return f"imu:{str(uid).lower()}@{float(start):.1f}-{float(end):.1f}"
