"""MSRVTT-QA open-ended short answers (OneLLM's ``msrvtt_vqa_{train,val,test}``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from onellm_data.converters._annotations import id_string
from onellm_data.converters._json_stream import iter_json
from onellm_data.converters._layout import Need
from onellm_data.converters._options import Option
from onellm_data.converters._rejects import MALFORMED_FILE, malformed
from onellm_data.converters._turns import prompt_turns, short_qa_prompt
from onellm_data.converters.base import Converter
from onellm_data.converters.msrvtt_captions import VIDEO_DIRS, msrvtt_video
from onellm_data.schema import Sample

DEFAULT_SPLITS = ("train", "val", "test")


class MsrvttQaConverter(Converter):
    """MSRVTT-QA (Xu et al. 2017, ``xudejing/video-question-answering``) over MSR-VTT's videos.

    Raw layout::

        train_qa.json  val_qa.json  test_qa.json
            [{"answer": "man", "id": 0, "question": "who is talking?", "video_id": 0}, ...]
            (``video_id`` is the integer N of MSR-VTT's ``videoN``)
        videos/all/video0.mp4          (or TrainValVideo/ and TestVideo/, as for msrvtt_captions)

    One sample per question: "<video>\\n{question} Answer the question using a single word or phrase." -> the
    answer. Source id = ``{split}-{id}``. Options: ``splits`` (``train,val,test``), ``videos``.
    """

    name: ClassVar[str] = "msrvtt_qa"
    modalities: ClassVar[tuple[str, ...]] = ("video",)
    declared_options = (
        Option("splits", "comma-separated splits ({split}_qa.json)", "text", ",".join(DEFAULT_SPLITS)),
        Option("videos", "comma-separated folders holding videoN.mp4", "paths", media=True),
    )
    layout = (Need("MSRVTT-QA question files", tuple(f"{s}_qa.json" for s in DEFAULT_SPLITS)),
              Need("MSR-VTT videos", tuple(f"{d}/" for d in VIDEO_DIRS), "video*.mp4"))

    def records(self) -> Iterator[dict[str, Any]]:
        splits = str(self.options.get("splits", ",".join(DEFAULT_SPLITS))).split(",")
        if not any((self.raw / f"{s}_qa.json").is_file() for s in splits):
            raise FileNotFoundError(f"no MSRVTT-QA file under {self.raw} (expected {', '.join(s + '_qa.json' for s in splits)})")
        for split in splits:
            path = self.raw / f"{split}_qa.json"
            if not path.is_file():
                continue
            for position, item in iter_json(path, expected="MSRVTT-QA's list of {id, video_id, question, answer}"):
                if item is None:
                    yield malformed(f"{split}-row{position}", str(path), MALFORMED_FILE)
                    break
                qa_id = id_string(item.get("id")) if isinstance(item, dict) else None
                if qa_id is None:
                    yield malformed(f"{split}-row{position}", "no id")
                    continue
                video = item.get("video_id")
                if isinstance(video, bool) or not isinstance(video, (int, str)) or not str(video).strip().isdigit():
                    yield malformed(f"{split}-{qa_id}", f"video_id {video!r} is not an integer")
                    continue
                yield {"source_id": f"{split}-{qa_id}", "split": split, "video_id": f"video{int(video)}",
                       "question": item.get("question"), "answer": item.get("answer")}

    def convert(self, record: dict[str, Any]) -> Sample:
        from onellm_data.codecs.video import prepare_video

        conversations = prompt_turns("video", short_qa_prompt(record["question"]), record["answer"], "answer")
        media, meta = prepare_video(self.media(msrvtt_video(self.raw, self.options, record["video_id"])))
        meta = {**meta, "video_id": record["video_id"], "split": record["split"], "task": "short_qa"}
        return self.sample(record["source_id"], "video", conversations, media, meta)
