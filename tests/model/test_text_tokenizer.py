"""The bundled demo SentencePiece model and its wrapper."""

from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path

import pytest

from model.text_tokenizer import DEMO_TOKENIZER, Tokenizer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return Tokenizer(DEMO_TOKENIZER)


def test_llama_special_ids(tok: Tokenizer) -> None:
    assert (tok.unk_id, tok.bos_id, tok.eos_id, tok.pad_id) == (0, 1, 2, 0)
    assert 900 <= tok.n_words <= 1100
    assert DEMO_TOKENIZER.stat().st_size < 100_000


@pytest.mark.parametrize("text", ["A red dog sitting on a chair.", "### Human: What is shown?\n### Assistant: 42\n###",
                                  "  two  spaces\tand tab ", "Provide a one-sentence caption for the provided image."])
def test_round_trip(tok: Tokenizer, text: str) -> None:
    ids = tok.encode(text, bos=True, eos=True)
    assert ids[0] == tok.bos_id and ids[-1] == tok.eos_id
    assert tok.bos_id not in ids[1:-1] and tok.eos_id not in ids[1:-1]
    assert tok.decode(ids) == text


def test_bos_eos_flags(tok: Tokenizer) -> None:
    plain = tok.encode("a cat", bos=False, eos=False)
    assert tok.encode("a cat", bos=True, eos=False) == [tok.bos_id, *plain]
    assert tok.encode("a cat", bos=False, eos=True) == [*plain, tok.eos_id]


def test_byte_fallback_on_unseen_unicode(tok: Tokenizer) -> None:
    text = "日本語の猫 🙂 ∮ Ωμέγα"
    ids = tok.encode(text, bos=False, eos=False)
    assert tok.unk_id not in ids  # never <unk>: unseen characters become UTF-8 byte pieces
    pieces = [tok.id_to_piece(i) for i in ids]
    assert "<0xF0>" in pieces  # first byte of the emoji
    assert tok.decode(ids) == text


def test_frequent_words_are_single_pieces(tok: Tokenizer) -> None:
    # The template's words must be compact, or seq_len is wasted on scaffolding.
    for word in ("Human", "Assistant", "image", "caption"):
        assert len(tok.encode(word, bos=False, eos=False)) == 1, word


def test_picklable_for_dataloader_workers(tok: Tokenizer) -> None:
    clone = pickle.loads(pickle.dumps(tok))
    assert clone.encode("a dog", True, True) == tok.encode("a dog", True, True)


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no SentencePiece model"):
        Tokenizer(tmp_path / "nope.model")


def test_training_script_reproduces_bundled_model(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("train_demo_tokenizer", ROOT / "scripts" / "train_demo_tokenizer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.train(tmp_path / "again.model")
    assert out.read_bytes() == DEMO_TOKENIZER.read_bytes()
