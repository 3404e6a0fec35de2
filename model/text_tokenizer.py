"""SentencePiece text tokenizer with LLaMA's conventions (unk 0, bos 1, eos 2, byte fallback).

The same class reads Meta's LLaMA-2 ``tokenizer.model`` and the small demo model bundled in ``model/assets``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import sentencepiece as spm

# Trained by scripts/train_demo_tokenizer.py on text the project generates itself (no third-party text).
DEMO_TOKENIZER: Path = Path(__file__).resolve().parent / "assets" / "demo_tokenizer.model"


class Tokenizer:
    """Thin typed wrapper over ``SentencePieceProcessor``."""

    def __init__(self, model_path: Path | str) -> None:
        path = Path(model_path)
        if not path.is_file():
            raise FileNotFoundError(f"no SentencePiece model at {path}")
        self.model_path = path
        self.sp = spm.SentencePieceProcessor(model_file=str(path))
        self.n_words: int = self.sp.vocab_size()
        self.bos_id: int = self.sp.bos_id()
        self.eos_id: int = self.sp.eos_id()
        # LLaMA's model has no pad piece (pad_id -1); 0 (unk) is the conventional filler then, always masked.
        self.pad_id: int = self.sp.pad_id() if self.sp.pad_id() >= 0 else 0
        self.unk_id: int = self.sp.unk_id()

    def encode(self, text: str, bos: bool, eos: bool) -> list[int]:
        ids: list[int] = self.sp.encode(text)
        if bos:
            ids = [self.bos_id, *ids]
        if eos:
            ids = [*ids, self.eos_id]
        return ids

    def decode(self, ids: Sequence[int]) -> str:
        return self.sp.decode([int(i) for i in ids])

    def id_to_piece(self, token_id: int) -> str:
        return self.sp.id_to_piece(int(token_id))

    def __getstate__(self) -> dict:
        # SentencePieceProcessor objects do not pickle; DataLoader workers rebuild it from the path.
        return {"model_path": self.model_path}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["model_path"])

    def __repr__(self) -> str:
        return f"Tokenizer({str(self.model_path)!r}, n_words={self.n_words})"
