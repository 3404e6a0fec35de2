"""Plain folders of images with captions.

Raw layout, either of::

    raw/                          raw/
      a.jpg  a.txt                  captions.csv     columns file (or image / filename / path) and caption
      sub/b.png  sub/b.txt          (or captions.jsonl: {"file": …, "caption": …} per line)
                                    images/… referenced relative to raw

Each image's caption is the ``.txt`` beside it (same stem). Images are jpg/jpeg/png/webp/bmp/gif/tif(f);
non-JPEG/PNG/WebP formats are re-encoded losslessly by the image codec. The source id is the image's path
relative to raw without extension, so two list rows naming the same file are a duplicate id.
Options: ``captions`` (name of the csv/jsonl; default captions.csv or captions.jsonl when present).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from onellm_data.converters._annotations import safe_relpath
from onellm_data.converters._img2dataset import caption_problem, caption_record, caption_sample
from onellm_data.converters._json_stream import bad_text, iter_json_lines, open_text
from onellm_data.converters._layout import Need
from onellm_data.converters._options import Option
from onellm_data.converters._rejects import MISSING_CAPTION, MISSING_MEDIA, NOT_UTF8, OUTSIDE_ROOT, malformed, rejected
from onellm_data.converters.base import Converter
from onellm_data.errors import AnnotationError, RejectError
from onellm_data.schema import Sample

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")
FILE_COLUMNS = ("file", "image", "filename", "file_name", "path")
CAPTION_COLUMNS = ("caption", "text", "TEXT")


def _pick(row: dict[str, Any], names: tuple[str, ...]) -> Any:
    return next((row[n] for n in names if n in row), None)


def walk_sorted(root: Path) -> Iterator[Path]:
    """Every file under ``root`` in a deterministic order, one directory listing in memory at a time."""
    entries = sorted(os.scandir(root), key=lambda e: e.name)
    for entry in entries:
        if entry.is_dir():
            yield from walk_sorted(Path(entry.path))
        elif entry.is_file():
            yield Path(entry.path)


class ImageFolderConverter(Converter):
    name: ClassVar[str] = "image_folder"
    modalities: ClassVar[tuple[str, ...]] = ("image",)
    declared_options = (Option("captions", "caption list (.csv or .jsonl) under raw (default captions.csv or "
                               "captions.jsonl when present, else a .txt beside each image)", "path"),)
    layout = (Need("images", ("./",), "*.*"),)

    def _caption_file(self) -> Path | None:
        if self.options.get("captions"):
            return self.raw / self.options["captions"]
        return next((self.raw / n for n in ("captions.csv", "captions.jsonl") if (self.raw / n).is_file()), None)

    def _list_rows(self, path: Path) -> Iterator[tuple[int, Any, tuple[str, str] | None]]:
        if path.suffix != ".csv":
            yield from iter_json_lines(path)
            return
        with open_text(path) as fh:
            reader = csv.DictReader(fh)
            if not any(c in (reader.fieldnames or []) for c in FILE_COLUMNS):
                raise AnnotationError(path, f"a caption list with a {'/'.join(FILE_COLUMNS)} column",
                                      f"columns {', '.join(reader.fieldnames or []) or 'none'}")
            for lineno, row in enumerate(reader, 2):
                yield lineno, row, (NOT_UTF8, f"{path.name}:{lineno}") if bad_text(row) else None

    def records(self) -> Iterator[dict[str, Any]]:
        listing = self._caption_file()
        if listing is None:
            for path in walk_sorted(self.raw):
                if path.suffix.lower() in IMAGE_SUFFIXES:
                    rel = path.relative_to(self.raw)
                    yield {"source_id": rel.with_suffix("").as_posix(), "file": rel.as_posix()}
            return
        for lineno, row, problem in self._list_rows(listing):
            if problem is not None and problem[0] == NOT_UTF8:
                yield rejected(f"{listing.name}:{lineno}", *problem)
                continue
            file = _pick(row, FILE_COLUMNS) if isinstance(row, dict) else None
            if not isinstance(file, str) or not file.strip():
                yield malformed(f"{listing.name}:{lineno}", "no image file named")
                continue
            rel = safe_relpath(file)
            if rel is None:  # an absolute path or a ../ escape would read outside the raw folder
                yield rejected(f"{listing.name}:{lineno}", OUTSIDE_ROOT, file.strip()[:150])
                continue
            yield caption_record(rel.with_suffix("").as_posix(), _pick(row, CAPTION_COLUMNS), file=rel.as_posix())

    def convert(self, record: dict[str, Any]) -> Sample:
        from onellm_data.codecs.image import prepare_image

        path = self.media(self.raw / record["file"])
        if not path.is_file():
            raise RejectError(MISSING_MEDIA, record["file"])
        caption = record.get("caption")
        if caption is None:  # folder form: the caption is the .txt beside the image
            txt = path.with_suffix(".txt")
            if not txt.is_file():
                raise RejectError(MISSING_CAPTION, f"no {txt.name} beside {record['file']}")
            caption = txt.read_text(encoding="utf-8", errors="replace")
            reason = caption_problem(caption)
            if reason:
                raise RejectError(reason, Path(record["file"]).with_suffix(".txt").as_posix())
            caption = caption.strip()
        media, meta = prepare_image(path)
        return caption_sample(self, record["source_id"], "image", caption, media, meta)
