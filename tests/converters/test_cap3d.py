import json

from tests.converters.sensor_helpers import convert, index, members, npy, record, sample_tree


def test_cap3d_csv(tmp_path):
    raw = sample_tree(tmp_path, "cap3d")
    summary = convert("cap3d", raw, tmp_path / "c")
    assert summary.samples == 3
    assert dict(summary.rejects) == {"missing media file": 1, "duplicate id": 1, "malformed annotation row": 1,
                                     "empty caption": 1, "point cloud must have 3 (xyz) or 6 (xyz+rgb) columns": 1}
    blobs = members(tmp_path / "c")["cap3d-0f9e8d7c6b5a"]
    rec = record(blobs)
    # the caption with a comma was quoted in the CSV and comes back whole
    assert rec["conversations"] == [{"from": "human", "value": "<point>"},
                                    {"from": "gpt", "value": "a small blue teapot, with a curved spout"}]
    assert rec["meta"]["task"] == "caption" and npy(blobs["npy"]).shape == (8192, 6)


def test_pointllm_brief_json(tmp_path):
    raw = sample_tree(tmp_path, "cap3d")
    (raw / "Cap3D_automated_Objaverse.csv").unlink()
    items = [{"object_id": "a1b2c3d4e5f6", "conversations": [
                {"from": "human", "value": "<point>\nSummarize this 3D point cloud briefly."},
                {"from": "gpt", "value": "A red chair."}]},
             {"object_id": "0f9e8d7c6b5a", "conversations": [{"from": "human", "value": "<point>\nWhat?"}]},
             {"object_id": 7, "conversations": []}]
    (raw / "anno_data").mkdir()
    (raw / "anno_data" / "PointLLM_brief_description_660K_filtered.json").write_text(json.dumps(items))
    summary = convert("cap3d", raw, tmp_path / "c")
    assert summary.samples == 1
    assert dict(summary.rejects) == {"non-string caption": 1, "malformed annotation row": 1}
    assert index(tmp_path / "c").source_id.tolist() == ["a1b2c3d4e5f6"]
