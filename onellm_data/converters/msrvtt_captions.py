"""MSR-VTT captions, train+val and test (OneLLM trains on ``msrvtt_cap_trainval`` and ``msrvtt_cap_test``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from onellm_data.converters._annotations import (
    MALFORMED_FILE,
    MALFORMED_ROW,
    SAFE_NAME,
    UNKNOWN_ID,
    caption_prompt,
    find_media,
    id_string,
    iter_json,
    malformed,
    prompt_turns,
)
from onellm_data.converters.base import Converter
from onellm_data.errors import RejectError
from onellm_data.schema import Sample, make_key

DEFAULT_FILES = ("train_val_videodatainfo.json", "test_videodatainfo.json")
# Where MSR-VTT's mp4s live in the common copies: one folder (``videos/all``) or the official split folders.
VIDEO_DIRS = ("videos/all", "TrainValVideo", "TestVideo", "videos")


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

    def records(self) -> Iterator[dict[str, Any]]:
        names = str(self.options.get("files", ",".join(DEFAULT_FILES))).split(",")
        if not any((self.raw / n).is_file() for n in names):
            raise FileNotFoundError(f"no MSR-VTT annotation file under {self.raw} (expected one of {', '.join(names)})")
        for name in names:
            path = self.raw / name
            if not path.is_file():
                continue
            splits: dict[str, str] = {}
            for position, video in iter_json(path, "videos.item"):
                if video is None:
                    yield malformed(f"{path.stem}-videos{position}", str(path), MALFORMED_FILE)
                    break
                video_id = id_string(video.get("video_id")) if isinstance(video, dict) else None
                if video_id is not None:
                    splits[video_id] = str(video.get("split", ""))
            for position, sentence in iter_json(path, "sentences.item"):
                if sentence is None:
                    yield malformed(f"{path.stem}-sentences{position}", str(path), MALFORMED_FILE)
                    break
                sen_id = id_string(sentence.get("sen_id")) if isinstance(sentence, dict) else None
                if sen_id is None:
                    yield malformed(f"{path.stem}-sentences{position}", "no sen_id")
                    continue
                video_id = id_string(sentence.get("video_id"))
                if video_id is None or video_id not in splits:
                    yield malformed(sen_id, f"video_id {sentence.get('video_id')!r} not in videos", UNKNOWN_ID)
                    continue
                yield {"source_id": sen_id, "video_id": video_id, "split": splits[video_id],
                       "caption": sentence.get("caption")}

    def convert(self, record: dict[str, Any]) -> Sample:
        from onellm_data.codecs.video import prepare_video

        conversations = prompt_turns("video", caption_prompt("video"), record["caption"])
        media, meta = prepare_video(msrvtt_video(self.raw, self.options, record["video_id"]))
        return Sample(
            key=make_key(self.source, record["source_id"]),
            source=self.source,
            modality="video",
            conversations=conversations,
            source_id=record["source_id"],
            media=media,
            meta={**meta, "video_id": record["video_id"], "split": record["split"]},
        )
