import json

from onellm_data.codecs.video import decode_video
from onellm_data.converters import make_converter
from onellm_data.samples.instruct_media import EXPECTED
from tests.converters.instruct_helpers import convert, index, read_samples, sample_raw

PROMPT = "<video>\nProvide a one-sentence caption for the provided video."


def test_sample_tree_trainval_and_test(tmp_path):
    raw = sample_raw(tmp_path, "msrvtt_captions")
    summary = convert(raw, tmp_path / "c", "msrvtt_captions")
    assert summary.samples == EXPECTED["msrvtt_captions"]["samples"]
    assert dict(summary.rejects) == EXPECTED["msrvtt_captions"]["rejects"]
    samples = index(tmp_path / "c").set_index("source_id")
    assert sorted(samples.index) == ["0", "1", "140200", "2"]
    assert samples.loc["0", "duration"] > 1.5 and samples.loc["0", "members"].tolist() == ["json", "mp4"]
    record, media = read_samples(tmp_path / "c")["140200"]
    assert record["conversations"][0]["value"] == PROMPT
    assert record["meta"]["split"] == "test" and record["meta"]["video_id"] == "video7010"
    assert decode_video(media["mp4"]).shape == (15, 3, 224, 224)
    rejects = index(tmp_path / "c", "rejects").set_index("source_id")
    assert rejects.loc["4", "reason"] == "unknown id reference"
    assert rejects.loc["3", "reason"] == "missing media file"


def test_files_option_and_unsafe_video_id(tmp_path):
    raw = sample_raw(tmp_path, "msrvtt_captions")
    records = list(make_converter("msrvtt_captions", raw, files="test_videodatainfo.json").records())
    assert [r["source_id"] for r in records] == ["140200", "140201"]
    info = {"videos": [{"video_id": "../x", "split": "train"}],
            "sentences": [{"video_id": "../x", "sen_id": 1, "caption": "c"}]}
    (tmp_path / "evil").mkdir()
    (tmp_path / "evil/train_val_videodatainfo.json").write_text(json.dumps(info))
    summary = convert(tmp_path / "evil", tmp_path / "c2", "msrvtt_captions")
    assert dict(summary.rejects) == {"malformed annotation row": 1}
