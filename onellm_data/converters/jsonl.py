"""A generic converter for data already in our sample form: ``samples.jsonl`` + media files.

Each line: ``{"id": str, "modality": str, "conversations": [...], "media": {"jpg": "rel/path.jpg", ...},
"meta": {...}}`` with media paths relative to the raw directory. Useful for packing hand-made or
third-party data that has no dedicated converter (``onellm-data convert jsonl --source NAME``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, ClassVar

from onellm_data.converters.base import Converter
from onellm_data.errors import RejectError
from onellm_data.schema import MODALITIES, Sample, make_key


class JsonlConverter(Converter):
    name: ClassVar[str] = "jsonl"
    modalities: ClassVar[tuple[str, ...]] = MODALITIES

    def records(self) -> Iterator[dict[str, Any]]:
        path = self.raw / self.options.get("file", "samples.jsonl")
        with open(path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield {"source_id": f"line{lineno}", "_reject": "malformed annotation row", "_detail": str(exc)}
                    continue
                if not isinstance(record, dict) or not isinstance(record.get("id"), (str, int)):
                    yield {"source_id": f"line{lineno}", "_reject": "malformed annotation row", "_detail": "no id"}
                    continue
                yield {**record, "source_id": str(record["id"])}

    def convert(self, record: dict[str, Any]) -> Sample:
        if record.get("modality") not in MODALITIES:
            raise RejectError("unknown modality", str(record.get("modality")))
        media: dict[str, bytes] = {}
        for ext, rel in (record.get("media") or {}).items():
            path = self.raw / rel
            if not path.is_file():
                raise RejectError("missing media file", str(path))
            media[ext] = path.read_bytes()
        return Sample(
            key=make_key(self.source, record["source_id"]),
            source=self.source,
            modality=record["modality"],
            conversations=record.get("conversations"),
            source_id=record["source_id"],
            media=media,
            meta=record.get("meta") or {},
        )
