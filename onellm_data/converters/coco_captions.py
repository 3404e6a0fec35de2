"""COCO 2017 train captions: one caption-prompt sample per caption (OneLLM's ``cococap_train``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from onellm_data.converters._grouping import group_records
from onellm_data.converters._annotations import find_media, id_string, media_relpath
from onellm_data.converters._json_stream import iter_json
from onellm_data.converters._layout import Need
from onellm_data.converters._linked_items import Link, linked_records
from onellm_data.converters._options import Option
from onellm_data.converters._rejects import MALFORMED_FILE, malformed
from onellm_data.converters._turns import caption_prompt, prompt_turns
from onellm_data.converters.base import Converter
from onellm_data.schema import Sample

DEFAULT_JSON = "annotations/captions_train2017.json"
EXPECTED = "COCO's caption annotations ({images: [...], annotations: [...]})"
CAPTIONS = Link("annotations.item", "annotations", "id", "annotation id", "image_id", "images")


class CocoCaptionsConverter(Converter):
    """COCO captions in the official annotation schema.

    Raw layout (cocodataset.org ``annotations_trainval2017.zip`` + ``train2017.zip``)::

        annotations/captions_train2017.json
            {"info": {...}, "licenses": [...],
             "images": [{"id": 391895, "file_name": "000000391895.jpg", "width": 640, "height": 360, ...}, ...],
             "annotations": [{"image_id": 391895, "id": 770337, "caption": "A man riding ..."}, ...]}
        train2017/000000391895.jpg

    Each annotation is one sample (source id = annotation id): "<image>\\nProvide a one-sentence caption for the
    provided image." -> the caption with stray whitespace collapsed. An annotation naming an image id absent from
    ``images`` is an "unknown id reference". Options: ``json``, ``images`` (``train2017``).
    """

    name: ClassVar[str] = "coco_captions"
    modalities: ClassVar[tuple[str, ...]] = ("image",)
    declared_options = (Option("json", "the caption annotation file under raw", "path", DEFAULT_JSON),
                        Option("images", "the image folder", "path", "train2017", media=True))
    layout = (Need("COCO caption annotations", (DEFAULT_JSON,)), Need("COCO train2017 images", ("train2017/",)))

    def records(self) -> Iterator[dict[str, Any]]:
        # An image is stored once with all its captions (one index row and one loader visit per caption).
        return group_records(self._caption_records(), lambda record: record["file_name"])

    def _caption_records(self) -> Iterator[dict[str, Any]]:
        path = self.raw / self.options.get("json", DEFAULT_JSON)
        # Two streamed passes: the image table (118K small entries) first, then the captions.
        files: dict[str, str] = {}
        for position, image in iter_json(path, "images.item", EXPECTED):
            if image is None:
                yield malformed(f"images{position}", str(path), MALFORMED_FILE)
                return
            image_id = id_string(image.get("id")) if isinstance(image, dict) else None
            if image_id is not None and isinstance(image.get("file_name"), str):
                files[image_id] = image["file_name"]
        yield from linked_records(path, EXPECTED, CAPTIONS, files, lambda ann_id, image_id, ann: {
            "source_id": ann_id, "image_id": image_id, "file_name": files[image_id], "caption": ann.get("caption")})

    def convert(self, record: dict[str, Any]) -> Sample:
        from onellm_data.codecs.image import prepare_image

        conversations = prompt_turns("image", caption_prompt("image"), record["caption"])
        rel = media_relpath(record["file_name"], "file_name")
        media, meta = prepare_image(self.media(find_media([self.raw / self.options.get("images", "train2017")], [rel])))
        return self.sample(record["source_id"], "image", conversations, media, {**meta, "image_id": record["image_id"]})
