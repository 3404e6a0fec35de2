"""LLaVA-Instruct-150K conversations over COCO images paired with surface-normal maps (OneLLM's normal IT set)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from onellm_data.converters._maps import find_map, llava_map_records, pair_members, retag_conversations
from onellm_data.converters.base import Converter
from onellm_data.schema import PLACEHOLDERS, Sample, make_key


class LlavaNormalConverter(Converter):
    """A seeded subset of LLaVA-Instruct-150K with a normal map per COCO image.

    Raw layout (LLaVA's published files + maps made by a normal model such as Omnidata DPT)::

        llava_instruct_150k.json      [{"id": "000000033471", "image": "000000033471.jpg",
                                        "conversations": [{"from": "human", "value": "<image>\\n..."},
                                                          {"from": "gpt", "value": "..."}, ...]}, ...]
        coco/train2017/000000033471.jpg
        normal/000000033471.png       same stem as the image (RGB PNG)

    Options: ``subset`` (default 50000; ``all`` keeps every item), ``seed`` (0), ``json``, ``images``
    (``coco/train2017``), ``maps`` (``normal``). ``<image>`` becomes ``<normal>``; the RGB image is always kept
    beside the map, as OneLLM feeds both.
    """

    name: ClassVar[str] = "llava_normal"
    modalities: ClassVar[tuple[str, ...]] = ("normal",)
    kind: ClassVar[str] = "normal"

    def records(self) -> Iterator[dict[str, Any]]:
        yield from llava_map_records(self.raw, self.options)

    def convert(self, record: dict[str, Any]) -> Sample:
        image_rel = Path(record["image"])
        image = self.raw / self.options.get("images", "coco/train2017") / image_rel
        map_path = find_map(self.raw / self.options.get("maps", self.kind), Path(image_rel.name))
        conversations = retag_conversations(record["conversations"], PLACEHOLDERS["image"], PLACEHOLDERS[self.kind])
        members, meta = pair_members(image, map_path, self.kind)
        return Sample(
            key=make_key(self.source, record["source_id"]),
            source=self.source,
            modality=self.kind,
            conversations=conversations,
            source_id=record["source_id"],
            media=members,
            meta=meta,
        )
