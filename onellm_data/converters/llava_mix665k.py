"""LLaVA-v1.5's instruction mix (665K): image conversations become image samples, text-only ones text samples."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from onellm_data.converters._grouping import group_records
from onellm_data.converters._annotations import RepeatedIds, content_digest, find_media, id_string, media_relpath
from onellm_data.converters._json_stream import iter_json
from onellm_data.converters._layout import Need
from onellm_data.converters._options import Option
from onellm_data.converters._rejects import MALFORMED_FILE, malformed
from onellm_data.converters._turns import normalise_turns
from onellm_data.converters.base import Converter
from onellm_data.schema import Sample

DEFAULT_JSON = "llava_v1_5_mix665k.json"
# Some published OCR-VQA images are PNG/GIF although the JSON says .jpg: try the same stem with these.
_FALLBACK_EXTS = (".jpg", ".jpeg", ".png", ".gif", ".webp")


class LlavaMix665kConverter(Converter):
    """LLaVA-v1.5 ``llava_v1_5_mix665k.json`` over its image folders.

    Raw layout (LLaVA's ``playground/data`` as its README describes)::

        llava_v1_5_mix665k.json   [{"id": "000000033471", "image": "coco/train2017/000000033471.jpg",
                                    "conversations": [{"from": "human", "value": "<image>\\nWhat ...?"},
                                                      {"from": "gpt", "value": "..."}, ...]},
                                   {"id": "i6IyJda_0", "conversations": [...]},   # no "image": text-only
                                   ...]
        coco/train2017/*.jpg  gqa/images/*.jpg  ocr_vqa/images/*  textvqa/train_images/*.jpg
        vg/VG_100K/*.jpg  vg/VG_100K_2/*.jpg

    The ``<image>`` placeholder (before or after the question in LLaVA's file) is moved to the front of the
    first turn; ``assistant`` turns read as ``gpt``. Published ids repeat for different items, so a repeat with
    new content gets ``{id}-{n}``; an exact repeat is recorded as a duplicate. Options: ``json``,
    ``images`` (image root, default the raw directory), ``modalities`` (``image,text``: which items to keep).
    """

    name: ClassVar[str] = "llava_mix665k"
    modalities: ClassVar[tuple[str, ...]] = ("image", "text")
    declared_options = (
        Option("json", "the mix JSON under raw", "path", DEFAULT_JSON),
        Option("images", "image root the items' paths are relative to (default: the raw folder)", "path", media=True),
        Option("modalities", "which items to keep: image, text or image,text", "choice", "image,text",
               ("image,text", "text,image", "image", "text")),
    )
    layout = (Need("LLaVA-v1.5 mix665k JSON", (DEFAULT_JSON,)),
              Need("LLaVA's image folders", ("coco/", "gqa/", "ocr_vqa/", "textvqa/", "vg/")))

    def _image_root(self) -> Path:
        return self.raw / self.options.get("images", "")

    def records(self) -> Iterator[dict[str, Any]]:
        # An image several items ask about is stored once with all their conversations (a row and a visit each).
        return group_records(self._items(), lambda record: record["image"] if record["modality"] == "image" else None)

    def _items(self) -> Iterator[dict[str, Any]]:
        path = self.raw / self.options.get("json", DEFAULT_JSON)
        keep = set(str(self.options.get("modalities", "image,text")).split(","))
        ids = RepeatedIds()
        for position, item in iter_json(path, expected="LLaVA's list of {id, image, conversations} items"):
            if item is None:
                yield malformed(f"row{position}", str(path), MALFORMED_FILE)
                continue
            item_id = id_string(item.get("id")) if isinstance(item, dict) else None
            if item_id is None:
                yield malformed(f"row{position}", "no id")
                continue
            modality = "image" if "image" in item else "text"
            if modality not in keep:
                continue
            conversations = item.get("conversations")
            source_id = ids.source_id(item_id, content_digest(item.get("image"), conversations))
            yield {"source_id": source_id, "modality": modality, "image": item.get("image"),
                   "conversations": conversations}

    def convert(self, record: dict[str, Any]) -> Sample:
        modality = record["modality"]
        conversations = normalise_turns(record["conversations"], modality, ("<image>",))
        media: dict[str, bytes] = {}
        meta: dict[str, Any] = {}
        if modality == "image":
            from onellm_data.codecs.image import prepare_image

            rel = media_relpath(record["image"], "image path")
            names = [rel, *(rel.with_suffix(ext) for ext in _FALLBACK_EXTS if ext != rel.suffix)]
            media, meta = prepare_image(self.media(find_media([self._image_root()], names)))
            meta = {**meta, "image": str(rel), "dataset": rel.parts[0] if len(rel.parts) > 1 else ""}
        return self.sample(record["source_id"], modality, conversations, media, meta)
