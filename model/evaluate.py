"""Evaluation: captioning (COCO-format references, pycocoevalcap), short-answer QA (exact and OneLLM's lenient
match) and multiple choice (option letter), with the paper's prompts (Table 11) per modality.

Annotation formats:
- caption: COCO captions JSON, ``images[].file_name`` relative to the media root (plus ``map_file`` for depth/normal,
  ``window_start``/``window_end`` for IMU, whose ``file_name`` is the recording);
- qa: a JSON list of ``{"question_id"|"id", "file_name"|"video"|"image", "question", "answer"}``
  (``answer`` a string or a list of accepted strings);
- mc: as qa, plus ``"options": [str, ...]`` and ``"answer"`` the correct option letter.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model import metrics
from model.media import MediaInput, load_media

CAPTION_PROMPTS = {
    "image": "Provide a one-sentence caption for the provided image.",
    "video": "Provide a one-sentence caption for the provided video.",
    "audio": "Provide a one-sentence caption for the provided audio.",
    "point": "Provide a one-sentence caption for the provided point cloud.",
    "depth": "Provide a one-sentence caption for the provided image.",
    "normal": "Provide a one-sentence caption for the provided image.",
    "imu": "Describe the motion.",
    "fmri": "Describe the scene based on fMRI data.",
}
QA_SUFFIX = "Answer the question using a single word or phrase."
MC_SUFFIX = "Answer with the option's letter from the given choices directly."
LETTERS = "ABCDEFGHIJ"


@dataclass(frozen=True)
class EvalItem:
    item_id: str
    media: MediaInput
    prompt: str
    answer: Any = None


def _media(entry: dict[str, Any], modality: str, root: Path) -> MediaInput:
    name = entry.get("file_name") or entry.get("video") or entry.get("image") or entry.get("audio")
    if not name:
        raise ValueError(f"eval entry {entry.get('id', entry.get('question_id'))!r} names no media file")
    window = None
    if modality == "imu":
        window = (float(entry["window_start"]), float(entry["window_end"]))
    map_path = root / entry["map_file"] if entry.get("map_file") else None
    return MediaInput(modality, root / name, map_path=map_path, window=window)


def caption_items(annotations: Path, modality: str, media_root: Path, prompt: str | None = None
                  ) -> tuple[list[EvalItem], dict[str, list[str]]]:
    images, references = metrics.load_coco_captions(annotations)
    text = prompt or CAPTION_PROMPTS[modality]
    items = [EvalItem(str(i), _media(rec, modality, media_root), text) for i, rec in sorted(images.items())]
    return items, references


def qa_items(path: Path, modality: str, media_root: Path, multiple_choice: bool = False) -> list[EvalItem]:
    entries = json.loads(Path(path).read_text(encoding="utf-8"))
    items = []
    for n, entry in enumerate(entries):
        qid = str(entry.get("question_id", entry.get("id", n)))
        question = str(entry["question"]).strip()
        if multiple_choice:
            options = "\n".join(f"{LETTERS[i]}. {opt}" for i, opt in enumerate(entry["options"]))
            prompt = f"{question}\n{options}\n{MC_SUFFIX}"
        else:
            prompt = f"{question} {QA_SUFFIX}"
        items.append(EvalItem(qid, _media(entry, modality, media_root), prompt, entry["answer"]))
    return items


def run_eval(task: str, items: list[EvalItem], answer_fn: Callable[[EvalItem], str],
             references: dict[str, list[str]] | None = None, out_dir: Path | None = None) -> dict[str, Any]:
    """``answer_fn`` maps an item to the model's answer text. Writes predictions.json and metrics.json."""
    predictions = {item.item_id: answer_fn(item) for item in items}
    if task == "caption":
        scores: dict[str, Any] = metrics.caption_scores(predictions, references or {})
        rows = [{"image_id": k, "caption": v} for k, v in predictions.items()]
    elif task == "qa":
        preds = [predictions[i.item_id] for i in items]
        golds = [i.answer if isinstance(i.answer, str) else i.answer[0] for i in items]
        scores = metrics.qa_scores(preds, golds)
        scores["exact_match_any"] = sum(metrics.exact_match(p, i.answer) for p, i in zip(preds, items)) / max(len(items), 1)
        rows = [{"question_id": i.item_id, "prediction": p, "answer": i.answer} for p, i in zip(preds, items)]
    elif task == "mc":
        preds = [predictions[i.item_id] for i in items]
        scores = {"accuracy": metrics.choice_accuracy(preds, [str(i.answer) for i in items])}
        rows = [{"question_id": i.item_id, "prediction": p, "answer": i.answer} for p, i in zip(preds, items)]
    else:
        raise ValueError(f"unknown eval task {task!r}: use caption, qa or mc")
    scores = {"task": task, "items": len(items), **scores}
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "predictions.json").write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
        (out_dir / "metrics.json").write_text(json.dumps(scores, indent=1) + "\n")
    return scores


def model_answer_fn(model, tokenizer, max_new_tokens: int = 64, temperature: float = 0.0
                    ) -> Callable[[EvalItem], str]:
    """Answers with the training conversation template and KV-cached greedy (or sampled) decoding."""
    import torch

    from model.generate import generate
    from onellm_data.loader.template import encode_prompt, extract_answer

    device = next(model.parameters()).device

    @torch.no_grad()
    def answer(item: EvalItem) -> str:
        media = load_media(item.media).to(device)
        ids = encode_prompt(item.prompt, tokenizer, modality=item.media.modality)
        out = generate(model, ids, media, item.media.modality, max_new_tokens=max_new_tokens,
                       eos_id=tokenizer.eos_id, temperature=temperature)
        return extract_answer(tokenizer.decode(out))

    return answer
