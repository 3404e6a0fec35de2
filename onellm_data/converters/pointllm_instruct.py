"""PointLLM's complex instructions (70K) over Objaverse 8192-point clouds (OneLLM's point IT set)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from onellm_data.converters._json_stream import iter_json
from onellm_data.converters._layout import Need
from onellm_data.converters._options import Option
from onellm_data.converters._rejects import MALFORMED_FILE, MISSING_MEDIA, malformed
from onellm_data.converters._turns import retag_turns
from onellm_data.converters.base import Converter
from onellm_data.errors import RejectError
from onellm_data.schema import Sample

DEFAULT_JSON = "anno_data/PointLLM_complex_instruction_70K.json"
POINTS_OPTION = Option("points", "folder of {object_id}_8192.npy point files", "path", "objaverse_data", media=True)


def point_file(raw: Path, options: dict[str, Any], object_id: str) -> Path:
    """PointLLM's point files: ``objaverse_data/{object_id}_8192.npy`` (float32 [8192, 6], xyz + rgb in [0, 1])."""
    path = raw / options.get("points", "objaverse_data") / f"{object_id}_8192.npy"
    if not path.is_file():
        raise RejectError(MISSING_MEDIA, str(path))
    return path


class PointllmInstructConverter(Converter):
    """PointLLM complex-instruction conversations, one sample per conversation.

    Raw layout (PointLLM's ``data/`` folder as published on HF ``RunsenXu/PointLLM``)::

        anno_data/PointLLM_complex_instruction_70K.json
            [{"object_id": "<objaverse uid>", "conversation_type": "detailed_description" | "single_round"
              | "multi_round", "conversations": [{"from": "human", "value": "<point>\\nWhat is this?"},
                                                  {"from": "gpt", "value": "..."}, ...]}, ...]
        objaverse_data/{object_id}_8192.npy

    An object has several conversations, so the n-th repeat of an object id gets the source id
    ``{object_id}-{n}``. Options: ``json``, ``points`` (``objaverse_data``).
    """

    name: ClassVar[str] = "pointllm_instruct"
    modalities: ClassVar[tuple[str, ...]] = ("point",)
    declared_options = (Option("json", "the instruction JSON under raw", "path", DEFAULT_JSON), POINTS_OPTION)
    layout = (Need("PointLLM complex instructions", (DEFAULT_JSON,)),
              Need("Objaverse 8192-point files", ("objaverse_data/",), "*_8192.npy"))

    def records(self) -> Iterator[dict[str, Any]]:
        path = self.raw / self.options.get("json", DEFAULT_JSON)
        seen: dict[str, int] = {}
        for position, item in iter_json(path):
            if item is None:
                yield malformed(f"row{position}", path, MALFORMED_FILE)
                continue
            if not isinstance(item, dict) or not isinstance(item.get("object_id"), str) or not item["object_id"]:
                yield malformed(f"row{position}", "no object_id")
                continue
            object_id = item["object_id"]
            repeat = seen.get(object_id, 0)
            seen[object_id] = repeat + 1
            yield {
                "source_id": object_id if repeat == 0 else f"{object_id}-{repeat}",
                "object_id": object_id,
                "conversation_type": str(item.get("conversation_type", "")),
                "conversations": item.get("conversations"),
            }

    def convert(self, record: dict[str, Any]) -> Sample:
        from onellm_data.codecs.point import prepare_point

        conversations = retag_turns(record["conversations"], "<point>", "<point>")
        members, meta = prepare_point(self.media(point_file(self.raw, self.options, record["object_id"])))
        meta = {**meta, "object_id": record["object_id"], "conversation_type": record["conversation_type"]}
        return self.sample(record["source_id"], "point", conversations, members, meta)
