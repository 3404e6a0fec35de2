"""The one conversation template, shared by training and inference.

Layout (OneLLM's training format, whose weights expect it)::

    {SYSTEM}\\n\\n### Human: {q1}\\n### Assistant: {a1}\\n### Human: {q2}\\n### Assistant: {a2}\\n###</s>

OneLLM tokenized this string whole for training but prompted with ``###Human:`` at inference, so the model saw
different tokens at test time. Here the token ids are built by concatenating separately encoded segments, and the
inference prompt is *exactly* the token prefix training used before the first answer: every prompt segment ends
with ``### Assistant:`` and every answer segment (``{a}\\n###``) starts with SentencePiece's word-boundary mark,
which stands for the space after the colon. Labels are −100 except the answer segments (and the final EOS).

The recipe, not the sample, picks the format (``FORMATS``): instruction tuning trains every source, caption
sources included, as ``chat`` with its instruction; alignment stages train ``caption``: ``<s> {caption}</s>`` with
every caption token and the EOS as targets, as OneLLM's alignment loss (the first answer is the caption). A run
records its format and eval/chat prompt the same way (``encode_prompt``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from onellm_data.errors import SettingError
from onellm_data.recipes import FORMATS
from onellm_data.schema import PLACEHOLDERS

IGNORE_INDEX = -100
SYSTEM = ("A chat between a curious human and an artificial intelligence assistant. "
          "The assistant gives helpful, detailed, and polite answers to the human's questions.")
HUMAN, ASSISTANT, SEP = "Human", "Assistant", "###"
CHAT, CAPTION = FORMATS
_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS.values()))


class TextTokenizer(Protocol):
    """What the loader needs from a tokenizer (``model.text_tokenizer.Tokenizer`` is one); the loader never
    imports the model package."""

    bos_id: int
    eos_id: int
    pad_id: int

    def encode(self, text: str, bos: bool, eos: bool) -> list[int]: ...

    def decode(self, ids: Sequence[int]) -> str: ...


def clean(value: str) -> str:
    """Media placeholders are removed (the model inserts the media after BOS) and the turn stripped."""
    return _PLACEHOLDER.sub("", value).strip()


def _question_segment(question: str, first: bool) -> str:
    head = f"{SYSTEM}\n\n{SEP} " if first else ""  # later turns: the boundary mark is the space after "###"
    return f"{head}{HUMAN}: {clean(question)}\n{SEP} {ASSISTANT}:"


def _answer_segment(answer: str) -> str:
    return f"{clean(answer)}\n{SEP}"


def render(conversations: Sequence[dict[str, str]]) -> str:
    """The conversation as text (what ``decode(input_ids)`` gives back, without BOS/EOS)."""
    parts = []
    for i in range(0, len(conversations), 2):
        parts.append(_question_segment(conversations[i]["value"], i == 0))
        if i + 1 < len(conversations):
            parts.append(_answer_segment(conversations[i + 1]["value"]))
    return " ".join(parts)


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise SettingError(f"unknown training format {fmt!r}: use {' or '.join(FORMATS)}")
    return fmt


def encode_caption(caption: str, tokenizer: TextTokenizer, max_len: int) -> tuple[list[int], list[int]]:
    ids = tokenizer.encode(clean(caption), bos=True, eos=True)[:max_len]
    return ids, [IGNORE_INDEX, *ids[1:]]


def encode_conversation(conversations: Sequence[dict[str, str]], tokenizer: TextTokenizer, max_len: int,
                        fmt: str = CHAT) -> tuple[list[int], list[int]]:
    """Token ids and labels (same length ≤ ``max_len``, right-truncated, unpadded).

    ``fmt``: ``chat`` (the template above) or ``caption`` (the first answer alone, as alignment stages train).
    """
    if len(conversations) < 2 or conversations[0].get("from") != "human":
        raise ValueError("a conversation starts with a human turn and has at least one answer")
    if check_format(fmt) == CAPTION:
        return encode_caption(conversations[1]["value"], tokenizer, max_len)
    ids: list[int] = [tokenizer.bos_id]
    labels: list[int] = [IGNORE_INDEX]
    for i in range(0, len(conversations) - 1, 2):
        question = tokenizer.encode(_question_segment(conversations[i]["value"], i == 0), bos=False, eos=False)
        answer = tokenizer.encode(_answer_segment(conversations[i + 1]["value"]), bos=False, eos=False)
        ids += question + answer
        labels += [IGNORE_INDEX] * len(question) + answer
        if len(ids) >= max_len:
            break
    ids.append(tokenizer.eos_id)  # the conversation's end is a target: generation stops on EOS
    labels.append(tokenizer.eos_id)
    return ids[:max_len], labels[:max_len]


def encode_prompt(question: str, tokenizer: TextTokenizer, modality: str | None = None,
                  history: Sequence[dict[str, str]] = (), fmt: str = CHAT) -> list[int]:
    """What chat and eval feed the model: earlier turns, then ``question``, up to ``### Assistant:``.

    The ids equal the training ids of the same conversation up to the answer (``modality`` is accepted for
    symmetry: media go in through the model, placeholders are dropped either way). A ``caption``-format model
    was trained on ``<s> caption</s>``: its prompt is BOS alone (the media follow it), whatever the question.
    """
    ids: list[int] = [tokenizer.bos_id]
    if check_format(fmt) == CAPTION:
        return ids
    for i in range(0, len(history) - 1, 2):
        ids += tokenizer.encode(_question_segment(history[i]["value"], i == 0), bos=False, eos=False)
        ids += tokenizer.encode(_answer_segment(history[i + 1]["value"]), bos=False, eos=False)
    ids += tokenizer.encode(_question_segment(question, not history), bos=False, eos=False)
    return ids


def extract_answer(generated: str) -> str:
    """The answer in decoded model output: text after the last ``### Assistant:`` (if echoed), before ``###``."""
    marker = f"{SEP} {ASSISTANT}:"
    if marker in generated:
        generated = generated.rsplit(marker, 1)[1]
    return generated.split(SEP, 1)[0].strip()


def pad(ids: list[int], labels: list[int], length: int, pad_id: int) -> tuple[list[int], list[int]]:
    """Right-pad (or truncate) to ``length``; padding is never a target."""
    ids, labels = ids[:length], labels[:length]
    fill = length - len(ids)
    return ids + [pad_id] * fill, labels + [IGNORE_INDEX] * fill
