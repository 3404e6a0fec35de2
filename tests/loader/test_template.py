"""The conversation template: exact label masking, one format for training and inference."""

from __future__ import annotations

import pytest

from model.text_tokenizer import DEMO_TOKENIZER, Tokenizer
from onellm_data.loader.template import (
    IGNORE_INDEX,
    SYSTEM,
    encode_conversation,
    encode_prompt,
    extract_answer,
    pad,
    render,
)

CONV = [
    {"from": "human", "value": "<image>\nWhat is shown?"},
    {"from": "gpt", "value": "A red dog sitting on a chair."},
    {"from": "human", "value": "What color is the dog?"},
    {"from": "gpt", "value": "Red"},
]


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return Tokenizer(DEMO_TOKENIZER)


def _spans(labels: list[int]) -> list[tuple[int, int]]:
    spans, start = [], None
    for i, label in enumerate([*labels, IGNORE_INDEX]):
        if label != IGNORE_INDEX and start is None:
            start = i
        elif label == IGNORE_INDEX and start is not None:
            spans.append((start, i))
            start = None
    return spans


def test_decoded_text_is_the_template(tok: Tokenizer) -> None:
    ids, labels = encode_conversation(CONV, tok, 512)
    assert ids[0] == tok.bos_id and ids[-1] == tok.eos_id
    expected = (f"{SYSTEM}\n\n### Human: What is shown?\n### Assistant: A red dog sitting on a chair.\n"
                "### Human: What color is the dog?\n### Assistant: Red\n###")
    assert tok.decode(ids) == expected == render(CONV)
    assert "<image>" not in tok.decode(ids)


def test_labels_are_exactly_the_answers(tok: Tokenizer) -> None:
    ids, labels = encode_conversation(CONV, tok, 512)
    assert len(ids) == len(labels)
    # Targets equal the inputs where set; everything else is ignored.
    assert all(label in (IGNORE_INDEX, token) for token, label in zip(ids, labels))
    spans = _spans(labels)
    assert len(spans) == 2
    first, second = (tok.decode(ids[a:b]) for a, b in spans)
    assert first == "A red dog sitting on a chair.\n###"
    assert second == "Red\n###"  # second span ends with the EOS, which is a target
    assert labels[-1] == tok.eos_id and spans[-1][1] == len(ids)
    # Nothing of the system text, the questions or the role names is a target.
    masked = tok.decode([t for t, lab in zip(ids, labels) if lab == IGNORE_INDEX])
    assert "What is shown?" in masked and "Assistant:" in masked and SYSTEM in masked
    assert "Red" not in masked and "red dog" not in masked


def test_prompt_is_the_training_prefix(tok: Tokenizer) -> None:
    ids, labels = encode_conversation(CONV, tok, 512)
    prompt = encode_prompt("<image>\nWhat is shown?", tok, modality="image")
    assert ids[: len(prompt)] == prompt
    assert labels[len(prompt) - 1] == IGNORE_INDEX and labels[len(prompt)] != IGNORE_INDEX  # answer starts next
    assert tok.decode(prompt).endswith("### Human: What is shown?\n### Assistant:")
    # Second turn with history: again the exact training prefix.
    prompt2 = encode_prompt("What color is the dog?", tok, history=CONV[:2])
    assert ids[: len(prompt2)] == prompt2
    assert tok.decode(ids[len(prompt2):]) == "Red\n###"


def test_generated_answer_is_extracted(tok: Tokenizer) -> None:
    ids, _ = encode_conversation(CONV[:2], tok, 512)
    prompt = encode_prompt(CONV[0]["value"], tok)
    continuation = tok.decode(ids[len(prompt):])
    assert extract_answer(continuation) == "A red dog sitting on a chair."
    assert extract_answer(tok.decode(ids)) == "A red dog sitting on a chair."


def test_caption_format_trains_on_caption_only(tok: Tokenizer) -> None:
    conv = [{"from": "human", "value": "<image>\nProvide a one-sentence caption for the provided image."},
            {"from": "gpt", "value": "A white cat on a table."}]
    ids, labels = encode_conversation(conv, tok, 64, "caption")
    assert ids == tok.encode("A white cat on a table.", bos=True, eos=True)
    assert labels == [IGNORE_INDEX, *ids[1:]]
    assert encode_prompt("Provide a one-sentence caption for the provided image.", tok, fmt="caption") == ids[:1]


def test_chat_format_keeps_the_instruction_of_a_caption_sample(tok: Tokenizer) -> None:
    """The same caption sample in an instruction-tuning recipe trains with its prompt; eval's prompt is its prefix."""
    conv = [{"from": "human", "value": "<image>\nProvide a one-sentence caption for the provided image."},
            {"from": "gpt", "value": "A white cat on a table."}]
    ids, labels = encode_conversation(conv, tok, 128, "chat")
    prompt = encode_prompt("Provide a one-sentence caption for the provided image.", tok, "image")
    first_target = next(i for i, label in enumerate(labels) if label != IGNORE_INDEX)
    assert ids[:first_target] == prompt and len(prompt) > 10


def test_unknown_format_is_an_error(tok: Tokenizer) -> None:
    with pytest.raises(ValueError, match="unknown training format 'plain'"):
        encode_conversation(CONV[:2], tok, 64, "plain")


def test_truncation_and_padding(tok: Tokenizer) -> None:
    ids, labels = encode_conversation(CONV, tok, 20)
    assert len(ids) == len(labels) == 20
    padded_ids, padded_labels = pad(ids, labels, 32, tok.pad_id)
    assert padded_ids[20:] == [tok.pad_id] * 12 and padded_labels[20:] == [IGNORE_INDEX] * 12
    assert pad(ids, labels, 8, tok.pad_id) == (ids[:8], labels[:8])
