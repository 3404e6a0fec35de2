"""Conversion on a local Ray instance: byte-identical to the local executor, and a killed worker is retried."""

import os
import signal
from pathlib import Path
from typing import ClassVar

import pytest
import ray

from onellm_data.pipeline import ShardSettings, run_conversion
from onellm_data.converters._options import Option
from onellm_data.converters.jsonl import JsonlConverter
from tests.pipeline.killable import tree_bytes

SETTINGS = ShardSettings(max_count=4, max_bytes=1 << 20, partition_size=5)


class DyingOnceConverter(JsonlConverter):
    """Kills its own worker process (SIGKILL) mid-partition the first time it sees record img7."""

    name: ClassVar[str] = "dying_once_test"
    declared_options = (*JsonlConverter.declared_options, Option("flag", "a file marking that the kill happened"))

    def convert(self, record):
        flag = Path(self.options["flag"])
        if record["source_id"] == "img7" and not flag.exists():
            flag.write_text("killed once")
            os.kill(os.getpid(), signal.SIGKILL)
        return super().convert(record)

    def fingerprint(self):
        fp = super().fingerprint()
        fp["options"] = {}
        fp["converter"] = "JsonlConverter"
        return fp


@pytest.fixture(scope="module")
def ray_local():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.mark.slow
def test_ray_output_is_byte_identical_and_survives_a_killed_worker(jsonl_raw, tmp_path, ray_local):
    from onellm_data.pipeline.ray_executor import RayExecutor

    raw, expected = jsonl_raw
    run_conversion(JsonlConverter(raw, source="demo"), tmp_path / "local", SETTINGS)
    run_conversion(JsonlConverter(raw, source="demo"), tmp_path / "ray", SETTINGS, RayExecutor(workers=2))
    assert tree_bytes(tmp_path / "ray") == tree_bytes(tmp_path / "local")

    flag = tmp_path / "flag"
    killed = DyingOnceConverter(raw, source="demo", flag=str(flag))
    summary = run_conversion(killed, tmp_path / "killed", SETTINGS, RayExecutor(workers=2))
    assert flag.exists(), "the worker was never killed"
    assert summary.samples == expected["samples"]
    assert tree_bytes(tmp_path / "killed") == tree_bytes(tmp_path / "local")
