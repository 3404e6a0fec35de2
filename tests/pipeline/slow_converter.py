"""A jsonl converter that takes a fixed time per record: importable, so spawned pool workers and Ray tasks run it."""

from __future__ import annotations

import time
from typing import ClassVar

from onellm_data.converters.jsonl import JsonlConverter


class SlowJsonlConverter(JsonlConverter):
    name: ClassVar[str] = "slow_jsonl_test"
    delay: ClassVar[float] = 0.6  # more than the reporters' 0.5 s interval: every record's count is sent

    def convert(self, record):
        time.sleep(self.delay)
        return super().convert(record)
