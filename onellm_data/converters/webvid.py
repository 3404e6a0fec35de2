"""WebVid-2.5M / WebVid-10M video-caption pairs with the videos already downloaded.

Raw layout::

    raw/
      results_2M_train.csv       as published: header videoid,name,page_idx,page_dir,duration,contentUrl
      results_2M_val.csv         (``name`` is the caption, ``duration`` ISO-8601 like PT00H00M17S)
      videos/{page_dir}/{videoid}.mp4    the download script's layout, or flat {videoid}.mp4;
      data/2M_val/{videoid}.mp4          a per-split folder named after the CSV is also searched

Options: ``csv`` (file or folder under raw; default every top-level ``*.csv``, sorted) and ``videos`` (a
folder under raw searched first). CSVs are streamed row by row. Rows whose video is absent are rejected with
``missing media file`` (WebVid downloads always miss some).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from onellm_data.converters._img2dataset import caption_record, caption_sample
from onellm_data.converters._json_stream import bad_text, open_text
from onellm_data.converters._layout import Need
from onellm_data.converters._options import Option
from onellm_data.converters._rejects import MISSING_MEDIA, NOT_UTF8, malformed, rejected
from onellm_data.converters.base import Converter
from onellm_data.errors import AnnotationError, RejectError
from onellm_data.schema import Sample

REQUIRED = ("videoid", "name", "page_dir")
_ISO_DURATION = re.compile(r"^PT(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$")
_SAFE_PART = re.compile(r"^[A-Za-z0-9_.-]+$")


def parse_iso_duration(text: str) -> float | None:
    """Seconds of an ISO-8601 ``PT…H…M…S`` duration, or None when it is not one."""
    match = _ISO_DURATION.match((text or "").strip())
    if not match or not any(match.groups()):
        return None
    h, m, s = (float(g) if g else 0.0 for g in match.groups())
    return h * 3600 + m * 60 + s


class WebvidConverter(Converter):
    name: ClassVar[str] = "webvid"
    modalities: ClassVar[tuple[str, ...]] = ("video",)
    declared_options = (
        Option("csv", "WebVid results CSV file or folder under raw (default: every top-level *.csv)", "path"),
        Option("videos", "a folder searched first for {page_dir}/{videoid}.mp4 or {videoid}.mp4", "path", media=True),
    )
    # The converter searches videos/, data/{split}/, {split}/ and raw itself for the mp4s.
    layout = (Need("WebVid results CSV", ("*.csv",)),
              Need("downloaded videos", ("videos/", "data/", "./"), "*.mp4"))

    def _csv_files(self) -> list[Path]:
        base = self.raw / self.options["csv"] if self.options.get("csv") else self.raw
        return [base] if base.is_file() else sorted(base.glob("*.csv"), key=lambda p: p.name)

    def records(self) -> Iterator[dict[str, Any]]:
        for path in self._csv_files():
            split = path.stem.removeprefix("results_")
            with open_text(path) as fh:
                reader = csv.DictReader(fh)
                missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
                if missing:
                    raise AnnotationError(path, f"a WebVid results CSV with columns {', '.join(REQUIRED)}",
                                          f"columns {', '.join(reader.fieldnames or []) or 'none'}")
                for lineno, row in enumerate(reader, 2):
                    if bad_text(row):
                        yield rejected(f"{path.name}:{lineno}", NOT_UTF8, f"{path.name}:{lineno}")
                        continue
                    videoid, page_dir = (row.get("videoid") or "").strip(), (row.get("page_dir") or "").strip()
                    if not _SAFE_PART.match(videoid) or (page_dir and not _SAFE_PART.match(page_dir)):
                        yield malformed(f"{path.name}:{lineno}", f"videoid={videoid!r} page_dir={page_dir!r}")
                        continue
                    yield caption_record(videoid, row.get("name"), page_dir=page_dir, split=split,
                                         listed_duration=parse_iso_duration(row.get("duration") or ""))

    def _find_video(self, record: dict[str, Any]) -> Path | None:
        roots = [self.raw / self.options["videos"]] if self.options.get("videos") else []
        roots += [self.raw / "videos", self.raw / "data" / record["split"], self.raw / record["split"], self.raw]
        name = f"{record['source_id']}.mp4"
        for root in roots:
            for path in (root / record["page_dir"] / name, root / name):
                if path.is_file():
                    return path
        return None

    def convert(self, record: dict[str, Any]) -> Sample:
        from onellm_data.codecs.video import prepare_video

        path = self._find_video(record)
        if path is None:
            raise RejectError(MISSING_MEDIA, f"{record['page_dir']}/{record['source_id']}.mp4")
        media, meta = prepare_video(self.media(path))
        return caption_sample(self, record["source_id"], "video", record["caption"], media, meta)
