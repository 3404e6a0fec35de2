"""Conversation turns in our form: LLaVA-style turns normalised, and the fixed one-turn forms OneLLM trains on.

Every converter builds its turns here, so role names and placeholder handling are the same for all sources:
human/user -> human, gpt/assistant -> gpt (any case); other roles are kept so validation rejects them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from onellm_data.converters._rejects import EMPTY_CAPTION, MALFORMED_ROW
from onellm_data.errors import RejectError
from onellm_data.prompts import CAPTION_PROMPTS, SHORT_QA_SUFFIX
from onellm_data.schema import PLACEHOLDERS


ROLES = {"human": "human", "user": "human", "gpt": "gpt", "assistant": "gpt"}


def role(value: Any) -> str:
    return ROLES.get(str(value).lower(), str(value))


def read_turns(conversations: Any) -> list[dict[str, str]]:
    """``[{"from", "value"}]`` with roles mapped; a missing list or a turn without a string value is a reject."""
    if not isinstance(conversations, list) or not conversations:
        raise RejectError(MALFORMED_ROW, "no conversations")
    turns = []
    for turn in conversations:
        if not isinstance(turn, dict) or not isinstance(turn.get("value"), str):
            raise RejectError(MALFORMED_ROW, "turn without a string value")
        turns.append({"from": role(turn.get("from", "")), "value": turn["value"]})
    return turns


def _placeholder_pattern(tags: Iterable[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(t) for t in sorted(tags))
    return re.compile(rf"\n?(?:{alternatives})\n?")


def normalise_turns(conversations: Any, modality: str | None, media_tags: Iterable[str] = ()) -> list[dict[str, str]]:
    """LLaVA-style turns with the modality's placeholder leading the first turn.

    For a media modality every tag in ``media_tags`` (the source's own placeholders, e.g. ``<image>`` or
    ``<video>``) is removed wherever it sits, and the modality's placeholder leads the first turn as
    ``"<image>\\n..."`` — LLaVA puts it before or after the question; OneLLM reads it only from the front.
    Text items are left alone so a stray placeholder is rejected by validation.
    """
    turns = read_turns(conversations)
    if modality is None or modality == "text":
        return turns
    placeholder = PLACEHOLDERS[modality]
    pattern = _placeholder_pattern({placeholder, *media_tags})
    for turn in turns:
        turn["value"] = pattern.sub("\n", turn["value"]).strip()
    first = turns[0]["value"]
    turns[0]["value"] = f"{placeholder}\n{first}" if first else placeholder
    return turns


def retag_turns(conversations: Any, old: str, new: str) -> list[dict[str, str]]:
    """LLaVA-style turns with the ``old`` placeholder swapped for ``new`` where it stands (PointLLM, LLaVA-150K
    maps: their placeholder is already at the front). Order and placeholder rules are checked by validation."""
    turns = read_turns(conversations)
    for turn in turns:
        turn["value"] = turn["value"].replace(old, new)
    return turns


def clean_text(value: Any, what: str = "caption") -> str:
    """Collapse stray whitespace; a non-string or blank value is a reject."""
    if not isinstance(value, str):
        raise RejectError(f"non-string {what}", repr(value)[:80])
    text = " ".join(value.split())
    if not text:
        raise RejectError(EMPTY_CAPTION if what == "caption" else f"empty {what}")
    return text


def caption_turns(modality: str, caption: Any) -> list[dict[str, str]]:
    """Alignment form: the placeholder alone, then the caption (OneLLM trains on the caption only)."""
    return [{"from": "human", "value": PLACEHOLDERS[modality]}, {"from": "gpt", "value": clean_text(caption)}]


def prompt_turns(modality: str, prompt: str, answer: Any, what: str = "caption") -> list[dict[str, str]]:
    """One-turn instruction: placeholder + OneLLM's fixed prompt (e.g. "Describe the motion."), then the
    cleaned answer."""
    return [{"from": "human", "value": f"{PLACEHOLDERS[modality]}\n{prompt}"},
            {"from": "gpt", "value": clean_text(answer, what)}]


def caption_prompt(modality: str) -> str:
    return CAPTION_PROMPTS[modality]


def short_qa_prompt(question: Any) -> str:
    return f"{clean_text(question, 'question')} {SHORT_QA_SUFFIX}"
