"""LLaVA-Instruct-150K conversations over COCO images paired with surface-normal maps (OneLLM's normal IT set)."""

from __future__ import annotations

from typing import ClassVar

from onellm_data.converters._layout import Need
from onellm_data.converters.llava_depth import LlavaDepthConverter


class LlavaNormalConverter(LlavaDepthConverter):
    """The depth converter's seeded subset and layout with ``normal/{stem}.png`` RGB maps (option ``maps``,
    default ``normal``); ``<image>`` becomes ``<normal>``."""

    name: ClassVar[str] = "llava_normal"
    modalities: ClassVar[tuple[str, ...]] = ("normal",)
    kind: ClassVar[str] = "normal"
    layout = (*LlavaDepthConverter.layout[:2], Need("maps named like the images", ("normal/",)))
