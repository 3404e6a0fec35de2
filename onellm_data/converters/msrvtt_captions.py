"""MSR-VTT captions, train+val and test (OneLLM trains on ``msrvtt_cap_trainval`` and ``msrvtt_cap_test``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from onellm_data.converters._annotations import SAFE_NAME, find_media, id_string
from onellm_data.converters._json_stream import iter_json
from onellm_data.converters._layout import Need
from onellm_data.converters._linked_items import Link, linked_records
from onellm_data.converters._options import Option
from onellm_data.converters._rejects import MALFORMED_FILE, MALFORMED_ROW, malformed
from onellm_data.converters._turns import caption_prompt, prompt_turns
from onellm_data.converters.base import Converter
from onellm_data.errors import RejectError
from onellm_data.schema import Sample

DEFAULT_FILES = ("train_val_videodatainfo.json", "test_videodatainfo.json")
# Where MSR-VTT's mp4s live in the common copies: one folder (``videos/all``) or the official split folders.
VIDEO_DIRS = ("videos/all", "TrainValVideo", "TestVideo", "videos")
EXPECTED = "MSR-VTT's videodatainfo ({videos: [...], sentences: [...]})"


def msrvtt_video(raw: Path, options: dict[str, Any], video_id: str) -> Path:
    """``{video_id}.mp4`` (``video0`` .. ``video9999``) under the first video folder that has it."""
    if not SAFE_NAME.match(video_id):
        raise RejectError(MALFORMED_ROW, f"bad video_id {video_id!r}")
    dirs = [raw / d for d in str(options["videos"]).split(",")] if options.get("videos") else [raw / d for d in VIDEO_DIRS]
    return find_media(dirs, [f"{video_id}.mp4"])


class MsrvttCaptionsConverter(Converter):
    """MSR-VTT sentences, one caption-prompt sample per sentence (20 per video).

    Raw layout (MSR-VTT release: annotation JSONs + videos)::

        train_val_videodatainfo.json   {"info": {...},
                                        "videos": [{"category": 9, "url": "...", "video_id": "video0",
                                                    "start time": 137.72, "end time": 149.44, "split": "train",
                                                    "id": 0}, ...],
                                        "sentences": [{"caption": "a car is shown", "video_id": "video0",
                                                       "sen_id": 0}, ...]}
        test_videodatainfo.json        same schema, videos video7010 .. video9999
        videos/all/video0.mp4          (or TrainValVideo/ and TestVideo/)

    Source id = ``sen_id``. A sentence whose video is not listed in its file's ``videos`` is an "unknown id
    reference". Options: ``files`` (comma-separated JSON names), ``videos`` (comma-separated folders).
    """

    name: ClassVar[str] = "msrvtt_captions"
    modalities: ClassVar[tuple[str, ...]] = ("video",)
    declared_options = (Option("files", "comma-separated annotation JSONs under raw", "text", ",".join(DEFAULT_FILES)),
                        Option("videos", "comma-separated folders holding videoN.mp4", "paths", media=True))
    layout = (Need("MSR-VTT videodatainfo JSON", DEFAULT_FILES),
              Need("MSR-VTT videos", tuple(f"{d}/" for d in VIDEO_DIRS), "video*.mp4"))

    def records(self) -> Iterator[dict[str, Any]]:
        names = str(self.options.get("files", ",".join(DEFAULT_FILES))).split(",")
        if not any((self.raw / n).is_file() for n in names):
            raise FileNotFoundError(f"no MSR-VTT annotation file under {self.raw} (expected one of {', '.join(names)})")
        for name in names:
            path = self.raw / name
            if not path.is_file():
                continue
            splits: dict[str, str] = {}
            for position, video in iter_json(path, "videos.item", EXPECTED):
                if video is None:
                    yield malformed(f"{path.stem}-videos{position}", str(path), MALFORMED_FILE)
                    break
                video_id = id_string(video.get("video_id")) if isinstance(video, dict) else None
                if video_id is not None:
                    splits[video_id] = str(video.get("split", ""))
            link = Link("sentences.item", f"{path.stem}-sentences", "sen_id", "sen_id", "video_id", "videos")
            yield from linked_records(path, EXPECTED, link, splits, lambda sen_id, video_id, sentence, splits=splits: {
                "source_id": sen_id, "video_id": video_id, "split": splits[video_id],
                "caption": sentence.get("caption")})

    def convert(self, record: dict[str, Any]) -> Sample:
        from onellm_data.codecs.video import prepare_video

        conversations = prompt_turns("video", caption_prompt("video"), record["caption"])
        media, meta = prepare_video(self.media(msrvtt_video(self.raw, self.options, record["video_id"])))
        meta = {**meta, "video_id": record["video_id"], "split": record["split"]}
        return self.sample(record["source_id"], "video", conversations, media, meta)
