"""LLaVA-Instruct-150K conversations over COCO images paired with depth maps (OneLLM's depth IT set)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from onellm_data.converters._annotations import media_relpath
from onellm_data.converters._layout import Need
from onellm_data.converters._maps import find_map, llava_map_records, pair_members
from onellm_data.converters._options import Option
from onellm_data.converters._turns import retag_turns
from onellm_data.converters.base import Converter
from onellm_data.schema import PLACEHOLDERS, Sample


class LlavaDepthConverter(Converter):
    """A seeded subset of LLaVA-Instruct-150K with a depth map per COCO image.

    Raw layout (LLaVA's published files + maps made by a depth model such as Omnidata DPT)::

        llava_instruct_150k.json      [{"id": "000000033471", "image": "000000033471.jpg",
                                        "conversations": [{"from": "human", "value": "<image>\\n..."},
                                                          {"from": "gpt", "value": "..."}, ...]}, ...]
        coco/train2017/000000033471.jpg
        depth/000000033471.png        same stem as the image (16-bit or 8-bit PNG)

    Options: ``subset`` (default 50000; ``all`` keeps every item), ``seed`` (0), ``json``, ``images``
    (``coco/train2017``), ``maps`` (``depth``). ``<image>`` becomes ``<depth>``; the RGB image is always kept
    beside the map, as OneLLM feeds both.
    """

    name: ClassVar[str] = "llava_depth"
    modalities: ClassVar[tuple[str, ...]] = ("depth",)
    kind: ClassVar[str] = "depth"
    declared_options = (
        Option("subset", "seeded subset size (all: every item)", "count", 50_000),
        Option("seed", "seed of the subset", "int", 0),
        Option("json", "LLaVA-Instruct-150K JSON under raw", "path", "llava_instruct_150k.json"),
        Option("images", "COCO image folder", "path", "coco/train2017", media=True),
        Option("maps", "folder of maps named like the images (default: the modality's name)", "path", media=True),
    )
    layout = (Need("LLaVA-Instruct-150K conversations", ("llava_instruct_150k.json",)),
              Need("COCO train2017 images", ("coco/train2017/",)),
              Need("maps named like the images", ("depth/",)))

    def records(self) -> Iterator[dict[str, Any]]:
        yield from llava_map_records(self.raw, self.options)

    def convert(self, record: dict[str, Any]) -> Sample:
        image_rel = media_relpath(record["image"], "image path")
        image = self.media(self.raw / self.options.get("images", "coco/train2017") / image_rel)
        map_path = self.media(find_map(self.raw / self.options.get("maps", self.kind), Path(image_rel.name)))
        conversations = retag_turns(record["conversations"], PLACEHOLDERS["image"], PLACEHOLDERS[self.kind])
        members, meta = pair_members(image, map_path, self.kind)
        return self.sample(record["source_id"], self.kind, conversations, members, meta)
