import json

import numpy as np
import pytest

from onellm_data.converters import make_converter
from tests.conftest import realdata
from tests.converters.sensor_helpers import convert, index, members, npy, record, sample_tree


def test_sample_tree_converts_with_rejects(tmp_path):
    raw = sample_tree(tmp_path, "pointllm_instruct")
    summary = convert("pointllm_instruct", raw, tmp_path / "c")
    assert summary.samples == 6
    assert dict(summary.rejects) == {"missing media file": 1, "roles out of order": 1, "malformed annotation row": 1,
                                     "point cloud must have 3 (xyz) or 6 (xyz+rgb) columns": 1}
    df = index(tmp_path / "c")
    assert set(df.key) == {f"pointllm_instruct-{u}{s}" for u in ("a1b2c3d4e5f6", "0f9e8d7c6b5a", "5e5e5e5e1234")
                           for s in ("", "-1")}
    assert (df.num_points == 8192).all() and df.has_color.all()
    blobs = members(tmp_path / "c")["pointllm_instruct-a1b2c3d4e5f6-1"]
    rec = record(blobs)
    assert rec["modality"] == "point" and len(rec["conversations"]) == 4
    assert rec["conversations"][0]["value"] == "<point>\nWhat is it?"
    assert rec["meta"]["conversation_type"] == "multi_round"
    cloud = npy(blobs["npy"])
    assert cloud.shape == (8192, 6) and cloud.dtype == np.float32


def test_truncated_annotation_file_keeps_earlier_rows(tmp_path):
    raw = sample_tree(tmp_path, "pointllm_instruct")
    path = raw / "anno_data" / "PointLLM_complex_instruction_70K.json"
    text = path.read_text()
    path.write_text(text[: text.index("multi_round", text.index("0f9e8d7c6b5a"))])
    records = list(make_converter("pointllm_instruct", raw).records())
    assert [r["source_id"] for r in records[:3]] == ["a1b2c3d4e5f6", "a1b2c3d4e5f6-1", "0f9e8d7c6b5a"]
    assert records[-1]["_reject"] == "malformed annotation file" and len(records) == 4


def test_realdata_pointllm_layout(tmp_path):
    root = realdata("pointllm_format/Tiaozhanbei/data")
    anno = json.loads((root / "anno_data" / "PointLLM_complex_instruction_70K.json").read_text())
    summary = convert("pointllm_instruct", root, tmp_path / "c")
    assert summary.samples == len(anno) == 101 and not summary.rejects
    df = index(tmp_path / "c")
    assert df.source_id.is_unique and df.has_color.all() and df.turns.min() >= 2
    blobs = members(tmp_path / "c")
    first = blobs["pointllm_instruct-antique_candle_holder"]
    cloud = npy(first["npy"])
    original = np.load(root / "objaverse_data" / "antique_candle_holder_8192.npy")
    assert original.dtype == np.float64 and cloud.dtype == np.float32  # float64 source stored as float32
    np.testing.assert_allclose(cloud, original.astype(np.float32))
    assert 0.0 <= cloud[:, 3:].min() and cloud[:, 3:].max() <= 1.0
    assert record(first)["conversations"][0]["value"].startswith("<point>\n")


@pytest.mark.parametrize("points", ["objaverse_data", "elsewhere"])
def test_points_option(tmp_path, points):
    raw = sample_tree(tmp_path, "pointllm_instruct")
    if points != "objaverse_data":
        (raw / "objaverse_data").rename(raw / points)
    summary = convert("pointllm_instruct", raw, tmp_path / "c", points=points)
    assert summary.samples == 6
