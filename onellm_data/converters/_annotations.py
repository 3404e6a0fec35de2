"""Helpers for the instruction-tuning converters: streamed JSON annotations, LLaVA-style turn normalisation,
OneLLM's fixed prompts, and media lookup that turns a missing file into a reject.

Annotation files of these sources reach hundreds of MB (mix665K: 1 GB), so they are read with ijson, item by
item, never with ``json.load``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from onellm_data.errors import RejectError
from onellm_data.schema import PLACEHOLDERS

# OneLLM's IT prompt templates (paper Tab. 10).
CAPTION_PROMPT = "Provide a one-sentence caption for the provided {modality}."
SHORT_QA_SUFFIX = "Answer the question using a single word or phrase."

MALFORMED_ROW = "malformed annotation row"
MALFORMED_FILE = "malformed annotation file"
MISSING_MEDIA = "missing media file"
UNKNOWN_ID = "unknown id reference"

SAFE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")  # ids used as file names: no separators
_ROLES = {"human": "human", "user": "human", "gpt": "gpt", "assistant": "gpt"}


def iter_json(path: Path, prefix: str = "item") -> Iterator[tuple[int, Any]]:
    """``(position, item)`` for each element under ``prefix`` of a JSON file, streamed (constant memory).

    ``prefix`` is ijson's path: ``"item"`` for a top-level list, ``"sentences.item"`` for a list under a key.
    A file that stops parsing part way ends the stream with one ``(position, None)`` so the caller records it.
    """
    import ijson

    position = 0
    with open(path, "rb") as fh:
        try:
            for item in ijson.items(fh, prefix, use_float=True):
                yield position, item
                position += 1
            return
        except ijson.JSONError:
            pass
    yield position, None


def malformed(source_id: str, detail: str, reason: str = MALFORMED_ROW) -> dict[str, Any]:
    """A record the runner stores as a reject (rows that cannot even be turned into a record)."""
    return {"source_id": source_id, "_reject": reason, "_detail": detail[:200]}


def id_string(value: Any) -> str | None:
    """Ids arrive as str or int; anything else (or empty) is a malformed row."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, str)):
        text = str(value).strip()
        return text or None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return None


def clean_text(value: Any, what: str = "caption") -> str:
    """Collapse stray whitespace; a non-string or blank value is a reject."""
    if not isinstance(value, str):
        raise RejectError(f"non-string {what}", repr(value)[:80])
    text = " ".join(value.split())
    if not text:
        raise RejectError(f"empty {what}")
    return text


def prompt_turns(modality: str, prompt: str, answer: Any, what: str = "caption") -> list[dict[str, str]]:
    """One-turn instruction: placeholder + OneLLM's fixed prompt, then the cleaned answer."""
    return [{"from": "human", "value": f"{PLACEHOLDERS[modality]}\n{prompt}"},
            {"from": "gpt", "value": clean_text(answer, what)}]


def caption_prompt(modality: str) -> str:
    return CAPTION_PROMPT.format(modality=modality)


def short_qa_prompt(question: Any) -> str:
    return f"{clean_text(question, 'question')} {SHORT_QA_SUFFIX}"


def _placeholder_pattern(tags: Iterable[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(t) for t in tags)
    return re.compile(rf"\n?(?:{alternatives})\n?")


def normalise_turns(conversations: Any, modality: str | None, media_tags: Iterable[str] = ()) -> list[dict[str, str]]:
    """LLaVA-style ``[{"from", "value"}]`` turns in our form.

    Roles: human/user -> human, gpt/assistant -> gpt (other roles are kept, so validation rejects them).
    For a media modality every tag in ``media_tags`` (the source's own placeholders, e.g. ``<image>`` or
    ``<video>``) is removed wherever it sits, and the modality's placeholder leads the first turn as
    ``"<image>\\n..."`` — LLaVA puts it before or after the question; OneLLM reads it only from the front.
    Text items are left alone so a stray placeholder is rejected by validation.
    """
    if not isinstance(conversations, list) or not conversations:
        raise RejectError(MALFORMED_ROW, "no conversations")
    turns = []
    for turn in conversations:
        if not isinstance(turn, dict) or not isinstance(turn.get("value"), str):
            raise RejectError(MALFORMED_ROW, "turn without a string value")
        role = _ROLES.get(str(turn.get("from", "")).lower(), str(turn.get("from")))
        turns.append({"from": role, "value": turn["value"]})
    if modality is None or modality == "text":
        return turns
    placeholder = PLACEHOLDERS[modality]
    pattern = _placeholder_pattern({placeholder, *media_tags})
    for turn in turns:
        turn["value"] = pattern.sub("\n", turn["value"]).strip()
    first = turns[0]["value"]
    turns[0]["value"] = f"{placeholder}\n{first}" if first else placeholder
    return turns


def content_digest(*parts: Any) -> int:
    """A 64-bit digest of an item's content (to tell a repeated id with new content from a true duplicate)."""
    h = hashlib.blake2b(digest_size=8)
    for part in parts:
        h.update(repr(part).encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return int.from_bytes(h.digest(), "little")


class RepeatedIds:
    """Source ids for sources whose published ids repeat for different items (mix665K, MULTIS).

    The first item with an id keeps it; a later item with the same id and *different* content becomes
    ``{id}-{n}``; one with the same content keeps the id, so the runner records it as a duplicate.
    Memory: two small ints per distinct id.
    """

    def __init__(self) -> None:
        self._seen: dict[int, tuple[int, int]] = {}

    def source_id(self, item_id: str, digest: int) -> str:
        key = int.from_bytes(hashlib.blake2b(item_id.encode(), digest_size=8).digest(), "little")
        found = self._seen.get(key)
        if found is None:
            self._seen[key] = (digest, 1)
            return item_id
        first_digest, count = found
        if digest == first_digest:
            return item_id
        self._seen[key] = (first_digest, count + 1)
        return f"{item_id}-{count}"


def safe_relpath(value: Any) -> Path | None:
    """A relative path from an annotation, or ``None`` for absolute paths and ``..`` escapes."""
    if not isinstance(value, str) or not value.strip():
        return None
    rel = Path(value.strip())
    if rel.is_absolute() or ".." in rel.parts:
        return None
    return rel


def find_media(roots: Iterable[Path], names: Iterable[str | Path]) -> Path:
    """The first ``root / name`` that is a file; otherwise a "missing media file" reject."""
    tried = []
    for root in roots:
        for name in names:
            path = root / name
            if path.is_file():
                return path
            tried.append(str(path))
    raise RejectError(MISSING_MEDIA, tried[0] if tried else "no candidate path")
