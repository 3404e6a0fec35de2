"""Evaluation metrics as OneLLM reports them.

Captioning: BLEU-1..4, METEOR, ROUGE-L and CIDEr with pycocoevalcap on PTB-tokenised text (METEOR and the
tokenizer need Java). Short-answer QA: exact match after normalisation, and OneLLM's lenient match
(prediction in answer or answer in prediction, lowercased) — both reported. Multiple choice: option letter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = re.compile(r"[^\w\s]")
_LETTER = re.compile(r"^\s*\(?([A-Z])\)?(?:[.:)\s]|$)")


def load_coco_captions(path: Path | str) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
    """COCO caption annotations → (image records by id, reference captions by image id)."""
    data = json.loads(Path(path).read_text())
    images = {str(img["id"]): img for img in data["images"]}
    refs: dict[str, list[str]] = {i: [] for i in images}
    for ann in data["annotations"]:
        refs.setdefault(str(ann["image_id"]), []).append(ann["caption"])
    return images, refs


def caption_scores(predictions: Mapping[str, str], references: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """Corpus-level caption metrics over the ids in ``predictions`` (as OneLLM restricts to result ids)."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    ids = sorted(predictions)
    missing = [i for i in ids if not references.get(i)]
    if missing:
        raise KeyError(f"no reference captions for ids {missing[:5]}")
    tok = PTBTokenizer()
    gts = tok.tokenize({i: [{"caption": c} for c in references[i]] for i in ids})
    res = tok.tokenize({i: [{"caption": predictions[i]}] for i in ids})
    scores: dict[str, float] = {}
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    scores.update({f"BLEU-{n + 1}": float(b) for n, b in enumerate(bleu)})
    scores["METEOR"] = float(Meteor().compute_score(gts, res)[0])
    scores["ROUGE-L"] = float(Rouge().compute_score(gts, res)[0])
    scores["CIDEr"] = float(Cider().compute_score(gts, res)[0])
    return scores


def normalize_answer(text: str) -> str:
    """Lowercase, drop punctuation and articles, squeeze spaces (the usual VQA-style normalisation)."""
    text = _PUNCT.sub(" ", text.lower())
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, answers: str | Sequence[str]) -> bool:
    answers = [answers] if isinstance(answers, str) else list(answers)
    pred = normalize_answer(prediction)
    return any(pred == normalize_answer(a) for a in answers)


def lenient_match(prediction: str, answer: str) -> bool:
    """OneLLM's MSVD-QA rule: the lowercased prediction contains the answer or is contained in it."""
    pred, gt = prediction.strip().lower(), answer.strip().lower()
    return bool(pred) and (pred in gt or gt in pred)


def option_letter(prediction: str) -> str | None:
    """The option letter a multiple-choice answer starts with (``"B"``, ``"(B) cat"``, ``"B. cat"``)."""
    match = _LETTER.match(prediction)
    return match.group(1) if match else None


def qa_scores(predictions: Sequence[str], answers: Sequence[str]) -> dict[str, float]:
    if len(predictions) != len(answers) or not answers:
        raise ValueError("need as many predictions as answers, and at least one")
    n = len(answers)
    return {
        "exact_match": sum(exact_match(p, a) for p, a in zip(predictions, answers)) / n,
        "lenient_match": sum(lenient_match(p, a) for p, a in zip(predictions, answers)) / n,
    }


def choice_accuracy(predictions: Sequence[str], letters: Sequence[str]) -> float:
    if len(predictions) != len(letters) or not letters:
        raise ValueError("need as many predictions as answer letters, and at least one")
    return sum(option_letter(p) == l.strip().upper() for p, l in zip(predictions, letters)) / len(letters)
