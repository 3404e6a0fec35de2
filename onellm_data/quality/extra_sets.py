"""Evaluation splits the contamination check reads beyond ``model.eval_sets`` (which scores only the paper's
benchmark sets): the held-out splits of two training sources, in their official layouts.

- ``audiocaps``: AudioCaps ``test.csv`` (or ``val.csv``): ``audiocap_id,youtube_id,start_time,caption``, five
  captions per clip; clips ``<media>/<youtube_id>_<start_time>.wav`` (or ``.flac``/``.mp3``/``.ogg``, or AudioSet's
  ``Y<youtube_id>.wav``) when present. Compared by YouTube id (WavCaps' AudioSet part included), audio and captions.
- ``msrvtt``: MSR-VTT ``test_videodatainfo.json`` (``videos`` with ``split``, ``sentences``), the ``test`` videos;
  clips ``<media>/<video_id>.mp4`` when present. Compared by video id, video and captions.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from onellm_data.errors import OnellmDataError
from onellm_data.quality.eval_side import EvalRef, EvalSide, file_fingerprint
from onellm_data.quality.normalise import id_token, text_hash

AUDIO_EXTS = ("wav", "flac", "mp3", "ogg")


def _side(name: str, modality: str, items: list[tuple[str, list[str], list[str], Path | None]]):
    """EvalSide from (item id, id values, captions, media path or None)."""

    refs, unreadable, absent = [], 0, 0
    for item, ids, captions, media in items:
        fingerprint = None
        if media is None:
            absent += 1
        else:
            try:
                fingerprint = file_fingerprint(modality, media)
            except Exception:  # noqa: BLE001 - counted; ids and captions are still compared
                unreadable += 1
        tokens = tuple(sorted({t for t in (id_token(v, name) for v in ids) if t}))
        hashes = tuple(sorted({h for h in (text_hash(c) for c in captions) if h is not None}))
        refs.append(EvalRef(name, item, modality, tokens, fingerprint, hashes))
    notes = []
    if absent:
        notes.append(f"{name}: {absent} of {len(refs)} media not found (compared by id and text only)")
    if unreadable:
        notes.append(f"{name}: {unreadable} of {len(refs)} media could not be read")
    return EvalSide(name, modality, refs, notes)


def read_audiocaps(annotations: Path, media_root: Path):
    annotations, root = Path(annotations), Path(media_root)
    if not annotations.is_file():
        raise OnellmDataError(f"annotation file not found: {annotations}")
    clips: dict[str, tuple[str, str, list[str]]] = {}
    with annotations.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = {"youtube_id", "start_time", "caption"} - set(reader.fieldnames or [])
        if missing:
            raise OnellmDataError(f"{annotations}: not an AudioCaps CSV (missing {', '.join(sorted(missing))})")
        for row in reader:
            ytid, start = row["youtube_id"].strip(), row["start_time"].strip()
            clips.setdefault(f"{ytid}_{start}", (ytid, start, []))[2].append(row["caption"])
    items = []
    for item, (ytid, start, captions) in clips.items():
        names = [f"{ytid}_{start}.{e}" for e in AUDIO_EXTS] + [f"Y{ytid}.{e}" for e in AUDIO_EXTS]
        media = next((root / n for n in names if (root / n).is_file()), None)
        items.append((item, [ytid], captions, media))
    return _side("audiocaps", "audio", items)


def read_msrvtt(annotations: Path, media_root: Path):
    annotations, root = Path(annotations), Path(media_root)
    try:
        data = json.loads(annotations.read_text(encoding="utf-8"))
        videos = [v for v in data["videos"] if v.get("split", "test") == "test"]
        sentences = data["sentences"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise OnellmDataError(f"{annotations}: not an MSR-VTT videodatainfo JSON ({type(exc).__name__}: {exc})") \
            from exc
    captions: dict[str, list[str]] = {}
    for s in sentences:
        captions.setdefault(str(s["video_id"]), []).append(str(s["caption"]))
    items = []
    for v in videos:
        vid = str(v["video_id"])
        media = next((root / f"{vid}.{e}" for e in ("mp4", "avi", "webm") if (root / f"{vid}.{e}").is_file()), None)
        items.append((vid, [vid], captions.get(vid, []), media))
    return _side("msrvtt", "video", items)


EXTRA_SETS = {"audiocaps": read_audiocaps, "msrvtt": read_msrvtt}
