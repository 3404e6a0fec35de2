import json

import pytest

from onellm_data.codecs.depth import decode_map_pair
from onellm_data.converters import make_converter
from onellm_data.converters.onellm_release import FILE_MODALITY, item_modality
from onellm_data.samples.instruct_media import EXPECTED
from tests.converters.instruct_helpers import convert, first_turn, index, read_samples, sample_raw


@pytest.mark.parametrize("item,modality", [
    ({"image": "a/b.jpg"}, "image"), ({"conversations": []}, "text"), ({"image": "v.mp4"}, "video"),
    ({"image": "x.wav"}, "audio"), ({"image": "p.pt"}, "point"), ({"image": "r.jpg", "depth_image": "d.png"}, "depth"),
    ({"image": "r.jpg", "normal_image": "n.png"}, "normal"), ({"imu_path": "imu"}, "imu"),
])
def test_modality_from_keys(item, modality):
    assert item_modality(item, None, "misc") == modality


def test_npy_modality_from_release_folder():
    assert item_modality({"image": "x/sample1.npy"}, None, "fmri") == "fmri"
    assert item_modality({"image": "x/o_8192.npy"}, None, "point") == "point"
    assert item_modality({"image": "x/o.npy"}, None, "misc") is None
    assert FILE_MODALITY["llava_v1_5_mix665k_text"] == "text"


def _released_items(raw):
    items = {}
    for path in sorted(raw.rglob("*.json")):
        for position, item in enumerate(json.loads(path.read_text())):
            items[f"{path.stem}-{position}"] = item
    return items


def test_round_trip_of_released_layout(tmp_path):
    raw = sample_raw(tmp_path, "onellm_release")
    summary = convert(raw, tmp_path / "c", "onellm_release")
    read = read_samples(tmp_path / "c")
    released = _released_items(raw)
    assert summary.samples == EXPECTED["onellm_release"]["samples"]
    assert dict(summary.rejects) == EXPECTED["onellm_release"]["rejects"]
    for source_id, (record, _) in read.items():
        original = released[source_id]["conversations"]
        # Same turns, same answers; the human side differs only by the modality placeholder in front.
        assert [t["value"] for t in record["conversations"][1::2]] == [t["value"] for t in original[1::2]]
        strip = first_turn(record).split("\n", 1)[-1]
        assert strip == original[0]["value"].split("\n", 1)[-1]
    modalities = index(tmp_path / "c").set_index("source_id").modality.to_dict()
    expected = EXPECTED["onellm_release"]["modalities"]
    assert sorted(set(modalities.values())) == sorted(expected)
    assert first_turn(read["cococap_train-0"][0]) == "<image>\nProvide a one-sentence caption for the provided image."
    assert first_turn(read["msrvtt_cap_trainval-0"][0]).startswith("<video>\n")  # released "<image>" tag
    depth, media = read["llava_instruct_50k_depth-0"]
    assert depth["modality"] == "depth" and first_turn(depth).startswith("<depth>\n")
    assert decode_map_pair(media["jpg"], media["depth.png"]).shape == (2, 3, 224, 224)
    assert read["llava_v1_5_mix665k_text-0"][0]["conversations"][1]["from"] == "gpt"  # "assistant" role
    rejects = index(tmp_path / "c", "rejects").set_index("source_id")
    assert rejects.loc["llava_v1_5_mix665k_image-1", "reason"] == "missing media file"
    assert rejects.loc["llava_v1_5_mix665k_text-1", "reason"] == "roles out of order"


def test_imu_and_fmri_items(tmp_path):
    raw = sample_raw(tmp_path, "onellm_release")
    conv = make_converter("onellm_release", raw / "imu/imu_fixed_50k.json", media_root=str(raw))
    (record,) = list(conv.records())
    sample = conv.convert(record)
    assert sample.modality == "imu" and sample.meta["window_start"] == 3.0
    assert first_turn(sample.record()) == "<imu>\nDescribe the motion."
    conv = make_converter("onellm_release", raw / "fmri", media_root=str(raw))
    (record,) = list(conv.records())
    assert conv.convert(record).meta["fmri_voxels"] == 15724


def test_single_file_with_media_root_and_jsonl(tmp_path):
    raw = sample_raw(tmp_path, "onellm_release")
    items = json.loads((raw / "image/cococap_train.json").read_text())
    lines = "\n".join(json.dumps(i) for i in items) + "\n{broken\n"
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra/cococap_train.jsonl").write_text(lines)
    summary = convert(tmp_path / "extra/cococap_train.jsonl", tmp_path / "c", "onellm_release", media_root=str(raw))
    assert summary.samples == 1 and dict(summary.rejects) == {"malformed annotation row": 1}


def test_import_onellm_command_and_resume(tmp_path):
    from typer.testing import CliRunner

    from onellm_data.cli import app

    raw = sample_raw(tmp_path, "onellm_release")
    args = ["import-onellm", str(raw / "image"), "--media-root", str(raw), "--out", str(tmp_path / "c"), "-j", "1",
            "--partition-size", "2"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    samples = index(tmp_path / "c")
    assert sorted(samples.source_id) == ["cococap_train-0", "llava_v1_5_mix665k_image-0", "llava_v1_5_mix665k_text-0"]
    assert set(samples.source) == {"onellm_release"}
    again = CliRunner().invoke(app, args)  # a rerun skips the committed partitions and changes nothing
    assert again.exit_code == 0 and index(tmp_path / "c").equals(samples)
    missing = CliRunner().invoke(app, ["import-onellm", str(tmp_path / "nope"), "--out", str(tmp_path / "c2")])
    assert missing.exit_code == 2
