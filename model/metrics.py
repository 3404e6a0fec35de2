"""Evaluation metrics as OneLLM reports them.

Captioning: BLEU-1..4, METEOR, ROUGE-L and CIDEr with pycocoevalcap on PTB-tokenised text (METEOR and the
tokenizer need Java). SPICE (and so SPIDEr) is not computed: it needs Stanford CoreNLP models that pycocoevalcap
downloads on first use. Short-answer QA: exact match after normalisation, and OneLLM's lenient match
(prediction in answer or answer in prediction, lowercased) — both reported. Multiple choice: option letter.

METEOR's Java process loads its paraphrase tables once (about 10 s) and is reused for later calls in the same
Python process; its scores are per-call (stateless), so reuse does not change them.
"""

from __future__ import annotations

import json
import re
import threading
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


_METEOR: Any = None
_METEOR_GUARD = threading.Lock()


def _meteor_score(gts: dict[str, list[str]], res: dict[str, list[str]]) -> float:
    """Corpus METEOR through one long-lived ``Meteor`` process (restarted if it died or a call failed)."""
    global _METEOR
    from pycocoevalcap.meteor.meteor import Meteor

    with _METEOR_GUARD:
        if _METEOR is None or _METEOR.meteor_p.poll() is not None:
            _METEOR = Meteor()
        meteor = _METEOR
        try:
            return float(meteor.compute_score(gts, res)[0])
        except Exception:
            # the wrapper keeps its lock on failure and would deadlock in __del__: free it, drop the process
            if meteor.lock.locked():
                meteor.lock.release()
            meteor.meteor_p.kill()
            _METEOR = None
            raise


def _ngram_scores(gts: Mapping[str, list[str]], res: Mapping[str, list[str]]) -> dict[str, float]:
    """BLEU-1..4, ROUGE-L and CIDEr on already tokenised text (CIDEr's IDF comes from these references)."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    gts, res = dict(gts), dict(res)
    scores: dict[str, float] = {}
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    scores.update({f"BLEU-{n + 1}": float(b) for n, b in enumerate(bleu)})
    scores["ROUGE-L"] = float(Rouge().compute_score(gts, res)[0])
    scores["CIDEr"] = float(Cider().compute_score(gts, res)[0])
    return scores


def caption_scores(predictions: Mapping[str, str], references: Mapping[str, Sequence[str]],
                   groups: Mapping[str, str] | None = None, meteor: bool = True) -> dict[str, Any]:
    """Corpus-level caption metrics over the ids in ``predictions`` (as OneLLM restricts to result ids).

    ``groups`` (id → subset name, e.g. NoCaps' in/near/out-domain) adds ``by_group``: BLEU, ROUGE-L and CIDEr
    per subset (CIDEr with the subset's own IDF, as the NoCaps evaluation does; METEOR only overall).
    """
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    ids = sorted(predictions)
    if not ids:
        raise ValueError("no predictions to score")
    missing = [i for i in ids if not references.get(i)]
    if missing:
        raise KeyError(f"no reference captions for ids {missing[:5]}")
    tok = PTBTokenizer()
    gts = tok.tokenize({i: [{"caption": c} for c in references[i]] for i in ids})
    res = tok.tokenize({i: [{"caption": predictions[i]}] for i in ids})
    scores: dict[str, Any] = _ngram_scores(gts, res)
    if meteor:
        scores["METEOR"] = _meteor_score(gts, res)
    order = ["BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr"]
    scores = {k: scores[k] for k in order if k in scores}
    if groups:
        by_group: dict[str, dict[str, float]] = {}
        for name in sorted({groups[i] for i in ids if i in groups}):
            sub = [i for i in ids if groups.get(i) == name]
            by_group[name] = {"items": len(sub), **_ngram_scores({i: gts[i] for i in sub}, {i: res[i] for i in sub})}
        scores["by_group"] = by_group
    return scores


def normalize_answer(text: str) -> str:
    """Lowercase, drop punctuation and articles, squeeze spaces (the usual VQA-style normalisation)."""
    text = _PUNCT.sub(" ", text.lower())
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, answers: str | Sequence[str]) -> bool:
    answers = [answers] if isinstance(answers, str) else list(answers)
    pred = normalize_answer(prediction)
    return any(pred == normalize_answer(a) for a in answers)


def lenient_match(prediction: str, answer: str | Sequence[str]) -> bool:
    """OneLLM's MSVD-QA rule: the lowercased prediction contains the answer or is contained in it (any of
    several accepted answers when a list is given)."""
    answers = [answer] if isinstance(answer, str) else list(answer)
    pred = prediction.strip().lower()
    if not pred:
        return False
    golds = [a.strip().lower() for a in answers]
    return any(gt and (pred in gt or gt in pred) for gt in golds)


def option_letter(prediction: str) -> str | None:
    """The option letter a multiple-choice answer starts with (``"B"``, ``"(B) cat"``, ``"B. cat"``)."""
    match = _LETTER.match(prediction)
    return match.group(1) if match else None


def qa_scores(predictions: Sequence[str], answers: Sequence[str | Sequence[str]]) -> dict[str, float]:
    """Exact and lenient match against the main answer (the first of a list); with any list answers, also
    ``exact_match_any`` / ``lenient_match_any`` against every accepted answer."""
    if len(predictions) != len(answers) or not answers:
        raise ValueError("need as many predictions as answers, and at least one")
    n = len(answers)
    main = [a if isinstance(a, str) else (list(a)[0] if len(a) else "") for a in answers]
    scores = {
        "exact_match": sum(exact_match(p, a) for p, a in zip(predictions, main)) / n,
        "lenient_match": sum(lenient_match(p, a) for p, a in zip(predictions, main)) / n,
    }
    if any(not isinstance(a, str) for a in answers):
        scores["exact_match_any"] = sum(exact_match(p, a) for p, a in zip(predictions, answers)) / n
        scores["lenient_match_any"] = sum(lenient_match(p, a) for p, a in zip(predictions, answers)) / n
    return scores


def choice_accuracy(predictions: Sequence[str], letters: Sequence[str]) -> float:
    if len(predictions) != len(letters) or not letters:
        raise ValueError("need as many predictions as answer letters, and at least one")
    return sum(option_letter(p) == l.strip().upper() for p, l in zip(predictions, letters)) / len(letters)
