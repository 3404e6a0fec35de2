"""Evaluation: captioning (COCO-format references, pycocoevalcap), short-answer QA (exact and OneLLM's lenient
match) and multiple choice (option letter), with the paper's prompts (Table 11) per modality.

Generic annotation formats (``onellm-data eval`` without ``--dataset``; the paper's sets in their official
layouts are read by ``model.eval_sets``):

- caption: COCO captions JSON, ``images[].file_name`` relative to the media root (plus ``map_file`` for depth/normal,
  ``window_start``/``window_end`` for IMU, whose ``file_name`` is the recording);
- qa: a JSON list of ``{"question_id"|"id", "file_name"|"video"|"image", "question", "answer"}``
  (``answer`` a string or a list of accepted strings);
- mc: as qa, plus ``"options": [str, ...]`` and ``"answer"`` the correct option letter.

Outputs (``run_eval`` with ``out_dir``): ``predictions.json`` (captions in COCO results form
``[{image_id, caption}]``; qa/mc rows with the question, prediction, answer and per-item correctness) and
``metrics.json`` (task, item count, the scores, and whatever ``info`` the caller adds: dataset, weights, decoding).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from model import metrics
from model.generate import generate_batch
from model.media import MediaInput, load_media
from onellm_data.errors import OnellmDataError, SettingError
from onellm_data.loader.template import CHAT, TextTokenizer, check_format, encode_prompt, extract_answer
from onellm_data.prompts import CAPTION_PROMPTS, MC_SUFFIX, SHORT_QA_SUFFIX
from onellm_data.shards.atomic import write_bytes_atomic

LETTERS = "ABCDEFGHIJ"
TASKS = ("caption", "qa", "mc")


@dataclass(frozen=True)
class EvalItem:
    item_id: str
    media: MediaInput | None  # None: a text-only question
    prompt: str
    answer: Any = None
    info: dict[str, Any] | None = field(default=None, compare=False, hash=False)  # extra columns for predictions


def qa_prompt(question: str) -> str:
    """Short-answer QA (GQA, VQAv2, MSVD-QA, Clotho-AQA ...):
    ``{Q} Answer the question using a single word or phrase.``"""
    return f"{question.strip()} {SHORT_QA_SUFFIX}"


def mc_prompt(question: str, options: Sequence[str]) -> str:
    """Multiple choice: ``{Q} {Options} Answer with the option's letter from the given choices directly.``"""
    if len(options) > len(LETTERS):
        raise SettingError(f"at most {len(LETTERS)} options, got {len(options)}")
    lines = "\n".join(f"{LETTERS[i]}. {opt}" for i, opt in enumerate(options))
    return f"{question.strip()}\n{lines}\n{MC_SUFFIX}"


def _media(entry: dict[str, Any], modality: str, root: Path) -> MediaInput:
    name = entry.get("file_name") or entry.get("video") or entry.get("image") or entry.get("audio")
    if not name:
        raise SettingError(f"eval entry {entry.get('id', entry.get('question_id'))!r} names no media file")
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
    if not isinstance(entries, list):
        raise SettingError(f"{path}: a qa/mc annotation file is a JSON list of questions")
    items = []
    for n, entry in enumerate(entries):
        qid = str(entry.get("question_id", entry.get("id", n)))
        question = str(entry["question"]).strip()
        prompt = mc_prompt(question, entry["options"]) if multiple_choice else qa_prompt(question)
        items.append(EvalItem(qid, _media(entry, modality, media_root), prompt, entry["answer"],
                              info={"question": question}))
    return items


def _int_id(item_id: str) -> int | str:
    """COCO results use the annotation's (usually integer) image ids."""
    return int(item_id) if item_id.isdigit() else item_id


def _collect(items: list[EvalItem], answer_fn: Callable[[EvalItem], str], skip_errors: bool,
             progress: Callable[[int], None] | None) -> tuple[dict[str, str], dict[str, str]]:
    """Predictions by id, and the error of every item that could not be answered (when skipping)."""
    many = getattr(answer_fn, "answer_many", None)
    if many is not None:
        results = many(items, progress=progress)
    else:
        results = {}
        for item in items:
            try:
                results[item.item_id] = answer_fn(item)
            except OnellmDataError as exc:
                results[item.item_id] = exc
            if progress is not None:
                progress(1)
    predictions, errors = {}, {}
    for item in items:
        out = results[item.item_id]
        if isinstance(out, Exception):
            if not skip_errors:
                where = item.media.describe() if item.media else "text"
                raise OnellmDataError(f"item {item.item_id} ({where}): {out}") from out
            errors[item.item_id] = str(out)
        else:
            predictions[item.item_id] = out
    return predictions, errors


def _qa_row(item: EvalItem, prediction: str) -> dict[str, Any]:
    """Per-question flags scored as the corpus numbers are: the main (first) answer, and every answer if a list."""
    main = item.answer if isinstance(item.answer, str) else (list(item.answer) or [""])[0]
    row = {"question_id": item.item_id, **(item.info or {}), "prediction": prediction, "answer": item.answer,
           "exact_match": metrics.exact_match(prediction, main),
           "lenient_match": metrics.lenient_match(prediction, main)}
    if not isinstance(item.answer, str):
        row["exact_match_any"] = metrics.exact_match(prediction, item.answer)
        row["lenient_match_any"] = metrics.lenient_match(prediction, item.answer)
    return row


def run_eval(task: str, items: list[EvalItem], answer_fn: Callable[[EvalItem], str],
             references: dict[str, list[str]] | None = None, out_dir: Path | None = None, *,
             groups: dict[str, str] | None = None, info: dict[str, Any] | None = None, skip_errors: bool = False,
             progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """``answer_fn`` maps an item to the model's answer text (``answer_many(items)`` is used when it has one).
    Writes predictions.json and metrics.json to ``out_dir``; returns the metrics.

    ``groups`` (caption ids → subset) adds per-subset caption scores. ``skip_errors``: items whose media cannot be
    read are left out of the scores and listed under ``skipped`` instead of stopping the run.
    """
    if task not in TASKS:
        raise SettingError(f"unknown eval task {task!r}: use caption, qa or mc")
    if not items:
        raise SettingError("no items to evaluate")
    predictions, errors = _collect(items, answer_fn, skip_errors, progress)
    done = [i for i in items if i.item_id in predictions]
    if not done:
        first = next(iter(errors.values()))
        raise SettingError(f"none of the {len(items)} items could be answered; first error: {first}")
    if task == "caption":
        scores: dict[str, Any] = metrics.caption_scores({i.item_id: predictions[i.item_id] for i in done},
                                                        references or {}, groups=groups)
        rows: list[dict[str, Any]] = [{"image_id": _int_id(i.item_id), "caption": predictions[i.item_id]}
                                      for i in done]
    elif task == "qa":
        preds = [predictions[i.item_id] for i in done]
        scores = metrics.qa_scores(preds, [i.answer for i in done])
        rows = [_qa_row(i, p) for p, i in zip(preds, done)]
    else:
        preds = [predictions[i.item_id] for i in done]
        scores = {"accuracy": metrics.choice_accuracy(preds, [str(i.answer) for i in done])}
        rows = [{"question_id": i.item_id, **(i.info or {}), "prediction": p,
                 "letter": metrics.option_letter(p), "answer": i.answer,
                 "correct": metrics.option_letter(p) == str(i.answer).strip().upper()} for p, i in zip(preds, done)]
    result: dict[str, Any] = {"task": task, **(info or {}), "items": len(done), **scores}
    if errors:
        result["skipped"] = len(errors)
        result["skipped_items"] = errors
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        # Whole files or none: a later reader (or a rerun's comparison) never sees a torn one.
        for name, document in (("predictions.json", rows), ("metrics.json", result)):
            write_bytes_atomic(out_dir / name, (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode())
    return result


# --- the model as an answer function ---------------------------------------------------------------------------

ONELLM_TEMPERATURE, ONELLM_TOP_P = 0.1, 0.75  # OneLLM's demo and eval scripts
ONELLM_DTYPE = "fp16"  # OneLLM ran inference in fp16 on GPU


def compat_dtype(dtype: str, device: str, onellm_compat: bool) -> str:
    """``--onellm-compat`` runs fp16 as OneLLM did, on a GPU (CPU half precision is neither OneLLM's set-up nor
    fast, so CPU keeps ``dtype``); an explicit other ``--dtype`` is an error."""
    if not onellm_compat or device == "cpu" or (device == "auto" and not torch.cuda.is_available()):
        return dtype
    if dtype not in ("auto", ONELLM_DTYPE):
        raise SettingError(f"--onellm-compat runs {ONELLM_DTYPE} on GPU: drop --dtype {dtype}")
    return ONELLM_DTYPE


@dataclass(frozen=True)
class DecodeSettings:
    """Greedy by default (reproducible); the paper decoded with temperature 0.1, top-p 0.75."""

    max_new_tokens: int = 64
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0  # seeds the sampler once per answerer (only used when temperature > 0)
    # Also stop where the "###" turn separator starts after a newline. OneLLM's released weights never learned
    # EOS (their training masked it) and run on into a next "### Human:" turn until max_new_tokens; the answer
    # is cut at "###" either way, so this only saves time. It could cut a markdown "## heading" inside a long
    # chat answer, so chat leaves it off.
    stop_at_separator: bool = True

    @classmethod
    def choose(cls, max_new_tokens: int, temperature: float, top_p: float, seed: int, *, onellm_compat: bool,
               stop_at_separator: bool = True) -> DecodeSettings:
        """The user's decoding, or with ``onellm_compat`` OneLLM's own (temperature 0.1, top-p 0.75), which its
        published numbers were measured with; asking for both is an error."""
        if onellm_compat:
            if (temperature, top_p) != (0.0, 1.0):
                raise SettingError("--onellm-compat sets temperature 0.1 and top-p 0.75: drop --temperature/--top-p")
            temperature, top_p = ONELLM_TEMPERATURE, ONELLM_TOP_P
        return cls(max_new_tokens, temperature, top_p, seed, stop_at_separator)

    def to_dict(self) -> dict[str, Any]:
        return {"max_new_tokens": self.max_new_tokens, "temperature": self.temperature, "top_p": self.top_p,
                "seed": self.seed, "stop_at_separator": self.stop_at_separator}


def separator_stop_ids(tokenizer: TextTokenizer) -> list[int]:
    """The token that starts "###" right after a newline (LLaMA: "##"; the demo tokenizer: "###"), or none when
    the tokenizer splits it some other way."""
    newline = tokenizer.encode("\n", bos=False, eos=False)
    full = tokenizer.encode("\n###", bos=False, eos=False)
    if len(full) <= len(newline) or full[:len(newline)] != newline:
        return []
    token = full[len(newline)]
    piece = tokenizer.decode([token])
    return [token] if piece and set(piece) == {"#"} else []


@dataclass(frozen=True)
class Answer:
    text: str  # the extracted answer
    raw: str  # everything decoded from the new tokens
    new_tokens: int
    prompt_tokens: int


class ModelAnswerer:
    """Answers with the training conversation template (``encode_prompt``) and KV-cached decoding.

    ``fmt`` is the format the model was trained on (``WeightsInfo.format``): ``chat`` prompts with the
    conversation up to ``### Assistant:``, ``caption`` with BOS alone, exactly the prefix training used.
    Callable on one ``EvalItem``; ``answer_many`` batches consecutive items of one modality and prompt length
    (caption sets share one prompt, so they batch fully) and returns an exception in place of the answer for
    items whose media cannot be read.
    """

    def __init__(self, model: torch.nn.Module, tokenizer: TextTokenizer, settings: DecodeSettings | None = None,
                 batch_size: int = 1, fmt: str = CHAT) -> None:
        if batch_size < 1:
            raise SettingError("batch_size must be at least 1")
        self.model, self.tokenizer = model, tokenizer
        self.settings = settings or DecodeSettings()
        self.batch_size = batch_size
        self.format = check_format(fmt)
        self.device = next(model.parameters()).device
        self.stop_ids = separator_stop_ids(tokenizer) if self.settings.stop_at_separator else []
        self.generator = None
        if self.settings.temperature > 0:
            self.generator = torch.Generator(device=self.device).manual_seed(self.settings.seed)

    def prompt_ids(self, prompt: str, modality: str | None) -> list[int]:
        return encode_prompt(prompt, self.tokenizer, modality=modality, fmt=self.format)

    def _generate(self, prompts: list[list[int]], media: torch.Tensor | None, modality: str) -> list[list[int]]:
        s = self.settings
        with torch.no_grad():
            return generate_batch(self.model, prompts, media, modality, max_new_tokens=s.max_new_tokens,
                                  eos_id=self.tokenizer.eos_id, temperature=s.temperature, top_p=s.top_p,
                                  stop_ids=self.stop_ids, generator=self.generator)

    def _answer(self, out: list[int], prompt_len: int) -> Answer:
        raw = self.tokenizer.decode(out)
        return Answer(extract_answer(raw), raw, len(out), prompt_len)

    def ask(self, media: MediaInput | None, question: str) -> Answer:
        """One question about one input (``None``: text only), the prompt built exactly as in training."""
        modality = media.modality if media is not None else "text"
        tensor = load_media(media).to(self.device) if media is not None else None
        ids = self.prompt_ids(question, modality)
        return self._answer(self._generate([ids], tensor, modality)[0], len(ids))

    def __call__(self, item: EvalItem) -> str:
        return self.ask(item.media, item.prompt).text

    def answer_many(self, items: list[EvalItem], progress: Callable[[int], None] | None = None
                    ) -> dict[str, str | Exception]:
        results: dict[str, str | Exception] = {}
        batch: list[tuple[EvalItem, list[int], Any]] = []

        def flush() -> None:
            if not batch:
                return
            modality = batch[0][0].media.modality if batch[0][0].media else "text"
            media = None if modality == "text" else torch.cat([m for _, _, m in batch]).to(self.device)
            outs = self._generate([ids for _, ids, _ in batch], media, modality)
            for (item, ids, _), out in zip(batch, outs):
                results[item.item_id] = self._answer(out, len(ids)).text
            if progress is not None:
                progress(len(batch))
            batch.clear()

        for item in items:
            modality = item.media.modality if item.media else "text"
            try:
                tensor = load_media(item.media) if item.media is not None else None
            except OnellmDataError as exc:
                results[item.item_id] = exc
                if progress is not None:
                    progress(1)
                continue
            ids = self.prompt_ids(item.prompt, modality)
            if batch:
                head_modality = batch[0][0].media.modality if batch[0][0].media else "text"
                if head_modality != modality or len(batch[0][1]) != len(ids) or len(batch) >= self.batch_size:
                    flush()
            batch.append((item, ids, tensor))
        flush()
        return results


def model_answer_fn(model: torch.nn.Module, tokenizer: TextTokenizer, max_new_tokens: int = 64,
                    temperature: float = 0.0, top_p: float = 1.0, batch_size: int = 1, seed: int = 0,
                    fmt: str = CHAT) -> ModelAnswerer:
    """Answers in the format the model trained on, with KV-cached greedy (or sampled) decoding."""
    return ModelAnswerer(model, tokenizer, DecodeSettings(max_new_tokens, temperature, top_p, seed), batch_size, fmt)
