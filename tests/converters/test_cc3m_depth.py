import io

from PIL import Image

from tests.converters.sensor_helpers import convert, index, members, record, sample_tree


def test_img2dataset_folder(tmp_path):
    raw = sample_tree(tmp_path, "cc3m_depth")
    summary = convert("cc3m_depth", raw, tmp_path / "c")
    assert summary.samples == 3
    assert dict(summary.rejects) == {"empty caption": 1, "missing media file": 1}
    assert index(tmp_path / "c").source_id.tolist() == ["000000000", "000000001", "000000002"]
    blobs = members(tmp_path / "c")["cc3m_depth-000000001"]
    assert set(blobs) == {"json", "jpg", "depth.png"}
    rec = record(blobs)
    assert rec["conversations"] == [{"from": "human", "value": "<depth>"},
                                    {"from": "gpt", "value": "city skyline at night"}]
    assert rec["meta"]["task"] == "caption"
    assert Image.open(io.BytesIO(blobs["depth.png"])).mode.startswith("I")


def test_onellm_csv_list_with_mirrored_paths(tmp_path):
    raw = sample_tree(tmp_path, "cc3m_depth")
    lines = ["caption\turl",
             f"a dog runs on the beach\t{raw}/cc3m/00000/000000000.jpg",  # absolute, as OneLLM's lists hold
             "a bowl of fruit\tcc3m/00000/000000002.jpg",
             "no image here\tcc3m/00000/000000077.jpg",
             "broken row without url"]
    (raw / "cc3m.csv").write_text("\n".join(lines) + "\n")
    summary = convert("cc3m_depth", raw, tmp_path / "c")
    assert summary.samples == 2
    assert dict(summary.rejects) == {"missing media file": 1, "malformed annotation row": 1}
    rec = record(members(tmp_path / "c")["cc3m_depth-000000002"])
    assert rec["conversations"][1]["value"] == "a bowl of fruit"


def test_json_sidecar_caption(tmp_path):
    raw = sample_tree(tmp_path, "cc3m_depth")
    (raw / "cc3m/00000/000000000.txt").unlink()
    convert("cc3m_depth", raw, tmp_path / "c")
    rec = record(members(tmp_path / "c")["cc3m_depth-000000000"])
    assert rec["conversations"][1]["value"] == "a dog runs on the beach"


def test_partitions_converted_apart_match_one_run(tmp_path):
    from onellm_data.pipeline import run_conversion
    from onellm_data.converters import make_converter
    from tests.converters.sensor_helpers import SETTINGS

    raw = sample_tree(tmp_path, "cc3m_depth")
    convert("cc3m_depth", raw, tmp_path / "one")
    for i in (1, 0):  # the other order on purpose: partitions are independent
        run_conversion(make_converter("cc3m_depth", raw), tmp_path / "split", SETTINGS, shard_of=(i, 2))
    tars = lambda root: {p.relative_to(root): p.read_bytes() for p in root.rglob("*.tar")}  # noqa: E731
    assert tars(tmp_path / "one") == tars(tmp_path / "split") and tars(tmp_path / "one")
    for table in ("samples", "shards", "rejects"):
        assert index(tmp_path / "one", table).equals(index(tmp_path / "split", table))
