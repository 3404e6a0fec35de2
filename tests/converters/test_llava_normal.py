import io

from PIL import Image

from tests.converters.sensor_helpers import convert, index, members, record, sample_tree


def test_sample_tree(tmp_path):
    raw = sample_tree(tmp_path, "llava_normal")
    summary = convert("llava_normal", raw, tmp_path / "c")
    assert summary.samples == 4
    assert dict(summary.rejects) == {"missing media file": 1, "roles out of order": 1, "malformed annotation row": 1}
    assert set(index(tmp_path / "c").modality) == {"normal"}
    blobs = members(tmp_path / "c")["llava_normal-000000033471-1"]
    assert set(blobs) == {"json", "jpg", "normal.png"}
    turns = record(blobs)["conversations"]
    assert turns[0]["value"] == "<normal>\nDescribe the colours." and len(turns) == 4
    assert Image.open(io.BytesIO(blobs["normal.png"])).mode == "RGB"


def test_map_of_other_size_is_resized(tmp_path):
    raw = sample_tree(tmp_path, "llava_normal")
    path = raw / "normal" / "000000033471.png"
    Image.open(path).resize((32, 24)).save(path)
    convert("llava_normal", raw, tmp_path / "c")
    df = index(tmp_path / "c").set_index("source_id")
    assert df.loc["000000033471", "map_resized"] and not df.loc["000000052846", "map_resized"]
    blobs = members(tmp_path / "c")["llava_normal-000000033471"]
    assert Image.open(io.BytesIO(blobs["normal.png"])).size == (32, 24)  # stored as found, resized at load
    from onellm_data.codecs import decode

    assert decode("normal", blobs).shape == (2, 3, 224, 224)
