"""ChatBridge MULTIS video conversations (complex reasoning, conversation, detail; 3 x 10K over MSR-VTT)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from onellm_data.converters._annotations import (
    SAFE_NAME,
    RepeatedIds,
    content_digest,
    find_media,
    id_string,
    media_relpath,
)
from onellm_data.converters._json_stream import iter_json
from onellm_data.converters._layout import Need
from onellm_data.converters._options import Option
from onellm_data.converters._rejects import MALFORMED_FILE, MALFORMED_ROW, malformed
from onellm_data.converters._turns import normalise_turns
from onellm_data.converters.base import Converter
from onellm_data.errors import RejectError
from onellm_data.schema import VIDEO_EXTS, Sample

MULTIS_OPTIONS = (
    Option("files", "comma-separated MULTIS JSON files under raw", "paths"),
    Option("media", "comma-separated media folders under raw", "paths", media=True),
)


class MultisConverter(Converter):
    """Shared reading of MULTIS conversation files; subclasses fix the modality, files and media folders."""

    modality: ClassVar[str]
    default_files: ClassVar[tuple[str, ...]]
    default_dirs: ClassVar[tuple[str, ...]]
    exts: ClassVar[tuple[str, ...]]
    path_keys: ClassVar[tuple[str, ...]]  # keys that may hold a media path instead of an id
    tags: ClassVar[tuple[str, ...]] = ("<image>", "<video>", "<audio>")

    def _files(self) -> list[Path]:
        if self.options.get("files"):
            return [self.raw / name for name in str(self.options["files"]).split(",")]
        return [self.raw / name for name in self.default_files if (self.raw / name).is_file()]

    def records(self) -> Iterator[dict[str, Any]]:
        files = self._files()
        if not files:
            raise FileNotFoundError(f"no MULTIS annotation file in {self.raw} (expected one of {self.default_files})")
        for path in files:
            ids = RepeatedIds()
            stem = path.stem
            for position, item in iter_json(path, expected="MULTIS's list of {video_id, conversations} items"):
                if item is None:
                    yield malformed(f"{stem}-row{position}", str(path), MALFORMED_FILE)
                    break
                if not isinstance(item, dict):
                    yield malformed(f"{stem}-row{position}", "item is not an object")
                    continue
                media_id = id_string(item.get("video_id", item.get("image_id")))
                media_path = next((item[k] for k in self.path_keys if isinstance(item.get(k), str)), None)
                if media_id is None and media_path is None:
                    yield malformed(f"{stem}-row{position}", "no video_id")
                    continue
                name = media_id if media_id is not None else Path(media_path).stem
                conversations = item.get("conversations")
                source_id = ids.source_id(f"{stem}-{name}", content_digest(conversations))
                yield {"source_id": source_id, "file": stem, "media_id": media_id, "media_path": media_path,
                       "conversations": conversations}

    def media_file(self, record: dict[str, Any]) -> Path:
        """``{dir}/{id}``, ``{dir}/{id}.{ext}`` or ChatBridge's two-letter bucket ``{dir}/{id[:2]}/{id}.{ext}``."""
        dirs = [self.raw / d for d in str(self.options.get("media", ",".join(self.default_dirs))).split(",")]
        if record["media_path"] is not None:
            rel = media_relpath(record["media_path"])
            return self.media(find_media([self.raw, *dirs], [rel]))
        media_id = record["media_id"]
        if not SAFE_NAME.match(media_id):
            raise RejectError(MALFORMED_ROW, f"bad video_id {media_id!r}")
        names = [f"{media_id}.{ext}" for ext in self.exts] + [media_id]
        names += [f"{media_id[:2].lower()}/{media_id}.{ext}" for ext in self.exts]
        return self.media(find_media(dirs, names))

    def prepare(self, path: Path) -> tuple[dict[str, bytes], dict[str, Any]]:
        raise NotImplementedError

    def convert(self, record: dict[str, Any]) -> Sample:
        conversations = normalise_turns(record["conversations"], self.modality, self.tags)
        media, meta = self.prepare(self.media_file(record))
        meta = {**meta, "file": record["file"], "video_id": record["media_id"] or ""}
        return self.sample(record["source_id"], self.modality, conversations, media, meta)


class MultisVideoConverter(MultisConverter):
    """MULTIS video instruction files (ChatBridge ``DATASET.md``: annotations from its Google Drive/Baidu link).

    Raw layout (ChatBridge's ``dataset/MULTIS/`` with MSR-VTT mp4s instead of its pre-extracted frames)::

        video_complex_reasoning_10k.json  video_conversation_10k.json  video_detail_10k.json
            [{"video_id": "video1234",
              "conversations": [{"from": "human", "value": "<video>\\nWhat ...?"},
                                {"from": "gpt", "value": "..."}, ...]}, ...]
        videos/video1234.mp4   (also msrvtt/videos/, videos/all/; ChatBridge's ``{id[:2]}/`` buckets accepted)

    Assumed from ChatBridge's loader (``data_task.py`` reads ``video_id`` or ``image_id`` and ``conversations``
    with human/gpt roles, stripping ``<image>``/``<video>`` tags); a ``video``/``image`` key holding a relative
    media path (OneLLM's re-keyed copies) is accepted too. Whatever tag the file uses, ``<video>`` leads the first
    turn. Source id ``{file stem}-{video_id}`` (a repeat with new content gets ``-n``). Options: ``files``,
    ``media`` (comma-separated folders).
    """

    name: ClassVar[str] = "multis_video"
    modalities: ClassVar[tuple[str, ...]] = ("video",)
    modality: ClassVar[str] = "video"
    default_files = ("video_complex_reasoning_10k.json", "video_conversation_10k.json", "video_detail_10k.json")
    default_dirs = ("videos", "msrvtt/videos", "videos/all")
    exts = VIDEO_EXTS
    path_keys = ("video", "image")
    declared_options = MULTIS_OPTIONS
    layout = (Need("MULTIS video conversation files", default_files),
              Need("MSR-VTT videos", tuple(f"{d}/" for d in default_dirs)))

    def prepare(self, path: Path) -> tuple[dict[str, bytes], dict[str, Any]]:
        from onellm_data.codecs.video import prepare_video

        return prepare_video(path)

