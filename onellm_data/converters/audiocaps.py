"""AudioCaps captions over locally downloaded AudioSet clips (OneLLM's ``audiocap_train`` + ``audiocap_val``)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from onellm_data.converters._annotations import (
    SAFE_NAME,
    caption_prompt,
    find_media,
    id_string,
    malformed,
    prompt_turns,
)
from onellm_data.converters.base import Converter
from onellm_data.schema import AUDIO_EXTS, Sample, make_key

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

    def records(self) -> Iterator[dict[str, Any]]:
        splits = str(self.options.get("splits", ",".join(DEFAULT_SPLITS))).split(",")
        if not any((self.raw / f"{s}.csv").is_file() for s in splits):
            raise FileNotFoundError(f"no AudioCaps CSV under {self.raw} (expected {', '.join(s + '.csv' for s in splits)})")
        for split in splits:
            path = self.raw / f"{split}.csv"
            if not path.is_file():
                continue
            with open(path, newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
                if missing:
                    raise ValueError(f"{path} is not an AudioCaps CSV (missing columns {missing})")
                for row_number, row in enumerate(reader, 2):
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
        return find_media([root, root / record["split"]], names)

    def convert(self, record: dict[str, Any]) -> Sample:
        from onellm_data.codecs.audio import prepare_audio

        conversations = prompt_turns("audio", caption_prompt("audio"), record["caption"])
        media, meta = prepare_audio(self.clip(record))
        return Sample(
            key=make_key(self.source, record["source_id"]),
            source=self.source,
            modality="audio",
            conversations=conversations,
            source_id=record["source_id"],
            media=media,
            meta={**meta, "youtube_id": record["youtube_id"], "start_time": record["start_time"],
                  "split": record["split"]},
        )
