"""The paper's evaluation sets, each read from its official annotation layout, with OneLLM's task, modality and
prompt (paper Table 11).

``read_eval_set(name, annotations, media_root)`` gives an ``EvalSet`` (items, references, optional subsets);
``EVAL_SETS`` lists what each reader expects. One function per set:

========== ======= ======== ==========================================================================
name       task    modality annotations (``--annotations``) / media (``--media-root``)
========== ======= ======== ==========================================================================
coco       caption image    COCO captions JSON (``captions_val2014.json``, ``coco_karpathy_val_gt.json``), or
                            Karpathy's ``dataset_coco.json`` (test split), or LAVIS' ``coco_karpathy_*.json``
                            list; images under the media root by ``file_name``
nocaps     caption image    ``nocaps_val_4500_captions.json`` (COCO form); scores also per ``domain``
flickr30k  caption image    COCO form, Karpathy's ``dataset_flickr30k.json`` (test split) or LAVIS list
msvd_qa    qa      video    MSVD-QA ``test_qa.json`` (``{answer, id, question, video_id}``) and
                            ``youtube_mapping.txt`` (``<clip> vid<N>``, found next to the annotations or the
                            media); clips ``<media-root>/<clip>.avi`` (the ``YouTubeClips`` folder)
clotho     caption audio    Clotho v2 ``clotho_captions_evaluation.csv`` (``file_name,caption_1..caption_5``),
                            or OneLLM's COCO-form ``eval_clothocap_ann.json``; wavs by file name
clotho_aqa qa      audio    Clotho-AQA ``clotho_aqa_test.csv`` (``file_name,QuestionText,answer,confidence``;
                            three annotators per question → accepted answers, majority first)
pointllm   caption point    PointLLM ``PointLLM_brief_description_val_200_GT.json`` (``[{object_id,
                            conversations}]``) or OneLLM's ``pointllm_test.json`` (``{object_id: caption}``);
                            clouds ``<media-root>/<object_id>_8192.npy``
ego4d_imu  caption imu      OneLLM's ``imu_2000_cococap.json`` (COCO form, images with ``video_uid``,
                            ``window_start``, ``window_end``); recordings ``<media-root>/<video_uid>.npy``
                            (+ ``_timestamps.npy``) or ``.csv``
nsd        caption fmri     OneLLM's ``fmri_eval_cococap.json`` (COCO form, ``file_name`` the ``.npy`` path)
========== ======= ======== ==========================================================================

Prompts follow the paper (Table 11), not the released eval scripts where they differ: the point set is captioned
with "Provide a one-sentence caption for the provided point cloud." (the script asked "What is this?"), IMU with
"Describe the motion." (script: "Describe the scene."), fMRI with "Describe the scene based on fMRI data."
(script: "Provide a one-sentence caption for the provided fMRI data."). ``prompt=`` overrides a caption prompt.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from model.evaluate import EvalItem, qa_prompt
from model.media import MediaInput
from onellm_data.errors import OnellmDataError
from onellm_data.prompts import CAPTION_PROMPTS


class EvalSetError(OnellmDataError):
    """An annotation file that is not in the layout its eval set expects."""


@dataclass(frozen=True)
class EvalSet:
    name: str
    task: str
    modality: str
    items: list[EvalItem]
    references: dict[str, list[str]] | None = None  # caption sets: id → reference captions
    groups: dict[str, str] | None = None  # id → subset (NoCaps domain), scored separately as well

    def limit(self, n: int | None) -> EvalSet:
        """The first ``n`` items (all when ``n`` is None), references and groups cut to match."""
        if n is None or n >= len(self.items):
            return self
        items = self.items[:n]
        ids = {i.item_id for i in items}
        refs = None if self.references is None else {k: v for k, v in self.references.items() if k in ids}
        groups = None if self.groups is None else {k: v for k, v in self.groups.items() if k in ids}
        return replace(self, items=items, references=refs, groups=groups)


@dataclass(frozen=True)
class EvalSetSpec:
    name: str
    task: str
    modality: str
    reader: Callable[..., EvalSet]
    layout: str  # what --annotations and --media-root point at
    paper: str  # OneLLM-7B's reported numbers (paper Tables 1-6)


def _load_json(path: Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise EvalSetError(f"annotation file not found: {path}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise EvalSetError(f"{path}: not valid JSON ({exc})") from exc


def _read_csv(path: Path, required: Iterable[str]) -> list[dict[str, str]]:
    path = Path(path)
    if not path.is_file():
        raise EvalSetError(f"annotation file not found: {path}")
    with path.open(newline="", encoding="utf-8-sig") as f:  # the csv module keeps quoted commas in names
        reader = csv.DictReader(f)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise EvalSetError(f"{path}: missing column(s) {', '.join(missing)}; found {reader.fieldnames}")
        return list(reader)


# --- captions in COCO form and the common alternatives -------------------------------------------------------

_TRAILING_INT = re.compile(r"(\d+)$")


def _id_from_path(path: str) -> str:
    """LAVIS lists carry no id: the number that ends the file stem (COCO, Flickr30K), else the path."""
    m = _TRAILING_INT.search(Path(path).stem)
    return str(int(m.group(1))) if m else path


def caption_records(path: Path, split: str = "test") -> list[tuple[str, dict[str, Any], list[str]]]:
    """(id, image record with ``file_name``, reference captions), in file order, from any of:

    - COCO captions: ``{"images": [{"id", "file_name", ...}], "annotations": [{"image_id", "caption"}]}``;
    - Karpathy's split file: ``{"images": [{"filename", "filepath"?, "split", "sentences": [{"raw"}],
      "cocoid"|"imgid"}]}``, the ``split`` images only;
    - LAVIS caption list: ``[{"image": path, "caption": str | [str], "image_id"?}]``.
    """
    data = _load_json(path)
    records: list[tuple[str, dict[str, Any], list[str]]] = []
    if isinstance(data, dict) and "images" in data and "annotations" in data:
        refs: dict[str, list[str]] = {}
        for ann in data["annotations"]:
            refs.setdefault(str(ann["image_id"]), []).append(str(ann["caption"]))
        for img in data["images"]:
            records.append((str(img["id"]), img, refs.get(str(img["id"]), [])))
    elif isinstance(data, dict) and isinstance(data.get("images"), list) and \
            all("sentences" in img for img in data["images"]):
        for img in data["images"]:
            if img.get("split") != split:
                continue
            name = "/".join(p for p in (img.get("filepath"), img["filename"]) if p)
            image_id = img.get("cocoid", img.get("imgid", name))
            records.append((str(image_id), {**img, "file_name": name}, [s["raw"] for s in img["sentences"]]))
    elif isinstance(data, list) and all(isinstance(e, dict) and "image" in e and "caption" in e for e in data):
        by_image: dict[str, tuple[dict[str, Any], list[str]]] = {}
        for entry in data:
            key = str(entry.get("image_id", _id_from_path(entry["image"])))
            caps = entry["caption"] if isinstance(entry["caption"], list) else [entry["caption"]]
            rec = by_image.setdefault(key, ({**entry, "file_name": entry["image"]}, []))
            rec[1].extend(str(c) for c in caps)
        records = [(k, rec, caps) for k, (rec, caps) in by_image.items()]
    else:
        raise EvalSetError(f"{path}: not a caption annotation file (expected COCO captions with 'images' and "
                           "'annotations', Karpathy's split file, or a LAVIS list of {image, caption})")
    empty = [i for i, _, caps in records if not caps]
    if empty:
        raise EvalSetError(f"{path}: image(s) without reference captions: {empty[:5]}")
    if not records:
        raise EvalSetError(f"{path}: no images" + (f" in split {split!r}" if split else ""))
    return records


def caption_set(name: str, annotations: Path, media_root: Path, modality: str, prompt: str | None = None,
                media_for: Callable[[dict[str, Any]], MediaInput] | None = None, group_key: str | None = None
                ) -> EvalSet:
    """A caption set from ``caption_records``; ``media_for`` maps an image record to its input."""
    text = prompt or CAPTION_PROMPTS[modality]
    root = Path(media_root)

    def default_media(rec: dict[str, Any]) -> MediaInput:
        if not rec.get("file_name"):
            raise EvalSetError(f"{annotations}: image {rec.get('id')!r} has no file_name")
        return MediaInput(modality, root / rec["file_name"])

    items, refs, groups = [], {}, {}
    for image_id, rec, caps in caption_records(annotations):
        items.append(EvalItem(image_id, (media_for or default_media)(rec), text))
        refs[image_id] = caps
        if group_key and rec.get(group_key) is not None:
            groups[image_id] = str(rec[group_key])
    return EvalSet(name, "caption", modality, items, refs, groups or None)


# --- one reader per set --------------------------------------------------------------------------------------

def read_coco(annotations: Path, media_root: Path, prompt: str | None = None) -> EvalSet:
    """COCO captions (OneLLM scripted Karpathy val; the paper reports no COCO number: COCO is training data)."""
    return caption_set("coco", annotations, media_root, "image", prompt)


def read_nocaps(annotations: Path, media_root: Path, prompt: str | None = None) -> EvalSet:
    """NoCaps val (COCO form); ``domain`` (in-domain / near-domain / out-domain) scored per subset too."""
    return caption_set("nocaps", annotations, media_root, "image", prompt, group_key="domain")


def read_flickr30k(annotations: Path, media_root: Path, prompt: str | None = None) -> EvalSet:
    """Flickr30K (Karpathy test split, 1000 images)."""
    return caption_set("flickr30k", annotations, media_root, "image", prompt)


def _find_file(name: str, *dirs: Path) -> Path | None:
    for d in dirs:
        if (d / name).is_file():
            return d / name
    return None


def read_msvd_qa(annotations: Path, media_root: Path, prompt: str | None = None) -> EvalSet:
    """MSVD-QA: ``test_qa.json`` entries name ``video_id`` N, the mapping's ``vidN`` → YouTube clip name."""
    if prompt is not None:
        raise EvalSetError("msvd_qa builds its prompt from each question; --prompt is for caption sets")
    annotations, root = Path(annotations), Path(media_root)
    entries = _load_json(annotations)
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "question" in e and "answer" in e
                                                for e in entries):
        raise EvalSetError(f"{annotations}: not MSVD-QA (a JSON list of {{answer, id, question, video_id}})")
    mapping_file = _find_file("youtube_mapping.txt", annotations.parent, root, root.parent)
    clips: dict[str, str] = {}
    if mapping_file is not None:
        for line in mapping_file.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) == 2:
                clips[parts[1]] = parts[0]
    items = []
    for n, e in enumerate(entries):
        if "video_id" in e:
            vid = str(e["video_id"])
            vid = vid if vid.startswith("vid") else f"vid{vid}"
            if vid not in clips:
                where = mapping_file or f"youtube_mapping.txt (looked in {annotations.parent}, {root}, {root.parent})"
                raise EvalSetError(f"MSVD-QA question {e.get('id', n)}: {vid} not in {where}")
            clip = clips[vid]
        elif "video" in e:
            clip = Path(str(e["video"])).stem
        else:
            raise EvalSetError(f"{annotations}: question {e.get('id', n)} names no video_id")
        question = str(e["question"]).strip()
        items.append(EvalItem(str(e.get("id", n)), MediaInput("video", root / f"{clip}.avi"), qa_prompt(question),
                              str(e["answer"]), info={"question": question, "video": clip}))
    return EvalSet("msvd_qa", "qa", "video", items)


def read_clotho(annotations: Path, media_root: Path, prompt: str | None = None) -> EvalSet:
    """Clotho v2 captions: the official CSV (five captions per file), or OneLLM's COCO-form conversion."""
    annotations, root = Path(annotations), Path(media_root)
    if annotations.suffix.lower() == ".json":
        return caption_set("clotho", annotations, root, "audio", prompt)
    columns = [f"caption_{k}" for k in range(1, 6)]
    rows = _read_csv(annotations, ["file_name", *columns])
    text = prompt or CAPTION_PROMPTS["audio"]
    items, refs = [], {}
    for row in rows:
        name = row["file_name"]
        if name in refs:
            raise EvalSetError(f"{annotations}: file {name!r} listed twice")
        refs[name] = [row[c].strip() for c in columns if row.get(c) and row[c].strip()]
        if not refs[name]:
            raise EvalSetError(f"{annotations}: no captions for {name!r}")
        items.append(EvalItem(name, MediaInput("audio", root / name), text))
    return EvalSet("clotho", "caption", "audio", items, refs)


def read_clotho_aqa(annotations: Path, media_root: Path, prompt: str | None = None) -> EvalSet:
    """Clotho-AQA: one row per (file, question, annotator); each question becomes one item whose accepted answers
    are the annotators' answers, the most frequent first (ties: first given). ``exact_match``/``lenient_match``
    use the majority answer, the ``_any`` variants every given answer."""
    if prompt is not None:
        raise EvalSetError("clotho_aqa builds its prompt from each question; --prompt is for caption sets")
    annotations, root = Path(annotations), Path(media_root)
    rows = _read_csv(annotations, ["file_name", "QuestionText", "answer"])
    grouped: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        key = (row["file_name"], row["QuestionText"].strip())
        answer = row["answer"].strip()
        if answer:
            grouped.setdefault(key, []).append(answer)
    items = []
    per_file: Counter[str] = Counter()
    for (name, question), answers in grouped.items():
        counts = Counter(a.lower() for a in answers)
        spelling: dict[str, str] = {}
        for a in answers:
            spelling.setdefault(a.lower(), a)  # first-given spelling, in first-given order
        order = sorted(spelling, key=lambda a: -counts[a])  # stable: ties keep the given order
        per_file[name] += 1
        items.append(EvalItem(f"{name}#{per_file[name]}", MediaInput("audio", root / name), qa_prompt(question),
                              [spelling[a] for a in order], info={"question": question, "file": name}))
    if not items:
        raise EvalSetError(f"{annotations}: no questions with answers")
    return EvalSet("clotho_aqa", "qa", "audio", items)


def read_pointllm(annotations: Path, media_root: Path, prompt: str | None = None) -> EvalSet:
    """Objaverse captioning on PointLLM's 200 held-out objects."""
    annotations, root = Path(annotations), Path(media_root)
    data = _load_json(annotations)
    if isinstance(data, dict) and "images" in data and "annotations" in data:
        def media_for(rec: dict[str, Any]) -> MediaInput:
            name = rec.get("file_name") or f"{rec.get('object_id', rec['id'])}_8192.npy"
            return MediaInput("point", root / name)
        return caption_set("pointllm", annotations, root, "point", prompt, media_for=media_for)
    pairs: list[tuple[str, list[str]]] = []
    if isinstance(data, dict):  # OneLLM's pointllm_test.json
        pairs = [(str(k), [v] if isinstance(v, str) else list(v)) for k, v in data.items()]
    elif isinstance(data, list) and all(isinstance(e, dict) and "object_id" in e for e in data):
        for e in data:
            if "conversations" in e:
                caps = [t["value"] for t in e["conversations"] if t.get("from") in ("gpt", "assistant")][:1]
            else:
                caps = [e.get("caption") or e.get("ground_truth") or ""]
            pairs.append((str(e["object_id"]), [c.strip() for c in caps if c and c.strip()]))
    else:
        raise EvalSetError(f"{annotations}: not PointLLM captions (a list of {{object_id, conversations}} or a "
                           "{object_id: caption} map)")
    text = prompt or CAPTION_PROMPTS["point"]
    items, refs = [], {}
    for object_id, caps in pairs:
        if not caps:
            raise EvalSetError(f"{annotations}: object {object_id} has no caption")
        path = root / f"{object_id}_8192.npy"
        if not path.exists() and (root / f"{object_id}.npy").exists():
            path = root / f"{object_id}.npy"
        items.append(EvalItem(object_id, MediaInput("point", path), text))
        refs[object_id] = caps
    return EvalSet("pointllm", "caption", "point", items, refs)


def read_ego4d_imu(annotations: Path, media_root: Path, prompt: str | None = None) -> EvalSet:
    """Ego4D IMU captioning (2000 held-out 2-s windows, COCO form with the window on each image)."""
    root = Path(media_root)

    def media_for(rec: dict[str, Any]) -> MediaInput:
        try:
            window = (float(rec["window_start"]), float(rec["window_end"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise EvalSetError(f"{annotations}: image {rec.get('id')!r} lacks window_start/window_end") from exc
        if rec.get("file_name"):
            path = root / rec["file_name"]
        elif rec.get("video_uid"):
            uid = rec["video_uid"]
            path = root / f"{uid}.npy"
            if not path.exists() and (root / f"{uid}.csv").exists():
                path = root / f"{uid}.csv"
        else:
            raise EvalSetError(f"{annotations}: image {rec.get('id')!r} names neither video_uid nor file_name")
        return MediaInput("imu", path, window=window)

    return caption_set("ego4d_imu", annotations, root, "imu", prompt, media_for=media_for)


def read_nsd(annotations: Path, media_root: Path, prompt: str | None = None) -> EvalSet:
    """NSD subj01 fMRI captioning (COCO captions of the stimulus images)."""
    return caption_set("nsd", annotations, media_root, "fmri", prompt)


EVAL_SETS: dict[str, EvalSetSpec] = {s.name: s for s in (
    EvalSetSpec("coco", "caption", "image", read_coco, "COCO captions JSON; media: the images folder",
                "not reported (COCO is IT data)"),
    EvalSetSpec("nocaps", "caption", "image", read_nocaps, "nocaps_val_4500_captions.json; media: the images",
                "CIDEr 115.9"),
    EvalSetSpec("flickr30k", "caption", "image", read_flickr30k,
                "COCO-form or Karpathy dataset_flickr30k.json; media: flickr30k-images", "CIDEr 78.6"),
    EvalSetSpec("msvd_qa", "qa", "video", read_msvd_qa,
                "test_qa.json (+ youtube_mapping.txt); media: YouTubeClips", "accuracy 56.5"),
    EvalSetSpec("clotho", "caption", "audio", read_clotho,
                "clotho_captions_evaluation.csv; media: the evaluation wavs", "CIDEr 29.1, SPIDEr 19.5"),
    EvalSetSpec("clotho_aqa", "qa", "audio", read_clotho_aqa, "clotho_aqa_test.csv; media: audio_files",
                "accuracy 57.9"),
    EvalSetSpec("pointllm", "caption", "point", read_pointllm,
                "PointLLM_brief_description_val_200_GT.json; media: 8192_npy",
                "BLEU-1 42.2, ROUGE-L 45.3, METEOR 20.3"),
    EvalSetSpec("ego4d_imu", "caption", "imu", read_ego4d_imu,
                "imu_2000_cococap.json; media: processed IMU (<uid>.npy + _timestamps.npy)",
                "CIDEr 24.9, ROUGE-L 19.5"),
    EvalSetSpec("nsd", "caption", "fmri", read_nsd, "fmri_eval_cococap.json; media: the .npy root",
                "CIDEr 31.7, ROUGE-L 25.1"),
)}


def read_eval_set(name: str, annotations: Path, media_root: Path, prompt: str | None = None) -> EvalSet:
    if name not in EVAL_SETS:
        raise EvalSetError(f"unknown eval set {name!r}; known: {', '.join(EVAL_SETS)}")
    return EVAL_SETS[name].reader(Path(annotations), Path(media_root), prompt=prompt)

