import pytest

from onellm_data.converters import make_converter
from tests.converters.sensor_helpers import convert, members, record, sample_tree


def test_no_subset_by_default(tmp_path):
    raw = sample_tree(tmp_path, "ego4d_imu_align")
    assert len(list(make_converter("ego4d_imu_align", raw).records())) == 6


def test_caption_form(tmp_path):
    raw = sample_tree(tmp_path, "ego4d_imu_align")
    summary = convert("ego4d_imu_align", raw, tmp_path / "c")
    assert summary.samples == 3
    assert dict(summary.rejects) == {"missing media file": 1, "empty caption": 1, "malformed annotation row": 1}
    rec = record(members(tmp_path / "c")["ego4d_imu_align-1a2b3c4d-0000-4000-8000-000000000001_0"])
    assert rec["conversations"] == [{"from": "human", "value": "<imu>"}, {"from": "gpt", "value": "picks up a cup"}]
    assert rec["meta"]["task"] == "caption"
