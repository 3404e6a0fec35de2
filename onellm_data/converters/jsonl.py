"""A generic converter for data already in our sample form: ``samples.jsonl`` + media files.

Each line: ``{"id": str, "modality": str, "conversations": [...], "media": {"jpg": "rel/path.jpg", ...},
"meta": {...}}`` with media paths relative to the raw directory. Useful for packing hand-made or
third-party data that has no dedicated converter (``onellm-data convert jsonl --name NAME``).
Media paths must stay inside the raw folder (after symlinks), unless ``-o allow_root=DIR`` names another.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from onellm_data.converters._json_stream import iter_json_lines
from onellm_data.converters._layout import Need
from onellm_data.converters._options import Option
from onellm_data.converters._rejects import (
    MALFORMED_META,
    MALFORMED_ROW,
    MISSING_MEDIA,
    UNKNOWN_MODALITY,
    malformed,
    rejected,
)
from onellm_data.converters.base import Converter
from onellm_data.errors import RejectError
from onellm_data.schema import MODALITIES, Sample

DEFAULT_FILE = "samples.jsonl"


class JsonlConverter(Converter):
    name: ClassVar[str] = "jsonl"
    modalities: ClassVar[tuple[str, ...]] = MODALITIES
    declared_options = (Option("file", "the samples file under raw", "path", DEFAULT_FILE),)
    layout = (Need("samples in JSON lines", (DEFAULT_FILE, "*.jsonl")),)

    def records(self) -> Iterator[dict[str, Any]]:
        path = self.raw / self.options.get("file", DEFAULT_FILE)
        for lineno, record, problem in iter_json_lines(path):
            if problem is not None:
                yield rejected(f"line{lineno}", *problem)
                continue
            if not isinstance(record, dict) or not isinstance(record.get("id"), (str, int)):
                yield malformed(f"line{lineno}", "no id")
                continue
            yield {**record, "source_id": str(record["id"])}

    def convert(self, record: dict[str, Any]) -> Sample:
        if record.get("modality") not in MODALITIES:
            raise RejectError(UNKNOWN_MODALITY, str(record.get("modality")))
        meta = record.get("meta") or {}
        if not isinstance(meta, dict):
            raise RejectError(MALFORMED_META, f"meta is {type(meta).__name__}, not an object")
        media_paths = record.get("media") or {}
        if not isinstance(media_paths, dict) or not all(isinstance(v, str) for v in media_paths.values()):
            raise RejectError(MALFORMED_ROW, "media is not an object of relative paths")
        media: dict[str, bytes] = {}
        for ext, rel in media_paths.items():
            path = self.media(self.raw / rel)
            if not path.is_file():
                raise RejectError(MISSING_MEDIA, str(path))
            media[ext] = path.read_bytes()
        return self.sample(record["source_id"], record["modality"], record.get("conversations"), media, meta)
