from onellm_data.samples.instruct_media import EXPECTED
from tests.converters.instruct_helpers import convert, index, read_samples, sample_raw


def test_sample_tree_short_answer_prompt(tmp_path):
    raw = sample_raw(tmp_path, "msrvtt_qa")
    summary = convert(raw, tmp_path / "c", "msrvtt_qa")
    assert summary.samples == EXPECTED["msrvtt_qa"]["samples"]
    assert dict(summary.rejects) == EXPECTED["msrvtt_qa"]["rejects"]
    read = read_samples(tmp_path / "c")
    assert sorted(read) == ["test-7", "train-0", "train-1", "val-5"]
    record, media = read["train-1"]
    assert record["conversations"] == [
        {"from": "human", "value": "<video>\nwhat is on the screen ? Answer the question using a single word or phrase."},
        {"from": "gpt", "value": "bars"}]
    assert record["meta"]["video_id"] == "video1" and list(media) == ["mp4"]
    assert read["test-7"][0]["meta"]["split"] == "test"  # found under TestVideo/
    rejects = index(tmp_path / "c", "rejects").set_index("source_id")
    assert rejects.loc["train-3", "reason"] == "malformed annotation row"  # video_id "x"
    assert rejects.loc["train-2", "reason"] == "missing media file"


def test_splits_option(tmp_path):
    raw = sample_raw(tmp_path, "msrvtt_qa")
    summary = convert(raw, tmp_path / "c", "msrvtt_qa", splits="val")
    assert summary.samples == 1 and dict(summary.rejects) == {"duplicate id": 1}
