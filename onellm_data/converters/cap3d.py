"""Cap3D / PointLLM brief captions over Objaverse 8192-point clouds → point alignment captions."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from onellm_data.converters._json_stream import bad_text, iter_json, open_text
from onellm_data.converters._layout import Need
from onellm_data.converters._options import Option
from onellm_data.converters._rejects import MALFORMED_FILE, NOT_UTF8, malformed, rejected
from onellm_data.converters._turns import caption_turns
from onellm_data.converters.base import Converter
from onellm_data.converters.pointllm_instruct import POINTS_OPTION, point_file
from onellm_data.schema import Sample

# Looked for in this order when no ``captions`` option is given.
CAPTION_FILES = (
    "anno_data/PointLLM_brief_description_660K_filtered.json",
    "anno_data/PointLLM_brief_description_660K.json",
    "Cap3D_automated_Objaverse.csv",
    "Cap3D_automated_Objaverse_full.csv",
)


class Cap3dConverter(Converter):
    """One ``<point>`` / caption sample per Objaverse object.

    Raw layout, either caption file with PointLLM's point files::

        Cap3D_automated_Objaverse.csv        no header; rows ``uid,caption`` (captions with commas are quoted)
        anno_data/PointLLM_brief_description_660K[_filtered].json
            [{"object_id": uid, "conversations": [{"from": "human", "value": "<point>\\n..."},
                                                  {"from": "gpt", "value": "<caption>"}]}, ...]
        objaverse_data/{uid}_8192.npy

    From the PointLLM JSON the caption is the first answer. Options: ``captions`` (file), ``points``.
    """

    name: ClassVar[str] = "cap3d"
    modalities: ClassVar[tuple[str, ...]] = ("point",)
    declared_options = (Option("captions", "the caption file under raw (Cap3D CSV or PointLLM brief JSON)", "path"),
                        POINTS_OPTION)
    layout = (Need("Cap3D / PointLLM brief captions", CAPTION_FILES),
              Need("Objaverse 8192-point files", ("objaverse_data/",), "*_8192.npy"))

    def caption_file(self) -> Path:
        if "captions" in self.options:
            return self.raw / self.options["captions"]
        for rel in CAPTION_FILES:
            if (self.raw / rel).is_file():
                return self.raw / rel
        raise FileNotFoundError(f"no Cap3D / PointLLM caption file under {self.raw} (looked for {CAPTION_FILES})")

    def records(self) -> Iterator[dict[str, Any]]:
        path = self.caption_file()
        if path.suffix == ".csv":
            yield from self._csv_records(path)
        else:
            yield from self._json_records(path)

    def _csv_records(self, path: Path) -> Iterator[dict[str, Any]]:
        with open_text(path) as fh:
            for lineno, row in enumerate(csv.reader(fh), 1):
                if bad_text(row):
                    yield rejected(f"line{lineno}", NOT_UTF8, f"{path.name}:{lineno}")
                    continue
                if len(row) != 2 or not row[0].strip():
                    yield malformed(f"line{lineno}", str(row)[:80])
                    continue
                yield {"source_id": row[0].strip(), "caption": row[1]}

    def _json_records(self, path: Path) -> Iterator[dict[str, Any]]:
        for position, item in iter_json(path):
            if item is None:
                yield malformed(f"row{position}", path, MALFORMED_FILE)
                continue
            object_id = item.get("object_id") if isinstance(item, dict) else None
            turns = item.get("conversations") if isinstance(item, dict) else None
            if not isinstance(object_id, str) or not object_id or not isinstance(turns, list):
                yield malformed(f"row{position}", "no object_id")
                continue
            answers = [t.get("value") for t in turns if isinstance(t, dict) and t.get("from") in ("gpt", "assistant")]
            yield {"source_id": object_id, "caption": answers[0] if answers else None}

    def convert(self, record: dict[str, Any]) -> Sample:
        from onellm_data.codecs.point import prepare_point

        conversations = caption_turns("point", record.get("caption"))
        members, meta = prepare_point(self.media(point_file(self.raw, self.options, record["source_id"])))
        return self.sample(record["source_id"], "point", conversations, members, {**meta, "task": "caption"})
