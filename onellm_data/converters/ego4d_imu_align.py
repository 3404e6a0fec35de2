"""Ego4D narration windows as IMU alignment captions (OneLLM stage III)."""

from __future__ import annotations

from typing import Any, ClassVar

from onellm_data.converters._turns import caption_turns
from onellm_data.converters.ego4d_imu import Ego4dImuConverter


class Ego4dImuAlignConverter(Ego4dImuConverter):
    """Every kept narration window (no subset by default) as ``<imu>`` / cleaned narration.

    Same raw layout and options as ``ego4d_imu`` (``subset`` defaults to all).
    """

    name: ClassVar[str] = "ego4d_imu_align"
    default_subset: ClassVar[int | None] = None

    def turns(self, text: Any) -> list[dict[str, str]]:
        return caption_turns("imu", text)

    def extra_meta(self) -> dict[str, Any]:
        return {"task": "caption"}
