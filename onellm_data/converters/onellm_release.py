"""Importer of OneLLM's released instruction-tuning JSONs (HF ``csuhan/OneLLM_InstructionTuning``), all modalities."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from onellm_data.converters._annotations import find_media, id_string, media_relpath
from onellm_data.converters._json_stream import iter_json, iter_json_lines
from onellm_data.converters._layout import Need
from onellm_data.converters._options import Option
from onellm_data.converters._rejects import MALFORMED_FILE, MALFORMED_ROW, malformed, rejected
from onellm_data.converters._turns import normalise_turns
from onellm_data.converters.base import Converter
from onellm_data.errors import RejectError
from onellm_data.schema import AUDIO_EXTS, IMAGE_EXTS, MODALITIES, VIDEO_EXTS, Sample

# The released files and the data_type OneLLM's loader gives them (onellm.md §2.3.1).
FILE_MODALITY: dict[str, str] = {
    "llava_v1_5_mix665k_image": "image", "cococap_train": "image", "llava_v1_5_mix665k_text": "text",
    "audiocap_train": "audio", "audiocap_val": "audio", "audio_conversation": "audio",
    "msrvtt_cap_trainval": "video", "msrvtt_cap_test": "video", "msrvtt_vqa_train": "video",
    "msrvtt_vqa_val": "video", "msrvtt_vqa_test": "video", "video_complex_reasoning_10k": "video",
    "video_conversation_10k": "video", "video_detail_10k": "video",
    "pointllm_70k": "point", "llava_instruct_50k_depth": "depth", "llava_instruct_50k_normal": "normal",
    "imu_fixed_50k": "imu", "fmri_fixed_train": "fmri",
}
# The release's top-level folders, for files renamed by the user.
FOLDER_MODALITY = {"image": "image", "audio": "audio", "video": "video", "point": "point", "imu": "imu", "fmri": "fmri"}
ALL_TAGS = tuple(f"<{m}>" for m in MODALITIES if m != "text")


def item_modality(item: dict[str, Any], file_modality: str | None, folder: str) -> str | None:
    """OneLLM's data_type: fixed by the file when it is a known one, else by the item's keys and media type."""
    if file_modality is not None:
        return file_modality
    if "depth_image" in item:
        return "depth"
    if "normal_image" in item:
        return "normal"
    if "imu_path" in item:
        return "imu"
    path = item.get("image")
    if not isinstance(path, str):
        return "text"
    ext = Path(path).suffix.lower().lstrip(".")
    if ext in IMAGE_EXTS or ext in ("jpeg", "gif", "bmp"):
        return "image"
    if ext in VIDEO_EXTS:
        return "video"
    if ext in AUDIO_EXTS:
        return "audio"
    if ext == "pt":
        return "point"
    return FOLDER_MODALITY.get(folder)  # .npy is a point cloud or fMRI voxels: the release's folder says which


def iter_items(path: Path) -> Iterator[tuple[int, Any, tuple[str, str] | None]]:
    """A JSON list streamed, or JSON lines (OneLLM's loader accepts both): ``(position, item, problem)``; an
    unreadable line or file gives ``(position, None, (reason, detail))``."""
    if path.suffix == ".jsonl":
        for lineno, item, problem in iter_json_lines(path):
            yield lineno - 1, item, problem
        return
    for position, item in iter_json(path, expected="a released list of {image?, conversations} items"):
        yield position, item, None if item is not None else (MALFORMED_FILE, str(path))


class OnellmReleaseConverter(Converter):
    """OneLLM's released instruction JSONs, re-encoded as our samples (every modality + text).

    Raw: one released file, or a folder holding them (searched recursively), e.g. ``datasets/InstructionTuning``::

        image/llava_v1_5_mix665k_image.json   [{"id", "image": "<img path>", "conversations": [...]}, ...]
        image/llava_v1_5_mix665k_text.json    no "image": text
        image/cococap_train.json  video/*.json  audio/*.json  point/pointllm_70k.json  fmri/fmri_fixed_train.json
                                              media path under "image" too (mp4 / wav / npy-pt / npy)
        depth_normal/llava_instruct_50k_depth.json   {"image": <rgb>, "depth_image": <map>, "conversations"}
        depth_normal/llava_instruct_50k_normal.json  {"image": <rgb>, "normal_image": <map>, "conversations"}
        imu/imu_fixed_50k.json   {"imu_path": <dir of {video_uid}.npy>, "video_uid", "window_start",
                                  "window_end", "conversations"}

    Media paths are relative to ``media_root`` (option; default the raw folder, or a file's folder). The release
    stores them relative to OneLLM's working directory, so each path is tried whole, then without its leading
    folders (``datasets/InstructionTuning/image/coco/...`` is found under a root pointing anywhere along it).
    The data_type is fixed by a known file name, else by the item's keys. Roles assistant -> gpt; whichever
    ``<image>``-style tag an item carries, the modality's placeholder leads the first turn. Source id
    ``{file stem}-{position}``; the item's own id goes to meta.
    """

    name: ClassVar[str] = "onellm_release"
    modalities: ClassVar[tuple[str, ...]] = MODALITIES
    declared_options = (Option("media_root", "folder the items' media paths are relative to (default: the raw "
                               "folder, or a file's folder); media may be read there", media=True),)
    layout = (Need("OneLLM's released instruction JSON files", ("*.json", "*/*.json", "*.jsonl", "*/*.jsonl")),)

    def _files(self) -> list[Path]:
        if self.raw.is_file():
            return [self.raw]
        # Dot files (e.g. the downloader's state) are not released data.
        files = [p for p in self.raw.rglob("*") if p.suffix in (".json", ".jsonl") and p.is_file()
                 and not p.name.startswith(".")]
        return sorted(files, key=lambda p: p.relative_to(self.raw).as_posix())

    def media_root(self) -> Path:
        root = self.options.get("media_root")
        if root:
            return Path(root)
        return self.raw if self.raw.is_dir() else self.raw.parent

    def records(self) -> Iterator[dict[str, Any]]:
        files = self._files()
        if not files:
            raise FileNotFoundError(f"no released OneLLM JSON under {self.raw}")
        for path in files:
            stem, folder = path.stem, path.parent.name
            for position, item, problem in iter_items(path):
                source_id = f"{stem}-{position}"
                if problem is not None:
                    yield rejected(source_id, problem[0], problem[1])
                    if path.suffix == ".json":
                        break
                    continue
                if not isinstance(item, dict):
                    yield malformed(source_id, "item is not an object")
                    continue
                modality = item_modality(item, FILE_MODALITY.get(stem), folder)
                if modality is None:
                    yield malformed(source_id, f"cannot tell the modality of {item.get('image')!r}")
                    continue
                fields = {k: item[k] for k in ("image", "depth_image", "normal_image", "imu_path", "video_uid",
                                               "window_start", "window_end") if k in item}
                yield {"source_id": source_id, "modality": modality, "file": stem, "item_id": id_string(item.get("id")),
                       "conversations": item.get("conversations"), **fields}

    def _path(self, record: dict[str, Any], key: str) -> Path:
        rel = media_relpath(record.get(key), f"{key!r} path")
        # Whole path first, then without leading folders (the release's paths are relative to OneLLM's CWD).
        tails = [Path(*rel.parts[i:]) for i in range(len(rel.parts))]
        return self.media(find_media([self.media_root()], tails))

    def _media(self, record: dict[str, Any]) -> tuple[dict[str, bytes], dict[str, Any]]:
        modality = record["modality"]
        if modality == "text":
            return {}, {}
        if modality == "image":
            from onellm_data.codecs.image import prepare_image

            return prepare_image(self._path(record, "image"))
        if modality == "video":
            from onellm_data.codecs.video import prepare_video

            return prepare_video(self._path(record, "image"))
        if modality == "audio":
            from onellm_data.codecs.audio import prepare_audio

            return prepare_audio(self._path(record, "image"))
        if modality == "point":
            from onellm_data.codecs.point import prepare_point

            return prepare_point(self._path(record, "image"))
        if modality in ("depth", "normal"):
            from onellm_data.codecs.depth import prepare_map_pair

            return prepare_map_pair(self._path(record, "image"), self._path(record, f"{modality}_image"), modality)
        if modality == "fmri":
            from onellm_data.codecs.fmri import prepare_fmri

            return prepare_fmri(self._path(record, "image"))
        return self._imu(record)

    def _imu(self, record: dict[str, Any]) -> tuple[dict[str, bytes], dict[str, Any]]:
        from onellm_data.codecs.imu import load_imu_recording, prepare_imu_window

        uid = id_string(record.get("video_uid"))
        start, end = record.get("window_start"), record.get("window_end")
        if uid is None or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (start, end)):
            raise RejectError(MALFORMED_ROW, "imu item needs video_uid, window_start and window_end")
        if not start < end:
            raise RejectError(MALFORMED_ROW, f"empty IMU window {start}..{end}")
        rel = media_relpath(record.get("imu_path"), "'imu_path'")
        # imu_path is the folder of processed recordings ({uid}.npy); a path to the file itself works too.
        tails = [Path(*rel.parts[i:]) for i in range(len(rel.parts))]
        names = [t / f"{uid}.npy" for t in tails] + [t for t in tails if t.suffix in (".npy", ".csv")]
        rec = load_imu_recording(self.media(find_media([self.media_root()], names)))
        return prepare_imu_window(rec, float(start), float(end))

    def convert(self, record: dict[str, Any]) -> Sample:
        modality = record["modality"]
        conversations = normalise_turns(record["conversations"], modality, ALL_TAGS)
        media, meta = self._media(record)
        meta = {**meta, "file": record["file"]}
        if record.get("item_id"):
            meta["id"] = record["item_id"]
        return self.sample(record["source_id"], modality, conversations, media, meta)
