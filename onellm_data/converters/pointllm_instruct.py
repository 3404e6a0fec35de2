"""PointLLM's complex instructions (70K) over Objaverse 8192-point clouds (OneLLM's point IT set)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from onellm_data.converters._maps import iter_json_list, retag_conversations
from onellm_data.converters.base import Converter
from onellm_data.errors import RejectError
from onellm_data.schema import Sample, make_key

DEFAULT_JSON = "anno_data/PointLLM_complex_instruction_70K.json"


def point_file(raw: Path, options: dict[str, Any], object_id: str) -> Path:
    """PointLLM's point files: ``objaverse_data/{object_id}_8192.npy`` (float32 [8192, 6], xyz + rgb in [0, 1])."""
    path = raw / options.get("points", "objaverse_data") / f"{object_id}_8192.npy"
    if not path.is_file():
        raise RejectError("missing media file", str(path))
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

    def records(self) -> Iterator[dict[str, Any]]:
        path = self.raw / self.options.get("json", DEFAULT_JSON)
        seen: dict[str, int] = {}
        for position, item in iter_json_list(path):
            if item is None:
                yield {"source_id": f"row{position}", "_reject": "malformed annotation file", "_detail": str(path)}
                continue
            if not isinstance(item, dict) or not isinstance(item.get("object_id"), str) or not item["object_id"]:
                yield {"source_id": f"row{position}", "_reject": "malformed annotation row", "_detail": "no object_id"}
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

        conversations = retag_conversations(record["conversations"], "<point>", "<point>")
        members, meta = prepare_point(point_file(self.raw, self.options, record["object_id"]))
        return Sample(
            key=make_key(self.source, record["source_id"]),
            source=self.source,
            modality="point",
            conversations=conversations,
            source_id=record["source_id"],
            media=members,
            meta={**meta, "object_id": record["object_id"], "conversation_type": record["conversation_type"]},
        )
