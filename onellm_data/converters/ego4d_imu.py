"""Ego4D narration windows as IMU instructions: "Describe the motion." → the cleaned narration (OneLLM's IMU IT)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from onellm_data.converters._ego4d import LAYOUT, OPTIONS, ego4d_records, imu_file, imu_window
from onellm_data.converters._turns import caption_prompt, prompt_turns
from onellm_data.converters.base import Converter
from onellm_data.schema import Sample


class Ego4dImuConverter(Converter):
    """A seeded subset (option ``subset``, default 50000; ``seed``, default 0) of Ego4D narration windows.

    Raw layout (Ego4D's download, or imu2clip's preprocessed form)::

        v2/annotations/narration.json    {video_uid: {"narration_pass_1": {"narrations": [
                                            {"timestamp_sec": 12.3, "narration_text": "#C C opens the door",
                                             "annotation_uid": ...}, ...]}}}
        v2/imu/{video_uid}.csv           Ego4D IMU: canonical_timestamp_ms, accl_x..z, gyro_x..z
          or processed_imu/{video_uid}.npy + {video_uid}_timestamps.npy   (imu2clip extract_imu.py)
        window_idx_train.json            optional imu2clip window index (window_start, window_end,
                                         video_uid, narration_uid, text), read when narration.json is absent;
                                         an imu2clip split CSV is read with ``-o windows=FILE.csv``

    Rules follow imu2clip (see ``converters/_ego4d.py``). Options: ``narrations``, ``windows``, ``imu_dir``,
    ``narration_pass`` (``narration_pass_1``), ``subset``, ``seed``.
    """

    name: ClassVar[str] = "ego4d_imu"
    modalities: ClassVar[tuple[str, ...]] = ("imu",)
    default_subset: ClassVar[int | None] = 50_000
    declared_options = OPTIONS
    layout = LAYOUT

    def records(self) -> Iterator[dict[str, Any]]:
        yield from ego4d_records(self.raw, self.options, self.default_subset)

    def turns(self, text: Any) -> list[dict[str, str]]:
        return prompt_turns("imu", caption_prompt("imu"), text)

    def convert(self, record: dict[str, Any]) -> Sample:
        conversations = self.turns(record.get("text"))
        members, meta = imu_window(self.media(imu_file(self.raw, self.options, record["video_uid"])), record)
        meta = {**meta, "video_uid": record["video_uid"], **self.extra_meta()}
        return self.sample(record["source_id"], "imu", conversations, members, meta)

    def extra_meta(self) -> dict[str, Any]:
        return {}
