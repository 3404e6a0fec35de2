"""AudioCaps captions over locally downloaded AudioSet clips (OneLLM's ``audiocap_train`` + ``audiocap_val``)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from onellm_data.converters._annotations import SAFE_NAME, find_media, id_string
from onellm_data.converters._json_stream import bad_text, open_text
from onellm_data.converters._layout import Need
from onellm_data.converters._options import Option
from onellm_data.converters._rejects import NOT_UTF8, malformed, rejected
from onellm_data.converters._turns import caption_prompt, prompt_turns
from onellm_data.converters.base import Converter
from onellm_data.errors import AnnotationError
from onellm_data.schema import AUDIO_EXTS, Sample

COLUMNS = ("audiocap_id", "youtube_id", "start_time", "caption")
DEFAULT_SPLITS = ("train", "val")


def start_seconds(value: str) -> int | None:
    """AudioCaps start times are whole seconds ("30"); some copies write "30.0"."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return int(seconds) if seconds >= 0 and seconds.is_integer() else None


class AudiocapsConverter(Converter):
    """AudioCaps v1 CSVs (``cdjkim/audiocaps`` ``dataset/``) + clips cut from YouTube by the user.

    Raw layout::

        train.csv  val.csv  test.csv     audiocap_id,youtube_id,start_time,caption   (captions with commas quoted)
        audio/{youtube_id}_{start_time}.wav   10-s clip from ``start_time``; .flac/.mp3/.ogg too; also found
                                              under ``audio/{split}/``; the AudioSet style ``Y{youtube_id}.wav``
                                              is accepted as well

    One sample per caption row (val/test have 5 per clip): "<audio>\\nProvide a one-sentence caption for the
    provided audio." -> caption. Source id = ``audiocap_id``. Clips that failed to download are "missing media
    file" rejects. OneLLM trains on train + val. Options: ``splits`` (``train,val``), ``audio`` (folder).
    """

    name: ClassVar[str] = "audiocaps"
    modalities: ClassVar[tuple[str, ...]] = ("audio",)
    declared_options = (Option("splits", "comma-separated splits ({split}.csv)", "text", ",".join(DEFAULT_SPLITS)),
                        Option("audio", "the clip folder", "path", "audio", media=True))
    layout = (Need("AudioCaps CSVs", tuple(f"{s}.csv" for s in DEFAULT_SPLITS)),
              Need("AudioCaps clips", ("audio/",)))

    def records(self) -> Iterator[dict[str, Any]]:
        splits = str(self.options.get("splits", ",".join(DEFAULT_SPLITS))).split(",")
        if not any((self.raw / f"{s}.csv").is_file() for s in splits):
            raise FileNotFoundError(f"no AudioCaps CSV under {self.raw} (expected {', '.join(s + '.csv' for s in splits)})")
        for split in splits:
            path = self.raw / f"{split}.csv"
            if not path.is_file():
                continue
            with open_text(path) as fh:
                reader = csv.DictReader(fh)
                missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
                if missing:
                    raise AnnotationError(path, f"an AudioCaps CSV with columns {', '.join(COLUMNS)}",
                                          f"columns {', '.join(reader.fieldnames or []) or 'none'}")
                for row_number, row in enumerate(reader, 2):
                    if bad_text(row):
                        yield rejected(f"{split}-line{row_number}", NOT_UTF8, f"{path.name}:{row_number}")
                        continue
                    cap_id = id_string(row.get("audiocap_id"))
                    if cap_id is None:
                        yield malformed(f"{split}-line{row_number}", "no audiocap_id")
                        continue
                    youtube_id = (row.get("youtube_id") or "").strip()
                    start = start_seconds(row.get("start_time") or "")
                    if not SAFE_NAME.match(youtube_id) or start is None or None in row:
                        yield malformed(cap_id, f"line {row_number}: youtube_id/start_time/columns")
                        continue
                    yield {"source_id": cap_id, "split": split, "youtube_id": youtube_id, "start_time": start,
                           "caption": row.get("caption")}

    def clip(self, record: dict[str, Any]) -> Path:
        root = self.raw / self.options.get("audio", "audio")
        stems = [f"{record['youtube_id']}_{record['start_time']}", f"Y{record['youtube_id']}"]
        names = [f"{stem}.{ext}" for stem in stems for ext in AUDIO_EXTS]
        return self.media(find_media([root, root / record["split"]], names))

    def convert(self, record: dict[str, Any]) -> Sample:
        from onellm_data.codecs.audio import prepare_audio

        conversations = prompt_turns("audio", caption_prompt("audio"), record["caption"])
        media, meta = prepare_audio(self.clip(record))
        meta = {**meta, "youtube_id": record["youtube_id"], "start_time": record["start_time"],
                "split": record["split"]}
        return self.sample(record["source_id"], "audio", conversations, media, meta)
