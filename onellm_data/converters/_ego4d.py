"""Ego4D narrations and IMU recordings, read the way imu2clip (and so OneLLM) builds its motion windows.

Two annotation forms give the same records:

* Ego4D's ``narration.json``: ``{video_uid: {"narration_pass_1": {"narrations": [{"timestamp_sec",
  "timestamp_frame", "narration_text", "annotation_uid"}, ...]}, "narration_pass_2": ...}, ...}``. Narrations
  of the camera wearer (text containing "#C") are kept and cleaned; the window is 2 s of integer seconds
  centred on the narration (``codecs.imu.narration_window``), clamped to the recording.
* imu2clip's window index (``window_idx_*.json`` list or its split CSVs): rows ``window_start, window_end,
  video_uid, narration_uid, text`` with the windows already chosen and the text already cleaned.

IMU signals: Ego4D's per-video CSV (``v2/imu/{video_uid}.csv``) or imu2clip's ``extract_imu.py`` output
(``processed_imu/{video_uid}.npy`` + ``{video_uid}_timestamps.npy``), both read by ``codecs.imu``.
"""

from __future__ import annotations

import csv
import hashlib
import string
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from onellm_data.converters._json_stream import bad_text, iter_json, open_text
from onellm_data.converters._layout import Need
from onellm_data.converters._maps import int_option, seeded_subset
from onellm_data.converters._options import Option
from onellm_data.converters._rejects import MALFORMED_FILE, MISSING_MEDIA, NOT_UTF8, WINDOW_OUTSIDE, malformed, rejected
from onellm_data.errors import AnnotationError, RejectError

NARRATION_FILES = ("v2/annotations/narration.json", "annotations/narration.json", "narration.json")
WINDOW_FILES = ("window_idx_train.json", "window_idx.json")
IMU_DIRS = ("v2/processed_imu", "processed_imu", "v2/imu", "imu")
WINDOW_SECONDS = 2.0  # 400 samples at 200 Hz: the length OneLLM's IMU tokenizer was trained on
MAX_TEXT = 128
WINDOW_COLUMNS = ("window_start", "window_end", "video_uid")

OPTIONS = (
    Option("narrations", "Ego4D narration.json under raw", "path"),
    Option("windows", "imu2clip window index (JSON list or split CSV) under raw", "path"),
    Option("imu_dir", "folder of {video_uid}.npy / .csv IMU recordings", "path", media=True),
    Option("narration_pass", "which narration pass to read", "choice", "narration_pass_1",
           ("narration_pass_1", "narration_pass_2")),
    Option("subset", "seeded subset size (all: every window)", "count"),
    Option("seed", "seed of the subset", "int", 0),
)
LAYOUT = (
    Need("Ego4D narrations or an imu2clip window index", (*NARRATION_FILES, *WINDOW_FILES)),
    Need("IMU recordings", tuple(f"{d}/" for d in IMU_DIRS), "*.*"),
)


def is_wearer_narration(text: str) -> bool:
    """imu2clip keeps only narrations about the camera wearer, tagged "#C"."""
    return "#c" in text.lower()


def clean_narration(text: str) -> str:
    """imu2clip's cleaning: drop the "#C C " / "#C" tags, "#unsure" → "something", trim punctuation at the ends,
    lowercase, at most 128 characters."""
    text = text.replace("#C C ", "").replace("#C", "").replace("#unsure", "something")
    return text.strip().strip(string.punctuation).lower()[:MAX_TEXT]


def _first_existing(raw: Path, candidates: tuple[str, ...]) -> Path | None:
    return next((raw / rel for rel in candidates if (raw / rel).exists()), None)


def _narration_records(path: Path, pass_name: str) -> Iterator[dict[str, Any]]:
    import ijson

    with open(path, "rb") as fh:
        try:
            for video_uid, video in ijson.kvitems(fh, "", use_float=True):
                narrations = ((video or {}).get(pass_name) or {}).get("narrations") if isinstance(video, dict) else None
                if not isinstance(narrations, list):
                    continue  # videos without this pass have nothing to narrate
                for i, item in enumerate(narrations):
                    source_id = f"{video_uid}_{i}"
                    text = item.get("narration_text") if isinstance(item, dict) else None
                    t = item.get("timestamp_sec") if isinstance(item, dict) else None
                    if not isinstance(text, str) or not isinstance(t, (int, float)) or isinstance(t, bool):
                        yield malformed(source_id, "narration without text or timestamp_sec")
                        continue
                    if not is_wearer_narration(text):
                        continue
                    yield {"source_id": source_id, "video_uid": video_uid, "time": float(t),
                           "text": clean_narration(text)}
        except ijson.JSONError as exc:
            yield malformed(f"{path.name}-tail", exc, MALFORMED_FILE)


def _window_row(row: Any, fallback_id: str) -> dict[str, Any]:
    """One imu2clip window-index row (from JSON or CSV) as a record."""
    if not isinstance(row, dict):
        return malformed(fallback_id, "not an object")
    try:
        start, end = float(row["window_start"]), float(row["window_end"])
        video_uid = str(row["video_uid"]).strip()
        narration_uid = str(row.get("narration_uid") or fallback_id).strip()
    except (KeyError, TypeError, ValueError) as exc:
        return malformed(fallback_id, repr(exc)[:120])
    if not video_uid or not end > start >= 0:
        return malformed(fallback_id, f"window {start}-{end}")
    text = row.get("text")
    text = clean_narration(text) if isinstance(text, str) else text
    # imu2clip's narration_uid names a whole narration pass, and one window can carry two narrations: the
    # text's digest tells them apart (a row repeated word for word stays a duplicate).
    digest = hashlib.sha1(str(text).encode("utf-8")).hexdigest()[:8]
    return {"source_id": f"{narration_uid}_{start:g}_{end:g}_{digest}", "video_uid": video_uid,
            "window": [start, end], "text": text}


def _window_records(path: Path) -> Iterator[dict[str, Any]]:
    if path.suffix == ".csv":
        with open_text(path) as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in WINDOW_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise AnnotationError(path, f"an imu2clip window CSV with columns {', '.join(WINDOW_COLUMNS)}",
                                      f"columns {', '.join((reader.fieldnames or [])[:8]) or 'none'}")
            for lineno, row in enumerate(reader, 2):
                if bad_text(row):
                    yield rejected(f"line{lineno}", NOT_UTF8, f"{path.name}:{lineno}")
                    continue
                yield _window_row(row, f"line{lineno}")
        return
    for position, item in iter_json(path):
        if item is None:
            yield malformed(f"row{position}", path, MALFORMED_FILE)
        else:
            yield _window_row(item, f"row{position}")


def ego4d_records(raw: Path, options: dict[str, Any], default_subset: int | None) -> Iterator[dict[str, Any]]:
    """Records from the window index (option ``windows``, or a ``window_idx_train.json`` present) or else from
    ``narration.json`` (option ``narrations``); a seeded subset of ``subset`` records when asked."""
    windows = raw / options["windows"] if "windows" in options else None
    narrations = raw / options["narrations"] if "narrations" in options else None
    if windows is None and narrations is None:
        narrations = _first_existing(raw, NARRATION_FILES)
        windows = None if narrations else _first_existing(raw, WINDOW_FILES)
    if windows is None and narrations is None:
        raise FileNotFoundError(f"no Ego4D narration.json or imu2clip window index under {raw}")

    def stream() -> Iterator[dict[str, Any]]:
        if windows is not None:
            return _window_records(windows)
        return _narration_records(narrations, options.get("narration_pass", "narration_pass_1"))

    size = int_option(options, "subset", default_subset)
    keep = seeded_subset(sum(1 for _ in stream()), size, int_option(options, "seed", 0) or 0) if size else None
    for position, record in enumerate(stream()):
        if keep is None or position in keep:
            yield record


def imu_file(raw: Path, options: dict[str, Any], video_uid: str) -> Path:
    dirs = (options["imu_dir"],) if "imu_dir" in options else IMU_DIRS
    for rel in dirs:
        for ext in (".npy", ".csv"):
            path = raw / rel / f"{video_uid}{ext}"
            if path.is_file():
                return path
    raise RejectError(MISSING_MEDIA, f"no IMU recording for {video_uid} in {'/'.join(dirs)}")


@lru_cache(maxsize=2)
def _recording(path: str) -> Any:
    """Records of one video come together, so a tiny per-process cache loads each recording once."""
    from onellm_data.codecs.imu import load_imu_recording

    return load_imu_recording(Path(path))


def recording_duration(rec: Any) -> float:
    duration = getattr(rec, "duration", None)
    if duration is None:
        duration = getattr(rec, "duration_s")
    return float(duration() if callable(duration) else duration)


def imu_window(path: Path, record: dict[str, Any]) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The record's 2 s window through ``codecs.imu``: centred on the narration, or on an index window's middle
    when that window is not 2 s long (imu2clip's split CSVs use 5 s windows)."""
    from onellm_data.codecs.imu import narration_window, prepare_imu_window

    rec = _recording(str(path))
    duration = recording_duration(rec)
    if "window" in record:
        start, end = record["window"]
        if abs((end - start) - WINDOW_SECONDS) > 1e-6:
            start, end = narration_window((start + end) / 2, duration)
    else:
        start, end = narration_window(record["time"], duration)
    if start >= duration:
        raise RejectError(WINDOW_OUTSIDE, f"{start:g}s of {duration:g}s")
    return prepare_imu_window(rec, start, end)
